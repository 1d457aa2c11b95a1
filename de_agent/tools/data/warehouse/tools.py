"""The warehouse tools: RunSQL and ProfileData on a connection, ListTables, DescribeTable.

RunSQL/ProfileData keep their own code for repository files and call ``sql_action`` /
``profile_action`` here when a connection applies. Every statement is classified in the
connection's dialect and costed by the engine before the policy decides; what runs is
recorded in the query ledger. Nothing here opens a connection: the data worker does.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from de_agent.tools.base import (
    EXECUTE,
    READ,
    Action,
    Outcome,
    Tool,
    ToolContext,
    ToolError,
    bound_text,
    simple_action,
)
from de_agent.tools.data.helpers.tabular import count, format_table, table_display
from de_agent.tools.data.warehouse import gate, ledger
from de_agent.tools.data.warehouse.connections import Connection, resolve
from de_agent.tools.schema import ToolArgs
from de_agent.tools.summaries import headline


def connection_for(ctx: ToolContext, name: str | None) -> Connection | None:
    """The connection a call names (or the default), checked for its driver; None = repository files."""
    from de_agent.tools.data.warehouse.drivers import MissingDriver, require

    conn = resolve(name, ctx.settings, ctx.workspace.root)
    if conn is not None:
        try:
            require(conn.type)
        except MissingDriver as exc:
            raise ToolError(str(exc)) from None
    return conn


def _needed(ctx: ToolContext, name: str, hint: str) -> Connection:
    conn = connection_for(ctx, name)
    if conn is None:
        raise ToolError("no warehouse connection: name one from [connections.NAME] in your user config, or add a "
                        f"dbt project with a profile; {hint}")
    return conn


async def _call(ctx: ToolContext, conn: Connection, request: dict[str, Any]) -> dict[str, Any]:
    from de_agent.tools.data.warehouse.client import call_warehouse

    return await call_warehouse(ctx.workspace.root, conn, request, ctx.settings.data_timeout_s)


def _label(conn: Connection) -> str:
    return f"{conn.name}" + (f" (target {conn.target})" if conn.target else "") + f" [{conn.type}]"


def _record(ctx: ToolContext, conn: Connection, sql: str, started: float, status: str, estimate: dict[str, Any],
            rows: Any = None, error: str = "", kind: str = "sql") -> None:
    ledger.record(str(ctx.state.session_id or "no-session"), {
        "turn": ctx.state.turn_index, "connection": conn.name, "target": conn.target, "engine": conn.type,
        "kind": kind, "sql": sql, "status": status, "duration_s": round(time.perf_counter() - started, 4),
        "rows": rows, "est_bytes": estimate.get("bytes"), "est_cost": estimate.get("cost"), "error": error[:300]})


async def gated_call(ctx: ToolContext, conn: Connection, request: dict[str, Any], shown: str,
                     estimate: dict[str, Any], kind: str = "sql") -> tuple[dict[str, Any], float]:
    """Run one approved request on the worker and spend its estimate; the ledger records a failure
    or an interruption under ``shown``. The result, and when the request started."""
    started = time.perf_counter()
    try:
        result = await _call(ctx, conn, request)
    except ToolError as exc:
        _record(ctx, conn, shown, started, "cancelled" if "cancel" in str(exc) else "error", estimate,
                error=str(exc), kind=kind)
        raise
    except BaseException:
        _record(ctx, conn, shown, started, "cancelled", estimate, error="interrupted", kind=kind)
        raise
    gate.spend(ctx.state, estimate)
    return result, started


async def sql_action(ctx: ToolContext, conn: Connection, sql: str, max_rows: int) -> Action:
    from de_agent.tools.data.sql import render
    from de_agent.tools.data.warehouse.classify import classify

    verdict = classify(sql, conn.dialect)
    if verdict.statements == 0 and not verdict.writes:
        raise ToolError("parameter 'sql' holds no SQL statement")
    try:
        if verdict.writes and conn.type == "spark":
            # Spark can only plan queries (spark.sql would run a command): no estimate, no JVM start.
            estimate = {"bytes": None, "rows": None, "cost": None, "detail": "Spark has no estimate for commands"}
        else:
            estimate = (await _call(ctx, conn, {"action": "estimate", "sql": sql}))["estimate"]
    except ToolError as exc:
        if verdict.writes:
            estimate = {"bytes": None, "rows": None, "cost": None, "detail": f"unavailable ({exc})"}
        else:
            raise
    cost_note = gate.describe(estimate)
    over = gate.check(conn, estimate, ctx.settings, ctx.state)

    async def run() -> Outcome:
        request = {"action": "sql", "sql": sql, "max_rows": max_rows, "allow_write": verdict.writes}
        result, started = await gated_call(ctx, conn, request, sql, estimate)
        _record(ctx, conn, sql, started, "ok", estimate, rows=result.get("row_count"))
        text, display = render(sql, result, max_rows)
        head = f"On {_label(conn)}; {cost_note}.\n"
        if display.get("kind") == "table":
            display["note"] = head.strip() + " " + display.get("note", "")
        return Outcome(True, bound_text(head + text, what="query result"), display=display)

    shown = sql if len(sql) <= 2000 else sql[:2000] + "\n…"
    where = f"on {_label(conn)}"
    if verdict.writes:
        reason = "SQL that writes or changes state: " + "; ".join(verdict.reasons)
        if conn.protected:
            reason = f"connection '{conn.name}' is protected; every write asks, in every mode. " + reason
        return simple_action(EXECUTE, f"run SQL that writes {where} ({cost_note})\n{shown}", run, asks=True,
                             force_ask=conn.protected, ask_reason=reason + f" ({cost_note})")
    if over:
        return simple_action(READ, f"run read-only SQL {where} ({cost_note})\n{shown}", run, asks=True,
                             ask_reason="cost gate: " + over)
    return simple_action(READ, f"run read-only SQL {where} ({cost_note})", run)


def render_profile(label: str, result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    stats = result["columns"]
    how = (f"sampled {100 * result['sampled']:.2f}% on the engine, counts scaled" if result.get("sampled")
           else "computed on the engine")
    head = (f"Profile of {label}: {count(result['rows'])} rows, {result['column_count']} columns "
            f"({how}, {result['elapsed_s']:.2f} s)")
    cols = ["column", "type", "nulls", "null %", "distinct", "min", "max", "top values (count)"]
    rows = [[s["name"], s["type"], count(s["nulls"]), f"{100 * s['null_share']:.1f}",
             count(s["distinct"]) if s["distinct"] is not None else "", s["min"], s["max"],
             "(mostly unique)" if s["unique"] else ", ".join(f"{v} ({count(n)})" for v, n in s["top"])]
            for s in stats]
    note = "values that look like personal data are masked; no rows were pulled to this machine"
    text = [head, f"[{note}]", "", format_table(cols, rows, max_width=60)]
    items = [table_display(head, cols, rows, note=note)]
    sample = result["sample"]
    if sample["rows"]:
        text += ["", f"Sample rows ({len(sample['rows'])}):", format_table(sample["columns"], sample["rows"])]
        items.append(table_display(f"Sample rows of {label}", sample["columns"], sample["rows"]))
    return "\n".join(text) + "\n", {"kind": "group", "items": items}


async def profile_action(ctx: ToolContext, conn: Connection, table: str, sample_rows: int) -> Action:
    # The whole table's scan, as the engine estimates it: a conservative price for a (sampled) profile.
    estimate = (await _call(ctx, conn, {"action": "estimate_table", "table": table}))["estimate"]
    cost_note = gate.describe(estimate)
    over = gate.check(conn, estimate, ctx.settings, ctx.state)

    async def run() -> Outcome:
        started = time.perf_counter()
        try:
            result = await _call(ctx, conn, {"action": "profile", "table": table, "sample_rows": sample_rows})
        except ToolError as exc:
            _record(ctx, conn, f"-- ProfileData {table}", started, "error", {}, error=str(exc), kind="profile")
            raise
        gate.spend(ctx.state, estimate)
        _record(ctx, conn, f"-- ProfileData {table}", started, "ok", estimate, rows=result.get("rows"),
                kind="profile")
        text, display = render_profile(f"{table} on {_label(conn)}", result)
        return Outcome(True, bound_text(f"{cost_note}.\n" + text, what="profile"), display=display)

    summary = f"profile {table} on {_label(conn)} ({cost_note})"
    if over:
        return simple_action(READ, summary, run, asks=True, ask_reason="cost gate: " + over)
    return simple_action(READ, summary, run)


_CONNECTION = "Connection name ('' for the default)."


class ListTablesArgs(ToolArgs):
    connection: str = Field(description=_CONNECTION)
    schema_: str | None = Field(None, alias="schema", description="Only this schema (dataset, database).")
    pattern: str | None = Field(None, description="Table name glob, e.g. 'fct_*'.")


class DescribeTableArgs(ToolArgs):
    connection: str = Field(description=_CONNECTION)
    table: str = Field(min_length=1, description="table, schema.table or catalog.schema.table")


def _on(arguments: dict[str, Any], what: str) -> str:
    """"stg_* on prod", "tables on the default connection": a warehouse call in one line."""
    conn = arguments.get("connection")
    return f"{what} on {conn if isinstance(conn, str) and conn else 'the default connection'}"


class ListTables(Tool):
    name = "ListTables"
    kind = READ
    description = (
        "List the tables and views of a warehouse connection (PostgreSQL, Spark, Snowflake, BigQuery, Databricks, "
        "Trino, MotherDuck) with row estimates where the engine knows them. 'connection' is a name from the user "
        "config or 'dbt:TARGET'; empty means the default (the dbt target). 'pattern' is a glob like 'stg_*'.")
    Args = ListTablesArgs

    def call_summary(self, arguments: dict[str, Any]) -> str:
        where = ".".join(str(arguments[k]) for k in ("schema", "pattern") if arguments.get(k))
        return _on(arguments, where or "tables")

    def result_summary(self, ok: bool, output: str, display: dict[str, Any] | None) -> str:
        from de_agent.tools.summaries import first_line

        return first_line(output, 200)

    def describe(self, ctx: ToolContext | None) -> str:
        if ctx is None:
            return self.description
        from de_agent.tools.data.warehouse.connections import names

        known = names(ctx.settings, ctx.workspace.root)
        return self.description + (f" Connections: {', '.join(known)}." if known else " No connection is set up.")

    async def act(self, args: ListTablesArgs, ctx: ToolContext) -> Action:
        conn = _needed(ctx, args.connection, "for repository files use FindFiles")
        schema, pattern = args.schema_ or None, args.pattern or None

        async def run() -> Outcome:
            result = await _call(ctx, conn, {"action": "list", "schema": schema, "pattern": pattern})
            rows = result["rows"][:1000]
            more = " (first 1000)" if len(result["rows"]) > 1000 else ""
            head = f"{len(rows)} tables on {_label(conn)}{more}"
            text = head + "\n" + format_table(result["columns"], rows, max_width=60) + "\n"
            return Outcome(True, bound_text(text, what="table list"),
                           display=table_display(head, result["columns"], rows))

        return simple_action(READ, f"list tables on {_label(conn)}", run)


class DescribeTable(Tool):
    name = "DescribeTable"
    kind = READ
    description = (
        "Describe a table on a warehouse connection: columns and types, row estimate, size, and partitioning "
        "and clustering where the engine knows them. 'table' may be schema-qualified.")
    Args = DescribeTableArgs

    def call_summary(self, arguments: dict[str, Any]) -> str:
        table = arguments.get("table")
        return _on(arguments, table if isinstance(table, str) and table else "?")

    def result_summary(self, ok: bool, output: str, display: dict[str, Any] | None) -> str:
        return headline(ok, output)

    async def act(self, args: DescribeTableArgs, ctx: ToolContext) -> Action:
        conn = _needed(ctx, args.connection, "for repository files use ProfileData or RunSQL")
        table = args.table

        async def run() -> Outcome:
            r = await _call(ctx, conn, {"action": "describe", "table": table})
            facts = [f"rows≈{count(r['row_estimate'])}" if r.get("row_estimate") is not None else "rows unknown",
                     f"size {ledger.human_bytes(r['bytes'])}" if r.get("bytes") is not None else ""]
            if r.get("partitioning"):
                facts.append(f"partitioned by {r['partitioning']}")
            if r.get("clustering"):
                facts.append(f"clustered by {r['clustering']}")
            head = f"{table} on {_label(conn)}: {len(r['columns'])} columns; " + "; ".join(f for f in facts if f)
            cols = ["column", "type", "nullable"]
            text = head + "\n" + format_table(cols, r["columns"], max_width=60) + "\n"
            return Outcome(True, bound_text(text, what="table description"),
                           display=table_display(head, cols, r["columns"]))

        return simple_action(READ, f"describe {table} on {_label(conn)}", run)
