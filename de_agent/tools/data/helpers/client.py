"""Start the DuckDB worker for one request and collect its answer, with a time limit.

The worker runs in its own process group, in the repository folder, with an environment
stripped of secret-looking variables; on timeout or cancellation it is killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import de_agent
from de_agent.tools.base import ToolError

_SECRETISH = re.compile(r"(?i)(key|token|secret|passw|credential|auth)")
_PACKAGE_PARENT = str(Path(de_agent.__file__).resolve().parent.parent)


def worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not _SECRETISH.search(k)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the process group of a process started with start_new_session (if still running)."""
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


async def call_worker(root: Path, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """The worker's answer; ToolError when it reports an error, times out or crashes."""
    # -P: the working folder (the repository) is not put on sys.path, so a duckdb.py or
    # json.py there cannot run in place of the real module.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-P", "-m", "de_agent.tools.data.helpers.worker", cwd=str(root), env=worker_env(),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True)
    payload = json.dumps({**request, "root": str(root)}).encode()
    try:
        out, err = await asyncio.wait_for(proc.communicate(payload), timeout)
    except TimeoutError:
        kill_group(proc)
        await proc.wait()
        raise ToolError(f"stopped after {timeout:g} s (the time limit); narrow the query or the data") from None
    except asyncio.CancelledError:
        kill_group(proc)
        await proc.wait()
        raise
    try:
        answer = json.loads(out.decode("utf-8", "replace"))
    except ValueError:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise ToolError(f"the DuckDB worker failed (exit {proc.returncode}): " + " / ".join(tail)) from None
    if "error" in answer:
        raise ToolError(answer["error"])
    return answer
