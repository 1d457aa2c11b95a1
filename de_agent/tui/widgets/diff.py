"""The diff pane (the proposed or last applied change, file by file) and diff colouring helpers.

Hunks are numbered the way the Edit tool numbers them: in order of appearance in the
unified diff, starting at 0 (and on across the files of one request).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

STAGE_STYLE = {"proposed": "bold $warning", "applied": "bold $success", "denied": "bold $error",
               "session": "bold $primary", "undone": "bold $secondary"}


@dataclass
class Hunk:
    index: int
    file_path: str
    header: list[str]  # the file header lines (---/+++), only on a file's first hunk
    lines: list[str]  # the @@ line and its body

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def split_hunks(diffs: list[dict[str, str]]) -> list[Hunk]:
    """Every hunk of every file, numbered in order of appearance from 0."""
    hunks: list[Hunk] = []
    for item in diffs:
        path = item.get("file_path", "")
        header: list[str] = []
        current: list[str] | None = None
        found: list[list[str]] = []
        for line in item.get("diff", "").splitlines():
            if line.startswith("@@"):
                current = [line]
                found.append(current)
            elif current is None:
                header.append(line)
            else:
                current.append(line)
        for n, lines in enumerate(found):
            hunks.append(Hunk(len(hunks), path, header if n == 0 else [], lines))
    return hunks


def diff_line_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("+"):
        return "$success"
    if line.startswith("-"):
        return "$error"
    if line.startswith("@@"):
        return "$secondary"
    if line.startswith(("diff ", "index ", "new file", "deleted file", "\\")):
        return "dim"
    return ""


def diff_content(diff: str, *, skip_file_header: bool = False) -> Content:
    """A unified diff, coloured line by line with the theme's colours."""
    parts: list = []
    for line in diff.splitlines():
        if skip_file_header and line.startswith(("+++", "---", "diff ", "index ")):
            continue
        parts.append((line, diff_line_style(line)))
        parts.append("\n")
    return Content.assemble(*parts[:-1]) if parts else Content("")


def split_files(diff: str) -> list[tuple[str, str]]:
    """A multi-file ``git diff`` as (file_path, diff) pairs."""
    files: list[tuple[str, list[str]]] = []
    for line in diff.splitlines():
        if line.startswith("diff --git ") or not files:
            name = line.split(" b/", 1)[-1] if line.startswith("diff --git ") else "changes"
            files.append((name, []))
        files[-1][1].append(line)
    return [(name, "\n".join(lines)) for name, lines in files if lines]


@dataclass
class _Change:
    call_id: str
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (diff, stage)
    impacts: dict[str, list[str]] = field(default_factory=dict)  # path -> blast radius lines


class DiffPane(VerticalScroll):
    """Shows one change at a time: the newest proposed or applied diff, one block per file."""

    DEFAULT_CSS = """
    DiffPane > .diff-file { width: 1fr; margin-bottom: 1; }
    DiffPane > .diff-empty { color: $foreground 60%; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.change = _Change("")

    def compose(self) -> ComposeResult:
        yield Static("No change yet. Proposed edits show here before they are applied.", classes="diff-empty")

    def show_diff(self, file_path: str, diff: str, stage: str, call_id: str = "") -> None:
        if stage == "undone":
            self.mark_undone(file_path)
            return
        if call_id != self.change.call_id or stage == "session":
            self.change = _Change(call_id)
        self.change.files[file_path] = (diff, stage)
        self._render_change()

    def show_impact(self, file_path: str, impact: dict, call_id: str = "") -> None:
        """The blast radius of a proposed SQL edit fills in below its diff."""
        from de_agent.tools.data.helpers.impact import impact_lines

        if call_id != self.change.call_id or file_path not in self.change.files:
            return
        self.change.impacts[file_path] = impact_lines(impact)
        self._render_change()

    def mark(self, call_id: str, stage: str) -> None:
        """Give every file of a change a new stage (e.g. denied) without a new diff."""
        if call_id and call_id == self.change.call_id:
            for path, (diff, old) in list(self.change.files.items()):
                if old == "proposed":
                    self.change.files[path] = (diff, stage)
            self._render_change()

    def mark_undone(self, file_path: str) -> None:
        """A file put back by /undo or /rewind: its change is shown as undone, never applied."""
        diff, _ = self.change.files.get(file_path, ("", ""))
        if file_path not in self.change.files and self.change.call_id != "undo":
            self.change = _Change("undo")
        self.change.files[file_path] = (diff or "(the file is back to its content before the turn)", "undone")
        self._render_change()

    def show_session_diff(self, diff: str) -> None:
        self.change = _Change("session")
        for path, text in split_files(diff):
            self.change.files[path] = (text, "session")
        self._render_change()

    def _render_change(self) -> None:
        with self.app.batch_update():
            self.remove_children()
            if not self.change.files:
                self.mount(Static("No differences.", classes="diff-empty"))
                return
            blocks = []
            for path, (diff, stage) in self.change.files.items():
                title = Content.assemble((path, "bold"), "  ", (stage, STAGE_STYLE.get(stage, "")))
                body = Content.assemble(title, "\n", diff_content(diff, skip_file_header=True))
                if path in self.change.impacts:
                    body = Content.assemble(body, "\n", ("\n".join(self.change.impacts[path]), "bold"))
                blocks.append(Static(body, classes="diff-file", markup=False))
            self.mount_all(blocks)
        self.scroll_home(animate=False)

    def as_text(self) -> str:
        return "\n".join(diff for diff, _ in self.change.files.values())
