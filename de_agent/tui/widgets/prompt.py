"""The input box: slash-command completion (suggester plus a hint line) and input history."""

from __future__ import annotations

from textual.binding import Binding
from textual.content import Content
from textual.suggester import Suggester
from textual.widgets import Input, Static

from de_agent.frontends import slash


class SlashSuggester(Suggester):
    """Completes ``/co`` to ``/compact`` (Right or Tab accepts), and theme and mode names."""

    def __init__(self, extra: dict[str, list[str]] | None = None) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.extra = extra or {}

    async def get_suggestion(self, value: str) -> str | None:
        if not value.startswith("/"):
            return None
        if " " in value:
            name, _, arg = value.partition(" ")
            for option in self.extra.get(name[1:], []):
                if option.startswith(arg) and option != arg:
                    return f"{name} {option}"
            return None
        matches = slash.completions(value)
        return matches[0] if matches and matches[0] != value else None


def hint_content(value: str) -> Content | None:
    """The matching commands with their help, while a slash command is being typed."""
    if not value.startswith("/") or " " in value:
        return None
    matches = [slash.BY_NAME[m[1:]] for m in slash.completions(value)]
    if not matches:
        return Content.styled(f"No command starts with {value}. Type /help for the list.", "$error")
    parts: list = []
    for command in matches[:6]:
        parts += [(f"/{command.name}", "bold $primary"),
                  (f" {command.argument}" if command.argument else "", "$foreground 70%"),
                  (f"  {command.help}", "dim"), "\n"]
    if len(matches) > 6:
        parts.append((f"… {len(matches) - 6} more", "dim"))
    return Content.assemble(*parts).rstrip()


class SlashHint(Static):
    DEFAULT_CSS = """
    SlashHint {
        display: none;
        height: auto;
        max-height: 7;
        padding: 0 2;
        background: $surface;
    }
    SlashHint.-shown { display: block; }
    """

    def show_for(self, value: str) -> None:
        content = hint_content(value)
        self.set_class(content is not None, "-shown")
        if content is not None:
            self.update(content)


class PromptInput(Input):
    """The task input. Up and Down walk through what was sent before."""

    BINDINGS = [
        Binding("up", "history(-1)", "previous input", show=False),
        Binding("down", "history(1)", "next input", show=False),
        Binding("tab", "complete", "complete", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(suggester=SlashSuggester(), select_on_focus=False, **kwargs)
        self.history: list[str] = []
        self._position = 0

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._position = len(self.history)

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._position = max(0, min(len(self.history), self._position + step))
        self.value = self.history[self._position] if self._position < len(self.history) else ""
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        """Tab accepts the suggestion; focus never leaves the prompt (the chat scrolls with
        PageUp/PageDown and Shift+Up/Down from here)."""
        if self._suggestion and self._suggestion != self.value:
            self.value = self._suggestion
            self.cursor_position = len(self.value)
