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


DONE_STYLE = "$foreground 60% strike"  # a theme can set its own: [variables] de-done-step = "..."


def plan_content(plan: list[dict[str, str]], explanation: str = "",
                 children: dict[str, list[dict[str, str]]] | None = None,
                 done_style: str = DONE_STYLE) -> Content:
    if not plan and not children:
        return Content.styled("No plan yet. The model writes one for tasks with several steps.", "dim")
    own = _steps(plan, explanation, done_style) if plan else Content.styled("No plan yet.\n", "dim")
    parts = [own]
    for name, steps in (children or {}).items():  # each specialist's plan under its name
        parts += [Content.assemble((f"\n@{name}\n", "bold $secondary")), _steps(steps, "", done_style)]
    return Content.assemble(*parts)


def _steps(plan: list[dict[str, str]], explanation: str, done_style: str) -> Content:
    done = sum(step.get("status") == "completed" for step in plan)
    parts: list = [(f"{done}/{len(plan)} done\n", "dim")]
    for step in plan:
        status = step.get("status", "pending")
        mark, style = MARKS.get(status, MARKS["pending"])
        text_style = {"completed": done_style, "in_progress": "bold"}.get(status, "")
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
        self.child_plans: dict[str, list[dict[str, str]]] = {}  # specialists' plans by name

    def compose(self) -> ComposeResult:
        yield Static(plan_content([]), id="plan-body")

    def show_plan(self, plan: list[dict[str, str]], explanation: str = "") -> None:
        self.plan = [dict(step) for step in plan]
        self.explanation = explanation
        if not plan:
            self.child_plans.clear()
        self.refresh_plan()

    def show_child_plan(self, specialist: str, plan: list[dict[str, str]]) -> None:
        self.child_plans[specialist] = [dict(step) for step in plan]
        self.refresh_plan()

    def refresh_plan(self) -> None:
        """Draw the plan again (also after a theme change: the done-step style is the theme's)."""
        done = self.app.theme_variables.get("de-done-step") or DONE_STYLE
        self.query_one("#plan-body", Static).update(plan_content(self.plan, self.explanation, self.child_plans, done))

    def as_text(self) -> str:
        if not self.plan and not self.child_plans:
            return "No plan yet."
        lines = [f"{PLAN_MARKS.get(s.get('status', ''), '[ ]')} {s.get('step', '')}" for s in self.plan]
        if self.explanation:
            lines += ["", self.explanation]
        for name, steps in self.child_plans.items():
            lines += ["", f"@{name}"] + [f"{PLAN_MARKS.get(s.get('status', ''), '[ ]')} {s.get('step', '')}"
                                         for s in steps]
        return "\n".join(lines)
