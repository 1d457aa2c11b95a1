"""ProfileData: what a data file (or a partitioned folder) holds, column by column.

One aggregate query over the data whatever its width (exact row count and non-null
counts, approximate distinct counts, min and max; mean, standard deviation and t-digest
quartiles of numbers; lengths of text and lists), then one top-N aggregate per column that
is not mostly unique, each reading only its own column. Every value shown (min, max, top
values, sample rows) passes through the same personal-data judgement as ScanPII
(``pii_values.Masker``) before it leaves the worker.
"""

from __future__ import annotations

import re
import time
from typing import Any

from pydantic import Field, StrictBool, field_validator

from de_agent.tools.base import READ, Action, Outcome, Tool, ToolContext, ToolError, bound_text, simple_action
from de_agent.tools.data.helpers.tabular import count, format_table, show, table_display
from de_agent.tools.schema import ToolArgs
from de_agent.tools.summaries import headline

MAX_COLUMNS = 200
TOP_K = 5
MAX_TOP_DISTINCT = 1_000_000
MASK_SAMPLE = 300         # rows the personal-data judgement looks at (pii_values.JUDGE_VALUES)
SAMPLE_FROM = 1_000_000     # above this many rows, quartiles and top values come from a sample
SAMPLE_TARGET = 200_000     # rows in that sample (DuckDB system sampling: whole vectors, cheap)
_NUMERIC = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|"
                      r"FLOAT|DOUBLE|REAL|DECIMAL.*)$", re.I)
_LIST = re.compile(r"\[\d*\]$")
_NESTED = re.compile(r"(STRUCT|MAP|UNION|\[|BLOB|BIT|VARIANT)", re.I)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _kind(ctype: str) -> str:
    if _LIST.search(ctype):
        return "list"
    if _NESTED.search(ctype):
        return "nested"
    if _NUMERIC.match(ctype):
        return "number"
    if ctype.upper() == "VARCHAR":
        return "text"
    return "other"


def _aggregates(name: str, kind: str) -> list[tuple[str, str]]:
    """(key, SQL aggregate) pairs for one column."""
    col = _ident(name)
    out = [("non_null", f"count({col})")]
    if kind in ("number", "text", "other"):
        out += [("distinct", f"approx_count_distinct({col})"), ("min", f"min({col})::VARCHAR"),
                ("max", f"max({col})::VARCHAR")]
    if kind == "number":
        out += [("mean", f"avg({col})::DOUBLE"), ("stddev", f"stddev_samp({col})::DOUBLE")]
    if kind in ("text", "list"):
        length = f"length({col})" if kind == "text" else f"len({col})"
        out += [("len_min", f"min({length})"), ("len_mean", f"avg({length})::DOUBLE"), ("len_max", f"max({length})")]
    return out


def compute(request: dict[str, Any], tmp: str) -> dict[str, Any]:
    """Worker side: profile the data set described by request."""
    from de_agent.tools.data.helpers.duck import cell, connect
    from de_agent.tools.data.helpers.pii_values import Masker
    from de_agent.tools.data.helpers.readers import source_sql

    started = time.perf_counter()
    con = connect(request["root"], tmp=tmp)
    con.execute(f"CREATE TEMP VIEW src AS SELECT * FROM {source_sql(con, request)}")
    described = con.execute("DESCRIBE src").fetchall()
    all_columns = [(str(r[0]), str(r[1])) for r in described]
    columns = all_columns[:MAX_COLUMNS]
    names = [n for n, _ in all_columns]

    plan = [(i, key, sql) for i, (name, ctype) in enumerate(columns) for key, sql in _aggregates(name, _kind(ctype))]
    first = con.execute(f"SELECT count(*){''.join(', ' + sql for _, _, sql in plan)} FROM src").fetchone()
    total = first[0]
    values: list[dict[str, Any]] = [{} for _ in columns]
    for (i, key, _), value in zip(plan, first[1:], strict=True):
        values[i][key] = value
    sampled = total > SAMPLE_FROM
    if sampled:
        share = min(100.0, 100.0 * SAMPLE_TARGET / total)
        con.execute(f"CREATE TEMP TABLE part AS SELECT * FROM src USING SAMPLE {share:.4f}% (system, 7)")
    part = "part" if sampled else "src"
    numeric = [i for i, (_, ctype) in enumerate(columns) if _kind(ctype) == "number"]
    if numeric:
        quartiles = con.execute("SELECT " + ", ".join(
            f"quantile_cont({_ident(columns[i][0])}, [0.25, 0.5, 0.75])::DOUBLE[]" for i in numeric)
            + f" FROM {part}").fetchone()
        for i, q in zip(numeric, quartiles, strict=True):
            values[i]["quantiles"] = q

    # Personal data is judged per column on a slice of rows, then every shown value is masked.
    sample_n = int(request.get("sample_rows", 5))
    head = con.execute(f"SELECT * FROM src LIMIT {max(MASK_SAMPLE, sample_n)}").fetchall()
    masker = Masker(names, [[r[i] for r in head] for i in range(len(names))])

    stats: list[dict[str, Any]] = []
    for (name, ctype), v in zip(columns, values, strict=True):
        non_null = v["non_null"]
        nulls = total - non_null
        distinct = v.get("distinct")
        entry = {"name": name, "type": ctype, "kind": _kind(ctype), "nulls": nulls,
                 "null_share": (nulls / total) if total else 0.0, "distinct": distinct,
                 "min": _shown(masker, name, v.get("min"), cell), "max": _shown(masker, name, v.get("max"), cell),
                 "top": [], "unique": bool(distinct and non_null > 100 and distinct >= 0.95 * non_null),
                 "masked": name in masker.kind}
        for key in ("mean", "stddev", "len_min", "len_mean", "len_max"):
            entry[key] = v.get(key)
        entry["quantiles"] = list(v["quantiles"]) if v.get("quantiles") else None
        if entry["masked"] and entry["kind"] == "number":  # numbers that are personal data (cards, ids)
            entry.update(mean=None, stddev=None, quantiles=None)
        stats.append(entry)

    wanted = [s for s in stats if s["distinct"] and not s["unique"] and s["distinct"] <= MAX_TOP_DISTINCT]
    if wanted:
        # One top-N aggregate per column (each reads only its column), in one round trip.
        parts = [f"(SELECT {i} AS k, {_ident(s['name'])}::VARCHAR AS v, count(*) AS n FROM {part} "
                 f"WHERE {_ident(s['name'])} IS NOT NULL GROUP BY {_ident(s['name'])} ORDER BY n DESC LIMIT {TOP_K})"
                 for i, s in enumerate(wanted)]
        scale = total / max(1, con.execute("SELECT count(*) FROM part").fetchone()[0]) if sampled else 1
        for k, value, n in con.execute(" UNION ALL ".join(parts)).fetchall():
            wanted[k]["top"].append((masker.value(wanted[k]["name"], cell(value, 60)), round(n * scale)))
        for s in wanted:
            s["top"].sort(key=lambda t: -t[1])

    sample = [[None if v is None else cell(masker.value(names[i], v), 80) for i, v in enumerate(row)]
              for row in head[:sample_n]]
    return {"rows": total, "columns": stats, "column_count": len(all_columns), "sampled": sampled,
            "masked_columns": masker.masked_columns,
            "sample": {"columns": names, "rows": sample}, "elapsed_s": time.perf_counter() - started}


def _shown(masker: Any, name: str, value: Any, cell: Any) -> Any:
    return None if value is None else masker.value(name, cell(value))


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:.4g}" if abs(x) < 1e6 else f"{x:.6g}"


def _shape(s: dict[str, Any]) -> str:
    """Mean, spread and quartiles of a number; lengths of a text or list."""
    if s.get("quantiles"):
        q = s["quantiles"]
        return (f"mean {_num(s['mean'])}, sd {_num(s['stddev'])}; "
                f"p25 {_num(q[0])}, p50 {_num(q[1])}, p75 {_num(q[2])}")
    if s.get("len_mean") is not None:
        what = "items" if s["kind"] == "list" else "length"
        return f"{what} {s['len_min']}–{s['len_max']}, mean {_num(s['len_mean'])}"
    return ""


def _top(s: dict[str, Any]) -> str:
    if s["unique"]:
        return "(mostly unique)"
    if not s["top"]:
        return ""
    return ", ".join(f"{v} ({count(n)})" for v, n in s["top"])


class ProfileArgs(ToolArgs):
    path: str | None = Field(None, description="File, glob or folder, relative to the repository root.")
    sample_rows: int = Field(5, description="Sample rows to show (default 5, at most 50).")
    encoding: str | None = Field(None, description="CSV only: text encoding, e.g. latin-1, cp1252.")
    delimiter: str | None = Field(None, description="CSV only: field separator, e.g. ';' or '\\t'.")
    decimal: str | None = Field(None, description="CSV only: decimal separator, '.' or ','.")
    header: StrictBool | None = Field(None, description="CSV/Excel: whether the first row holds column names.")
    table: str | None = Field(None, description="A warehouse table to profile on the engine (with 'connection').")
    connection: str | None = Field(None, description="Warehouse connection for 'table' ('' = the default).")

    @field_validator("sample_rows")
    @classmethod
    def _few_rows(cls, rows: int) -> int:
        if not 0 <= rows <= 50:
            raise ValueError("must be between 0 and 50")
        return rows


def csv_options_from(args: ProfileArgs) -> dict[str, Any]:
    """The CSV options of a call, checked and normalised (codec name, one-character delimiter)."""
    import codecs

    options: dict[str, Any] = {key: value for key in ("encoding", "delimiter", "decimal")
                               if (value := getattr(args, key))}
    if "encoding" in options:
        try:
            options["encoding"] = codecs.lookup(options["encoding"]).name.replace("_", "-")
        except LookupError:
            raise ToolError(f"unknown encoding {options['encoding']!r}") from None
    if "delimiter" in options:
        options["delimiter"] = {"\\t": "\t", "tab": "\t"}.get(options["delimiter"], options["delimiter"])
        if len(options["delimiter"]) != 1:
            raise ToolError("delimiter must be one character")
    if options.get("decimal") not in (None, ".", ","):
        raise ToolError("decimal must be '.' or ','")
    if args.header is not None:
        options["header"] = args.header
    return options


def render(label: str, fmt: str, files: int, result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    stats = result["columns"]
    head = (f"Profile of {label}: {fmt}, {files} file{'s' if files != 1 else ''}, "
            f"{result['rows']:,} row{'s' if result['rows'] != 1 else ''}, {result['column_count']} columns "
            f"(profiled in {result['elapsed_s']:.2f} s)")
    cols = ["column", "type", "nulls", "null %", "distinct≈", "min", "max", "mean, sd, quartiles / lengths",
            "top values (count)"]
    rows = [[s["name"], s["type"], count(s["nulls"]), f"{100 * s['null_share']:.1f}",
             count(s["distinct"]) if s["distinct"] is not None else "", s["min"], s["max"], _shape(s), _top(s)]
            for s in stats]
    notes = ["row count, nulls, min, max, mean and sd are exact; distinct counts are HyperLogLog estimates"]
    if result.get("sampled"):
        notes.append("quartiles and top-value counts are estimated from a ~200,000-row sample")
    if result.get("masked_columns"):
        notes.append("personal data masked in " + ", ".join(result["masked_columns"]))
    notes.append("values that look like personal data are masked everywhere")
    if result["column_count"] > len(stats):
        notes.append(f"only the first {len(stats)} of {result['column_count']} columns are profiled")
    text = [head, "[" + "; ".join(notes) + "]", "", format_table(cols, rows, max_width=60)]
    sample = result["sample"]
    items = [table_display(head, cols, rows, note="; ".join(notes))]
    if sample["rows"]:
        text += ["", f"Sample rows ({len(sample['rows'])}):", format_table(sample["columns"], sample["rows"])]
        items.append(table_display(f"Sample rows of {label}", sample["columns"], sample["rows"]))
    return "\n".join(text) + "\n", {"kind": "group", "items": items}


class ProfileData(Tool):
    name = "ProfileData"
    kind = READ
    description = (
        "Profile a data file before writing or changing a transformation: format, exact row count and, per "
        "column, type, nulls, approximate distinct count, min, max, mean, standard deviation and approximate "
        "quartiles of numbers, lengths of text and lists, most frequent values, plus sample rows. Accepts "
        "CSV/TSV (options encoding, delimiter, decimal, header), Parquet, JSON/NDJSON, Excel (first sheet), Feather/Arrow, "
        "ORC, Avro, a glob ('data/*.parquet') or a partitioned folder (hive key=value folders). Personal data "
        "is masked in every value shown. With 'table' (and optionally "
        "'connection'), profiles a warehouse table with aggregate SQL on the engine instead (no rows pulled).")
    Args = ProfileArgs
    key_arguments = ("path", "table")

    def result_summary(self, ok: bool, output: str, display: dict[str, Any] | None) -> str:
        return headline(ok, output)

    async def act(self, args: ProfileArgs, ctx: ToolContext) -> Action:
        from de_agent.tools.data.helpers.client import call_worker
        from de_agent.tools.data.helpers.source import resolve_dataset

        sample_rows = args.sample_rows
        options = csv_options_from(args)
        if args.table:
            from de_agent.tools.data.warehouse.tools import connection_for, profile_action

            conn = connection_for(ctx, args.connection or "")
            if conn is None:
                raise ToolError("'table' needs a warehouse connection; for repository files give 'path'")
            return await profile_action(ctx, conn, args.table, sample_rows)
        if not args.path:
            raise ToolError("parameter 'path' is required (or 'table' for a warehouse table)")
        dataset = resolve_dataset(ctx.workspace, args.path)
        if options and dataset.fmt not in ("csv", "excel"):
            raise ToolError(f"{', '.join(sorted(options))}: CSV options, but {dataset.label} is {dataset.fmt}")

        async def run() -> Outcome:
            result = await call_worker(ctx.workspace.root, {"op": "profile", **dataset.request(),
                                                            "sample_rows": sample_rows, "options": options},
                                       ctx.settings.data_timeout_s)
            text, display = render(dataset.label, dataset.fmt, len(dataset.files), result)
            if dataset.skipped:
                text += f"\n[skipped {len(dataset.skipped)} files of another format: " \
                        f"{', '.join(show(s) for s in dataset.skipped[:5])}]\n"
            return Outcome(True, bound_text(text, what="profile"), display=display)

        return simple_action(READ, f"profile {dataset.label}", run, paths=[dataset.label],
                             secret_read=dataset.has_secret(ctx.workspace))
