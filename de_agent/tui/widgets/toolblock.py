"""A tool call in the chat: a compact collapsible line that holds the arguments and the result."""

from __future__ import annotations

import json
from typing import Any, cast

from textual import on
from textual.content import Content
from textual.widgets import Collapsible, Static

from de_agent.tools.base import KEY_ARGUMENTS, key_argument

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


def bounded(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= MAX_SHOWN_LINES:
        return text
    return "\n".join(lines[:MAX_SHOWN_LINES]) + f"\n… {len(lines) - MAX_SHOWN_LINES} more lines"


def result_renderable(output: str, display: dict[str, Any] | None) -> Any:
    """A table or other rich view of the result when the tool gave one, else the text."""
    kind = display.get("kind") if isinstance(display, dict) else None
    if kind == "diff" and display is not None and display.get("diff"):
        from de_agent.tui.widgets.diff import diff_content

        head = output.strip().splitlines()[0] if output.strip() else ""
        return Content.assemble((head, "bold"), "\n", diff_content(bounded(display["diff"])))
    if kind in RICH_KINDS and display is not None:
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
                 note: str = "", result: tuple[bool, str, dict | None] | None = None, summary: str = "") -> None:
        self.call_id = call_id
        self.tool_name = name
        self.arguments = arguments
        self.summary = summary  # the tool's own one-line summary of the call
        self.state = state
        self.note = note
        self.result = result
        self._filled = False
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
        self.title = cast(str, self._title_text())
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
