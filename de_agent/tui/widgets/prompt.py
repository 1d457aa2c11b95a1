"""The input box: completion of slash commands and of ``@path`` (repository files; suggester
plus a hint line), and input history."""

from __future__ import annotations

from textual.binding import Binding
from textual.content import Content
from textual.suggester import Suggester
from textual.widgets import Input, Static

from de_agent.frontends import slash


def mention_at_end(value: str) -> str | None:
    """The path typed after a trailing ``@`` (``"fix @etl/lo"`` -> ``"etl/lo"``), else None."""
    word = value.rsplit(None, 1)[-1] if value.strip() and not value[-1].isspace() else ""
    return word[1:] if word.startswith("@") else None


def path_matches(paths: list[str], typed: str, limit: int = 6) -> list[str]:
    """Paths starting with what was typed first, then paths whose file name starts with it."""
    first = [p for p in paths if p.startswith(typed)]
    if len(first) >= limit:
        return first[:limit]
    name = typed.rsplit("/", 1)[-1]
    more = [p for p in paths if p.rsplit("/", 1)[-1].startswith(name) and p not in first] if name else []
    return (first + more)[:limit]


class SlashSuggester(Suggester):
    """Completes ``/co`` to ``/compact`` (Right or Tab accepts), theme and mode names, and
    ``@et`` to a repository path."""

    def __init__(self, extra: dict[str, list[str]] | None = None) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.extra = extra or {}
        self.paths: list[str] = []  # repository files, set by the app

    async def get_suggestion(self, value: str) -> str | None:
        typed = mention_at_end(value)
        if typed is not None:
            first = next((p for p in self.paths if p.startswith(typed) and p != typed), None)
            return value + first[len(typed):] if first else None
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


def mention_content(value: str, paths: list[str]) -> Content | None:
    """The repository files matching an ``@path`` being typed."""
    typed = mention_at_end(value)
    if typed is None:
        return None
    matches = path_matches(paths, typed)
    if not matches:
        return Content.styled(f"No file of the repository matches @{typed} (ignored files are left out).", "dim")
    parts: list = []
    for path in matches:
        parts += [("@" + path, "$primary"), "\n"]
    parts.append(("Tab completes · the file is attached to your message", "dim"))
    return Content.assemble(*parts)


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

    def show_for(self, value: str, paths: list[str] | None = None) -> None:
        content = hint_content(value) or mention_content(value, paths or [])
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

    @property
    def paths(self) -> list[str]:
        return self.suggester.paths if isinstance(self.suggester, SlashSuggester) else []

    def action_complete(self) -> None:
        """Tab accepts the suggestion; focus never leaves the prompt (the chat scrolls with
        PageUp/PageDown and Shift+Up/Down from here)."""
        if self._suggestion and self._suggestion != self.value:
            self.value = self._suggestion
            self.cursor_position = len(self.value)
