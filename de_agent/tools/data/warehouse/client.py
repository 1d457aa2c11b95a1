"""Engine side of a warehouse request: one data worker process, stopped politely on Ctrl+C.

Like ``tools.data.client.call_worker``, but the connection (secrets included) goes to the
worker on its stdin, never in its environment or arguments, and an interrupt first sends
SIGTERM so the worker can cancel the statement on the server, then kills it if it lingers.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from de_agent.tools.base import ToolError
from de_agent.tools.data.helpers.client import worker_env
from de_agent.tools.data.warehouse.connections import Connection

CANCEL_WAIT_S = 8.0


async def _stop(proc: asyncio.subprocess.Process, wait: float) -> None:
    if proc.returncode is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), wait)
    except (ProcessLookupError, TimeoutError):
        pass
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await proc.wait()


async def call_warehouse(root: Path, conn: Connection, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """The worker's answer to one warehouse action; ToolError (secrets scrubbed) on failure."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-P", "-m", "de_agent.tools.data.helpers.worker", cwd=str(root), env=worker_env(),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True)
    payload = json.dumps({"op": "warehouse", **request, "connection": conn.request(), "timeout_s": timeout,
                          "root": str(root)}).encode()
    try:
        # The worker enforces the time limit itself (and cancels on the server); this is the backstop.
        out, err = await asyncio.wait_for(proc.communicate(payload), timeout + CANCEL_WAIT_S + 5)
    except TimeoutError:
        await _stop(proc, CANCEL_WAIT_S)
        raise ToolError(f"stopped after {timeout:g} s (the time limit); narrow the query") from None
    except asyncio.CancelledError:
        await asyncio.shield(_stop(proc, CANCEL_WAIT_S))
        raise
    try:
        answer = json.loads(out.decode("utf-8", "replace"))
    except ValueError:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise ToolError(conn.scrub(f"the data worker failed (exit {proc.returncode}): " + " / ".join(tail))) from None
    if "error" in answer:
        raise ToolError(conn.scrub(str(answer["error"])))
    return answer
