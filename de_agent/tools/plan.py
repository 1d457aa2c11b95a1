"""update_plan: the model's visible checklist, shown in the plan pane."""

from __future__ import annotations

from typing import Any

from de_agent.tools.base import PLAN, Action, Outcome, Tool, ToolContext, ToolError, simple_action

STATUSES = ("pending", "in_progress", "completed")


class UpdatePlan(Tool):
    name = "update_plan"
    kind = PLAN
    description = (
        "Record or update your step-by-step plan for the task. Send the whole plan each time; "
        "at most one step may be in_progress. Use it for any task with more than two steps.")
    parameters = {
        "type": "object",
        "properties": {
            "explanation": {"type": "string", "description": "Why the plan is what it is, or what changed."},
            "plan": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "step": {"type": "string"},
                        "status": {"type": "string", "enum": list(STATUSES)},
                    },
                    "required": ["step", "status"],
                },
            },
        },
        "required": ["plan"],
    }

    async def prepare(self, args: dict[str, Any], ctx: ToolContext) -> Action:
        plan = args.get("plan")
        if not isinstance(plan, list) or not plan:
            raise ToolError("parameter 'plan' must be a non-empty list of {step, status}")
        steps: list[dict[str, str]] = []
        for i, item in enumerate(plan):
            if not isinstance(item, dict) or not isinstance(item.get("step"), str):
                raise ToolError(f"plan[{i}] must be an object with a 'step' string")
            status = item.get("status", "pending")
            if status not in STATUSES:
                raise ToolError(f"plan[{i}].status must be one of {', '.join(STATUSES)}, not {status!r}")
            steps.append({"step": item["step"], "status": status})
        if sum(s["status"] == "in_progress" for s in steps) > 1:
            raise ToolError("at most one step may be in_progress")
        explanation = args.get("explanation") or ""
        if not isinstance(explanation, str):
            raise ToolError("parameter 'explanation' must be a string")

        async def apply() -> Outcome:
            ctx.state["plan"] = steps
            ctx.state["plan_explanation"] = explanation
            done = sum(s["status"] == "completed" for s in steps)
            return Outcome(True, f"Plan updated ({done}/{len(steps)} steps completed).",
                           display={"kind": "plan", "plan": steps, "explanation": explanation})

        return simple_action(PLAN, f"update plan ({len(steps)} steps)", apply)
