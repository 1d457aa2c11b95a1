"""Worker side of every warehouse request: open the connection here, do one thing, close it.

Runs inside the data worker process (``de_agent.tools.data.helpers.worker``), the only place a
connection is opened. The statement runs in a thread; the main thread waits for it and
turns SIGTERM/SIGINT (the engine's Ctrl+C) or the time limit into a cancel on the server
before the process goes away. Error messages are scrubbed of the connection's secrets.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from de_agent.tools.data.helpers.duck import WorkerError

GRACE_S = 5.0


def _masked(columns: list[str], rows: list[list[Any]]) -> list[list[Any]]:
    """Rows with values that look like personal data masked before they leave the worker."""
    from de_agent.tools.data.helpers.pii import mask_text

    return [[v if v is None or isinstance(v, bool | int | float) else mask_text(str(v), columns[i] if i < len(columns)
             else None) for i, v in enumerate(row)] for row in rows]


def _act(driver: Any, request: dict[str, Any]) -> dict[str, Any]:
    action = request["action"]
    if action == "estimate":
        return {"estimate": driver.estimate(request["sql"])}
    if action == "estimate_table":
        return {"estimate": driver.estimate(f"SELECT * FROM {driver.qualified(request['table'])}")}
    if action == "sql":
        if not request.get("allow_write") and (why := driver.check_read(request["sql"])):
            raise WorkerError(f"refused: {why}, but the call was not approved as a write")
        started = time.perf_counter()
        result = driver.run(request["sql"], int(request.get("max_rows", 100)))
        result["elapsed_s"] = time.perf_counter() - started
        result["rows"] = _masked(result.get("columns", []), result.get("rows", []))
        return result
    if action == "list":
        return driver.list_tables(request.get("schema"), request.get("pattern"))
    if action == "describe":
        return driver.describe(request["table"])
    if action == "profile":
        return driver.profile(request["table"], int(request.get("sample_rows", 5)))
    if action in ("datadiff", "datadiff_estimate"):
        from de_agent.tools.data.warehouse import diff_ops

        if action == "datadiff_estimate":
            return {"estimate": diff_ops.estimate(driver, request)}
        return diff_ops.compute(driver, request)
    raise WorkerError(f"unknown warehouse action {action!r}")


def execute(request: dict[str, Any], _tmp: str) -> dict[str, Any]:
    from de_agent.tools.data.warehouse.drivers import MissingDriver, load

    conn = request["connection"]
    secrets = [v for v in (conn.get("secrets") or {}).values() if v and len(v) >= 3]

    def scrub(text: str) -> str:
        for value in secrets:
            text = text.replace(value, "***")
        return text

    try:
        cls = load(conn["type"])
    except MissingDriver as exc:
        raise WorkerError(str(exc)) from None
    timeout = float(request.get("timeout_s", 120))
    driver = cls(conn, timeout, read_only=not request.get("allow_write"))
    box: dict[str, Any] = {}
    stop = threading.Event()

    def work() -> None:
        try:
            driver.open()
            box["result"] = _act(driver, request)
        except BaseException as exc:  # noqa: BLE001 - carried to the main thread
            box["error"] = exc
        finally:
            stop.set()

    cancelled: list[str] = []

    def on_signal(signum: int, _frame: Any) -> None:
        cancelled.append(signal.Signals(signum).name)
        driver.cancel()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    thread = threading.Thread(target=work, name="de-agent-warehouse", daemon=True)
    started = time.monotonic()
    thread.start()
    try:
        while not stop.wait(0.1):
            if time.monotonic() - started > timeout and "timeout" not in cancelled:
                cancelled.append("timeout")
                driver.cancel()
            if cancelled and time.monotonic() - started > timeout + GRACE_S:
                break
        if cancelled and not stop.is_set():
            stop.wait(GRACE_S)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    try:
        if "error" in box:
            failure = box["error"]
            message = str(failure) if isinstance(failure, WorkerError) else f"{type(failure).__name__}: {failure}"
            if "timeout" in cancelled:
                message = f"stopped after {timeout:g} s (the time limit) and cancelled on the server: {message}"
            elif cancelled:
                message = f"interrupted; cancelled on the server: {message}"
            raise WorkerError(scrub(message.strip().splitlines()[0] if message.strip() else message))
        if "result" not in box:
            raise WorkerError("the statement did not stop after the cancel request; the worker gave up on it")
        return box["result"]
    finally:
        if stop.is_set():
            driver.close()
