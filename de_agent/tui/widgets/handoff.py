"""A specialist's work in the chat: one collapsible block under its name, with its live steps.

The title says who works on what and how it went; the body lists the steps as they come (each
tool call with its mark, the specialist's messages in short) and, once it is done, its report.
The app routes every event that carries ``handoff_id`` here (never touching other widgets).
"""

from __future__ import annotations

from typing import Any, cast

from textual.content import Content
from textual.widgets import Collapsible, Static

from de_agent.tui.widgets.toolblock import STATES

STEP_LIMIT = 200  # steps kept in one block (the oldest go first)


def _one_line(text: str, width: int = 110) -> str:
    line = " ".join(text.strip().split())
    return line if len(line) <= width else line[: width - 1] + "…"


class HandoffBlock(Collapsible):
    DEFAULT_CSS = """
    HandoffBlock {
        background: $secondary 8%;
        border-top: none;
        border-left: outer $secondary;
        padding: 0;
        margin: 0 0 1 0;
    }
    HandoffBlock > Contents { padding: 0 0 0 2; }
    HandoffBlock .handoff-step { color: $foreground 85%; }
    HandoffBlock .handoff-text { color: $foreground 70%; text-style: italic; }
    HandoffBlock .handoff-report { margin-top: 1; }
    HandoffBlock.-failed { border-left: outer $error; }
    """

    def __init__(self, call_id: str, specialist: str, task: str, *, read_only: bool = False,
                 steps: list[tuple[str, str, str]] | None = None, status: str = "running",
                 report: str = "") -> None:
        self.call_id, self.specialist, self.handoff_task, self.read_only = call_id, specialist, task, read_only
        self.status, self.report = status, report
        # (key, kind, text): kind is a STATES key for tool steps, or "text".
        self.steps: list[tuple[str, str, str]] = list(steps or [])
        self._step_widgets: dict[str, Static] = {}
        self._ready = False  # steps and the report are mounted once the block itself is
        super().__init__(title=cast(str, self._title_text()), collapsed=False, classes="handoff-block")

    def _title_text(self) -> Content:
        mark, style = {"running": ("…", "$accent"), "completed": ("✓", "$success")}.get(
            self.status, ("✗", "$error"))
        access = "read-only" if self.read_only else "may edit"
        return Content.assemble((mark, style), " ", (f"@{self.specialist}", "bold $secondary"),
                                (f" ({access}) ", "dim"), (_one_line(self.handoff_task, 80), ""),
                                ("" if self.status == "running" else f"  {self.status}", "italic dim"))

    def on_mount(self) -> None:
        self._ready = True
        for key, kind, text in self.steps:
            self._mount_step(key, kind, text)
        if self.report:
            self._mount_report()

    def _contents(self) -> Any:
        return self.query_one(Collapsible.Contents)

    def _step_content(self, kind: str, text: str) -> Content:
        if kind == "text":
            return Content(text)
        mark, style = STATES.get(kind, STATES["called"])
        return Content.assemble((mark, style), " ", text)

    def _mount_step(self, key: str, kind: str, text: str) -> None:
        widget = Static(self._step_content(kind, text), markup=False,
                        classes="handoff-text" if kind == "text" else "handoff-step")
        self._step_widgets[key] = widget
        if self._ready:
            self._contents().mount(widget)

    def add_step(self, key: str, kind: str, text: str) -> None:
        self.steps.append((key, kind, text))
        if len(self.steps) > STEP_LIMIT:
            old_key = self.steps.pop(0)[0]
            old = self._step_widgets.pop(old_key, None)
            if old is not None:
                old.remove()
        self._mount_step(key, kind, text)

    def set_step(self, key: str, kind: str, text: str | None = None) -> None:
        for i, (k, _kind, old_text) in enumerate(self.steps):
            if k == key:
                self.steps[i] = (k, kind, text if text is not None else old_text)
                widget = self._step_widgets.get(key)
                if widget is not None:
                    widget.update(self._step_content(kind, self.steps[i][2]))
                return

    def finish(self, status: str, report: str) -> None:
        self.status = status
        self.report = report
        self.title = cast(str, self._title_text())
        self.set_class(status != "completed", "-failed")
        if report and self._ready:
            self._mount_report()
        self.collapsed = True  # done: its report is in the main agent's answer; expand to see the steps

    def _mount_report(self) -> None:
        self._contents().mount(Static(Content(self.report), markup=False, classes="handoff-report"))

    def clone(self) -> HandoffBlock:
        block = HandoffBlock(self.call_id, self.specialist, self.handoff_task, read_only=self.read_only,
                             steps=self.steps, status=self.status, report=self.report)
        block.collapsed = self.status != "running"
        return block
