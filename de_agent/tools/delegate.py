"""AskUser and Handoff: the tools that reach beyond the repository, to the person and to specialists.

Both hand their work to the engine (``ctx.interact``, an ``engine.interact.Interactions``):
asking waits for the person's answer (headless: nobody answers, so the model is told to state
its assumption and go on); handing off runs a specialist as a child engine and returns its report.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from de_agent.tools.base import (
    CURRENT_CALL,
    DELEGATE,
    QUESTION,
    Action,
    Outcome,
    Tool,
    ToolContext,
    ToolError,
    simple_action,
)
from de_agent.tools.schema import ToolArgs


class AskOption(ToolArgs):
    label: str = Field(description="A short answer the person can pick.")
    description: str | None = Field(None, description="What choosing it means.")


class AskUserArgs(ToolArgs):
    question: str = Field(description="One clear question, with the context the person needs to answer it.")
    options: list[AskOption] | None = Field(None, description="Likely answers to pick from (the person may "
                                                                "still type their own).")
    multiple: bool = Field(False, description="The person may pick several options.")


class AskUser(Tool):
    name = "AskUser"
    kind = QUESTION
    description = (
        "Ask the person a question and wait for the answer. Use it when requirements are ambiguous in a "
        "way that changes the result (which table, which grain, which environment), or before a "
        "destructive or irreversible choice. Do not ask what you can find out with the tools, and do not "
        "ask for confirmation of routine steps. Offer options when the likely answers are known.")
    Args = AskUserArgs
    key_arguments = ("question",)

    async def act(self, args: AskUserArgs, ctx: ToolContext) -> Action:
        if not args.question.strip():
            raise ToolError("parameter 'question' must not be empty")
        interact = ctx.interact
        if interact is None:
            raise ToolError("nobody can be asked here; state your assumption and go on")
        options = [{"label": o.label, **({"description": o.description} if o.description else {})}
                   for o in args.options or []]

        async def ask() -> Outcome:
            return await interact.ask(CURRENT_CALL.get(), args.question.strip(), options, args.multiple)

        return simple_action(QUESTION, f"ask: {args.question.strip()[:80]}", ask)


class HandoffArgs(ToolArgs):
    specialist: str = Field(description="The name of the specialist (see the list in this tool's description).")
    task: str = Field(description="What the specialist should do, self-contained: it does not see this "
                                  "conversation.")
    context: str | None = Field(None, description="What it needs to know: file paths, a diff, command "
                                                  "output, decisions already made.")


class Handoff(Tool):
    name = "Handoff"
    kind = DELEGATE
    Args = HandoffArgs
    key_arguments = ("specialist", "task")

    def describe(self, ctx: ToolContext | None) -> str:
        head = ("Hand a self-contained task to a specialist: it runs with its own context window and its "
                "own tools in this repository, under the same approvals, and returns a report (what it "
                "found or changed, the evidence, open risks). Several Handoff calls to read-only "
                "specialists in one reply run at the same time. Specialists:")
        catalog = getattr(getattr(ctx, "interact", None), "catalog", None)
        listing = catalog.describe() if catalog is not None else "(none available here)"
        return f"{head}\n{listing}"

    def call_summary(self, arguments: dict[str, Any]) -> str:
        task = " ".join(str(arguments.get("task") or "").split())
        return f"@{arguments.get('specialist', '?')}: {task[:90]}"

    def parallel_safe(self, arguments: dict[str, Any], ctx: ToolContext) -> bool:
        catalog = getattr(ctx.interact, "catalog", None)
        spec = catalog.get(str(arguments.get("specialist") or "")) if catalog is not None else None
        return spec is not None and spec.read_only

    async def act(self, args: HandoffArgs, ctx: ToolContext) -> Action:
        interact = ctx.interact
        if interact is None or interact.catalog is None:
            raise ToolError("no specialists are available here; do the work yourself")
        spec = interact.catalog.get(args.specialist)
        if spec is None:
            raise ToolError(f"unknown specialist {args.specialist!r}; choose one of "
                            f"{', '.join(interact.catalog.names())}")
        if not args.task.strip():
            raise ToolError("parameter 'task' must not be empty")

        async def run() -> Outcome:
            return await interact.handoff(CURRENT_CALL.get(), spec, args.task.strip(), args.context or "")

        return simple_action(DELEGATE, f"hand off to @{spec.name}", run)
