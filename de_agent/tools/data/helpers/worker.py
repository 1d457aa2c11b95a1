"""The DuckDB worker: one request in (JSON on stdin), one answer out (JSON on stdout).

It runs as ``python -m de_agent.tools.data.helpers.worker`` with the repository as its working
folder, so relative paths in SQL (``'data/x.csv'``) mean repository files. Before any
model-supplied SQL runs, DuckDB is locked down (``duck.connect``). The engine can kill
the process at any time.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
import tempfile
from typing import Any

from de_agent.tools.data.helpers.duck import WorkerError

OPS = {
    "sql": ("de_agent.tools.data.helpers.sql_exec", "execute"),
    "profile": ("de_agent.tools.data.profile", "compute"),
    "pii": ("de_agent.tools.data.scan", "sample_scan"),
    "datadiff": ("de_agent.tools.data.helpers.datadiff_exec", "compute"),
    "warehouse": ("de_agent.tools.data.warehouse.worker_ops", "execute"),
}


def handle(request: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    op = request.get("op")
    if op not in OPS:
        return {"error": f"unknown operation {op!r}"}
    module_name, func_name = OPS[op]
    func = getattr(importlib.import_module(module_name), func_name)
    tmp = tempfile.mkdtemp(prefix="de-agent-duckdb-")
    try:
        return func(request, tmp)
    except (WorkerError, duckdb.Error) as exc:
        return {"error": str(exc)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    # Anything DuckDB or a library prints goes to stderr; stdout carries the answer only.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    try:
        request = json.loads(sys.stdin.read() or "{}")
        answer = handle(request)
    except Exception as exc:  # noqa: BLE001 - the answer must always be JSON
        answer = {"error": f"internal error: {type(exc).__name__}: {exc}"}
    out.write(json.dumps(answer, default=str))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
