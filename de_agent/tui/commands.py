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
        ("@name TASK", "hand a task to a specialist"), ("Ctrl+N", "start the follow-up the last answer named"),
        ("Approvals", "y once · a this session · A always · n deny · f deny with a note · Esc deny · "
                      "Up/Down + Space pick the hunks of an edit")]

KEYS_HELP = "Keys:\n" + "\n".join(f"  {key}: {what}" for key, what in KEYS)


class TuiCommands:
    """The app's slash-command runner (a part of the app, not a mixin)."""

    def __init__(self, app: DeAgentApp) -> None:
        self.app = app
        self.running: str | None = None
        self._asking: Any = None  # the screen on which the running command asks the person

    @property
    def waiting(self) -> bool:
        """A command runs and is not asking the person: its reply is on its way to the screen."""
        return self.running is not None and not (self._asking is not None and self.app.screen is self._asking)

    async def ask(self, screen: Any) -> Any:
        """Show a screen that the running command waits on, and return its answer."""
        self._asking = screen
        try:
            return await self.app.push_screen_wait(screen)
        finally:
            self._asking = None

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
        await self.show(reply)

    async def on_engine(self, coro: Any) -> R.Reply:
        """A controller step (a reply's continuation) run on the engine's loop."""
        try:
            return await asyncio.wrap_future(self.app.host.run(coro))
        except Exception as exc:  # noqa: BLE001 - a failed command is a message, not a crash
            return R.Say(f"The command failed: {type(exc).__name__}: {exc}", "error")

    async def show(self, reply: R.Reply) -> None:
        app, chat = self.app, self.app.chat
        match reply:
            case R.Say(text=text, level=level):
                chat.add_notice(text, level)
            case R.Help(text=text):
                from rich.console import Group
                from rich.text import Text

                from de_agent.frontends import slash

                commands = [(f"/{c.name} {c.argument}".strip(), c.help) for c in slash.COMMANDS]
                view = Group(grid(commands, "Commands"), Text(""), grid(KEYS, "Keys"))
                chat.add_notice(text + "\n\n" + KEYS_HELP, view=view)
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
                chat.add_notice(f"The diff pane shows the session's changes ({reply.files_text}).")
            case R.SessionList(pick=True):
                self._pick(reply)
            case R.SessionList(header=header, rows=rows, problems=problems, details=details):
                for problem in problems:
                    chat.add_notice(f"Skipped {problem}", "warning")
                chat.add_notice("\n".join([header, *(line for _id, line in rows)]) + "\n/resume ID continues one.",
                                view=grid(details + [("", "/resume ID continues one.")],
                                          "Sessions of this repository") if details else None)
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
            case R.Confirm():
                from de_agent.tui.screens.confirm import Confirm

                if await self.ask(Confirm(reply.question, reply.yes, reply.no)):
                    await self.show(await self.on_engine(reply.then()))
                elif reply.declined:
                    chat.add_notice(reply.declined)
            case R.PickRewind():
                from de_agent.tui.screens.rewind import RewindPicker

                # /rewind N keeps the files (the picker's f puts them back)
                choice = (reply.chosen, False) if reply.chosen is not None else \
                    await self.ask(RewindPicker(reply.points))
                if choice is not None:
                    await self.show(await self.on_engine(reply.then(*choice)))
            case R.Rewound():
                self._rewound(reply)
            case R.Done():
                pass

    def _rewound(self, reply: R.Rewound) -> None:
        app = self.app
        app.status.session_id = reply.session_id
        app.note_empty_panes()
        prefill(app, reply.text)  # the message, ready to edit and send again

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
