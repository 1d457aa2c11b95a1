"""DataDiff on a warehouse connection, engine side: checks, the cost gate, the approval, the ledger.

The builds run in the data worker (``warehouse/diff_ops.py``) in a scratch schema named
``de_agent_scratch_<session>`` inside one transaction that is always rolled back. This side
checks both SELECTs with the connection's read-only classifier, asks the planner for an
estimate, builds an approval that says what will be created, and records every statement the
worker ran in the query ledger. Engines other than PostgreSQL are refused here, plainly.
"""

from __future__ import annotations

import re
import time
from typing import Any

from de_agent.tools.base import EXECUTE, Action, Outcome, ToolContext, ToolError, simple_action
from de_agent.tools.data.warehouse.connections import Connection

SUPPORTED = ("postgres",)


def supported(conn: Connection) -> None:
    if conn.type not in SUPPORTED:
        raise ToolError(f"DataDiff is not supported on {conn.type} yet (it builds and compares on PostgreSQL "
                        "connections and local DuckDB); compare with RunSQL there, or pass sql_before and sql_after "
                        "over repository files")


def connection(ctx: ToolContext, name: str) -> Connection:
    """The named connection, refused plainly when DataDiff cannot build on its engine yet."""
    from de_agent.tools.data.warehouse.connections import resolve
    from de_agent.tools.data.warehouse.tools import connection_for

    conn = resolve(name, ctx.settings, ctx.workspace.root)
    if conn is None:
        raise ToolError(f"no warehouse connection {name!r}")
    supported(conn)
    connection_for(ctx, name)  # the driver is installed, or a one-line error naming the extra
    return conn


def source_relation(ws: Any, source: str, table: str, yml: str) -> tuple[str, str]:
    """A dbt source's schema and table on the warehouse: its YAML's ``schema``/``identifier``, else the names."""
    import yaml

    try:
        doc = yaml.safe_load(ws.read_bytes(yml).decode("utf-8", "replace")) if yml else None
    except Exception:  # noqa: BLE001 - an unreadable YAML keeps dbt's defaults
        doc = None
    sources = doc.get("sources") if isinstance(doc, dict) else None
    for src in sources if isinstance(sources, list) else []:
        if isinstance(src, dict) and src.get("name") == source:
            ident = next((t.get("identifier") for t in src.get("tables") or []
                          if isinstance(t, dict) and t.get("name") == table and t.get("identifier")), None)
            return str(src.get("schema") or source), str(ident or table)
    return source, table


def scratch_name(session_id: Any) -> str:
    tail = re.sub(r"[^a-z0-9_]", "_", str(session_id or "no_session").lower())
    return ("de_agent_scratch_" + tail)[:63]


def checked(conn: Connection, request: dict[str, Any], key: list[str], sample: int | None) -> str:
    from de_agent.tools.data.warehouse.classify import classify

    supported(conn)
    for which in ("sql_before", "sql_after"):
        verdict = classify(request[which], conn.dialect)
        if verdict.writes or verdict.statements != 1:
            raise ToolError(f"{which} must be one SELECT (DataDiff builds it in a scratch schema)"
                            + (": " + "; ".join(verdict.reasons) if verdict.reasons else ""))
    if sample and not key:
        raise ToolError("a sample needs a key (both sides must hold the same keys); name 'key' or compare all rows")
    request.update({"key": key, "sample": sample})
    return str(request.pop("label"))


async def action(ctx: ToolContext, conn: Connection, request: dict[str, Any], label: str) -> Action:
    """The approval-gated warehouse diff: estimate first, then build, compare, roll back."""
    from de_agent.tools.data.datadiff import headline, render_diff
    from de_agent.tools.data.warehouse import gate
    from de_agent.tools.data.warehouse.tools import _call, _label, _record, gated_call

    request["scratch"] = scratch_name(ctx.state.session_id)
    started = time.perf_counter()
    try:
        estimate = (await _call(ctx, conn, {"action": "datadiff_estimate", **request, "allow_write": True}))["estimate"]
    except ToolError as exc:
        _record(ctx, conn, f"-- DataDiff {label}: EXPLAIN", started, "error", {}, error=str(exc), kind="datadiff")
        raise
    cost_note = gate.describe(estimate)
    over = gate.check(conn, estimate, ctx.settings, ctx.state)

    async def run() -> Outcome:
        result, begun = await gated_call(ctx, conn, {"action": "datadiff", **request, "allow_write": True},
                                         f"-- DataDiff {label} in {request['scratch']} (rolled back)",
                                         estimate, kind="datadiff")
        for i, sql in enumerate(result.pop("statements", [])):
            _record(ctx, conn, sql, begun, "ok", estimate if i == 0 else {}, kind="datadiff")
        where = f"{label} on {_label(conn)}"
        display = {"kind": "datadiff", "label": where, "headline": headline(where, result), **result}
        return Outcome(True, f"{cost_note}.\n" + render_diff(where, result), display=display)

    sample = f" on a {request['sample']}% sample of keys" if request.get("sample") else " (full run)"
    summary = (f"build both versions of {label} on {_label(conn)} and diff them{sample}: creates schema {request['scratch']} with "
               f"views onto the upstream relations and tables before_ and after_ (CREATE TABLE AS of both "
               f"versions), compares segment hashes on the server, then drops it all (one transaction, rolled "
               f"back); your schemas are only read ({cost_note})\n-- before\n{_short(request['sql_before'])}\n"
               f"-- after\n{_short(request['sql_after'])}")
    reason = f"DataDiff builds in a scratch schema on {conn.name} ({cost_note})"
    if over:
        reason = "cost gate: " + over + "; " + reason
    if conn.protected:
        reason = f"connection '{conn.name}' is protected; every build asks, in every mode. " + reason
    return simple_action(EXECUTE, summary, run, asks=True, force_ask=conn.protected, ask_reason=reason)


def _short(sql: str) -> str:
    sql = sql.strip()
    return sql if len(sql) <= 1500 else sql[:1500] + "\n…"
