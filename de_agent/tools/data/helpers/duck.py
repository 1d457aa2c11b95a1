"""DuckDB, locked down: the connection every data tool's SQL runs on, and small helpers.

Used inside the worker process only. Before any model-supplied SQL runs, extensions are
neither installed nor loaded, external access is off except for the repository folder,
and the configuration is locked so SQL cannot undo any of it.
"""

from __future__ import annotations

import math
from typing import Any


class WorkerError(Exception):
    """A failure to report to the model (bad SQL, unreadable file, refused access)."""


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def connect(root: str, database: str | None = None, tmp: str | None = None):
    """A DuckDB connection that can reach only files under root, and no network or extension."""
    import duckdb

    config: dict[str, Any] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "allow_unsigned_extensions": False,
        "allow_persistent_secrets": False,
    }
    if tmp:
        config["temp_directory"] = tmp
    con = duckdb.connect(database or ":memory:", read_only=bool(database), config=config)
    con.execute(f"SET allowed_directories = [{quote(root.rstrip('/') + '/')}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def scan_expr(files: list[str], fmt: str, hive: bool) -> str:
    """The DuckDB table function that reads a data set."""
    paths = "[" + ", ".join(quote(f) for f in files) + "]"
    opts = f"hive_partitioning = {'true' if hive else 'false'}, union_by_name = true"
    if fmt == "parquet":
        return f"read_parquet({paths}, {opts})"
    if fmt == "csv":
        return f"read_csv({paths}, {opts})"
    if fmt == "ndjson":
        return f"read_json({paths}, format = 'newline_delimited', {opts})"
    if fmt == "json":
        return f"read_json({paths}, format = 'auto', {opts})"
    raise WorkerError(f"unsupported data format {fmt!r}")


def cell(value: Any, limit: int = 200) -> Any:
    """A JSON-safe, bounded rendering of one value."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        text = "0x" + bytes(value[:limit // 2]).hex()
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
