"""A yes/no question as a small modal (for example before yolo mode); its result is a bool."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from de_agent.tui.screens.dialog import Dialog


class Confirm(Dialog[bool]):
    DEFAULT_CSS = """
    #confirm { width: 80%; max-width: 80; border: thick $error; }
    #confirm-keys { margin-top: 1; }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "yes"),
        Binding("n,escape", "answer(False)", "no", priority=True),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Static(Content(self.question))
            yield Static(Content.assemble(("y", "bold $accent"), f" {self.yes}   ",
                                          ("n", "bold $accent"), "/", ("Esc", "bold $accent"), f" {self.no}"),
                         id="confirm-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
