"""Cloud warehouse drivers: Snowflake, BigQuery, Databricks SQL, Trino and DuckDB/MotherDuck.

No server of these runs in the tests; the estimate parsers (``*_estimate``) are plain
functions over the engine's EXPLAIN or dry-run output so they are tested on their own,
and everything up to the driver call (import, parameters, read-only setup) is exercised
by the missing-driver and parameter tests. README says which engines are verified live.
"""

from __future__ import annotations

import json
import re
from typing import Any

from de_agent.tools.data.helpers.duck import WorkerError
from de_agent.tools.data.warehouse.drivers.base import Driver, fetch

_SIZE = re.compile(r"sizeInBytes=([\d.]+)\s*([KMGTPE]?i?B)", re.I)
_UNITS = {"b": 1, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4, "pib": 1024**5, "eib": 1024**6,
          "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4, "pb": 1000**5}


def snowflake_estimate(explain_json: str | dict) -> dict[str, Any]:
    """Bytes from Snowflake's ``EXPLAIN USING JSON``: GlobalStats.bytesAssigned (after pruning)."""
    data = json.loads(explain_json) if isinstance(explain_json, str) else explain_json
    stats = data.get("GlobalStats") or {}
    b = stats.get("bytesAssigned")
    parts = f"{stats.get('partitionsAssigned', '?')} of {stats.get('partitionsTotal', '?')} partitions"
    return {"bytes": None if b is None else int(b), "rows": None, "cost": None, "detail": f"EXPLAIN: {parts}"}


def bigquery_estimate(total_bytes_processed: int | None, price_per_tib: float = 6.25) -> dict[str, Any]:
    """Bytes and on-demand dollars from a BigQuery dry run."""
    if total_bytes_processed is None:
        return {"bytes": None, "rows": None, "cost": None, "detail": "dry run gave no byte count"}
    b = int(total_bytes_processed)
    return {"bytes": b, "rows": None, "cost": round(b / 1024**4 * price_per_tib, 4),
            "detail": f"dry run: on-demand ≈${b / 1024**4 * price_per_tib:.4f}"}


def spark_plan_estimate(plan_text: str) -> dict[str, Any]:
    """Bytes from ``EXPLAIN COST`` text (Spark, Databricks): the largest ``sizeInBytes`` of a leaf."""
    sizes = []
    for number, unit in _SIZE.findall(plan_text):
        sizes.append(int(float(number) * _UNITS.get(unit.lower(), 1)))
    if not sizes:
        return {"bytes": None, "rows": None, "cost": None, "detail": "EXPLAIN COST gave no size"}
    return {"bytes": max(sizes), "rows": None, "cost": None, "detail": "EXPLAIN COST"}


def trino_estimate(io_json: str | dict) -> dict[str, Any]:
    """Bytes from Trino's ``EXPLAIN (TYPE IO, FORMAT JSON)``: the input tables' estimated sizes."""
    data = json.loads(io_json) if isinstance(io_json, str) else io_json
    total, known = 0, False
    for table in data.get("inputTableColumnInfos", []):
        size = (table.get("estimate") or {}).get("outputSizeInBytes")
        if isinstance(size, int | float) and size == size and size != float("inf"):
            total += int(size)
            known = True
    return {"bytes": total if known else None, "rows": None, "cost": None,
            "detail": "EXPLAIN (TYPE IO)" if known else "EXPLAIN (TYPE IO): sizes unknown (no table statistics)"}


class SnowflakeDriver(Driver):
    dialect = "snowflake"

    def open(self) -> None:
        import snowflake.connector

        p = {k: v for k, v in self.params.items() if k in ("account", "user", "role", "database", "warehouse",
                                                          "schema", "authenticator", "private_key_path")}
        self.conn = snowflake.connector.connect(**p, **self.secrets, login_timeout=15, network_timeout=self.timeout_s,
                                                session_parameters={"STATEMENT_TIMEOUT_IN_SECONDS":
                                                                    int(self.timeout_s), "QUERY_TAG": "de-agent"})

    def estimate(self, sql: str) -> dict[str, Any]:
        rows = self.query(f"EXPLAIN USING JSON {sql}")
        return snowflake_estimate(rows[0][0])

    def cancel(self) -> None:
        try:
            self.conn.cursor().execute("SELECT SYSTEM$CANCEL_ALL_QUERIES(CURRENT_SESSION())")
        except Exception:  # noqa: BLE001 - best effort
            pass

    def sample_clause(self, fraction: float) -> str:
        return f"SAMPLE SYSTEM ({fraction * 100:.4f})"


class BigQueryDriver(Driver):
    dialect = "bigquery"
    quote_char = "`"
    distinct_fn = "APPROX_COUNT_DISTINCT({c})"
    text_cast = "CAST({c} AS STRING)"

    def open(self) -> None:
        from google.cloud import bigquery

        kw: dict[str, Any] = {"project": self.params.get("project")}
        if self.params.get("keyfile"):
            from google.oauth2 import service_account

            kw["credentials"] = service_account.Credentials.from_service_account_file(self.params["keyfile"])
        self.conn = bigquery.Client(**kw, location=self.params.get("location"))
        self.job: Any = None

    def _config(self, dry: bool):
        from google.cloud import bigquery

        dataset = self.params.get("dataset") or self.params.get("schema")
        default = f"{self.params.get('project')}.{dataset}" if dataset else None
        return bigquery.QueryJobConfig(dry_run=dry, use_query_cache=not dry, default_dataset=default,
                                       maximum_bytes_billed=int(self.params["maximum_bytes_billed"])
                                       if self.params.get("maximum_bytes_billed") else None)

    def estimate(self, sql: str) -> dict[str, Any]:
        job = self.conn.query(sql, job_config=self._config(True))
        return bigquery_estimate(job.total_bytes_processed)

    def run(self, sql: str, max_rows: int) -> dict[str, Any]:
        # A dry run first: its statement type says whether the engine sees a write.
        dry = self.conn.query(sql, job_config=self._config(True))
        if self.read_only and getattr(dry, "statement_type", "SELECT") not in ("SELECT", None):
            raise WorkerError(f"refused: BigQuery sees a {dry.statement_type} statement")
        self.job = self.conn.query(sql, job_config=self._config(False), timeout=self.timeout_s)
        rows = list(self.job.result(max_results=max_rows + 1, timeout=self.timeout_s))
        schema = self.job.result().schema if rows else []
        cols = [f.name for f in schema]
        return {"columns": cols, "types": [f.field_type for f in schema],
                "rows": [list(r.values()) for r in rows[:max_rows]], "row_count": len(rows),
                "exact": len(rows) <= max_rows, "result": bool(cols), "statements": 1}

    def query(self, sql: str) -> list[tuple]:
        return [tuple(r.values()) for r in self.conn.query(sql, job_config=self._config(False)).result()]

    def cancel(self) -> None:
        if getattr(self, "job", None) is not None:
            self.job.cancel()

    def sample_clause(self, fraction: float) -> str:
        return f"TABLESAMPLE SYSTEM ({fraction * 100:.4f} PERCENT)"


class DatabricksDriver(Driver):
    dialect = "databricks"
    quote_char = "`"
    text_cast = "CAST({c} AS STRING)"

    def open(self) -> None:
        from databricks import sql as dbsql

        host = str(self.params.get("host", "")).replace("https://", "")
        self.conn = dbsql.connect(server_hostname=host, http_path=self.params.get("http_path"),
                                  access_token=self.secrets.get("token"), catalog=self.params.get("catalog"),
                                  schema=self.params.get("schema"))

    def estimate(self, sql: str) -> dict[str, Any]:
        rows = self.query(f"EXPLAIN COST {sql}")
        return spark_plan_estimate("\n".join(str(r[0]) for r in rows))

    def sample_clause(self, fraction: float) -> str:
        return f"TABLESAMPLE ({fraction * 100:.4f} PERCENT)"


class TrinoDriver(Driver):
    dialect = "trino"
    distinct_fn = "approx_distinct({c})"

    def open(self) -> None:
        import trino

        catalog, _, schema = str(self.params.get("catalog") or self.params.get("dbname") or "").partition("/")
        auth = None
        if self.secrets.get("password"):
            auth = trino.auth.BasicAuthentication(self.params.get("user"), self.secrets["password"])
        self.conn = trino.dbapi.connect(host=self.params.get("host"), port=int(self.params.get("port", 8080)),
                                        user=self.params.get("user"), catalog=catalog or None,
                                        schema=self.params.get("schema") or schema or None,
                                        http_scheme=self.params.get("http_scheme", "https" if auth else "http"),
                                        auth=auth, session_properties={"query_max_run_time": f"{int(self.timeout_s)}s"})

    def estimate(self, sql: str) -> dict[str, Any]:
        rows = self.query(f"EXPLAIN (TYPE IO, FORMAT JSON) {sql}")
        return trino_estimate(rows[0][0])

    def sample_clause(self, fraction: float) -> str:
        return f"TABLESAMPLE SYSTEM ({fraction * 100:.4f})"


class MotherDuckDriver(Driver):
    dialect = "duckdb"

    def open(self) -> None:
        import duckdb

        path = str(self.params.get("path") or self.params.get("database") or ":memory:")
        config: dict[str, Any] = {}
        if self.secrets.get("motherduck_token") or self.secrets.get("token"):
            config["motherduck_token"] = self.secrets.get("motherduck_token") or self.secrets["token"]
        read_only = self.read_only and not path.startswith("md:") and path != ":memory:"
        try:
            self.conn = duckdb.connect(path, read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise WorkerError(f"cannot open {path}: {exc}") from None

    def estimate(self, sql: str) -> dict[str, Any]:
        return {"bytes": None, "rows": None, "cost": None, "detail": "DuckDB gives no scan estimate"}

    def cancel(self) -> None:
        if self.conn is not None:
            self.conn.interrupt()

    def run(self, sql: str, max_rows: int) -> dict[str, Any]:
        self.conn.execute(sql)
        return {**fetch(self.conn, max_rows), "statements": 1}

    def query(self, sql: str) -> list[tuple]:
        return self.conn.execute(sql).fetchall()

    def sample_clause(self, fraction: float) -> str:
        return f"USING SAMPLE {fraction * 100:.4f}%"
