"""The engine's home inside the TUI: its own thread and event loop, reached only through ops.

The engine never runs on Textual's loop, so a slow tool or model client cannot freeze the
screen. A :class:`~de_agent.frontends.controller.Controller` on that thread owns the
engine (start, restart, close, slash commands); every public method here is safe to call
from the UI thread. Events leave through :attr:`EngineHost.events` (a thread-safe queue);
the app's single pump worker reads it and posts Textual messages. No textual import here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.frontends import replies as R
from de_agent.frontends.controller import Controller, StartFailed


class EventQueue(queue.SimpleQueue[P.Event | None]):
    """The engine-to-UI event queue. It counts the events put on it (not the ``None`` that
    ends the pump), so the app can tell when every event so far has been shown."""

    def __init__(self) -> None:
        self.put_count = 0
        self._lock = threading.Lock()

    def put(self, item: P.Event | None, block: bool = True, timeout: float | None = None) -> None:
        if item is not None:
            with self._lock:  # counted before it can be taken: never "all shown" too early
                self.put_count += 1
        super().put(item, block, timeout)


class EngineHost:
    """Runs the controller and its engine on a background thread; forwards ops to it."""

    def __init__(self, settings: Settings, root: Path, *, session_id: str | None = None,
                 resume: Any = None, llm: Any = None, check_config: bool = True):
        self.settings = settings
        self.root = root
        self._first = (session_id, resume)
        self.check_config = check_config
        self.events = EventQueue()
        factory = None
        if llm is not None:
            def factory(settings: Settings, root: Path, sink: Any, sid: str | None) -> Any:
                from de_agent.frontends.factory import build_engine

                return build_engine(settings, root, sink, session_id=sid, llm=llm)
        self.controller = Controller(settings, root, self, factory=factory)
        self.failed: str | None = None
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- what the controller calls (engine thread) -------------------------------------------

    def on_event(self, event: P.Event) -> None:
        self.events.put(event)

    def replay(self, events: list[P.Event]) -> None:
        for event in events:
            self.events.put(event)

    # -- life cycle --------------------------------------------------------------------------

    @property
    def engine(self) -> Any:
        return self.controller.engine

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name="de-agent-engine", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self.controller.start(*self._first)
        except StartFailed as exc:
            self.failed = f"de-agent {exc}"
            self.events.put(P.Error(self.failed, P.ErrorKind.CONFIG))
        self.ready.set()
        if self.engine is not None and self.check_config:
            self._check_config()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _check_config(self) -> None:
        """Check the model and key on a daemon thread: quitting never waits for litellm's import."""
        llm = self.engine.llm

        def check() -> None:
            from de_agent.llm.errors import LLMError

            try:
                llm.check_config()
            except LLMError as exc:
                self.events.put(P.Error(f"{exc}", exc.kind))
            except Exception as exc:  # noqa: BLE001
                self.events.put(P.Error(f"Could not check the model configuration: {exc}", P.ErrorKind.CONFIG))

        threading.Thread(target=check, name="de-agent-config-check", daemon=True).start()

    def shutdown(self, timeout: float = 3.0) -> None:
        """Stop any turn, close the session file and end the engine thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(self.controller.shutdown(timeout), loop).result(timeout + 1)
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
        self.events.put(None)

    # -- ops (safe from any thread) ----------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.engine is not None and self.engine.busy

    def start_turn(self, text: str) -> bool:
        if self.engine is None:
            return False
        self._call(self._start_turn, text)
        return True

    def _call(self, fn: Any, *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    def _start_turn(self, text: str) -> None:
        task = self.engine.submit(P.UserTurn(text))
        if task is not None:
            task.add_done_callback(self._turn_done)

    def _turn_done(self, task: asyncio.Task) -> None:
        if task.cancelled():
            self.events.put(P.TurnFinished(P.StopReason.INTERRUPTED, 0))
        elif task.exception() is not None:
            exc = task.exception()
            self.events.put(P.Error(f"The turn failed unexpectedly: {type(exc).__name__}: {exc}",
                                    P.ErrorKind.INTERNAL))
            self.events.put(P.TurnFinished(P.StopReason.ERROR, 0))

    def submit(self, op: P.Op) -> None:
        if self.engine is not None:
            self._call(self.engine.submit, op)

    def interrupt(self) -> bool:
        """Cancel the running turn; True when one was running."""
        if not self.busy:
            return False
        self.submit(P.Interrupt())
        return True

    def cycle_mode(self) -> str:
        return self.set_mode(None)

    def set_mode(self, mode: str | None) -> str:
        if self.engine is None:
            if mode is not None:
                self.settings.approval_mode = mode
            return self.settings.approval_mode
        return self.controller.set_mode(mode).value

    @property
    def mode(self) -> str:
        return self.controller.mode

    def run(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
        """Run a coroutine on the engine's loop; the future resolves in any thread."""
        if self._loop is None:
            coro.close()
            future: concurrent.futures.Future = concurrent.futures.Future()
            future.set_exception(RuntimeError("the engine is not running"))
            return future
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def command(self, line: str) -> concurrent.futures.Future:
        """Run a slash command through the controller; the future holds its typed reply."""
        if self._loop is None:
            future: concurrent.futures.Future = concurrent.futures.Future()
            future.set_result(R.Say(self.failed or "The engine is still starting; try again in a moment.",
                                    "warning"))
            return future
        return self.run(self.controller.command(line))
