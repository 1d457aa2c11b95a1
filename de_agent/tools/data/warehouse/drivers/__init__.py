"""Warehouse drivers, imported only in the data worker process (never by the engine).

``load(kind)`` gives the driver class for a connection type; ``require(kind)`` checks, cheaply
and without importing it, that the driver's package is installed and otherwise names the
pip extra that brings it.
"""

from __future__ import annotations

import importlib
import importlib.util

# type -> (module, class, the package the driver needs, the pip extra)
DRIVERS: dict[str, tuple[str, str, str, str]] = {
    "postgres": ("de_agent.tools.data.warehouse.drivers.postgres", "PostgresDriver", "psycopg", "postgres"),
    "spark": ("de_agent.tools.data.warehouse.drivers.spark", "SparkDriver", "pyspark", "spark"),
    "snowflake": ("de_agent.tools.data.warehouse.drivers.cloud", "SnowflakeDriver", "snowflake.connector", "snowflake"),
    "bigquery": ("de_agent.tools.data.warehouse.drivers.cloud", "BigQueryDriver", "google.cloud.bigquery", "bigquery"),
    "databricks": ("de_agent.tools.data.warehouse.drivers.cloud", "DatabricksDriver", "databricks.sql", "databricks"),
    "trino": ("de_agent.tools.data.warehouse.drivers.cloud", "TrinoDriver", "trino", "trino"),
    "duckdb": ("de_agent.tools.data.warehouse.drivers.cloud", "MotherDuckDriver", "duckdb", "motherduck"),
    "motherduck": ("de_agent.tools.data.warehouse.drivers.cloud", "MotherDuckDriver", "duckdb", "motherduck"),
}


class MissingDriver(Exception):
    """The driver package is not installed; the message is one line naming the extra."""


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def require(kind: str) -> None:
    _module, _cls, package, extra = DRIVERS[kind]
    if not _installed(package):
        raise MissingDriver(f"the {kind} connection needs the {package} driver: pip install \"de-agent[{extra}]\"")


def load(kind: str):
    require(kind)
    module, cls, _package, _extra = DRIVERS[kind]
    return getattr(importlib.import_module(module), cls)
