"""The plan pane: the model's update_plan steps with their status marks and the explanation."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from de_agent.protocol import PLAN_MARKS

MARKS = {
    "completed": ("✓", "$success"),
    "in_progress": ("▶", "bold $accent"),
    "pending": ("○", "$foreground 60%"),
}


def plan_content(plan: list[dict[str, str]], explanation: str = "") -> Content:
    if not plan:
        return Content.styled("No plan yet. The model writes one for tasks with several steps.", "dim")
    done = sum(step.get("status") == "completed" for step in plan)
    parts: list = [(f"{done}/{len(plan)} done\n", "dim")]
    for step in plan:
        status = step.get("status", "pending")
        mark, style = MARKS.get(status, MARKS["pending"])
        text_style = {"completed": "$foreground 60% strike", "in_progress": "bold"}.get(status, "")
        parts += [(f"{mark} ", style), (step.get("step", ""), text_style), "\n"]
        if step.get("verification"):
            parts += [(f"   verified: {step['verification']} (diff in {step.get('verified_by', '')})\n", "italic")]
    if explanation:
        parts += ["\n", (explanation, "italic $foreground 80%")]
    return Content.assemble(*parts)


class PlanPane(VerticalScroll):
    """Shows the latest plan; the app calls :meth:`show_plan` on each plan update."""

    DEFAULT_CSS = """
    PlanPane > #plan-body { width: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.plan: list[dict[str, str]] = []
        self.explanation = ""

    def compose(self) -> ComposeResult:
        yield Static(plan_content([]), id="plan-body")

    def show_plan(self, plan: list[dict[str, str]], explanation: str = "") -> None:
        self.plan = [dict(step) for step in plan]
        self.explanation = explanation
        self.query_one("#plan-body", Static).update(plan_content(self.plan, explanation))

    def as_text(self) -> str:
        if not self.plan:
            return "No plan yet."
        lines = [f"{PLAN_MARKS.get(s.get('status', ''), '[ ]')} {s.get('step', '')}" for s in self.plan]
        if self.explanation:
            lines += ["", self.explanation]
        return "\n".join(lines)
