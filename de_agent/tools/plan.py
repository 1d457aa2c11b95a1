"""update_plan: the model's visible checklist, shown in the plan pane."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from de_agent import protocol as P
from de_agent.tools.base import PLAN, Action, Outcome, Tool, ToolContext, ToolError, simple_action
from de_agent.tools.schema import ToolArgs


class PlanStep(ToolArgs):
    step: str
    status: P.PlanStatus


class UpdatePlanArgs(ToolArgs):
    explanation: str | None = Field(None, description="Why the plan is what it is, or what changed.")
    plan: list[PlanStep]


class UpdatePlan(Tool):
    name = "update_plan"
    kind = PLAN
    description = (
        "Record or update your step-by-step plan for the task. Send the whole plan each time; "
        "at most one step may be in_progress. Use it for any task with more than two steps.")
    Args = UpdatePlanArgs

    def call_summary(self, arguments: dict[str, Any]) -> str:
        steps = arguments.get("plan")
        return f"{len(steps)} steps" if isinstance(steps, list) else ""

    async def act(self, args: UpdatePlanArgs, ctx: ToolContext) -> Action:
        if not args.plan:
            raise ToolError("parameter 'plan' must be a non-empty list of {step, status}")
        steps = [{"step": s.step, "status": str(s.status)} for s in args.plan]
        if sum(s["status"] == P.PlanStatus.IN_PROGRESS for s in steps) > 1:
            raise ToolError("at most one step may be in_progress")
        explanation = args.explanation or ""

        async def apply() -> Outcome:
            ctx.state.set_plan(steps, explanation)
            done = sum(s["status"] == P.PlanStatus.COMPLETED for s in steps)
            return Outcome(True, f"Plan updated ({done}/{len(steps)} steps completed).",
                           display={"kind": "plan", "plan": steps, "explanation": explanation},
                           events=[P.PlanUpdated(list(ctx.state.plan), explanation)])

        return simple_action(PLAN, f"update plan ({len(steps)} steps)", apply)
