"""Worker side of RunSQL: run statements on DuckDB (or a read-only SQLite file), bounded.

The tool has already classified the SQL with sqlglot; here DuckDB's own parser checks it
again, so a statement sqlglot took for a read but DuckDB would run as a write is refused
unless the call was approved as a write.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from de_agent.tools.data.helpers.duck import WorkerError, cell, connect

# PRAGMAs that only report; every other PRAGMA counts as a write.
READ_PRAGMAS = frozenset({
    "table_info", "show_tables", "show_tables_expanded", "show_databases", "database_list",
    "database_size", "storage_info", "show", "version", "platform", "functions", "collations",
    "user_agent", "metadata_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "table_list", "compile_options", "pragma_list", "function_list",
    "module_list", "integrity_check", "quick_check", "page_count", "page_size", "schema_version",
    "user_version", "encoding", "freelist_count",
})
COUNT_SECONDS = 5.0
_PRAGMA_NAME = re.compile(r"^\s*pragma\s+([A-Za-z_][\w.]*)\s*(=)?", re.I)
_EXPLAIN = re.compile(r"^\s*explain\s+(?:analyze\s+|analyse\s+)?", re.I)


def _duck_read_only(con, text: str) -> str | None:
    """Why DuckDB would treat text as something other than a read, or None."""
    import duckdb

    kinds = duckdb.StatementType
    for stmt in con.extract_statements(text):
        if stmt.type == kinds.SELECT:
            continue
        if stmt.type == kinds.EXPLAIN:
            inner = _EXPLAIN.sub("", stmt.query, count=1)
            if inner == stmt.query or _duck_read_only(con, inner):
                return "EXPLAIN of a statement that writes"
            continue
        if stmt.type == kinds.PRAGMA:
            m = _PRAGMA_NAME.match(stmt.query)
            if m and m.group(1).lower() in READ_PRAGMAS and not m.group(2):
                continue
        return f"{stmt.type.name} is not read-only"
    return None


def _fetch(cursor, max_rows: int, can_count: bool) -> dict[str, Any]:
    if cursor.description is None:
        return {"columns": [], "types": [], "rows": [], "row_count": 0, "exact": True, "result": False}
    columns = [str(d[0]) for d in cursor.description]
    types = [str(d[1]) if d[1] is not None else "" for d in cursor.description]
    rows = cursor.fetchmany(max_rows + 1)
    total, exact = len(rows), True
    if len(rows) > max_rows:
        rows = rows[:max_rows]
        if can_count:
            deadline = time.monotonic() + COUNT_SECONDS
            while chunk := cursor.fetchmany(50_000):
                total += len(chunk)
                if time.monotonic() > deadline:
                    exact = False
                    break
        else:
            exact = False
    return {"columns": columns, "types": types, "rows": [[cell(v) for v in r] for r in rows],
            "row_count": total, "exact": exact, "result": True}


def _split_sqlite(sql: str) -> list[str]:
    statements, start = [], 0
    for i, ch in enumerate(sql):
        if ch == ";" and sqlite3.complete_statement(sql[start:i + 1]):
            statements.append(sql[start:i + 1])
            start = i + 1
    rest = sql[start:]
    if rest.strip() and not rest.strip().startswith("--"):
        statements.append(rest)
    return [s for s in statements if s.strip().strip(";").strip()]


def _sqlite_authorizer(action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None) -> int:
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and arg2 is not None and (arg1 or "").lower() not in READ_PRAGMAS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _run_sqlite(path: str, sql: str, max_rows: int) -> dict[str, Any]:
    conn = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True)
    try:
        conn.execute("PRAGMA query_only = 1")
        conn.set_authorizer(_sqlite_authorizer)
        statements = _split_sqlite(sql)
        if not statements:
            raise WorkerError("no SQL statement to run")
        result: dict[str, Any] = {}
        for text in statements:
            try:
                cursor = conn.execute(text)
            except sqlite3.Error as exc:
                raise WorkerError(f"SQLite: {exc}") from None
            result = _fetch(cursor, max_rows, can_count=True)
        result["statements"] = len(statements)
        return result
    finally:
        conn.close()


def execute(request: dict[str, Any], tmp: str) -> dict[str, Any]:
    started = time.perf_counter()
    sql, max_rows = request["sql"], int(request.get("max_rows", 100))
    if request.get("db_kind") == "sqlite":
        result = _run_sqlite(request["database"], sql, max_rows)
    else:
        con = connect(request["root"], request.get("database"), tmp=tmp)
        statements = con.extract_statements(sql)
        if not statements:
            raise WorkerError("no SQL statement to run")
        if not request.get("allow_write") and (why := _duck_read_only(con, sql)):
            raise WorkerError(f"refused: {why}, but the call was not approved as a write")
        result = {}
        for stmt in statements:
            con.execute(stmt.query)
            result = _fetch(con, max_rows, can_count=True)
        result["statements"] = len(statements)
    result["elapsed_s"] = time.perf_counter() - started
    return result
