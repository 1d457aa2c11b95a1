"""Spark through PySpark: local mode (or Spark Connect with ``remote``) over Parquet tables.

Spark has no read-only session, and ``spark.sql`` runs commands (INSERT, CREATE, ...) the
moment it is called. So besides the sqlglot classification, a statement that was not
approved as a write is parsed by Spark's own parser first and must be a query plan from an
allow-list (Project, Aggregate, Join, ...) before ``spark.sql`` ever sees it. Jobs run in a
job group, so a cancel stops them on the cluster. Tables come from the catalog, from
``tables = {name = "path"}`` or from every Parquet file or folder under ``parquet_dir``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from de_agent.tools.data.helpers.duck import WorkerError, cell
from de_agent.tools.data.warehouse.drivers.base import Driver, like, split_name

GROUP = "de-agent"
_READ_PLANS = frozenset({
    "Project", "Aggregate", "Filter", "Sort", "GlobalLimit", "LocalLimit", "Limit", "Distinct", "Union", "Join",
    "UnresolvedWith", "WithCTE", "CTERelationDef", "SubqueryAlias", "Window", "Generate", "Except", "Intersect",
    "Sample", "Deduplicate", "Offset", "Tail", "Range", "OneRowRelation", "UnresolvedRelation", "Repartition",
    "RepartitionByExpression", "UnresolvedInlineTable", "LocalRelation", "Pivot", "Unpivot", "Expand",
    "UnresolvedHint", "ResolvedHint", "Filter$", "WithWindowDefinition", "UnresolvedTableValuedFunction",
    "DescribeRelation", "DescribeColumn", "ShowTables", "ShowViews", "ShowColumns", "ShowNamespaces",
    "ShowFunctions", "ShowTableExtended", "ShowPartitions"})


class SparkDriver(Driver):
    dialect = "spark"
    quote_char = "`"
    text_cast = "CAST({c} AS STRING)"

    def open(self) -> None:
        from pyspark.sql import SparkSession

        p = self.params
        builder = SparkSession.builder.appName("de-agent")
        if p.get("remote") or str(p.get("host", "")).startswith("sc://"):
            builder = builder.remote(str(p.get("remote") or p["host"]))
        else:
            builder = (builder.master(str(p.get("master", "local[2]")))
                       .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                       .config("spark.sql.shuffle.partitions", str(p.get("shuffle_partitions", 4))))
            if p.get("warehouse_dir"):
                builder = builder.config("spark.sql.warehouse.dir", str(p["warehouse_dir"]))
        for key, value in (p.get("conf") or {}).items():
            builder = builder.config(str(key), str(value))
        try:
            self.spark = builder.getOrCreate()
        except Exception as exc:  # noqa: BLE001 - JVM start failures come in many types
            raise WorkerError(f"cannot start Spark: {str(exc).strip().splitlines()[0]}") from None
        self.spark.sparkContext.setLogLevel("ERROR")
        tables = dict(p.get("tables") or {})
        folder = p.get("parquet_dir") or p.get("path")
        if folder and Path(folder).is_dir():
            for child in sorted(Path(folder).iterdir()):
                if child.suffix == ".parquet" or (child.is_dir() and not child.name.startswith((".", "_"))):
                    tables.setdefault(child.stem, str(child))
        for name, path in tables.items():
            self.spark.read.parquet(str(path)).createOrReplaceTempView(name)
        self.conn = self.spark
        self.cancelled = False

    def close(self) -> None:
        """The session is shared inside a process (getOrCreate); the worker's exit ends it."""

    def cancel(self) -> None:
        self.cancelled = True
        try:
            self.spark.sparkContext.cancelJobGroup(GROUP)
        except Exception:  # noqa: BLE001 - best effort
            pass

    def check_read(self, sql: str) -> str | None:
        try:
            plan = self.spark._jsparkSession.sessionState().sqlParser().parsePlan(sql)
        except Exception as exc:  # noqa: BLE001 - a parse error: let the statement fail as a write would
            return f"Spark cannot parse it ({str(exc).strip().splitlines()[0][:120]})"
        kind = plan.getClass().getSimpleName()
        return None if kind in _READ_PLANS else f"Spark parses it as {kind}, not a query"

    def estimate(self, sql: str) -> dict[str, Any]:
        if self.check_read(sql):
            return {"bytes": None, "rows": None, "cost": None, "detail": "no estimate for a command"}
        plan = self.spark.sql(sql)._jdf.queryExecution().optimizedPlan()
        leaves = plan.collectLeaves()
        total = 0
        for i in range(leaves.size()):
            total += int(str(leaves.apply(i).stats().sizeInBytes()))
        out_rows = plan.stats().rowCount()
        rows = int(str(out_rows.get())) if out_rows.isDefined() else None
        return {"bytes": total, "rows": rows, "cost": None, "detail": "Spark optimizer statistics"}

    def run(self, sql: str, max_rows: int) -> dict[str, Any]:
        sc = self.spark.sparkContext
        sc.setJobGroup(GROUP, "de-agent query", interruptOnCancel=True)
        try:
            df = self.spark.sql(sql)
            if not df.columns:
                return {"columns": [], "types": [], "rows": [], "row_count": 0, "exact": True, "result": False,
                        "statements": 1}
            rows = df.limit(max_rows + 1).collect()
        except Exception as exc:  # noqa: BLE001 - Spark errors carry a JVM trace; one line is enough
            full = str(exc).strip()
            text = full.splitlines()[0] if full else type(exc).__name__
            if self.cancelled or "cancelled job group" in full.lower():
                raise WorkerError(f"cancelled on the cluster: {text}") from None
            raise WorkerError(f"Spark: {text[:500]}") from None
        return {"columns": df.columns, "types": [f.dataType.simpleString() for f in df.schema.fields],
                "rows": [[cell(v) for v in r] for r in rows[:max_rows]], "row_count": len(rows),
                "exact": len(rows) <= max_rows, "result": True, "statements": 1}

    def query(self, sql: str) -> list[tuple]:
        self.spark.sparkContext.setJobGroup(GROUP, "de-agent profile", interruptOnCancel=True)
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def list_tables(self, schema: str | None, pattern: str | None) -> dict[str, Any]:
        import fnmatch

        rows = []
        for t in self.spark.catalog.listTables(schema) if schema else self.spark.catalog.listTables():
            if pattern and not fnmatch.fnmatch(t.name.lower(), like(pattern).replace("%", "*").replace("_", "?")):
                continue
            rows.append([t.namespace[0] if t.namespace else "", t.name,
                         "temporary view" if t.isTemporary else str(t.tableType).lower()])
        return {"columns": ["schema", "table", "type"], "rows": rows[:1001]}

    def describe(self, table: str) -> dict[str, Any]:
        split_name(table)
        try:
            df = self.spark.table(table)
        except Exception:  # noqa: BLE001 - AnalysisException and friends
            raise WorkerError(f"no table {table!r} in the Spark catalog") from None
        stats = df._jdf.queryExecution().optimizedPlan().stats()
        rows = stats.rowCount()
        partitions = None
        try:
            parts = [c.name for c in self.spark.catalog.listColumns(table) if c.isPartition]
            partitions = ", ".join(parts) or None
        except Exception:  # noqa: BLE001 - temporary views have no catalog columns
            pass
        return {"table": table, "columns": [[f.name, f.dataType.simpleString(), "YES" if f.nullable else "NO"]
                                            for f in df.schema.fields],
                "row_estimate": int(str(rows.get())) if rows.isDefined() else None,
                "bytes": int(str(stats.sizeInBytes())), "partitioning": partitions, "clustering": None}

    def qualified(self, table: str) -> str:
        return ".".join(self.ident(p) for p in split_name(table))

    def sample_clause(self, fraction: float) -> str:
        return f"TABLESAMPLE ({min(fraction * 100, 100):.4f} PERCENT)"
