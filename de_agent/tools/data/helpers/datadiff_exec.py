"""DataDiff in the DuckDB worker: build a model's SQL before and after an edit, compare the outputs.

Both builds go into a scratch DuckDB file in the worker's temporary folder (deleted with it);
the person's warehouse is attached read-only and only read. The comparison runs on the engine:
rows are hashed into segments by key, segment checksums are compared first, and only the
segments that differ are joined for per-column counts and a few examples (masked like RunSQL),
so both outputs are never pulled into Python.
"""

from __future__ import annotations

import time
from typing import Any

from de_agent.tools.data.helpers.duck import WorkerError, cell, connect, quote

SEGMENTS = 4096
EXAMPLES = 3


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _build(con, name: str, sql: str, key: list[str], sample: int | None) -> None:
    body = sql.strip().rstrip(";")
    if sample and key:  # the same keys on both sides: picked by their hash
        keys = ", ".join(ident(k) for k in key)
        body = f"select * from ({body}) where hash({keys}) % 100 < {int(sample)}"
    con.execute(f"create table scratch.{name} as {body}")


def _columns(con, name: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"describe scratch.{name}").fetchall()}


def compute(request: dict[str, Any], tmp: str) -> dict[str, Any]:
    from de_agent.tools.data.helpers.sql_exec import duck_read_only

    started = time.perf_counter()
    con = connect(request["root"], None, tmp=tmp)
    if request.get("warehouse"):
        con.execute(f"attach {quote(request['warehouse'])} as wh (read_only)")
    for view, relation in (request.get("views") or {}).items():
        con.execute(f"create view {ident(view)} as select * from {relation}")
    for label in ("sql_before", "sql_after"):
        if why := duck_read_only(con, request[label]):
            raise WorkerError(f"refused: {label} {why}; DataDiff builds SELECT queries only")
    con.execute(f"attach {quote(tmp + '/scratch.duckdb')} as scratch")
    key = list(request.get("key") or [])
    sample = request.get("sample")
    _build(con, "before_", request["sql_before"], key, sample)
    _build(con, "after_", request["sql_after"], key, sample)
    before, after = _columns(con, "before_"), _columns(con, "after_")
    changes = column_changes(key, before, after)
    common = [c for c in after if c in before]
    rows_b = con.execute("select count(*) from scratch.before_").fetchone()[0]
    rows_a = con.execute("select count(*) from scratch.after_").fetchone()[0]
    result: dict[str, Any] = {"rows_before": rows_b, "rows_after": rows_a, "key": key, "sample": sample, **changes}
    compared = [c for c in common if c not in key]
    if key:
        result.update(_keyed(con, key, compared))
    else:
        cols = ", ".join(ident(c) for c in common)
        only_b = con.execute(f"select count(*) from (select {cols} from scratch.before_ except all "
                             f"select {cols} from scratch.after_)").fetchone()[0]
        only_a = con.execute(f"select count(*) from (select {cols} from scratch.after_ except all "
                             f"select {cols} from scratch.before_)").fetchone()[0]
        result.update({"rows_only_before": only_b, "rows_only_after": only_a})
    result["shifts"] = _shifts(con, common, before, after)
    result["elapsed_s"] = round(time.perf_counter() - started, 3)
    return result


def _keyed(con, key: list[str], compared: list[str]) -> dict[str, Any]:
    keys = ", ".join(ident(k) for k in key)
    row = ", ".join(ident(c) for c in compared) or "1"
    # Segment checksums on the engine: count and xor of row hashes per key segment.
    for name in ("before_", "after_"):
        con.execute(f"create table scratch.{name}seg as select hash({keys}) % {SEGMENTS} as seg, "
                    f"count(*) as n, bit_xor(hash({keys}, {row})) as h from scratch.{name} group by 1")
    differing = con.execute(
        "select count(*) from scratch.before_seg b full join scratch.after_seg a using (seg) "
        "where b.n is distinct from a.n or b.h is distinct from a.h").fetchone()[0]
    out: dict[str, Any] = {"segments": SEGMENTS, "segments_differing": differing,
                           "keys_added": 0, "keys_removed": 0, "duplicate_keys_before": 0,
                           "duplicate_keys_after": 0, "changed": {}}
    for name, label in (("before_", "duplicate_keys_before"), ("after_", "duplicate_keys_after")):
        out[label] = con.execute(f"select count(*) from (select {keys} from scratch.{name} group by all "
                                 "having count(*) > 1)").fetchone()[0]
    if differing == 0:
        return out
    con.execute("create table scratch.diffseg as select seg from scratch.before_seg b full join scratch.after_seg a "
                "using (seg) where b.n is distinct from a.n or b.h is distinct from a.h")
    for name in ("before_", "after_"):
        con.execute(f"create table scratch.{name}d as select * from scratch.{name} "
                    f"where hash({keys}) % {SEGMENTS} in (select seg from scratch.diffseg)")
    out["keys_added"] = con.execute(f"select count(*) from (select distinct {keys} from scratch.after_d) "
                                    f"anti join scratch.before_d using ({keys})").fetchone()[0]
    out["keys_removed"] = con.execute(f"select count(*) from (select distinct {keys} from scratch.before_d) "
                                      f"anti join scratch.after_d using ({keys})").fetchone()[0]
    masker = _masker(con, key + compared)

    def shown_key(row: Any) -> list[Any]:
        return [cell(masker.value(k, v)) for k, v in zip(key, row, strict=False)]

    out["key_examples"] = {
        "added": [shown_key(r) for r in con.execute(f"select {keys} from scratch.after_d anti join scratch.before_d "
                                                    f"using ({keys}) order by all limit {EXAMPLES}").fetchall()],
        "removed": [shown_key(r) for r in con.execute(f"select {keys} from scratch.before_d anti join "
                                                      f"scratch.after_d using ({keys}) order by all "
                                                      f"limit {EXAMPLES}").fetchall()]}
    if compared:
        sums = ", ".join(f"sum((b.{ident(c)} is distinct from a.{ident(c)})::int)" for c in compared)
        counts = con.execute(f"select {sums} from scratch.before_d b join scratch.after_d a using ({keys})").fetchone()
        for column, n in zip(compared, counts, strict=True):
            if not n:
                continue
            rows = con.execute(f"select {keys}, b.{ident(column)}, a.{ident(column)} from scratch.before_d b "
                               f"join scratch.after_d a using ({keys}) where b.{ident(column)} is distinct from "
                               f"a.{ident(column)} order by all limit {EXAMPLES}").fetchall()
            out["changed"][column] = {"rows": int(n), "examples": [
                {"key": shown_key(r[:len(key)]), "before": cell(masker.value(column, r[-2])),
                 "after": cell(masker.value(column, r[-1]))} for r in rows]}
    return out


def _masker(con, columns: list[str]):
    from de_agent.tools.data.helpers.pii_values import Masker

    cols = ", ".join(ident(c) for c in columns)
    rows = con.execute(f"select {cols} from scratch.after_ limit 300").fetchall()
    return Masker(columns, [[r[i] for r in rows] for i in range(len(columns))])


def _shifts(con, common: list[str], before: dict[str, str], after: dict[str, str]) -> list[dict[str, Any]]:
    """Null counts, and mean (numbers) or distinct count (others), where they moved."""
    numeric = ("INT", "DECIMAL", "DOUBLE", "FLOAT", "REAL", "BIGINT", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT")
    exprs = []
    for c in common:
        q = ident(c)
        stat = f"avg({q})::double" if any(t in after[c].upper() for t in numeric) and before[c] == after[c] \
            else f"approx_count_distinct({q})"
        exprs.append(f"count(*) - count({q}), {stat}")
    if not exprs:
        return []
    b = con.execute(f"select {', '.join(exprs)} from scratch.before_").fetchone()
    a = con.execute(f"select {', '.join(exprs)} from scratch.after_").fetchone()
    return moved(common, ["mean" if "avg(" in e else "distinct" for e in exprs], b, a)


def column_changes(key: list[str], before: dict[str, str], after: dict[str, str]) -> dict[str, Any]:
    """Columns added, removed and retyped (name -> type maps); WorkerError when a key column is missing."""
    missing = [k for k in key if k not in before or k not in after]
    if missing:
        raise WorkerError(f"key column(s) {', '.join(missing)} not in both outputs "
                          f"(before: {', '.join(before)}; after: {', '.join(after)})")
    return {"columns_added": [c for c in after if c not in before],
            "columns_removed": [c for c in before if c not in after],
            "retyped": [{"column": c, "from": before[c], "to": after[c]} for c in after
                        if c in before and before[c] != after[c]]}


def moved(common: list[str], stats: list[str], b: Any, a: Any) -> list[dict[str, Any]]:
    """The shifts where nulls or the statistic moved; b and a hold (nulls, stat) pairs per column."""
    out = []
    for i, c in enumerate(common):
        nb, sb, na, sa = b[2 * i], b[2 * i + 1], a[2 * i], a[2 * i + 1]
        if isinstance(sb, float) and isinstance(sa, float):
            sb, sa = round(sb, 6), round(sa, 6)
        if nb != na or sb != sa:
            out.append({"column": c, "nulls_before": nb, "nulls_after": na, stats[i] + "_before": cell(sb),
                        stats[i] + "_after": cell(sa)})
    return out
