"""Driving the plain REPL without a terminal: keys go in through a prompt_toolkit pipe, the
rich output is read back from a StringIO, and the engine is built from given parts."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from de_agent.config import Settings
from de_agent.engine.loop import Engine
from de_agent.engine.policy import Policy
from de_agent.frontends.plain import PlainRepl
from de_agent.tools.base import Tool, ToolContext
from de_agent.workspace import Workspace


class CompactOnly:
    """Engine hooks that compact on /compact and never on their own (no token counting)."""

    async def before_model_call(self, engine: Any) -> None:
        return None

    async def on_context_overflow(self, engine: Any) -> bool:
        return False

    async def compact(self, engine: Any, instructions: str = "") -> bool:
        from de_agent.sessions.compact import compact

        return await compact(engine, instructions)

    def fork(self, engine: Any, messages: list, title: str) -> Any:
        from de_agent.sessions.fork import fork_session

        return fork_session(engine, messages, title)


class PlainDriver:
    """An in-process plain REPL: ``send`` keys, ``expect`` output, ``exit_code`` at the end."""

    def __init__(self, root: Path, llm: Any, tools: list[Tool], *, mode: str = "default",
                 checkpoints: Any = None, settings: Settings | None = None, terminal: bool = False,
                 width: int = 100, factory: Any = None, record: bool = False):
        self.root = root
        self.settings = settings or Settings(model="fake/model", approval_mode=mode)
        self.buffer = io.StringIO()
        self.console = Console(file=self.buffer, width=width, force_terminal=terminal,
                               color_system="standard" if terminal else None, highlight=False)
        self._llm, self._tools, self._checkpoints = llm, tools, checkpoints
        self._factory = factory or self._build
        self._seen = 0
        self._record = record
        self._sessions = 0
        self.task: asyncio.Task | None = None

    def _build(self, settings: Settings, root: Path, sink: Any, session_id: str | None) -> Any:
        from de_agent.sessions.store import SessionRecorder

        self._sessions += 1
        sid = session_id or ("test-session" if self._sessions == 1 else f"test-session-{self._sessions}")
        ctx = ToolContext(workspace=Workspace(root), settings=settings)
        recorder = SessionRecorder(sid, root, settings.model) if self._record else None
        engine = Engine(llm=self._llm, tools=self._tools, ctx=ctx, policy=Policy(settings.approval_mode, root),
                        sink=sink, session_id=sid, checkpoints=self._checkpoints, recorder=recorder,
                        hooks=CompactOnly())
        return SimpleNamespace(engine=engine, sandbox_name="none", notices=[])

    async def __aenter__(self) -> PlainDriver:
        self._pipe_cm = create_pipe_input()
        self.pipe = self._pipe_cm.__enter__()
        self.repl = PlainRepl(self.settings, self.root, console=self.console, input=self.pipe,
                              output=DummyOutput(), engine_factory=self._factory, history_path=None)
        self.task = asyncio.create_task(self.repl.run())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        self._pipe_cm.__exit__(None, None, None)

    @property
    def engine(self) -> Engine:
        return self.repl.engine

    @property
    def output(self) -> str:
        return self.buffer.getvalue()

    def send(self, keys: str) -> None:
        self.pipe.send_text(keys)

    async def expect(self, pattern: str, timeout: float = 5.0) -> str:
        """Wait until ``pattern`` (a regex) shows in output not yet matched; return that output."""
        regex = re.compile(pattern)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            text = self.output
            found = regex.search(text, self._seen)
            if found:
                seen_before, self._seen = self._seen, found.end()
                return text[seen_before:found.end()]
            if self.task is not None and self.task.done():
                raise AssertionError(f"REPL ended (exit {self.task.result()}) before {pattern!r}:\n{text}")
            if loop.time() > deadline:
                raise AssertionError(f"{pattern!r} did not show within {timeout}s; output:\n{text}")
            await asyncio.sleep(0.01)

    async def wait_busy(self, timeout: float = 5.0) -> None:
        await self.until(lambda: self.repl.engine is not None and self.repl.engine.busy, timeout, "no turn started")

    async def until(self, condition: Any, timeout: float = 5.0, what: str = "condition not met") -> None:
        """Poll ``condition`` until it holds (a condition, never a fixed sleep)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(what)
            await asyncio.sleep(0.005)

    async def exit_code(self, timeout: float = 5.0) -> int:
        assert self.task is not None
        return await asyncio.wait_for(self.task, timeout)
