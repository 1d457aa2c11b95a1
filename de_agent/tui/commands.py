"""Slash commands in the TUI: run them through the controller, then show the typed reply.

What each command does is written once, in :mod:`de_agent.frontends.controller`; this
module is the TUI's half: one command at a time, each as an async worker on the UI thread
(so a slow one such as /compact never holds up the app's message queue), and a ``match``
over the reply that updates the chat, panes and status bar.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from de_agent.frontends import replies as R

if TYPE_CHECKING:
    from de_agent.tui.app import DeAgentApp

KEYS_HELP = ("Keys: Enter sends · Up/Down recall earlier input · Tab completes a command · "
             "Shift+Tab cycles the approval mode · Ctrl+C stops the turn, twice quits · "
             "F2 shows/hides the plan and diff panes · Ctrl+P opens the command palette.\n"
             "Approvals: y once · a this session · A always (saves the rule) · n deny · "
             "f deny with a note · Esc deny · Up/Down + Space pick the hunks of an edit.")

class TuiCommands:
    """The app's slash-command runner (a part of the app, not a mixin)."""

    def __init__(self, app: DeAgentApp) -> None:
        self.app = app
        self.running: str | None = None

    def run_soon(self, line: str) -> None:
        """Start a slash command (from the input box or the command palette)."""
        if self.running:
            self.app.chat.add_notice(f"Wait for {self.running} to finish.", "warning")
            return
        self.running = line.split()[0]

        async def run() -> None:
            try:
                await self.run(line)
            finally:
                self.running = None

        self.app.run_worker(run(), group="slash")

    async def run(self, line: str) -> None:
        app = self.app
        words = line.split()
        slow = words[0] == "/compact" or (words[0] == "/model" and len(words) > 1)
        if slow:
            app.status.busy = True
        try:
            reply = await asyncio.wrap_future(app.host.command(line))
        except Exception as exc:  # noqa: BLE001 - a failed command is a message, not a crash
            reply = R.Say(f"{line.split()[0]} failed: {type(exc).__name__}: {exc}", "error")
        finally:
            if slow:
                app.status.busy = False
        self.show(reply)

    def show(self, reply: R.Reply) -> None:
        app, chat = self.app, self.app.chat
        match reply:
            case R.Say(text=text, level=level):
                chat.add_notice(text, level)
            case R.Help(text=text):
                chat.add_notice(text + "\n\n" + KEYS_HELP)
            case R.ModeChanged(mode=mode, text=text):
                app.status.mode = mode
                chat.add_notice(text)
            case R.ModelChanged(model=model, text=text):
                app.status.model = model
                chat.add_notice(text)
            case R.ShowPlan():
                app.show_side()
                chat.add_notice("Plan:\n" + app.plan_pane.as_text())
            case R.ShowDiff(diff=diff):
                app.show_side()
                app.diff_pane.show_session_diff(diff)
                chat.add_notice(f"The diff pane shows the session's changes ({reply.files} file(s)).")
            case R.SessionList(pick=True):
                self._pick(reply)
            case R.SessionList(header=header, rows=rows, problems=problems):
                for problem in problems:
                    chat.add_notice(f"Skipped {problem}", "warning")
                chat.add_notice("\n".join([header, *(line for _id, line in rows)]) + "\n/resume ID continues one.")
            case R.SessionSwitched(session_id=session_id, text=text):
                app.status.session_id = session_id
                if text:
                    chat.add_notice(text)
            case R.SendPrompt(text=text):
                self.running = None  # the command is done: its prompt is an ordinary request
                app.send(text)
            case R.SetTheme(name=name):
                self._theme(name)
            case R.CopyAnswer():
                self._copy()
            case R.Quit():
                app.exit(0)
            case R.Done():
                pass

    def _pick(self, reply: R.SessionList) -> None:
        from de_agent.tui.screens.sessions import SessionPicker

        def picked(ident: str | None) -> None:
            if ident:
                self.run_soon(f"/resume {ident}")

        self.app.push_screen(SessionPicker(reply.rows, reply.header), picked)

    def _theme(self, name: str) -> None:
        app, chat = self.app, self.app.chat
        ours = sorted(app.theme_specs)
        if not name:
            others = sorted(set(app.available_themes) - set(ours))
            chat.add_notice(f"Theme: {app.theme}. de-agent themes: {', '.join(ours)}. "
                            f"Textual's own: {', '.join(others)}. Switch with /theme NAME.")
            return
        if name not in app.available_themes:
            chat.add_notice(f"Unknown theme {name!r}. Available: {', '.join(ours)} "
                            f"(and Textual's own themes).", "error")
            return
        app.theme = name
        app.status.theme_name = name
        chat.add_notice(f"Theme: {name}.")

    def _copy(self) -> None:
        text = self.app.chat.last_answer
        if not text:
            self.app.chat.add_notice("No answer to copy yet.", "warning")
            return
        self.app.copy_to_clipboard(text)
        self.app.notify(f"Copied the last answer ({len(text)} characters).", timeout=2)


def prefill(app: Any, text: str) -> None:
    """Put the start of a command in the input box, for the person to finish."""
    app.prompt.value = text
    app.prompt.cursor_position = len(text)
    app.prompt.focus()
