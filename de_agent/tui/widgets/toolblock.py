"""A tool call in the chat: a compact collapsible line that holds the arguments and the result."""

from __future__ import annotations

import json
from typing import Any

from textual import on
from textual.content import Content
from textual.widgets import Collapsible, Static

MAX_SHOWN_LINES = 200
STATES = {
    "called": ("…", "$foreground 60%"),
    "asking": ("?", "bold $warning"),
    "running": ("…", "$accent"),
    "ok": ("✓", "$success"),
    "failed": ("✗", "$error"),
    "denied": ("⊘", "bold $error"),
}
RICH_KINDS = ("table", "tree", "text", "group", "image")  # displays that say more than the output text
KEY_ARGS = ("command", "file_path", "dir_path", "pattern", "query", "url", "sql", "fact", "include", "path")


def short_arguments(name: str, arguments: dict[str, Any]) -> str:
    """The one argument that says what a call is about, e.g. the path or the command."""
    if name == "update_plan":
        steps = arguments.get("plan") or []
        return f"{len(steps)} steps" if isinstance(steps, list) else ""
    for key in KEY_ARGS:
        value = arguments.get(key)
        if isinstance(value, str) and value:
            text = " ".join(value.split())
            return text if len(text) <= 70 else text[:69] + "…"
        if isinstance(value, list) and value:
            return ", ".join(map(str, value))[:70]
    return ""


def bounded(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= MAX_SHOWN_LINES:
        return text
    return "\n".join(lines[:MAX_SHOWN_LINES]) + f"\n… {len(lines) - MAX_SHOWN_LINES} more lines"


def result_renderable(output: str, display: dict[str, Any] | None) -> Any:
    """A table or other rich view of the result when the tool gave one, else the text."""
    kind = display.get("kind") if isinstance(display, dict) else None
    if kind == "diff" and display.get("diff"):
        from de_agent.tui.widgets.diff import diff_content

        head = output.strip().splitlines()[0] if output.strip() else ""
        return Content.assemble((head, "bold"), "\n", diff_content(bounded(display["diff"])))
    if kind in RICH_KINDS:
        try:
            from de_agent.frontends.render import render_display

            return render_display(display)
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
    """

    def __init__(self, call_id: str, name: str, arguments: dict[str, Any], *, state: str = "called",
                 note: str = "", result: tuple[bool, str, dict | None] | None = None) -> None:
        self.call_id = call_id
        self.tool_name = name
        self.arguments = arguments
        self.state = state
        self.note = note
        self.result = result
        self._filled = False
        super().__init__(title=self._title_text(), collapsed=True, classes="tool-block")
        self.set_class(state in ("failed", "denied"), "-failed")

    def _title_text(self) -> Content:
        mark, style = STATES.get(self.state, STATES["called"])
        parts: list = [(mark, style), " ", (self.tool_name, "bold")]
        short = short_arguments(self.tool_name, self.arguments)
        if short:
            parts += [" ", (short, "$foreground 80%")]
        if self.note:
            parts += ["  ", (self.note, "italic $foreground 60%")]
        return Content.assemble(*parts)

    @on(Collapsible.Expanded)
    def _fill_body(self, event: Collapsible.Expanded) -> None:
        """The body is built on the first expansion: hundreds of closed blocks stay cheap."""
        if event.collapsible is not self or self._filled:
            return
        self._filled = True
        contents = self.query_one(Collapsible.Contents)
        args = json.dumps(self.arguments, ensure_ascii=False, indent=1)
        contents.mount(Static(Content(bounded(args)), classes="tool-args"))
        if self.result is not None:
            contents.mount(Static(result_renderable(self.result[1], self.result[2]), classes="tool-result"))

    def set_state(self, state: str, note: str = "") -> None:
        self.state = state
        if note:
            self.note = note
        self.title = self._title_text()
        self.set_class(state in ("failed", "denied"), "-failed")

    def set_result(self, ok: bool, output: str, display: dict | None) -> None:
        self.result = (ok, output, display)
        if self.state != "denied":
            self.set_state("ok" if ok else "failed")
        if self._filled:
            contents = self.query_one(Collapsible.Contents)
            contents.query(".tool-result").remove()
            contents.mount(Static(result_renderable(output, display), classes="tool-result"))

    def clone(self) -> ToolBlock:
        return ToolBlock(self.call_id, self.tool_name, self.arguments, state=self.state,
                         note=self.note, result=self.result)
