"""The session picker for ``/resume``: this repository's sessions, newest first; its result is an id."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from de_agent.tui.screens.dialog import Dialog


class SessionPicker(Dialog[str | None]):
    DEFAULT_CSS = """
    #picker { width: 92%; max-width: 130; max-height: 90%; border: thick $primary; }
    #picker > OptionList { height: auto; max-height: 30; }
    #picker-help { color: $foreground 70%; }
    """

    BINDINGS = [Binding("escape", "cancel", "cancel", priority=True)]

    def __init__(self, rows: list[tuple[str, str]], header: str = "") -> None:
        """rows: (session id, the line shown for it)."""
        super().__init__()
        self.rows = rows
        self.header = header

    def compose(self) -> ComposeResult:
        with Vertical(id="picker", classes="dialog") as box:
            box.border_title = "Resume a session"
            if self.header:
                yield Static(Content(self.header), classes="dim")
            yield OptionList(*[Option(Content(line), id=ident) for ident, line in self.rows])
            yield Static("Enter resumes the highlighted session · Esc cancels", id="picker-help")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
