"""The engine's home inside the TUI: its own thread and event loop, reached only through ops.

The engine never runs on Textual's loop, so a slow tool or model client cannot freeze the
screen. Every public method here is safe to call from the UI thread. Events leave through
:attr:`EngineHost.events` (a thread-safe queue); the app's single pump worker reads it and
posts Textual messages. This module does not import textual.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from de_agent import protocol as P
from de_agent.config import Settings

# Replayed history must not ask again, restart turns or announce the session twice.
NOT_REPLAYED = frozenset({"approval_request", "session_started", "turn_finished", "result"})


class EngineHost:
    """Builds the engine on a background thread and forwards ops to it."""

    def __init__(self, settings: Settings, root: Path, *, session_id: str | None = None,
                 resume: Any = None, llm: Any = None, check_config: bool = True):
        self.settings = settings
        self.root = root
        self.session_id = session_id
        self.resume = resume
        self.llm = llm
        self.check_config = check_config
        self.events: queue.SimpleQueue[P.Event | None] = queue.SimpleQueue()
        self.engine: Any = None
        self.sandbox_name = "…"
        self.failed: str | None = None
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle --------------------------------------------------------------------------

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
            self._build(self.session_id, self.resume)
        except Exception as exc:  # noqa: BLE001 - shown in the chat, never a traceback
            self.failed = f"de-agent could not start its engine: {type(exc).__name__}: {exc}"
            self.events.put(P.Error(self.failed))
        self.ready.set()
        if self.engine is not None and self.check_config:
            self._check_config()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _build(self, session_id: str | None, resume: Any) -> None:
        from de_agent.engine.factory import build_engine

        parts = build_engine(self.settings, self.root, self.events.put, session_id=session_id,
                             llm=self.llm)
        engine = parts.engine
        if resume is not None:
            replay = getattr(resume, "events", None)
            for event in replay or []:
                if event.type not in NOT_REPLAYED:
                    self.events.put(event)
            resume(engine)
            if replay is None:
                for event in history_events(engine):
                    self.events.put(event)
            usage = engine.usage  # the counters go on from where the session left them
            self.events.put(P.Usage(0, 0, 0.0, usage.prompt_tokens, usage.completion_tokens,
                                    usage.cost if usage.cost_known else None))
        self.engine = engine
        self.sandbox_name = parts.sandbox_name
        self.session_id = engine.session_id
        self.events.put(P.SessionStarted(engine.session_id, self.settings.model, str(self.root),
                                         engine.policy.mode, parts.sandbox_name,
                                         resumed=resume is not None))
        for notice in parts.notices:
            self.events.put(P.Notice(notice, "warning"))

    def _check_config(self) -> None:
        """Check the model and key on a daemon thread: quitting never waits for litellm's import."""
        engine = self.engine

        def check() -> None:
            from de_agent.llm.adapter import LLMError, quick_config_problem

            try:
                problem = quick_config_problem(engine.llm.model, getattr(engine.llm, "api_base", None))
                if problem is not None:
                    raise problem
                engine.llm.check_config()
            except LLMError as exc:
                self.events.put(P.Error(f"{exc}"))
            except Exception as exc:  # noqa: BLE001
                self.events.put(P.Error(f"Could not check the model configuration: {exc}"))

        threading.Thread(target=check, name="de-agent-config-check", daemon=True).start()

    def shutdown(self, timeout: float = 3.0) -> None:
        """Stop any turn, close the session file and end the engine thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        async def stop() -> None:
            engine = self.engine
            if engine is not None:
                task = engine._task
                if engine.interrupt() and task is not None:
                    await asyncio.wait([task], timeout=timeout)
                _close(engine)

        try:
            asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout + 1)
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

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    def start_turn(self, text: str) -> bool:
        if self.engine is None:
            return False
        self._call(self._start_turn, text)
        return True

    def _start_turn(self, text: str) -> None:
        engine = self.engine
        if engine.busy:
            self.events.put(P.Notice("A turn is already running; wait or press Ctrl+C.", "warning"))
            return
        task = engine.start_turn(text)
        task.add_done_callback(self._turn_done)

    def _turn_done(self, task: asyncio.Task) -> None:
        if task.cancelled():
            self.events.put(P.TurnFinished("interrupted", 0))
        elif task.exception() is not None:
            exc = task.exception()
            self.events.put(P.Error(f"The turn failed unexpectedly: {type(exc).__name__}: {exc}"))
            self.events.put(P.TurnFinished("error", 0))

    def submit(self, op: P.Op) -> None:
        if self.engine is not None:
            self._call(self.engine.submit, op)

    def interrupt(self) -> bool:
        """Cancel the running turn; True when one was running."""
        if not self.busy:
            return False
        self._call(self.engine.interrupt)
        return True

    def cycle_mode(self) -> str:
        return self.engine.policy.cycle_mode() if self.engine is not None else self.settings.approval_mode

    def set_mode(self, mode: str) -> None:
        self.settings.approval_mode = mode
        if self.engine is not None:
            self.engine.policy.mode = mode

    @property
    def mode(self) -> str:
        return self.engine.policy.mode if self.engine is not None else self.settings.approval_mode

    def run(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
        """Run a coroutine on the engine's loop; the future resolves in any thread."""
        if self._loop is None:
            coro.close()
            future: concurrent.futures.Future = concurrent.futures.Future()
            future.set_exception(RuntimeError("the engine is not running"))
            return future
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def restart(self, session_id: str | None = None, resume: Any = None) -> concurrent.futures.Future:
        """A fresh engine (new or resumed session) in place of the current one."""

        async def swap() -> str:
            old = self.engine
            if old is not None:
                if old.busy:
                    raise RuntimeError("a turn is running; wait for it or press Ctrl+C first")
                _close(old)
            self.engine = None
            self._build(session_id, resume)
            return self.engine.session_id

        return self.run(swap())


def _close(engine: Any) -> None:
    if engine.recorder is not None:
        engine.recorder.close()
    checkpoints = getattr(engine, "checkpoints", None)
    if checkpoints is not None and hasattr(checkpoints, "close"):
        try:
            checkpoints.close()
        except Exception:  # noqa: BLE001 - closing never fails the exit
            pass


def history_events(engine: Any) -> list[P.Event]:
    """What a resumed conversation looked like, rebuilt from the engine's messages."""
    from de_agent.engine.rewind import events_from_messages

    events = events_from_messages(engine.messages)
    plan = engine.ctx.state.get("plan")
    if plan:
        events.append(P.PlanUpdated(list(plan), engine.ctx.state.get("plan_explanation", "")))
    return events
