"""Helpers for TUI tests: a stand-in engine host that replays scripted events, and pilot waits."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from de_agent import protocol as P

SESSION_ID = "20250101-120000-abc123"


class StubEngine:
    """Just enough engine for the controller: a policy, no checkpoints, ops answered at once."""

    def __init__(self, session_id: str, model: str, mode: str) -> None:
        from de_agent.engine.policy import Policy
        from de_agent.tools.base import SessionState

        self.session_id = session_id
        self.model = model
        self.checkpoints = None
        self.busy = False
        self.policy = Policy(mode, Path("/nonexistent"))
        self.ctx = SimpleNamespace(state=SessionState())
        self.llm: Any = None  # a test may hand in a model client; /model then checks it for real

    @property
    def mode(self) -> str:
        return self.policy.mode

    def apply(self, op: P.Op) -> P.OpResult:
        from de_agent.engine.ops import OpHandler

        return OpHandler(self).apply(op)  # type: ignore[arg-type]

    async def request(self, op: P.Op) -> P.OpResult:
        if isinstance(op, P.Undo):
            return P.OpResult(False, "no checkpoints", P.ErrorKind.UNAVAILABLE)
        if isinstance(op, P.SetModel) and self.llm is not None:
            from de_agent.engine.ops import OpHandler

            return await OpHandler(self).set_model(op.model)  # type: ignore[arg-type]
        return P.OpResult(False, "not in this test", P.ErrorKind.UNAVAILABLE)

    def close(self) -> None:
        pass


class StubHost:
    """Stands in for EngineHost where no model should run (snapshots): events go in through
    :meth:`feed` and take the same queue and pump as real engine events; ops are recorded."""

    def __init__(self, *, session_id: str = SESSION_ID, model: str = "openai/test-model",
                 sandbox: str = "bwrap", mode: str = "default", cwd: str = "/work/demo-repo"):
        from de_agent.tui.host import EventQueue

        self.events = EventQueue()
        self.ops: list[P.Op] = []
        self.turns: list[str] = []
        self.session_id = session_id
        self.model = model
        self.sandbox_name = sandbox
        self.cwd = cwd
        self.failed: str | None = None
        self.busy = False
        self.engine = StubEngine(session_id, model, mode)
        from pathlib import Path

        from de_agent.config import Settings
        from de_agent.frontends.controller import Controller

        self.controller = Controller(Settings(model=model, approval_mode=mode), Path(cwd), self)
        self.controller.engine = self.engine

    @property
    def mode(self) -> str:
        return self.engine.policy.mode

    def start(self) -> None:
        self.feed(P.SessionStarted(self.session_id, self.model, self.cwd, self.mode, self.sandbox_name))

    def feed(self, *events: P.Event) -> None:
        for event in events:
            self.events.put(event)

    def start_turn(self, text: str) -> bool:
        self.turns.append(text)
        self.busy = True
        return True

    def submit(self, op: P.Op) -> None:
        self.ops.append(op)

    def interrupt(self) -> bool:
        was, self.busy = self.busy, False
        return was

    def cycle_mode(self) -> str:
        return self.controller.set_mode(None).value

    def run(self, coro: Any) -> concurrent.futures.Future:
        """A controller step (a reply's continuation), run like :meth:`command`."""
        pool = concurrent.futures.ThreadPoolExecutor(1)
        future = pool.submit(asyncio.run, coro)
        pool.shutdown(wait=False)
        return future

    def command(self, line: str) -> concurrent.futures.Future:
        """Slash commands go to a real controller over the stub engine."""
        pool = concurrent.futures.ThreadPoolExecutor(1)
        future = pool.submit(asyncio.run, self.controller.command(line))
        pool.shutdown(wait=False)
        return future

    def on_event(self, event: P.Event) -> None:
        self.feed(event)

    def replay(self, events: list[P.Event]) -> None:
        self.feed(*events)

    def shutdown(self, timeout: float = 3.0) -> None:
        self.events.put(None)


async def wait_for(pilot: Any, condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Let the app run until ``condition()`` is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what or condition}")


async def settle(pilot: Any, timeout: float = 10.0) -> None:
    """Wait until the app is quiet (:meth:`DeAgentApp.quiet`: every engine event queued so far
    is shown, streamed text is flushed, no slash command waits for the engine) and the screen
    has handled the messages queued for it, then for scheduled animations. No fixed sleep:
    something that happens later on another thread (a turn, a reply) needs :func:`wait_for`."""
    app = pilot.app
    while True:
        try:
            await wait_for(pilot, app.quiet, timeout)
        except AssertionError:
            raise AssertionError(
                f"the app did not become quiet within {timeout}s: started={app.first_frame_at is not None}, "
                f"events shown {app.events_shown} of {app.host.events.put_count}, chat settled="
                f"{app.chat.settled}, slash command waiting={app.slash.waiting} ({app.slash.running})") from None
        await pilot.pause()  # the screen handles what is queued for it (mounts, refreshes)
        if app.quiet():
            break
    await pilot.wait_for_scheduled_animations()


async def shows(pilot: Any, app: Any, *needles: str, timeout: float = 10.0) -> str:
    """Wait until the screen shows every needle and return its text: reading the screen right
    after a widget condition raced the repaint (the condition holds before the frame does)."""
    return await wait_for(pilot, lambda: (text := screen_text(app)) and all(n in text for n in needles)
                          and text, timeout, f"the screen to show {needles}")


def screen_text(app: Any) -> str:
    """The text on the app's current screen, one line per row (what a person would read)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)
