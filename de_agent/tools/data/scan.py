"""ScanPII: find personal data in a data file (sampled with DuckDB) or a text file (line by line).

Findings say which column (or which lines), what kind, how often, and show masked
examples only; a full value never leaves the worker. Data files are judged column by
column with ``pii_values.scan_table``, the same judgement that masks the other data tools'
output.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from de_agent.tools.base import (
    READ,
    Action,
    Outcome,
    Tool,
    ToolContext,
    ToolError,
    bound_text,
    looks_binary,
    simple_action,
)
from de_agent.tools.data.helpers.tabular import count, format_table, table_display
from de_agent.tools.schema import ToolArgs
from de_agent.tools.summaries import headline
from de_agent.workspace import ConfinementError

SAMPLE_ROWS = 10_000
MAX_TEXT_BYTES = 20_000_000


def sample_scan(request: dict[str, Any], tmp: str) -> dict[str, Any]:
    """Worker side: sample the data set and scan every (or every chosen) column."""
    from de_agent.tools.data.helpers.duck import WorkerError, connect
    from de_agent.tools.data.helpers.pii_values import scan_table
    from de_agent.tools.data.helpers.readers import source_sql

    con = connect(request["root"], tmp=tmp)
    con.execute(f"CREATE TEMP VIEW src AS SELECT * FROM {source_sql(con, request)}")
    names = [str(r[0]) for r in con.execute("DESCRIBE src").fetchall()]
    wanted = request.get("columns") or names
    missing = [c for c in wanted if c not in names]
    if missing:
        raise WorkerError(f"no column {', '.join(map(repr, missing))}; the columns are: {', '.join(names)}")
    total = con.execute("SELECT count(*) FROM src").fetchone()[0]
    # Every column is sampled, so dates of birth can be told by the personal data beside them.
    select = ", ".join('"' + c.replace('"', '""') + '"' for c in names)
    rows = con.execute(f"SELECT {select} FROM src USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) "
                       "REPEATABLE (7)").fetchall()
    by_column = scan_table(names, [[r[i] for r in rows] for i in range(len(names))])
    findings = [f.to_dict() for name in wanted for f in by_column[name]]
    return {"rows_total": total, "rows_sampled": len(rows), "columns": wanted, "findings": findings}


def _data_report(label: str, result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    findings = result["findings"]
    flagged = sorted({f["column"] for f in findings})
    head = (f"ScanPII {label}: sampled {count(result['rows_sampled'])} of {count(result['rows_total'])} rows, "
            f"{len(result['columns'])} columns; ")
    head += (f"{len(flagged)} column{'s' if len(flagged) != 1 else ''} look personal: {', '.join(flagged)}"
             if flagged else "nothing that looks personal found")
    cols = ["column", "kind", "matching values", "share", "masked examples"]
    rows = []
    for f in findings:
        if f["matches"]:
            matching = f"{count(f['matches'])} of {count(f['checked'])}" + (" + column name" if f["by_name"] else "")
            share = f"{100 * f['share']:.1f}%"
        else:
            matching, share = "column name only", ""
        rows.append([f["column"], f["kind"], matching, share, ", ".join(f["examples"])])
    text = head + "\n"
    if rows:
        text += "\n" + format_table(cols, rows, max_width=60) + "\n"
    return text, table_display(f"ScanPII {label}", cols, rows, note=head)


def _text_report(label: str, lines: int, findings: list[Any], cut: bool) -> tuple[str, dict[str, Any]]:
    head = f"ScanPII {label}: scanned {count(lines)} lines" + (" (cut at the size limit)" if cut else "") + "; "
    head += (", ".join(f"{f.kind} in {count(f.matches)} line{'s' if f.matches != 1 else ''}" for f in findings)
             if findings else "nothing that looks personal found")
    cols = ["kind", "lines", "line numbers", "masked examples"]
    rows = [[f.kind, count(f.matches), ", ".join(map(str, f.lines)) + (" …" if f.matches > len(f.lines) else ""),
             ", ".join(f.examples)] for f in findings]
    text = head + "\n" + ("\n" + format_table(cols, rows, max_width=60) + "\n" if rows else "")
    return text, table_display(f"ScanPII {label}", cols, rows, note=head)


class ScanArgs(ToolArgs):
    path: str = Field(min_length=1, description="Data file, glob, folder or text file in the repository.")
    columns: list[str] = Field([], description="Only these columns of a data file.")


class ScanPII(Tool):
    name = "ScanPII"
    kind = READ
    description = (
        "Look for personal data before exporting, logging or loading data elsewhere: emails, phone numbers, "
        "card numbers (Luhn and card ranges), IBANs, US SSNs, national ids, IP addresses, person names, postal "
        "addresses and dates of birth (by column values and neighbours), and telling column names (email, "
        "dob, ssn, ...). Data files (CSV, Parquet, JSON, NDJSON, Excel, Feather/Arrow, ORC, Avro, a glob or a "
        "partitioned folder) are sampled per column; other text files are scanned line by line. Reports kinds, "
        "shares and masked examples only.")
    Args = ScanArgs
    key_arguments = ("path",)

    def result_summary(self, ok: bool, output: str, display: dict[str, Any] | None) -> str:
        return headline(ok, output)

    async def act(self, args: ScanArgs, ctx: ToolContext) -> Action:
        from de_agent.tools.data.helpers.source import GLOB_CHARS, format_of, resolve_dataset

        path, columns = args.path, args.columns
        ws = ctx.workspace
        try:
            is_dir = not (GLOB_CHARS & set(path)) and ws.resolve(path).is_dir()
        except ConfinementError as exc:
            raise ToolError(str(exc)) from None
        if GLOB_CHARS & set(path) or is_dir or format_of(path):
            dataset = resolve_dataset(ws, path)
            return simple_action(READ, f"scan {dataset.label} for personal data",
                                 lambda: self._scan_data(ctx, dataset, columns), paths=[dataset.label],
                                 secret_read=dataset.has_secret(ws))
        if columns:
            raise ToolError(f"{path} is not a data file; 'columns' applies to data files only")
        try:
            label = str(ws.relative(path))
        except ConfinementError as exc:
            raise ToolError(str(exc)) from None
        return simple_action(READ, f"scan {label} for personal data", lambda: self._scan_text(ctx, label),
                             paths=[label], secret_read=ws.is_secret(label))

    async def _scan_data(self, ctx: ToolContext, dataset: Any, columns: list[str]) -> Outcome:
        from de_agent.tools.data.helpers.client import call_worker

        try:
            result = await call_worker(ctx.workspace.root, {"op": "pii", **dataset.request(), "columns": columns},
                                       ctx.settings.data_timeout_s)
        except ToolError:
            # A lone .json that is not tabular (a config, say) is still worth a text scan.
            if len(dataset.files) == 1 and dataset.fmt == "json" and not columns:
                return await self._scan_text(ctx, dataset.label)
            raise
        text, display = _data_report(dataset.label, result)
        return Outcome(True, bound_text(text, what="scan"), display=display)

    async def _scan_text(self, ctx: ToolContext, label: str) -> Outcome:
        from de_agent.tools.data.helpers.pii import scan_lines

        try:
            data = ctx.workspace.read_bytes(label, limit=MAX_TEXT_BYTES + 1)
        except FileNotFoundError:
            raise ToolError(f"{label}: no such file") from None
        except ConfinementError as exc:
            raise ToolError(str(exc)) from None
        if looks_binary(data):
            raise ToolError(f"{label}: looks binary; give a data file (CSV, Parquet, JSON) or a text file")
        cut = len(data) > MAX_TEXT_BYTES
        lines = data[:MAX_TEXT_BYTES].decode("utf-8", "replace").splitlines()
        findings = await asyncio.to_thread(scan_lines, lines)
        text, display = _text_report(label, len(lines), findings, cut)
        return Outcome(True, bound_text(text, what="scan"), display=display)
