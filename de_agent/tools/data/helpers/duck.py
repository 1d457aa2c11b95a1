"""DuckDB, locked down: the connection every data tool's SQL runs on, and small helpers.

Used inside the worker process only. Before any model-supplied SQL runs, extensions are
neither installed nor loaded, external access is off except for the repository's files
(secret-looking ones left out unless the person approved reading them, see ``readable``),
and the configuration is locked so SQL cannot undo any of it.
"""

from __future__ import annotations

import math
import os
from typing import Any


class WorkerError(Exception):
    """A failure to report to the model (bad SQL, unreadable file, refused access)."""


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def readable(root: str, secrets_ok: bool = False) -> tuple[list[str], list[str]]:
    """(allowed_directories, allowed_paths) for DuckDB: the repository without its secrets.

    DuckDB's allow-lists are enforced where it opens files, whatever the SQL computes
    (``read_text('.e' || 'nv')``). A folder whose subtree holds no secret-looking file
    (``.env``, keys, ...) and no symlink leading out or to a secret is allowed whole; in the others each plain file is
    allowed one by one, secrets left out. With ``secrets_ok``
    (the person approved reading secret files) the whole repository is allowed.
    """
    from de_agent.workspace import Workspace

    root = root.rstrip("/") or "/"
    if secrets_ok:
        return [root + "/"], []
    dirs: list[str] = []
    files: list[str] = []
    real_root = os.path.realpath(root)

    def walk(folder: str) -> bool:
        """Fill the lists for folder; True when folder is clean (the caller may allow it whole)."""
        sub_dirs: list[str] = []
        sub_files: list[str] = []
        clean = True
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return False
        for entry in entries:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                inside = target.startswith(real_root + "/")
                if not inside or Workspace.is_secret(target):
                    clean = False  # a way out or to a secret: its folder is never allowed whole
                continue
            if entry.is_dir(follow_symlinks=False):
                mark = len(dirs), len(files)
                if walk(entry.path):
                    del dirs[mark[0]:], files[mark[1]:]
                    sub_dirs.append(entry.path + "/")
                else:
                    clean = False
            elif entry.is_file(follow_symlinks=False):
                if Workspace.is_secret(entry.name):
                    clean = False
                else:
                    sub_files.append(entry.path)
        if not clean:
            dirs.extend(sub_dirs)
            files.extend(sub_files)
        return clean

    if walk(root):
        return [root + "/"], []
    return dirs, files


def connect(root: str, database: str | None = None, tmp: str | None = None, secrets_ok: bool = False):
    """A DuckDB connection that can reach only the repository's files (secret-looking files
    left out unless ``secrets_ok``), and no network or extension."""
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
    dirs, files = readable(root, secrets_ok)
    con.execute(f"SET allowed_directories = [{', '.join(quote(d) for d in dirs)}]")
    if files:
        con.execute(f"SET allowed_paths = [{', '.join(quote(f) for f in files)}]")
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
