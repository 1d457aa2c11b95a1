"""The AskUser modal: the question, its options (number keys or arrows + Enter), and a free-text answer.

Keys: ``1``-``9`` pick an option (with ``multiple``, they toggle it and Enter sends the picked
ones), Up/Down move between options, Enter answers with the highlighted option or, when the
text box has something in it, with that text; Tab moves to the text box; Escape dismisses
the question (the model is told to state its assumption). The screen's result is the answer
text, or None when dismissed.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.events import Key
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from de_agent import protocol as P
from de_agent.tui.screens.dialog import Dialog


class QuestionScreen(Dialog[str | None]):
    DEFAULT_CSS = """
    #question-dialog { width: 80%; max-width: 110; max-height: 90%; border: thick $accent; border-title-color: $accent;
                        border-title-style: bold; }
    #question-text { margin-bottom: 1; text-style: bold; }
    #question-options { height: auto; max-height: 16; margin-bottom: 1; }
    #question-keys { color: $foreground 70%; }
    """

    BINDINGS = [Binding("escape", "dismiss_question", "skip", priority=True)]

    def __init__(self, question: P.Question) -> None:
        super().__init__()
        self.question = question
        self.picked: set[int] = set()
        self.closed_by_turn_end = False  # the turn ended (Ctrl+C) before the person answered

    def compose(self) -> ComposeResult:
        q = self.question
        with Vertical(id="question-dialog", classes="dialog") as dialog:
            dialog.border_title = f"@{q.specialist} asks" if q.specialist else "de-agent asks"
            yield Static(Content(q.question), id="question-text")
            if q.options:
                yield OptionList(*(Option(self._label(i), id=str(i)) for i in range(len(q.options))),
                                 id="question-options")
            yield Input(placeholder="Or type your own answer and press Enter", id="question-answer")
            keys = ("1-9 toggle, Enter sends the picked options" if q.multiple else "1-9 or ↑↓ Enter picks")
            yield Static(Content(f"{keys if q.options else 'Enter sends'} · Tab: type an answer · "
                                 "Esc: skip (the model states its assumption)"), id="question-keys")

    def on_mount(self) -> None:
        target = "#question-options" if self.question.options else "#question-answer"
        self.query_one(target).focus()

    def _label(self, index: int) -> Content:
        option = self.question.options[index]
        mark = ("[x] " if index in self.picked else "[ ] ") if self.question.multiple else ""
        extra = f" - {option['description']}" if option.get("description") else ""
        return Content.assemble((f"{index + 1}. {mark}", "bold"), option["label"], (extra, "dim"))

    def on_key(self, event: Key) -> None:
        options = self.question.options
        if isinstance(self.focused, Input) or not event.character or not event.character.isdigit():
            return
        index = int(event.character) - 1
        if not 0 <= index < len(options):
            return
        event.stop()
        if not self.question.multiple:
            self.dismiss(options[index]["label"])
            return
        self.picked ^= {index}
        option_list = self.query_one(OptionList)
        option_list.replace_option_prompt_at_index(index, self._label(index))
        option_list.highlighted = index

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int(event.option.id or 0)
        if self.question.multiple:
            chosen = sorted(self.picked or {index})
            self.dismiss(", ".join(self.question.options[i]["label"] for i in chosen))
        else:
            self.dismiss(self.question.options[index]["label"])

    @on(Input.Submitted, "#question-answer")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            self.dismiss(text)
        elif self.question.multiple and self.picked:
            self.dismiss(", ".join(self.question.options[i]["label"] for i in sorted(self.picked)))

    def action_dismiss_question(self) -> None:
        self.dismiss(None)
