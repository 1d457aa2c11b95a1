"""Generate a dbt project of N models (default 250) with known model edges and column lineage.

Layers: sources (declared in YAML), staging models that rename and cast a source's
columns, intermediate models that join two or three upstream models through CTEs (one in
four through ``select *``), and marts that aggregate, use window functions, a ``{% for %}``
loop over a project var and a project macro. Every model has a schema.yml entry that
documents two of its columns, as real projects do. ``generate()`` returns the expected
edges and, for every model, the expected source columns of each output column.
"""

from __future__ import annotations

import random
from pathlib import Path

METHODS = ["card", "cash", "voucher", "transfer"]


def generate(root: Path, models: int = 250, seed: int = 14) -> tuple[set[tuple[str, str]], dict[str, dict]]:
    rng = random.Random(seed)
    n_src = max(4, models // 12)
    n_stg = max(4, models // 4)
    n_int = max(4, (models - n_stg) // 2)
    n_mart = models - n_stg - n_int
    (root / "models" / "staging").mkdir(parents=True, exist_ok=True)
    (root / "models" / "intermediate").mkdir(parents=True, exist_ok=True)
    (root / "models" / "marts").mkdir(parents=True, exist_ok=True)
    (root / "macros").mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(
        "name: bench\nversion: '1.0'\nprofile: bench\nvars:\n  methods: [" + ", ".join(METHODS) + "]\n")
    (root / "macros" / "cents.sql").write_text(
        "{% macro to_cents(col) %}cast({{ col }} * 100 as bigint){% endmacro %}\n")
    edges: set[tuple[str, str]] = set()
    lineage: dict[str, dict[str, list[str]]] = {}
    columns: dict[str, list[str]] = {}
    yml = ["version: 2", "sources:", "  - name: raw", "    tables:"]
    src_cols = {}
    for i in range(n_src):
        cols = ["id", "key_a", "key_b", "amount", "method", "created_at"] + [f"attr_{j}" for j in range(rng.randint(3, 9))]
        src_cols[f"t{i}"] = cols
        yml += [f"      - name: t{i}", "        columns:"] + [f"          - name: {c}" for c in cols]
    model_yml = ["models:"]

    def document(name: str, cols: list[str]) -> None:
        model_yml.extend([f"  - name: {name}", f"    description: Generated model {name}.", "    columns:"]
                         + [f"      - name: {c}\n        data_tests: [not_null]" for c in cols[:2]])

    for i in range(n_stg):
        src = f"t{i % n_src}"
        name = f"stg_{i}"
        cols = src_cols[src]
        outs = {f"{name}_id": "id", "key_a": "key_a", "key_b": "key_b", "amount": "amount", "method": "method",
                "created_at": "created_at"} | {c: c for c in cols[6:]}
        body = ",\n    ".join(f"{s} as {o}" if s != o else s for o, s in outs.items())
        (root / "models" / "staging" / f"{name}.sql").write_text(
            f"-- staging for {src}: source('raw', 'old_{src}') is gone\nselect\n    {body}\n"
            f"from {{{{ source('raw', '{src}') }}}}\nwhere id is not null\n")
        edges.add((f"source.raw.{src}", f"model.{name}"))
        lineage[name] = {o: [f"raw.{src}.{s}"] for o, s in outs.items()}
        columns[name] = list(outs)
        document(name, list(outs))
    upstream = [f"stg_{i}" for i in range(n_stg)]
    for i in range(n_int):
        name = f"int_{i}"
        picks = rng.sample(upstream, k=min(len(upstream), rng.choice([2, 2, 3])))
        a, rest = picks[0], picks[1:]
        star = i % 4 == 0
        ctes = ",\n".join(f"{chr(97 + k)} as (select * from {{{{ ref('{m}') }}}})" for k, m in enumerate(picks))
        outs: dict[str, list[str]] = {}
        if star:
            select = "a.*"
            outs = {c: [f"{a}.{c}"] for c in columns[a]}
        else:
            amt = "amount" if "amount" in columns[a] else "gross_amount"
            select_parts = ["a.key_a", "a.key_b", f"a.{amt} * 1.1 as gross_amount", "a.method"]
            outs = {"key_a": [f"{a}.key_a"], "key_b": [f"{a}.key_b"], "gross_amount": [f"{a}.{amt}"],
                    "method": [f"{a}.method"]}
            for k, m in enumerate(rest, 1):
                alias = chr(97 + k)
                amt = "amount" if "amount" in columns[m] else "gross_amount"
                select_parts.append(f"{alias}.{amt} as amount_{k}")
                outs[f"amount_{k}"] = [f"{m}.{amt}"]
                extra = [c for c in columns[m] if c.startswith("attr_")][:2]
                for c in extra:
                    select_parts.append(f"{alias}.{c} as {c}_{k}")
                    outs[f"{c}_{k}"] = [f"{m}.{c}"]
            select = ",\n    ".join(select_parts)
        joins = "\n".join(f"left join {chr(97 + k)} on {chr(97 + k)}.key_a = a.key_a" for k in range(1, len(picks)))
        (root / "models" / "intermediate" / f"{name}.sql").write_text(
            f"with {ctes}\nselect\n    {select}\nfrom a\n{joins}\n")
        edges |= {(f"model.{m}", f"model.{name}") for m in picks}
        lineage[name] = outs
        columns[name] = list(outs)
        document(name, list(outs))
        upstream.append(name)
    for i in range(n_mart):
        name = f"fct_{i}"
        up = rng.choice([u for u in upstream if u.startswith("int_")] or upstream)
        keys = "key_a"
        amount = "gross_amount" if "gross_amount" in columns[up] else "amount"
        loop = ("{% for m in var('methods') %}\n    sum(case when method = '{{ m }}' then " + amount +
                " else 0 end) as {{ m }}_total,\n{% endfor %}")
        (root / "models" / "marts" / f"{name}.sql").write_text(
            f"select\n    {keys},\n    {loop}\n    {{{{ to_cents('sum(" + amount + ")') }}" + f" as total_cents,\n"
            f"    row_number() over (order by {keys}) as rank_no\nfrom {{{{ ref('{up}') }}}}\ngroup by {keys}\n")
        edges.add((f"model.{up}", f"model.{name}"))
        outs = {"key_a": [f"{up}.key_a"]} | {f"{m}_total": sorted([f"{up}.method", f"{up}.{amount}"]) for m in METHODS}
        outs |= {"total_cents": [f"{up}.{amount}"], "rank_no": [f"{up}.key_a"]}
        lineage[name] = outs
        document(name, list(outs))
    (root / "models" / "sources.yml").write_text("\n".join(yml + model_yml) + "\n")
    return edges, lineage


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bench_dbt")
    e, _ = generate(target)
    print(f"{target}: {len(e)} edges")
