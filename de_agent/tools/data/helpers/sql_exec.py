"""Worker side of RunSQL: run statements on DuckDB (or a read-only SQLite file), bounded.

The tool has already classified the SQL with sqlglot; here DuckDB's own parser checks it
again, so a statement sqlglot took for a read but DuckDB would run as a write is refused
unless the call was approved as a write. Past ``max_rows`` the total is counted with
``count(*)`` when that takes under ``COUNT_SECONDS`` (else reported as "more than N"), and
every returned value passes through the personal-data judgement (``pii_values.Masker``).
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
COUNT_SECONDS = 1.0
_PRAGMA_NAME = re.compile(r"^\s*pragma\s+([A-Za-z_][\w.]*)\s*(=)?", re.I)
_PIVOT = re.compile(r"\b(?:UN)?PIVOT\b", re.I)
_EXPLAIN = re.compile(r"^\s*explain\s+(?:analyze\s+|analyse\s+)?", re.I)


def duck_read_only(con, text: str) -> str | None:
    """Why DuckDB would treat text as something other than a read, or None."""
    import duckdb

    kinds = duckdb.StatementType
    for stmt in con.extract_statements(text):
        if stmt.type == kinds.SELECT:
            continue
        if stmt.type == kinds.MULTI and _PIVOT.search(stmt.query):
            continue  # DuckDB runs PIVOT as a MULTI statement (a temporary enum type, then a SELECT)
        if stmt.type == kinds.EXPLAIN:
            inner = _EXPLAIN.sub("", stmt.query, count=1)
            if inner == stmt.query or duck_read_only(con, inner):
                return "EXPLAIN of a statement that writes"
            continue
        if stmt.type == kinds.PRAGMA:
            m = _PRAGMA_NAME.match(stmt.query)
            if m and m.group(1).lower() in READ_PRAGMAS and not m.group(2):
                continue
        return f"{stmt.type.name} is not read-only"
    return None


def _fetch(cursor, max_rows: int, count_sql: Any = None) -> dict[str, Any]:
    """Up to max_rows rows; when there are more, an exact count if count_sql(query) manages one quickly."""
    if cursor.description is None:
        return {"columns": [], "types": [], "rows": [], "row_count": 0, "exact": True, "result": False}
    columns = [str(d[0]) for d in cursor.description]
    types = [str(d[1]) if d[1] is not None else "" for d in cursor.description]
    rows = cursor.fetchmany(max_rows + 1)
    total, exact, note = len(rows), True, ""
    if len(rows) > max_rows:
        rows = rows[:max_rows]
        counted = count_sql() if count_sql else None
        if isinstance(counted, int):
            total = counted
        else:
            exact, note = False, counted or "not a plain query"
    return {"columns": columns, "types": types, "rows": rows, "row_count": total, "exact": exact,
            "count_note": note, "result": True}


def _duck_counter(con, query: str, stmt_type: Any):
    """A function that counts the rows of query within COUNT_SECONDS, or says why it did not."""
    import threading

    import duckdb

    def count() -> int | str:
        if stmt_type != duckdb.StatementType.SELECT:
            return "not a plain query"
        timer = threading.Timer(COUNT_SECONDS, con.interrupt)
        timer.start()
        try:
            return int(con.execute(f"SELECT count(*) FROM ({query.rstrip().rstrip(';')})").fetchone()[0])
        except duckdb.Error:
            return f"counting took over {COUNT_SECONDS:g} s"
        finally:
            timer.cancel()

    return count


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


def _sqlite_counter(conn: sqlite3.Connection, query: str):
    def count() -> int | str:
        if not re.match(r"(?is)^\s*(select|with|values)\b", query) or re.search(r"(?i)\breturning\b", query):
            return "not a plain query"
        deadline = time.monotonic() + COUNT_SECONDS
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            return int(conn.execute(f"SELECT count(*) FROM ({query.rstrip().rstrip(';')})").fetchone()[0])
        except sqlite3.Error:
            return f"counting took over {COUNT_SECONDS:g} s"
        finally:
            conn.set_progress_handler(None, 0)

    return count


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
            result = _fetch(cursor, max_rows, _sqlite_counter(conn, text))
        result["statements"] = len(statements)
        return result
    finally:
        conn.close()


def execute(request: dict[str, Any], tmp: str) -> dict[str, Any]:
    import duckdb

    started = time.perf_counter()
    sql, max_rows = request["sql"], int(request.get("max_rows", 100))
    if request.get("db_kind") == "sqlite":
        result = _run_sqlite(request["database"], sql, max_rows)
    else:
        con = connect(request["root"], request.get("database"), tmp=tmp,
                      secrets_ok=bool(request.get("secrets_ok")))
        statements = con.extract_statements(sql)
        if not statements:
            raise WorkerError("no SQL statement to run")
        if not request.get("allow_write") and (why := duck_read_only(con, sql)):
            raise WorkerError(f"refused: {why}, but the call was not approved as a write")
        result = {}
        for i, stmt in enumerate(statements):
            try:
                con.execute(stmt.query)
            except duckdb.Error as exc:
                message = str(exc)
                if "disabled by configuration" in message:
                    message += (" (RunSQL reads files inside the repository only: a path outside it, or a "
                                "symlink leading out of it, is refused)")
                raise WorkerError(message) from None
            last = i == len(statements) - 1
            result = _fetch(con, max_rows, _duck_counter(con, stmt.query, stmt.type) if last else None)
        result["statements"] = len(statements)
    if result.get("result"):
        from de_agent.tools.data.helpers.pii_values import Masker

        masker = Masker(result["columns"], [[r[i] for r in result["rows"]] for i in range(len(result["columns"]))])
        result["rows"] = [[cell(v) for v in row] for row in masker.rows(result["rows"])]
        result["masked_columns"] = masker.masked_columns
    result["elapsed_s"] = time.perf_counter() - started
    return result
