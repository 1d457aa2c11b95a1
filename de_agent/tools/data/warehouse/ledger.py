"""The query ledger: every warehouse statement run, per session, and its replayable export.

One JSONL file per session under ``$DE_AGENT_HOME/queries/``: connection, target, engine,
the SQL, duration, rows, the engine's estimate (bytes, cost), status, session and turn.
No secret is ever written (connections are recorded by name). ``export_sql`` turns a
session's ledger into a ``.sql`` file that replays the statements that ran.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from de_agent import paths


def ledger_dir() -> Path:
    return paths.home() / "queries"


def ledger_file(session_id: str) -> Path:
    safe = "".join(ch for ch in session_id if ch.isalnum() or ch in "-_") or "no-session"
    return ledger_dir() / f"{safe}.jsonl"


def record(session_id: str, entry: dict[str, Any]) -> None:
    """Append one statement to the session's ledger (never raises: the ledger must not break a turn)."""
    path = ledger_file(session_id)
    line = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "session_id": session_id, **entry}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, default=str) + "\n")
    except OSError:
        pass


def entries(session_id: str) -> list[dict[str, Any]]:
    path = ledger_file(session_id)
    out = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a torn last line after a crash
    return out


def find_session(prefix: str) -> str | None:
    """The session id whose ledger starts with prefix (exact match first), or None."""
    folder = ledger_dir()
    if (folder / f"{prefix}.jsonl").is_file():
        return prefix
    matches = sorted(p.stem for p in folder.glob("*.jsonl") if p.stem.startswith(prefix)) if folder.is_dir() else []
    return matches[0] if len(matches) == 1 else None


def human_bytes(n: int | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def table(session_id: str, limit: int = 50) -> tuple[list[str], list[list[Any]]]:
    """The ledger as a table (newest last) for ``/queries``."""
    rows = []
    for e in entries(session_id)[-limit:]:
        sql = " ".join(str(e.get("sql", "")).split())
        rows.append([e.get("turn", ""), e.get("connection", ""), e.get("target", ""), e.get("status", ""),
                     f"{float(e.get('duration_s') or 0):.2f} s", e.get("rows", ""),
                     human_bytes(e.get("est_bytes")), sql[:70] + ("…" if len(sql) > 70 else "")])
    return ["turn", "connection", "target", "status", "duration", "rows", "est. scan", "sql"], rows


def queries_text(session_id: str) -> str:
    """What ``/queries`` shows: the ledger as an aligned table, or a one-line explanation."""
    from de_agent.tools.data.helpers.tabular import format_table

    columns, rows = table(session_id)
    if not rows:
        return "No warehouse queries in this session yet."
    return (f"Queries of session {session_id} ({len(rows)} shown; export with "
            f"de-agent --export-queries {session_id}):\n" + format_table(columns, rows, max_width=72))


def export_sql(session_id: str, dest: Path) -> int:
    """Write the session's statements to dest as a replayable .sql file; returns how many."""
    lines = [f"-- de-agent query ledger of session {session_id}",
             "-- Statements that ran, in order. Failed or cancelled ones are commented out.", ""]
    n = 0
    for e in entries(session_id):
        sql = str(e.get("sql", "")).strip().rstrip(";").strip()
        if not sql:
            continue
        lines.append(f"-- {e.get('ts', '')} turn {e.get('turn', '?')} connection {e.get('connection', '')}"
                     f" target {e.get('target', '') or '-'} ({e.get('engine', '')}): {e.get('status', '')}, "
                     f"{e.get('rows', '?')} rows, {float(e.get('duration_s') or 0):.3f} s, "
                     f"est. {human_bytes(e.get('est_bytes'))}")
        if e.get("status") == "ok":
            lines.append(sql + ";")
            n += 1
        else:
            lines.extend("-- " + line for line in (sql + ";").splitlines())
        lines.append("")
    dest.write_text("\n".join(lines), encoding="utf-8")
    return n


def export_cli(ident: str, folder: Path, out: Any, err: Any) -> int:
    """``de-agent --export-queries SESSION``: write SESSION.sql into folder; exit status."""
    session_id = find_session(ident)
    if session_id is None:
        print(f"de-agent: no query ledger for session {ident!r} (or the prefix is ambiguous)", file=err)
        return 2
    dest = folder / f"queries-{session_id}.sql"
    n = export_sql(session_id, dest)
    print(f"wrote {n} statement{'s' if n != 1 else ''} to {dest}", file=out)
    return 0
