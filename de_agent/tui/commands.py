"""What each slash command does in the TUI (names, help and parsing live in frontends/slash.py).

A mixin of :class:`~de_agent.tui.app.DeAgentApp`: each ``/name`` runs ``cmd_name(arg)`` as an
async worker on the UI thread (so a slow command such as /compact never holds up the app's
message queue), one command at a time. Commands that touch the engine run on the engine's
loop through the host and never while a turn is running.
"""

from __future__ import annotations

import asyncio
from typing import Any

from de_agent import protocol as P
from de_agent.config import APPROVAL_MODES as MODES
from de_agent.frontends import slash


def grid(rows: list[tuple[str, str]], title: str = "") -> Any:
    """Two columns that wrap inside the chat: the first never breaks, the second wraps under
    itself (a hanging indent), so /help and /sessions read well at any width."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column(ratio=1)
    for left, right in rows:
        table.add_row(left, right)
    return Group(Text(title, style="bold"), table) if title else table


KEYS = [("Enter", "send"), ("Up / Down", "earlier input"), ("Tab", "complete a /command or @path"),
        ("PageUp / PageDown", "scroll the chat (also Shift+Up / Shift+Down)"),
        ("Esc", "back to the prompt; twice on an empty prompt: /rewind"),
        ("Shift+Tab", "approval mode: default, auto-edit, plan (yolo: /mode yolo)"),
        ("Ctrl+C", "stop the turn; twice quits"), ("F2", "show or hide the plan and diff panes"),
        ("Ctrl+O / v", "open a tool result full-screen"), ("Ctrl+P", "command palette"),
        ("@path  !command", "attach a file · run a command yourself"),
        ("Approvals", "y once · a this session · A always · n deny · f deny with a note · Esc deny · "
                      "Up/Down + Space pick the hunks of an edit")]

KEYS_HELP = "Keys:\n" + "\n".join(f"  {key}: {what}" for key, what in KEYS)


class SlashCommands:
    """Mixed into the app; uses its chat, panes, status bar and engine host."""

    chat: Any
    plan_pane: Any
    diff_pane: Any
    status: Any
    host: Any
    settings: Any
    root: Any
    prompt: Any
    _slash_running: str | None

    async def run_slash(self, line: str) -> None:
        try:
            parsed = slash.parse(line)
        except slash.UnknownCommand as exc:
            self.chat.add_notice(str(exc), "error")
            return
        if parsed is None:
            return
        command, arg = parsed
        handler = getattr(self, f"cmd_{command.name}")
        try:
            await handler(arg)
        except Exception as exc:  # noqa: BLE001 - a failed command is a message, not a crash
            self.chat.add_notice(f"/{command.name} failed: {type(exc).__name__}: {exc}", "error")

    def run_slash_soon(self, line: str) -> None:
        """Start a slash command (from the input box or the command palette)."""
        running = self._slash_running
        if running:
            self.chat.add_notice(f"Wait for {running} to finish.", "warning")
            return
        self._slash_running = line.split()[0]

        async def run() -> None:
            try:
                await self.run_slash(line)
            finally:
                self._slash_running = None

        self.run_worker(run(), group="slash")

    def prefill(self, text: str) -> None:
        """Put the start of a command in the input box, for the person to finish."""
        self.prompt.value = text
        self.prompt.cursor_position = len(text)
        self.prompt.focus()

    def _idle_engine(self, what: str) -> Any:
        engine = self.host.engine
        if engine is None:
            self.chat.add_notice(self.host.failed or f"The engine is still starting; try {what} again "
                                 "in a moment.", "warning")
            return None
        if self.host.busy:
            self.chat.add_notice(f"A turn is running; wait for it or press Ctrl+C before {what}.",
                                 "warning")
            return None
        return engine

    async def _on_engine(self, coro: Any) -> Any:
        return await asyncio.wrap_future(self.host.run(coro))

    # -- the commands -------------------------------------------------------------------------

    async def cmd_help(self, arg: str) -> None:
        from rich.console import Group
        from rich.text import Text

        commands = [(f"/{c.name} {c.argument}".strip(), c.help) for c in slash.COMMANDS]
        view = Group(grid(commands, "Commands"), Text(""), grid(KEYS, "Keys"))
        self.chat.add_notice(slash.help_text() + "\n\n" + KEYS_HELP, view=view)

    async def cmd_mode(self, arg: str) -> None:
        if not arg:
            self.chat.add_notice(f"Approval mode: {self.host.mode}. Choose one of {', '.join(MODES)} "
                                 "(/mode NAME or Shift+Tab).")
            return
        if arg not in MODES:
            self.chat.add_notice(f"Unknown approval mode {arg!r}; choose one of {', '.join(MODES)}.", "error")
            return
        if arg == "yolo" and self.host.mode != "yolo":
            from de_agent.tui.screens.confirm import Confirm

            if not await self.push_screen_wait(Confirm(slash.YOLO_QUESTION, "Turn on yolo", "Keep " + self.host.mode)):
                self.chat.add_notice(f"Approval mode stays {self.host.mode}.")
                return
        self.host.set_mode(arg)
        self.status.mode = arg
        self.chat.add_notice(f"Approval mode: {arg}.")

    async def cmd_model(self, arg: str) -> None:
        if not arg:
            self.chat.add_notice(f"Model: {self.settings.model}. Switch with /model NAME "
                                 "(any litellm name, e.g. openai/gpt-4o).")
            return
        engine = self._idle_engine("/model")
        if engine is None:
            return
        from de_agent.llm.adapter import LLMError

        old = engine.llm.model
        engine.llm.model = arg
        try:
            await asyncio.to_thread(engine.llm.check_config)
        except LLMError as exc:
            engine.llm.model = old  # a model that cannot work is never switched to
            self.chat.add_notice(f"{exc}. Still using {old}.", "error")
            return
        self.settings.model = arg
        self.status.model = arg
        self.chat.add_notice(f"Model: {arg}.")

    async def cmd_plan(self, arg: str) -> None:
        self.show_side()
        self.chat.add_notice("Plan:\n" + self.plan_pane.as_text())

    async def cmd_diff(self, arg: str) -> None:
        engine = self._idle_engine("/diff")
        if engine is None:
            return
        if engine.checkpoints is None:
            self.chat.add_notice("Checkpoints are off (not a git repository?), so there is no session "
                                 "diff to show.", "warning")
            return
        text = await asyncio.to_thread(engine.checkpoints.session_diff)
        if not text.strip():
            self.chat.add_notice("No changes in this session yet.")
            return
        self.show_side()
        self.diff_pane.show_session_diff(text)
        files = text.count("\ndiff --git ") + text.startswith("diff --git ")
        self.chat.add_notice(f"The diff pane shows the session's changes ({files} file{'' if files == 1 else 's'}).")

    async def cmd_undo(self, arg: str) -> None:
        engine = self._idle_engine("/undo")
        if engine is None:
            return
        if engine.checkpoints is None:
            self.chat.add_notice("Nothing to undo: checkpoints are off for this session (they need "
                                 "a git repository).", "warning")
            return
        await self._on_engine(engine.undo())  # the engine reports the outcome as a notice

    async def cmd_rewind(self, arg: str) -> None:
        """Pick an earlier message of yours; the engine forks the session there (the Rewind op)."""
        engine = self._idle_engine("/rewind")
        if engine is None:
            return
        from de_agent.engine.rewind import rewind_points

        points = rewind_points(engine)
        if not points:
            self.chat.add_notice("Nothing to rewind: you have not sent a message in this conversation yet.")
            return
        if arg:
            if not arg.isdigit():
                self.chat.add_notice("Use /rewind to choose from a list, or /rewind N for your message N.", "error")
                return
            choice: tuple[int, bool] | None = (int(arg), False)
        else:
            from de_agent.tui.screens.rewind import RewindPicker

            turns = set(engine.checkpoints.turns()) if engine.checkpoints is not None else set()
            rows = [(p.number, p.text, any(t >= p.turn for t in turns)) for p in points]
            choice = await self.push_screen_wait(RewindPicker(rows))
        if choice is None:
            return
        point = next((p for p in points if p.number == choice[0]), None)
        if point is None:
            self.chat.add_notice(f"There is no message {choice[0]} to rewind to (you sent {len(points)}).", "error")
            return
        from de_agent.engine.rewind import events_from_messages

        # The chat shows the kept part first; the engine's own events (notice, plan, files put
        # back) follow it through the pump as usual.
        self.chat.clear_all()
        self.diff_pane.show_session_diff("")
        for event in events_from_messages(engine.messages[:point.position]):
            self.apply_event(event)
        op = P.Rewind(choice[0], choice[1])

        async def submit() -> Any:
            task = engine.submit(op)
            return await task if task is not None else None

        result = await self._on_engine(submit())
        if result is None or not result.ok:
            return  # the engine said why, as a notice
        self.status.session_id = self.host.session_id = result.session_id
        self.note_empty_panes()
        self.prefill(result.text)  # the message, ready to edit and send again

    async def cmd_sessions(self, arg: str) -> None:
        from de_agent.sessions.cli import session_rows
        from de_agent.sessions.reader import list_sessions

        infos, problems = await asyncio.to_thread(list_sessions, self.root)
        for problem in problems:
            self.chat.add_notice(f"Skipped {problem}", "warning")
        if not infos:
            self.chat.add_notice("No saved sessions for this repository yet.")
            return
        from de_agent.sessions.cli import format_cost, format_tokens

        rows = []
        for info in infos[:30]:
            tokens = int(info.usage.get("prompt_tokens") or 0) + int(info.usage.get("completion_tokens") or 0)
            rows.append((info.id, f"{info.title or '(no request yet)'}\n"
                                  f"{info.turns} turn{'' if info.turns == 1 else 's'} · {info.model} · {format_tokens(tokens)} tokens · "
                                  f"{format_cost(info.usage.get('cost'))}"))
        self.chat.add_notice("\n".join(session_rows(infos[:30])) + "\n/resume ID continues one.",
                             view=grid(rows + [("", "/resume ID continues one.")], "Sessions of this repository"))

    async def cmd_resume(self, arg: str) -> None:
        if self._idle_engine("/resume") is None:
            return
        if arg:
            await self._resume(arg)
            return
        from de_agent.sessions.cli import session_rows
        from de_agent.sessions.reader import list_sessions
        from de_agent.tui.screens.sessions import SessionPicker

        infos, _ = await asyncio.to_thread(list_sessions, self.root)
        infos = [i for i in infos if i.id != self.host.session_id][:50]
        if not infos:
            self.chat.add_notice("No other session of this repository to resume.")
            return
        lines = session_rows(infos)
        rows = [(info.id, line) for info, line in zip(infos, lines[1:], strict=True)]

        def picked(ident: str | None) -> None:
            if ident:
                self.run_slash_soon(f"/resume {ident}")

        self.push_screen(SessionPicker(rows, lines[0]), picked)

    async def _resume(self, ident: str) -> None:
        from de_agent.sessions.cli import resume_by_id

        try:
            resume = await asyncio.to_thread(resume_by_id, self.root, ident)
        except LookupError as exc:
            self.chat.add_notice(str(exc), "error")
            return
        self._reset_panes()
        await asyncio.wrap_future(self.host.restart(resume.session_id, resume))

    async def cmd_compact(self, arg: str) -> None:
        engine = self._idle_engine("/compact")
        if engine is None:
            return
        try:
            from de_agent.sessions.compact import compact
        except ImportError:
            self.chat.add_notice("Compaction is not available in this build.", "warning")
            return
        self.status.busy = True
        try:
            done = await self._on_engine(compact(engine, arg))
        finally:
            self.status.busy = False
        if done:  # the engine has said so in the chat; the session id changed
            self.status.session_id = self.host.session_id = engine.session_id

    async def cmd_clear(self, arg: str) -> None:
        if self._idle_engine("/clear") is None:
            return
        old = self.host.session_id
        self._reset_panes()
        await asyncio.wrap_future(self.host.restart())
        self.chat.add_notice(f"New session. The previous one ({old}) stays saved; /resume brings it back.")

    def _reset_panes(self) -> None:
        self.chat.clear_all()
        self.plan_pane.show_plan([])
        self.diff_pane.show_session_diff("")
        self.status.tokens = 0
        self.status.cost = 0.0
        self.note_empty_panes()

    async def cmd_theme(self, arg: str) -> None:
        ours = sorted(self.theme_specs)
        if not arg:
            others = sorted(set(self.available_themes) - set(ours))
            self.chat.add_notice(f"Theme: {self.theme}. de-agent themes: {', '.join(ours)}. "
                                 f"Textual's own: {', '.join(others)}. Switch with /theme NAME.")
            return
        if arg not in self.available_themes:
            self.chat.add_notice(f"Unknown theme {arg!r}. Available: {', '.join(ours)} "
                                 f"(and Textual's own themes).", "error")
            return
        self.theme = arg
        self.status.theme_name = arg
        self.chat.add_notice(f"Theme: {arg}.")

    async def cmd_copy(self, arg: str) -> None:
        text = self.chat.last_answer
        if not text:
            self.chat.add_notice("No answer to copy yet.", "warning")
            return
        self.copy_to_clipboard(text)
        self.notify(f"Copied the last answer ({len(text)} characters).", timeout=2)

    async def cmd_memory(self, arg: str) -> None:
        from de_agent.sessions.context import show_memory

        self.chat.add_notice(await asyncio.to_thread(show_memory, self.root))

    async def cmd_quit(self, arg: str) -> None:
        self.exit(0)
