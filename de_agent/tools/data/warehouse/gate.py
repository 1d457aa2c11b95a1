"""The cost gate: the engine's estimate against ``max_scan_bytes`` and the session's budget.

Returns why a statement must ask (in every mode but yolo), or "" when it may run. The
session's spent bytes are the estimates of statements that already ran in it.
"""

from __future__ import annotations

from typing import Any

from de_agent.tools.data.warehouse.connections import Connection
from de_agent.tools.data.warehouse.ledger import human_bytes


def limits(conn: Connection, settings: Any) -> tuple[int, int]:
    per_query = conn.max_scan_bytes if conn.max_scan_bytes is not None else int(settings.max_scan_bytes)
    return per_query, int(settings.session_scan_budget_bytes)


def check(conn: Connection, estimate: dict[str, Any], settings: Any, state: Any) -> str:
    per_query, budget = limits(conn, settings)
    est = estimate.get("bytes")
    if est is None:
        return ""
    spent = spent_so_far(state)
    if est > per_query:
        return (f"the engine estimates this scans {human_bytes(est)}, more than max_scan_bytes "
                f"({human_bytes(per_query)})")
    if spent + est > budget:
        return (f"the engine estimates this scans {human_bytes(est)}; with {human_bytes(spent)} already scanned "
                f"this session it goes past the session budget ({human_bytes(budget)})")
    return ""


def spend(state: Any, estimate: dict[str, Any]) -> None:
    if estimate.get("bytes"):
        state.scan_bytes_spent = spent_so_far(state) + int(estimate["bytes"])


def spent_so_far(state: Any) -> int:
    """The bytes this session's statements were estimated to scan. A resumed session starts a new
    engine: what its ledger says ran before counts too (compaction carries the count over to the
    new session, whose ledger starts empty, so the larger of the two stands)."""
    if state.session_id and state.scan_counted_for != state.session_id:
        from de_agent.tools.data.warehouse import ledger

        ran = sum(int(e.get("est_bytes") or 0) for e in ledger.entries(state.session_id) if e.get("status") == "ok")
        state.scan_bytes_spent = max(state.scan_bytes_spent, ran)
        state.scan_counted_for = state.session_id
    return int(state.scan_bytes_spent)


def describe(estimate: dict[str, Any]) -> str:
    if not estimate or estimate.get("bytes") is None and estimate.get("cost") is None:
        return "estimate: " + (estimate.get("detail") or "none") if estimate else "estimate: none"
    parts = []
    if estimate.get("bytes") is not None:
        parts.append(f"scans ≈{human_bytes(estimate['bytes'])}")
    if estimate.get("rows") is not None:
        parts.append(f"≈{estimate['rows']:,} rows")
    if estimate.get("cost") is not None:
        parts.append(f"cost {estimate['cost']}")
    return "estimate: " + ", ".join(parts)
