"""A tool result full-screen: data results as a scrollable table, anything else as read-only
text, with search. Opened with ``v`` on a focused tool call or Ctrl+O (the newest result).

Keys: ``/`` or Ctrl+F search, Enter (in the search box) or ``n`` the next match, ``N`` the
previous one, Esc closes the search box and then the viewer (``q`` closes too).
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static, TextArea
from textual.widgets.text_area import Selection

MAX_TABLE_ROWS = 10_000


def find_all(lines: list[str], query: str) -> list[tuple[int, int]]:
    """(line, column) of every case-insensitive occurrence of ``query``."""
    needle = query.lower()
    hits = []
    for row, line in enumerate(lines):
        start = line.lower().find(needle)
        while start != -1:
            hits.append((row, start))
            start = line.lower().find(needle, start + 1)
    return hits


class ResultViewer(Screen[None]):
    DEFAULT_CSS = """
    ResultViewer { background: $background; }
    #viewer-title { height: auto; padding: 0 1; background: $panel; color: $foreground; }
    #viewer-body { height: 1fr; }
    #viewer-body > DataTable, #viewer-body > TextArea { height: 1fr; }
    #viewer-search { display: none; }
    #viewer-search.-shown { display: block; }
    #viewer-keys { height: 1; padding: 0 1; background: $panel; color: $foreground 80%; }
    """

    BINDINGS = [
        Binding("escape", "back", "close", priority=True),
        Binding("q", "close", "close"),
        Binding("slash,ctrl+f", "search", "search"),
        Binding("n", "next(1)", "next match"),
        Binding("N,shift+n", "next(-1)", "previous match"),
    ]

    def __init__(self, title: str, output: str, display: dict[str, Any] | None) -> None:
        super().__init__()
        self.title_text = title
        self.output = output
        self.display_data = display if isinstance(display, dict) else {}
        self.is_table = self.display_data.get("kind") == "table" and bool(self.display_data.get("columns"))
        self.query_text = ""
        self.hits: list[tuple[int, int]] = []
        self.hit = -1

    def compose(self) -> ComposeResult:
        yield Static(Content.assemble((self.title_text, "bold")), id="viewer-title")
        with Vertical(id="viewer-body"):
            if self.is_table:
                table: DataTable = DataTable(cursor_type="cell", zebra_stripes=True, id="viewer-table")
                yield table
            else:
                yield TextArea(self._text(), read_only=True, soft_wrap=False, id="viewer-text",
                               show_line_numbers=True)
        yield Input(placeholder="Search (Enter: next match, Esc: close the search)", id="viewer-search")
        yield Static(self._keys(), id="viewer-keys")

    def _text(self) -> str:
        kind = self.display_data.get("kind")
        if kind == "diff" and self.display_data.get("diff"):
            return str(self.display_data["diff"])
        if kind == "shell" and isinstance(self.display_data.get("output"), str):
            return f"$ {self.display_data.get('command', '')}\n{self.display_data['output']}"
        return self.output

    def _keys(self, note: str = "") -> Content:
        key = "bold $accent"
        parts: list = [("/", key), " search  ", ("n", key), "/", ("N", key), " next/previous  ",
                       ("Esc", key), " back  "]
        if self.is_table:
            parts += [("arrows", key), " move  ", ("PgUp/PgDn", key), " scroll"]
        if note:
            parts += ["   ", (note, "$warning")]
        return Content.assemble(*parts)

    def on_mount(self) -> None:
        if self.is_table:
            table = self.query_one(DataTable)
            columns = [str(c) for c in self.display_data.get("columns") or []]
            table.add_columns(*columns)
            rows = self.display_data.get("rows") or []
            table.add_rows([["NULL" if v is None else str(v) for v in list(row)[:len(columns)]]
                            + [""] * max(0, len(columns) - len(row)) for row in rows[:MAX_TABLE_ROWS]])
            table.focus()
        else:
            self.query_one(TextArea).focus()

    # -- search -------------------------------------------------------------------------------

    def action_search(self) -> None:
        box = self.query_one("#viewer-search", Input)
        box.add_class("-shown")
        box.focus()

    def action_back(self) -> None:
        box = self.query_one("#viewer-search", Input)
        if box.has_focus:
            box.remove_class("-shown")
            self._body().focus()
            return
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)

    def _body(self) -> Any:
        return self.query_one(DataTable) if self.is_table else self.query_one(TextArea)

    def _cells(self) -> list[str]:
        """The searchable lines: one per table cell (row-major), or the text's lines."""
        if self.is_table:
            table = self.query_one(DataTable)
            return [str(table.get_cell_at(Coordinate(r, c))) for r in range(table.row_count)
                    for c in range(len(table.columns))]
        return self.query_one(TextArea).text.split("\n")

    @on(Input.Submitted, "#viewer-search")
    def _searched(self, event: Input.Submitted) -> None:
        event.stop()
        query = event.value.strip()
        if query != self.query_text:
            self.query_text = query
            self.hits = find_all(self._cells(), query) if query else []
            self.hit = -1
        self.action_next(1)

    def action_next(self, step: int) -> None:
        if not self.hits:
            if self.query_text:
                self.query_one("#viewer-keys", Static).update(self._keys(f"no match for {self.query_text!r}"))
            return
        self.hit = (self.hit + step) % len(self.hits)
        line, column = self.hits[self.hit]
        self.query_one("#viewer-keys", Static).update(
            self._keys(f"match {self.hit + 1} of {len(self.hits)} for {self.query_text!r}"))
        if self.is_table:
            table = self.query_one(DataTable)
            width = len(table.columns)
            table.move_cursor(row=line // width, column=line % width, scroll=True)
        else:
            area = self.query_one(TextArea)
            area.selection = Selection((line, column), (line, column + len(self.query_text)))
            area.scroll_cursor_visible(center=True)

    @property
    def match(self) -> tuple[int, int] | None:
        """Where the current match is: (line, column) of the text, or (row, column) of the table."""
        if self.hit < 0 or not self.hits:
            return None
        line, column = self.hits[self.hit]
        if self.is_table:
            width = len(self.query_one(DataTable).columns)
            return line // width, line % width
        return line, column
