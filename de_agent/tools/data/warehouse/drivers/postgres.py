"""PostgreSQL through psycopg 3: read-only sessions, EXPLAIN estimates, server-side cancel.

Reads run with ``default_transaction_read_only = on`` for the whole session and every
transaction begins ``READ ONLY``, so even a statement the classifier missed cannot write.
A single query is read through a server-side cursor, so only the rows shown cross the
wire. ``statement_timeout`` bounds each statement on the server; ``cancel`` sends a cancel
request (``cancel_safe``) for the running one.
"""

from __future__ import annotations

from typing import Any

from de_agent.tools.data.helpers.duck import WorkerError, cell
from de_agent.tools.data.warehouse.drivers.base import Driver, fetch, literal, split_name

_LIBPQ_KEYS = ("host", "port", "user", "dbname", "sslmode", "sslrootcert", "sslcert", "sslkey",
               "connect_timeout", "keepalives_idle", "target_session_attrs")
BLOCK = 8192


class PostgresDriver(Driver):
    dialect = "postgres"
    distinct_fn = "count(DISTINCT {c})"
    text_cast = "({c})::text"

    def open(self) -> None:
        import psycopg

        p = self.params
        kwargs: dict[str, Any] = {k: p[k] for k in _LIBPQ_KEYS if p.get(k) not in (None, "")}
        if "dbname" not in kwargs and p.get("database"):
            kwargs["dbname"] = p["database"]
        if p.get("pass") and "password" not in self.secrets:
            self.secrets["password"] = str(p["pass"])
        if self.secrets.get("password"):
            kwargs["password"] = self.secrets["password"]
        kwargs.setdefault("connect_timeout", 10)
        options = [f"-c statement_timeout={int(self.timeout_s * 1000)}"]
        if self.read_only:
            options.append("-c default_transaction_read_only=on")
        schema = p.get("schema")
        if schema:
            options.append(f"-c search_path={str(schema).replace(' ', '')},public")
        try:
            self.conn = psycopg.connect(application_name="de-agent", options=" ".join(options), **kwargs)
        except psycopg.Error as exc:
            raise WorkerError(f"cannot connect to PostgreSQL: {first_line(exc)}") from None
        self.conn.read_only = True if self.read_only else None

    def cancel(self) -> None:
        if self.conn is not None:
            try:
                self.conn.cancel_safe(timeout=5)
            except Exception:  # noqa: BLE001 - best effort: the client side is stopped anyway
                pass

    def _plan(self, sql: str) -> list[dict[str, Any]]:
        import psycopg

        try:
            with self.conn.transaction(force_rollback=True):
                row = self.conn.execute(f"EXPLAIN (FORMAT JSON, VERBOSE) {sql}").fetchone()
        except psycopg.Error as exc:
            raise WorkerError(f"EXPLAIN failed: {first_line(exc)}") from None
        return row[0] if row else []

    def estimate(self, sql: str) -> dict[str, Any]:
        import sqlglot
        from sqlglot import exp

        try:
            statements = [s for s in sqlglot.parse(sql, read="postgres") if s is not None]
        except Exception:  # noqa: BLE001 - nothing to explain
            statements = []
        total_bytes = total_rows = 0
        cost = 0.0
        seen = False
        with self.conn.transaction(force_rollback=True):
            for stmt in statements:
                if not isinstance(stmt, exp.Query | exp.Insert | exp.Update | exp.Delete):
                    continue
                for entry in self._plan(stmt.sql(dialect="postgres")):
                    plan = entry.get("Plan", {})
                    cost += float(plan.get("Total Cost", 0.0))
                    total_rows += int(plan.get("Plan Rows", 0))
                    total_bytes += self._scan_bytes(plan)
                    seen = True
        if not seen:
            return {"bytes": None, "rows": None, "cost": None, "detail": "no plan (not a query)"}
        return {"bytes": total_bytes, "rows": total_rows, "cost": round(cost, 2),
                "detail": f"EXPLAIN: cost {cost:.0f}, {total_rows:,} rows out"}

    def _scan_bytes(self, plan: dict[str, Any]) -> int:
        """Bytes the plan reads: whole relations for sequential scans, rows x width otherwise."""
        total = 0
        stack = [plan]
        while stack:
            node = stack.pop()
            stack.extend(node.get("Plans", []))
            rel = node.get("Relation Name")
            if not rel:
                continue
            if node.get("Node Type") == "Seq Scan":
                name = f"{literal(node.get('Schema', 'public'))}, {literal(rel)}"
                row = self.conn.execute(
                    f"SELECT pg_relation_size(format('%I.%I', {name})::regclass)").fetchone()
                total += int(row[0] or 0) if row else 0
            else:
                total += int(node.get("Plan Rows", 0)) * int(node.get("Plan Width", 0))
        return total

    def run(self, sql: str, max_rows: int) -> dict[str, Any]:
        import psycopg
        import sqlglot
        from sqlglot import exp

        try:
            statements = [s for s in sqlglot.parse(sql, read="postgres") if s is not None]
        except Exception:  # noqa: BLE001 - let the server say what is wrong
            statements = []
        try:
            if self.read_only and len(statements) == 1 and isinstance(statements[0], exp.Query):
                # One query: a server-side cursor, so only the rows we show leave the server.
                with self.conn.transaction(force_rollback=self.read_only):
                    cur = self.conn.cursor(name="de_agent_query")
                    cur.execute(sql)
                    result = fetch(cur, max_rows)
                    cur.close()
                return {**result, "statements": 1}
            with self.conn.transaction(force_rollback=self.read_only):
                cur = self.conn.cursor()
                cur.execute(sql)
                result = fetch(cur, max_rows)
            return {**result, "statements": max(len(statements), 1)}
        except psycopg.errors.QueryCanceled as exc:
            raise WorkerError(f"cancelled on the server: {first_line(exc)}") from None
        except psycopg.errors.ReadOnlySqlTransaction as exc:
            raise WorkerError(f"refused by the server's read-only transaction: {first_line(exc)}") from None
        except psycopg.Error as exc:
            raise WorkerError(f"PostgreSQL: {first_line(exc)}") from None

    def query(self, sql: str) -> list[tuple]:
        import psycopg

        try:
            with self.conn.transaction(force_rollback=True):
                return self.conn.execute(sql).fetchall()
        except psycopg.errors.QueryCanceled as exc:
            raise WorkerError(f"cancelled on the server: {first_line(exc)}") from None
        except psycopg.Error as exc:
            raise WorkerError(f"PostgreSQL: {first_line(exc)}") from None

    def list_tables(self, schema: str | None, pattern: str | None) -> dict[str, Any]:
        where = ["n.nspname NOT IN ('pg_catalog', 'information_schema')", "n.nspname NOT LIKE 'pg_toast%'",
                 "c.relkind IN ('r', 'p', 'v', 'm', 'f')", "NOT c.relispartition"]
        if schema:
            where.append(f"n.nspname = {literal(schema)}")
        if pattern:
            from de_agent.tools.data.warehouse.drivers.base import like

            where.append(f"lower(c.relname) LIKE {literal(like(pattern))}")
        rows = self.query(
            "SELECT n.nspname, c.relname, CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' "
            "WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'foreign table' END, "
            "CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END, "
            "(SELECT sum(pg_total_relation_size(t.relid))::bigint FROM pg_partition_tree(c.oid) t) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " + " AND ".join(where)
            + " ORDER BY 1, 2 LIMIT 1001")
        return {"columns": ["schema", "table", "type", "rows≈", "bytes"], "rows": [[cell(v) for v in r] for r in rows]}

    def describe(self, table: str) -> dict[str, Any]:
        parts = split_name(table)
        if len(parts) == 3:
            parts = parts[1:]
        target = ".".join('"' + p.replace('"', '""') + '"' for p in parts)
        rows = self.query(
            "SELECT c.oid, c.relkind, CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END, "
            "(SELECT sum(pg_total_relation_size(t.relid))::bigint FROM pg_partition_tree(c.oid) t), "
            "pg_get_partkeydef(c.oid) FROM pg_class c WHERE c.oid = "
            f"to_regclass({literal(target)})")
        if not rows:
            raise WorkerError(f"no table {table!r} visible to this user")
        oid, _kind, estimate, size, partkey = rows[0]
        cols = self.query(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END "
            f"FROM pg_attribute a WHERE a.attrelid = {int(oid)} AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum")
        clustered = self.query(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = "
            f"{int(oid)} AND i.indisclustered")
        return {"table": table, "columns": [[str(a), str(b), str(c)] for a, b, c in cols],
                "row_estimate": None if estimate is None else int(estimate), "bytes": int(size or 0),
                "partitioning": partkey, "clustering": clustered[0][0] if clustered else None}

    def sample_clause(self, fraction: float) -> str:
        return f"TABLESAMPLE SYSTEM ({min(fraction * 100, 100):.4f})"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
