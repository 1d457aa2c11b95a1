"""Plain mode (``de-agent --plain``): a line-mode REPL over the engine, for terminals where a
full-screen app is unwelcome.

Input comes from prompt_toolkit (history file, several lines, slash-command completion),
output goes through rich (streamed Markdown, compact tool lines, coloured diffs). When the
engine asks for an approval the REPL shows the command or the diff and waits for one key:
y once, a for the session, A always, n deny, f deny with a note. Ctrl+C during a turn
interrupts it and the session goes on; on an empty prompt, twice quits, as does Ctrl+D.

:class:`PlainRepl` takes its console, prompt input/output and engine factory as
arguments, so tests drive it through a pipe instead of a terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prompt_toolkit.application import run_in_terminal
from rich.console import Console
from rich.text import Text

from de_agent import paths
from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.frontends import replies as R
from de_agent.frontends.controller import Controller, EngineFactory, StartFailed
from de_agent.frontends.plain_approvals import ApprovalPrompt
from de_agent.frontends.plain_commands import show_reply
from de_agent.frontends.plain_input import make_prompt_session
from de_agent.frontends.plain_questions import QuestionPrompt
from de_agent.frontends.plain_render import PlainRenderer

EXIT_OK, EXIT_CONFIG = 0, 2
ENDPOINT_TIMEOUT_S = 3.0


class ConfigProblem(Exception):
    """The model cannot be used as configured (no API key, unknown model)."""


class PlainRepl:
    """One plain-mode session: prompt, run turns, answer approvals, handle slash commands.

    ``console``, ``input`` and ``output`` default to the terminal; ``engine_factory`` to
    :func:`build_engine`; ``history_path`` True means ``paths.history_file()``, None keeps
    the history in memory.
    """

    def __init__(self, settings: Settings, root: Path, *, resume: Any = None, console: Console | None = None,
                 input: Any = None, output: Any = None, engine_factory: EngineFactory | None = None,
                 history_path: Path | None | bool = True):
        self.settings = settings
        self.root = Path(root)
        self.console = console or Console(highlight=False)
        self.out = PlainRenderer(self.console)
        self.approvals = ApprovalPrompt(self.out, input, output)
        self.questions = QuestionPrompt(self.out, input, output)
        self.controller = Controller(settings, self.root, self, factory=engine_factory)
        self._resume = resume
        self._approvals: asyncio.Queue[P.ApprovalRequest | P.Question] = asyncio.Queue()
        self._work: asyncio.Future | None = None
        self._config_task: asyncio.Task | None = None
        self.session = make_prompt_session(
            history_path=paths.history_file() if history_path is True else (history_path or None),
            message=self._prompt_message, cycle_mode=self._cycle_mode, input=input, output=output,
            root=self.root)

    # -- life cycle --------------------------------------------------------------------------

    async def run(self) -> int:
        """The whole session; returns the process exit code."""
        loop = asyncio.get_running_loop()
        armed = False
        try:
            loop.add_signal_handler(signal.SIGINT, self._on_sigint)
            armed = True
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread: Ctrl+C stays a KeyboardInterrupt
        from de_agent.llm.adapter import fast_start

        fast_start()  # token counts never wait for litellm's import
        try:
            sid = getattr(self._resume, "session_id", None)
            if not await self.start(session_id=sid, resume=self._resume):
                return EXIT_CONFIG
            # The model check may import litellm (seconds, for providers not spoken directly):
            # the prompt is up meanwhile.
            self._config_task = asyncio.create_task(self._watch_config())
            try:
                return await self._loop()
            except ConfigProblem as exc:
                self.out.print(Text(f"de-agent: {exc}", style="bold red"))
                return EXIT_CONFIG
        finally:
            if self._config_task is not None and not self._config_task.done():
                self._config_task.cancel()
            if armed:
                loop.remove_signal_handler(signal.SIGINT)
            self.out.stop_stream()
            if self.engine is not None and self.engine.messages:
                from de_agent.frontends.render import resume_hint

                self.out.print(Text(resume_hint(self.engine.session_id), style="dim"))
            self._close_engine()

    @property
    def engine(self) -> Any:
        return self.controller.engine

    async def start(self, *, session_id: str | None = None, resume: Any = None) -> bool:
        """Build an engine (and restore a session into it); False, with a message, when that fails."""
        try:
            self.controller.start(session_id, resume)
        except StartFailed as exc:
            self.out.print(Text(f"de-agent: {exc}", style="bold red"))
            return False
        return True

    # -- the front-end host the controller talks to --------------------------------------------

    def on_event(self, event: P.Event) -> None:
        if isinstance(event, P.ApprovalRequest | P.Question):
            self._approvals.put_nowait(event)
        else:
            self.out(event)

    def replay(self, events: list[P.Event]) -> None:
        self.out.replay(events)

    def _close_engine(self) -> None:
        self.controller.close()

    async def config_problem(self, cancellable: bool = True) -> str:
        """'' when the model is usable; otherwise one line saying what to fix."""
        check = getattr(self.engine.llm, "check_config", None)
        if check is None:
            return ""
        try:
            checking = asyncio.to_thread(check)
            await (self.cancellable(checking) if cancellable else checking)
        except asyncio.CancelledError:
            return "interrupted while checking the model configuration"
        except Exception as exc:  # noqa: BLE001 - LLMError and anything else become one line
            return str(exc) or type(exc).__name__
        return ""

    async def _watch_config(self) -> str:
        problem = await self.config_problem(cancellable=False)
        app = self.session.app
        if problem and app.is_running:
            app.exit(exception=ConfigProblem(problem))
        if not problem and self.settings.api_base:
            unreachable = await endpoint_problem(self.settings.api_base)
            if unreachable:
                await self._print_now(lambda: self.out.warn(
                    f"warning: {unreachable}; requests will fail until it answers (--api-base)."))
        return problem

    async def _print_now(self, show: Callable[[], None]) -> None:
        """Print even while the prompt is up (above it, then redraw it)."""
        if self.session.app.is_running:
            await run_in_terminal(show)
        else:
            show()

    async def _config_ready(self) -> None:
        """Wait for the start-up model check; raise ConfigProblem when it failed."""
        if self._config_task is None:
            return
        try:
            problem = await self.cancellable(asyncio.shield(self._config_task))
        except asyncio.CancelledError:
            problem = "interrupted while checking the model configuration"
        if problem:
            raise ConfigProblem(problem)

    # -- the prompt loop ---------------------------------------------------------------------

    def _prompt_message(self) -> Any:
        mode = self.controller.mode
        style = "ansired" if mode == "yolo" else "ansiyellow" if mode == "plan" else "ansicyan"
        return [(f"{style}", mode), ("bold", " › ")]

    def _cycle_mode(self) -> None:
        self.controller.set_mode(None)

    async def _loop(self) -> int:
        ctrl_c = False
        while True:
            if self._config_task is not None and self._config_task.done():
                await self._config_ready()
            try:
                text = await self.session.prompt_async(handle_sigint=False)
            except KeyboardInterrupt:
                if ctrl_c:
                    return EXIT_OK
                ctrl_c = True
                self.out.print(Text("(Ctrl+C again to quit, or Ctrl+D)", style="dim"))
                continue
            except EOFError:
                return EXIT_OK
            ctrl_c = False
            if not text.strip():
                continue
            if text.strip().startswith("/") and not text.strip().startswith("//"):
                name = text.split()[0]
                try:
                    reply = await self.cancellable(self.controller.command(text))
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        raise  # the REPL itself is being stopped, not just the command (Ctrl+C)
                    self.out.warn(f"{name} interrupted.")
                    continue
                if isinstance(reply, R.Quit):
                    return EXIT_OK
                if isinstance(reply, R.SendPrompt):  # a custom command: its prompt is the request
                    text = reply.text
                else:
                    await show_reply(self, reply)
                    continue
            if text.startswith("!") and text[1:].strip():
                task = self.engine.submit(P.RunCommand(text[1:].strip()))  # policy and sandbox as Shell
                if task is not None:
                    await self.cancellable(task)
                continue
            await self._config_ready()
            await self.run_turn(text)

    async def run_turn(self, text: str) -> Any:
        """Run one user turn to its end, answering approval requests as they come."""
        task = self.engine.submit(P.UserTurn(text))
        if task is None:
            return None
        self._work = task
        try:
            while not task.done():
                getter = asyncio.ensure_future(self._approvals.get())
                done, _ = await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    await self._answer(getter.result())
                else:
                    getter.cancel()
        finally:
            self._work = None
            self.out.stop_stream()
        while not self._approvals.empty():  # requests of an interrupted turn need no answer
            self._approvals.get_nowait()
        if task.cancelled():
            self.out.warn("Turn interrupted.")
            return None
        exc = task.exception()
        if exc is not None:
            self.out.print(Text(f"internal error: {type(exc).__name__}: {exc}", style="bold red"))
            return None
        return task.result()

    async def cancellable(self, awaitable: Awaitable[Any]) -> Any:
        """Await something that Ctrl+C may cancel (slash commands that call the model)."""
        future = asyncio.ensure_future(awaitable)
        self._work = future
        try:
            return await future
        finally:
            self._work = None

    def _on_sigint(self) -> None:
        work = self._work
        if work is None or work.done():
            return
        self.out.print(Text("^C interrupting…", style="yellow"))
        if self.engine is not None and self.engine.busy:
            self.engine.submit(P.Interrupt())
        else:
            work.cancel()

    # -- approvals ---------------------------------------------------------------------------

    async def _answer(self, request: P.ApprovalRequest | P.Question) -> None:
        try:
            decision: P.Op = await (self.questions.ask(request) if isinstance(request, P.Question)
                                    else self.approvals.ask(request))
        except KeyboardInterrupt:
            self.out.print(Text("^C interrupting…", style="yellow"))
            self.engine.submit(P.Interrupt())
            return
        self.engine.submit(decision)


async def endpoint_problem(url: str, timeout: float = ENDPOINT_TIMEOUT_S) -> str:
    """'' when something listens at the URL's host and port; otherwise why not, in a few words."""
    parts = urlsplit(url)
    if not parts.hostname:
        return f"the endpoint {url!r} is not a URL"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), timeout)
    except (TimeoutError, OSError) as exc:
        if isinstance(exc, TimeoutError):
            why = "no answer"
        elif isinstance(exc, ConnectionRefusedError):
            why = "connection refused"
        elif isinstance(exc, socket.gaierror):
            why = "unknown host"
        else:
            why = exc.strerror or str(exc)
        return f"cannot reach the model endpoint {url} ({why})"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ""


def run_plain(settings: Settings, root: Path, resume: Any = None) -> int:
    """Entry point of ``de-agent --plain``; returns the exit code."""
    try:
        return asyncio.run(PlainRepl(settings, root, resume=resume).run())
    except KeyboardInterrupt:
        return 130
