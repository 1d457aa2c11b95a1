"""The /rewind picker (also Esc Esc on an empty prompt): the person's earlier messages,
newest first. Enter goes back to before the highlighted one keeping the files as they are;
``f`` also puts back the files the agent changed since. Its result is
``(number, restore_files)`` or None."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from de_agent.tui.screens.dialog import Dialog


class RewindPicker(Dialog[tuple[int, bool] | None]):
    DEFAULT_CSS = """
    #rewind { width: 92%; max-width: 120; max-height: 90%; border: thick $primary; }
    #rewind > OptionList { height: auto; max-height: 24; }
    #rewind-help { color: $foreground 80%; margin-top: 1; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "cancel", priority=True),
        Binding("f", "pick(True)", "rewind and put files back"),
        Binding("c", "pick(False)", "rewind the conversation only"),
    ]

    def __init__(self, points: list[tuple[int, str, bool]]) -> None:
        """points: (number, text, files changed since), oldest first."""
        super().__init__()
        self.points = points

    def compose(self) -> ComposeResult:
        with Vertical(id="rewind", classes="dialog") as box:
            box.border_title = "Rewind to before…"
            options = []
            for number, text, changed in reversed(self.points):
                line = " ".join(text.split())
                line = line if len(line) <= 90 else line[:89] + "…"
                options.append(Option(Content.assemble((f"{number:>3}  ", "dim"), line,
                                                       ("   · files changed since" if changed else "", "$warning")),
                                      id=str(number)))
            yield OptionList(*options)
            key = "bold $accent"
            yield Static(Content.assemble(("Enter", key), "/", ("c", key), " rewind the conversation  ",
                                          ("f", key), " and put back the files changed since  ",
                                          ("Esc", key), " cancel\n",
                                          ("The later part stays in the current session; /resume brings it back.",
                                           "dim")), id="rewind-help")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss((int(event.option.id or 0), False))

    def action_pick(self, files: bool) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.dismiss((int(options.get_option_at_index(options.highlighted).id or 0), files))

    def action_cancel(self) -> None:
        self.dismiss(None)
