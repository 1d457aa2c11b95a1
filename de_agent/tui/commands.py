"""What each slash command does in the TUI (names, help and parsing live in frontends/slash.py).

A mixin of :class:`~de_agent.tui.app.DeAgentApp`: each ``/name`` runs ``cmd_name(arg)`` as an
async worker on the UI thread (so a slow command such as /compact never holds up the app's
message queue), one command at a time. Commands that touch the engine run on the engine's
loop through the host and never while a turn is running.
"""

from __future__ import annotations

import asyncio
from typing import Any

from de_agent.config import APPROVAL_MODES as MODES
from de_agent.frontends import slash

KEYS_HELP = ("Keys: Enter sends · Up/Down recall earlier input · Tab completes a command · "
             "Shift+Tab cycles the approval mode · Ctrl+C stops the turn, twice quits · "
             "F2 shows/hides the plan and diff panes · Ctrl+P opens the command palette.\n"
             "Approvals: y once · a this session · A always (saves the rule) · n deny · "
             "f deny with a note · Esc deny · Up/Down + Space pick the hunks of an edit.")


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
        try:
            parsed = slash.parse(line)
        except slash.UnknownCommand:
            parsed = None  # run_slash reports it
        if parsed is not None and parsed[0].prompt is not None:  # a custom command: a request
            self.send(slash.expand(*parsed))
            return
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
        self.chat.add_notice(slash.help_text() + "\n\n" + KEYS_HELP)

    async def cmd_mode(self, arg: str) -> None:
        if not arg:
            self.chat.add_notice(f"Approval mode: {self.host.mode}. Choose one of {', '.join(MODES)} "
                                 "(/mode NAME or Shift+Tab).")
            return
        if arg not in MODES:
            self.chat.add_notice(f"Unknown approval mode {arg!r}; choose one of {', '.join(MODES)}.", "error")
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
        self.settings.model = arg
        engine.llm.model = arg
        self.status.model = arg
        self.chat.add_notice(f"Model: {arg}.")
        from de_agent.llm.adapter import LLMError

        try:
            await asyncio.to_thread(engine.llm.check_config)
        except LLMError as exc:
            self.chat.add_notice(str(exc), "error")

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
        self.chat.add_notice(f"The diff pane shows the session's changes ({files} file(s)).")

    async def cmd_undo(self, arg: str) -> None:
        engine = self._idle_engine("/undo")
        if engine is None:
            return
        if engine.checkpoints is None:
            self.chat.add_notice("Nothing to undo: checkpoints are off for this session (they need "
                                 "a git repository).", "warning")
            return
        await self._on_engine(engine.undo())  # the engine reports the outcome as a notice

    async def cmd_sessions(self, arg: str) -> None:
        from de_agent.sessions.cli import session_rows
        from de_agent.sessions.reader import list_sessions

        infos, problems = await asyncio.to_thread(list_sessions, self.root)
        for problem in problems:
            self.chat.add_notice(f"Skipped {problem}", "warning")
        if not infos:
            self.chat.add_notice("No saved sessions for this repository yet.")
            return
        self.chat.add_notice("\n".join(session_rows(infos[:30])) + "\n/resume ID continues one.")

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

    async def cmd_mcp(self, arg: str) -> None:
        from de_agent.extensions.slash_text import mcp_command

        await self._extension_text("/mcp", mcp_command, arg)

    async def cmd_hooks(self, arg: str) -> None:
        from de_agent.extensions.slash_text import hooks_command

        await self._extension_text("/hooks", hooks_command, arg)

    async def _extension_text(self, what: str, fn: Any, arg: str) -> None:
        engine = self.host.engine
        if engine is None:
            self.chat.add_notice(f"The engine is still starting; try {what} again in a moment.", "warning")
            return
        self.chat.add_notice(await asyncio.to_thread(fn, engine, arg))

    async def cmd_skills(self, arg: str) -> None:
        from de_agent.extensions.slash_text import skills_command

        self.chat.add_notice(await asyncio.to_thread(skills_command, self.root, arg))

    async def cmd_commands(self, arg: str) -> None:
        from de_agent.extensions.slash_text import commands_command

        self.chat.add_notice(await asyncio.to_thread(commands_command, self.root, arg))
