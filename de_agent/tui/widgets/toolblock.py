"""A tool call in the chat: a compact collapsible line that holds the arguments and the result.

Collapsed, a block is its call (mark, tool, the telling argument, the approval note) and,
once the result is in, one line under it saying what came back ("7,981 files"). Expanded,
it shows the arguments readably (an Edit as a diff, never JSON with escaped newlines) and
the result. ``v`` (or Enter twice) opens the result full-screen.
"""

from __future__ import annotations

import difflib
from typing import Any, cast

from textual import on
from textual.content import Content
from textual.widgets import Collapsible, Static

from de_agent.tools.base import KEY_ARGUMENTS, key_argument

MAX_SHOWN_LINES = 200
LIVE_LINES = 8  # the tail of a running command's output shown under its call
LIVE_CHARS = 16_000  # what is kept of it
STATES = {
    "called": ("…", "$foreground 60%"),
    "asking": ("?", "bold $warning"),
    "running": ("…", "$accent"),
    "ok": ("✓", "$success"),
    "failed": ("✗", "$error"),
    "denied": ("⊘", "bold $error"),
    "info": ("•", "$warning"),  # a result that is neither a success nor a failure (a binary read)
}
RICH_KINDS = ("table", "tree", "text", "group", "image")  # displays that say more than the output text


def short_arguments(name: str, arguments: dict[str, Any], summary: str = "") -> str:
    """The tool's summary of a call (the path, the command...), cut to fit the title.

    Events recorded before tools gave summaries fall back to the shared key-argument rule.
    """
    if not summary:
        if name == "update_plan":
            steps = arguments.get("plan") or []
            return f"{len(steps)} steps" if isinstance(steps, list) else ""
        summary = key_argument(arguments) if any(arguments.get(k) for k in KEY_ARGUMENTS) else ""
    return summary if len(summary) <= 70 else summary[:69] + "…"


def arguments_content(name: str, arguments: dict[str, Any]) -> Content:
    """The arguments as a person reads them: an Edit as a diff, other values one per line
    with multi-line text shown as it is (no JSON escapes)."""
    from de_agent.tui.widgets.diff import diff_content

    old, new = arguments.get("old_string"), arguments.get("new_string")
    if isinstance(old, str) and isinstance(new, str):
        path = str(arguments.get("file_path", ""))
        lines = difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{path}", f"b/{path}",
                                     lineterm="", n=3)
        extra = {k: v for k, v in arguments.items() if k not in ("file_path", "old_string", "new_string")}
        body = diff_content(bounded("\n".join(lines)) or "(old_string and new_string are the same)")
        return Content.assemble(body, "\n", arguments_content(name, extra)) if extra else body
    parts: list = []
    for key, value in arguments.items():
        text = value if isinstance(value, str) else _plain(value)
        if "\n" in text:
            parts += [(f"{key}:", "bold"), "\n", bounded(text.rstrip("\n")), "\n"]
        else:
            parts += [(f"{key}: ", "bold"), text, "\n"]
    return Content.assemble(*parts[:-1]) if parts else Content("(no arguments)")


def _plain(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def bounded(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= MAX_SHOWN_LINES:
        return text
    return "\n".join(lines[:MAX_SHOWN_LINES]) + f"\n… {len(lines) - MAX_SHOWN_LINES} more lines"


def column_width(name: Any, rows: list, index: int) -> int:
    """What one table column needs to be readable: its header, its widest early cell (capped)."""
    cells = [len(str(r[index])) for r in rows[:50] if isinstance(r, list | tuple) and len(r) > index]
    return min(max([len(str(name)), *cells]), 24) + 3  # padding and the rule


def fit_display(display: dict[str, Any], width: int = 80) -> dict[str, Any]:
    """A display whose tables fit ``width`` cells: the first columns that fit whole, and a note
    saying where the rest is (never one squeezed token per line)."""
    kind = display.get("kind")
    if kind == "group":
        return {**display, "items": [fit_display(i, width) for i in display.get("items") or [] if isinstance(i, dict)]}
    columns = display.get("columns") or []
    rows = display.get("rows") or []
    keep, used = 0, 1
    for index, name in enumerate(columns):
        used += column_width(name, rows, index)
        if used > width and keep:
            break
        keep += 1
    if kind != "table" or keep >= len(columns):
        return display
    more = len(columns) - keep
    note = (display.get("note") or "")
    note = (note + "; " if note else "") + f"{more} more column{'s' * (more != 1)}: press v (or Ctrl+O) for the full table"
    return {**display, "columns": columns[:keep], "rows": [list(r)[:keep] for r in rows], "note": note}


def result_renderable(output: str, display: dict[str, Any] | None, width: int = 80) -> Any:
    """A table or other rich view of the result when the tool gave one, else the text."""
    kind = display.get("kind") if isinstance(display, dict) else None
    if kind == "diff" and display is not None and display.get("diff"):
        from de_agent.tui.widgets.diff import diff_content

        head = output.strip().splitlines()[0] if output.strip() else ""
        return Content.assemble((head, "bold"), "\n", diff_content(bounded(display["diff"])))
    if kind in RICH_KINDS and display is not None:
        try:
            from de_agent.frontends.render import render_display

            view = render_display(fit_display(display, width))
            if view is not None:
                return view
        except Exception:  # noqa: BLE001 - a display bug (or no renderer) falls back to the text
            pass
    return Content(bounded(output))


class ToolBlock(Collapsible):
    """One tool call; the title carries a status mark, the body the arguments and the result."""

    DEFAULT_CSS = """
    ToolBlock {
        background: transparent;
        border-top: none;
        padding: 0;
        margin: 0 0 1 0;
    }
    ToolBlock > Contents { padding: 0 0 0 3; }
    ToolBlock .tool-args { color: $foreground 70%; }
    ToolBlock .tool-result { margin-top: 1; }
    ToolBlock.-failed .tool-result { color: $error; }
    ToolBlock > .tool-live { padding: 0 0 0 3; color: $foreground 60%; height: auto; max-height: 9; }
    """

    def __init__(self, call_id: str, name: str, arguments: dict[str, Any], *, state: str = "called",
                 note: str = "", result: tuple[bool, str, dict | None] | None = None, summary: str = "") -> None:
        self.call_id = call_id
        self.tool_name = name
        self.arguments = arguments
        self.summary = summary  # the tool's own one-line summary of the call
        self.result_line = ""  # the tool's one-line summary of what the call came to
        self.state = state
        self.note = note
        self.result = result
        self._filled = False
        self.live = ""  # output of the running call so far (its end only)
        self._live_view: Static | None = None
        # Collapsible's title is typed str but renders Content (the status mark's colour) too.
        super().__init__(title=cast(str, self._title_text()), collapsed=True, classes="tool-block")
        self.set_class(state in ("failed", "denied"), "-failed")

    def _title_text(self) -> Content:
        mark, style = STATES.get(self.state, STATES["called"])
        parts: list = [(mark, style), " ", (self.tool_name, "bold")]
        short = short_arguments(self.tool_name, self.arguments, self.summary)
        if short:
            parts += [" ", (short, "$foreground 80%")]
        if self.note:
            parts += ["  ", (self.note, "italic $foreground 60%")]
        if self.result is not None:
            from de_agent.frontends.render import result_summary

            ok, output, display = self.result
            summary = result_summary(self.tool_name, ok, output, display, 110, self.result_line)
            if summary:
                style = "$error 80%" if self.state == "failed" else "$foreground 60%"
                parts += ["\n", ("⎿ ", "$foreground 40%"), (summary, style)]
        return Content.assemble(*parts)

    @on(Collapsible.Expanded)
    def _fill_body(self, event: Collapsible.Expanded) -> None:
        """The body is built on the first expansion: hundreds of closed blocks stay cheap."""
        if event.collapsible is not self or self._filled:
            return
        self._filled = True
        contents = self.query_one(Collapsible.Contents)
        contents.mount(Static(arguments_content(self.tool_name, self.arguments), classes="tool-args"))
        if self.result is not None:
            contents.mount(Static(result_renderable(self.result[1], self.result[2], self._width()),
                                  classes="tool-result"))

    def set_state(self, state: str, note: str = "") -> None:
        self.state = state
        if note:
            self.note = note
        self.title = cast(str, self._title_text())
        self.set_class(state in ("failed", "denied"), "-failed")

    def add_live_output(self, text: str) -> None:
        """A running command's output as it arrives: its last lines show under the call."""
        self.live = (self.live + text)[-LIVE_CHARS:]
        self._show_live()

    def _show_live(self) -> None:
        if not self.live or self.result is not None:
            return
        if self._title.parent is None:  # the block itself is still being mounted
            self.call_after_refresh(self._show_live)
            return
        lines = self.live.rstrip("\n").splitlines()[-LIVE_LINES:]
        content = Content.assemble(*[part for line in lines for part in (("│ ", "$accent 60%"), line, "\n")][:-1])
        if self._live_view is None:
            self._live_view = Static(content, classes="tool-live", markup=False)
            self.mount(self._live_view, after=self._title)
        else:
            self._live_view.update(content)

    def set_result(self, ok: bool, output: str, display: dict | None, summary: str = "") -> None:
        self.result_line = summary
        if self._live_view is not None:
            self._live_view.remove()
            self._live_view = None
        self.live = ""
        self.result = (ok, output, display)
        if self.state != "denied":
            from de_agent.frontends.render import is_binary_read

            self.set_state("ok" if ok else "info" if is_binary_read(display) else "failed")
        else:
            self.title = cast(str, self._title_text())
        if self._filled:
            contents = self.query_one(Collapsible.Contents)
            contents.query(".tool-result").remove()
            contents.mount(Static(result_renderable(output, display, self._width()), classes="tool-result"))

    def _width(self) -> int:
        """The cells a result has in the chat (the block's width less its indent)."""
        return max(20, (self.size.width or self.app.size.width // 2) - 4)

    def clone(self) -> ToolBlock:
        return ToolBlock(self.call_id, self.tool_name, self.arguments, state=self.state,
                         note=self.note, result=self.result)
