"""What every warehouse driver does, over a DB-API connection, in the engine's own SQL.

A driver opens one connection (read-only where the engine can enforce it), estimates a
statement's cost with the engine's own planner, runs statements with bounded fetches,
browses the catalog and computes profiles as aggregate SQL on the engine. ``cancel`` may
be called from another thread (the worker's signal handling) while a statement runs.
"""

from __future__ import annotations

import time
from typing import Any

from de_agent.tools.data.helpers.duck import WorkerError, cell

SAMPLE_ABOVE_ROWS = 2_000_000
SAMPLE_TARGET_ROWS = 1_000_000
TOP_K = 5


class Driver:
    dialect = ""
    quote_char = '"'
    distinct_fn = "approx_count_distinct({c})"
    text_cast = "CAST({c} AS VARCHAR)"

    def __init__(self, conn: dict[str, Any], timeout_s: float, read_only: bool) -> None:
        self.spec = conn
        self.params: dict[str, Any] = dict(conn.get("params") or {})
        self.secrets: dict[str, str] = dict(conn.get("secrets") or {})
        self.timeout_s = timeout_s
        self.read_only = read_only
        self.conn: Any = None
        self.cursor: Any = None

    # -- lifecycle ------------------------------------------------------------------------
    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - closing after a cancel may fail; nothing to do
                pass

    def cancel(self) -> None:
        """Stop the running statement on the server (best effort; called from another thread)."""
        if self.cursor is not None and hasattr(self.cursor, "cancel"):
            try:
                self.cursor.cancel()
            except Exception:  # noqa: BLE001 - best effort: the worker exits anyway
                pass

    # -- statements -----------------------------------------------------------------------
    def estimate(self, sql: str) -> dict[str, Any]:
        """{"bytes", "rows", "cost", "detail"} from the engine's planner; values may be None."""
        return {"bytes": None, "rows": None, "cost": None, "detail": "no estimate for this engine"}

    def check_read(self, sql: str) -> str | None:
        """Why the engine's own parser sees a write in sql (second check), or None."""
        return None

    def run(self, sql: str, max_rows: int) -> dict[str, Any]:
        self.cursor = self.conn.cursor()
        self.cursor.execute(sql)
        return {**fetch(self.cursor, max_rows), "statements": 1}

    def query(self, sql: str) -> list[tuple]:
        cur = self.conn.cursor()
        cur.execute(sql)
        return cur.fetchall()

    # -- catalog --------------------------------------------------------------------------
    def ident(self, name: str) -> str:
        q = self.quote_char
        return q + name.replace(q, q + q) + q

    def qualified(self, table: str) -> str:
        parts = split_name(table)
        return ".".join(self.ident(p) for p in parts)

    def list_tables(self, schema: str | None, pattern: str | None) -> dict[str, Any]:
        where = ["table_schema NOT IN ('information_schema', 'pg_catalog', 'INFORMATION_SCHEMA')"]
        if schema:
            where.append(f"table_schema = {literal(schema)}")
        if pattern:
            where.append(f"lower(table_name) LIKE {literal(like(pattern))}")
        rows = self.query("SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE "
                          + " AND ".join(where) + " ORDER BY 1, 2 LIMIT 1001")
        return {"columns": ["schema", "table", "type"], "rows": [[cell(v) for v in r] for r in rows]}

    def describe(self, table: str) -> dict[str, Any]:
        parts = split_name(table)
        where = [f"table_name = {literal(parts[-1])}"]
        if len(parts) > 1:
            where.append(f"table_schema = {literal(parts[-2])}")
        rows = self.query("SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE "
                          + " AND ".join(where) + " ORDER BY ordinal_position")
        if not rows:
            raise WorkerError(f"no table {table!r} (or no columns visible to this user)")
        return {"table": table, "columns": [[str(r[0]), str(r[1]), str(r[2])] for r in rows],
                "row_estimate": None, "bytes": None, "partitioning": None, "clustering": None}

    # -- profile --------------------------------------------------------------------------
    def sample_clause(self, fraction: float) -> str:
        return ""

    def profile(self, table: str, sample_rows: int) -> dict[str, Any]:
        from de_agent.tools.data.helpers.pii import mask_text

        started = time.perf_counter()
        info = self.describe(table)
        columns = [(c[0], c[1]) for c in info["columns"]][:200]
        estimate = info.get("row_estimate")
        if estimate is None and self.sample_clause(0.5):
            # No statistics (a Parquet view, say): one count decides whether to sample; engines
            # answer it from file metadata or a single cheap pass.
            estimate = int(self.query(f"SELECT count(*) FROM {self.qualified(table)}")[0][0])
        fraction = None
        if estimate and estimate > SAMPLE_ABOVE_ROWS and self.sample_clause(0.5):
            fraction = max(SAMPLE_TARGET_ROWS / estimate, 0.0001)
        src = self.qualified(table) + (" " + self.sample_clause(fraction) if fraction else "")
        aggs = ["count(*)"]
        for name, ctype in columns:
            c = self.ident(name)
            aggs.append(f"count({c})")
            if nested(ctype):
                aggs += ["NULL", "NULL", "NULL"]
            else:
                aggs += [self.distinct_fn.format(c=c), self.text_cast.format(c=f"min({c})"),
                         self.text_cast.format(c=f"max({c})")]
        first = self.query(f"SELECT {', '.join(aggs)} FROM {src}")[0]
        total = int(first[0])
        stats = []
        for i, (name, ctype) in enumerate(columns):
            non_null, distinct, lo, hi = first[1 + 4 * i: 5 + 4 * i]
            nulls = total - int(non_null)
            stats.append({"name": name, "type": ctype, "nulls": nulls, "null_share": nulls / total if total else 0.0,
                          "distinct": None if distinct is None else int(distinct),
                          "min": None if lo is None else mask_text(str(cell(lo)), name),
                          "max": None if hi is None else mask_text(str(cell(hi)), name), "top": [],
                          "unique": bool(distinct and int(non_null) > 100 and int(distinct) >= 0.95 * int(non_null))})
        wanted = [s for s in stats if s["distinct"] and not s["unique"] and s["distinct"] <= 100_000]
        if wanted:
            parts = []
            for k, s in enumerate(wanted):
                c = self.ident(s["name"])
                parts.append(f"SELECT * FROM (SELECT {k} AS k, {self.text_cast.format(c=c)} AS v, count(*) AS n "
                             f"FROM {src} WHERE {c} IS NOT NULL GROUP BY {c} ORDER BY n DESC LIMIT {TOP_K}) t{k}")
            for k, value, n in self.query(" UNION ALL ".join(parts)):
                wanted[int(k)]["top"].append((mask_text(str(cell(value, 60)), wanted[int(k)]["name"]), int(n)))
            for s in wanted:
                s["top"].sort(key=lambda t: -t[1])
        sample: dict[str, Any] = {"columns": [n for n, _ in columns], "rows": []}
        if sample_rows:
            cols = ", ".join(self.ident(n) for n, _ in columns)
            rows = self.query(f"SELECT {cols} FROM {self.qualified(table)} LIMIT {int(sample_rows)}")
            sample["rows"] = [[None if v is None else mask_text(str(cell(v, 80)), columns[i][0])
                               for i, v in enumerate(r)] for r in rows]
        if fraction:
            for s in stats:
                s["nulls"] = round(s["nulls"] / fraction)
            total = round(total / fraction)
        return {"rows": total, "columns": stats, "column_count": len(info["columns"]), "sample": sample,
                "sampled": fraction, "elapsed_s": time.perf_counter() - started, "row_estimate": estimate}


def fetch(cur: Any, max_rows: int) -> dict[str, Any]:
    """A bounded result from a DB-API cursor: at most max_rows rows leave the server's buffer."""
    if cur.description is None:
        rc = getattr(cur, "rowcount", -1)
        return {"columns": [], "types": [], "rows": [], "row_count": max(rc, 0), "exact": True, "result": False}
    columns = [str(d[0]) for d in cur.description]
    types = [type_name(d[1]) for d in cur.description]
    rows = cur.fetchmany(max_rows + 1)
    exact = len(rows) <= max_rows
    return {"columns": columns, "types": types, "rows": [[cell(v) for v in r] for r in rows[:max_rows]],
            "row_count": len(rows), "exact": exact, "result": True}


def type_name(code: Any) -> str:
    return "" if code is None or isinstance(code, int) else str(code)


def nested(ctype: str) -> bool:
    low = ctype.lower()
    return any(w in low for w in ("struct", "map", "array", "json", "[]", "variant", "object", "bytea", "binary",
                                  "geometry", "geography", "record"))


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def like(pattern: str) -> str:
    """A glob (``stg_*``) or a LIKE pattern, lower-cased, as a LIKE pattern."""
    return pattern.lower().replace("*", "%").replace("?", "_")


def split_name(table: str) -> list[str]:
    """``db.schema.table`` (with optional quotes or backticks) into its parts."""
    parts, buf, quote = [], "", ""
    for ch in table.strip():
        if quote:
            if ch == quote:
                quote = ""
            else:
                buf += ch
        elif ch in "\"`[":
            quote = "]" if ch == "[" else ch
        elif ch == ".":
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    parts = [p.strip() for p in parts]
    if not all(parts) or len(parts) > 3:
        raise WorkerError(f"not a table name: {table!r} (use table, schema.table or catalog.schema.table)")
    return parts
