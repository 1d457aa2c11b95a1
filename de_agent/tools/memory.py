"""SaveMemory: keep a fact the person asked to remember, for later sessions.

Facts go to a Markdown file in the user state folder (never into the repository): one
per repository, or a global one when the person says the fact holds everywhere. Later
sessions load them into the system prompt (:mod:`de_agent.sessions.context`). A global fact
reaches every later session of every repository, so it is always asked for (never in plan
mode); a per-repository fact is saved unasked.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from de_agent.tools.base import MEMORY, Action, Outcome, Tool, ToolContext, ToolError, simple_action
from de_agent.tools.schema import ToolArgs

MAX_FACT = 1000


class SaveMemoryArgs(ToolArgs):
    fact: str = Field(description="The fact to remember, as one sentence.")
    scope: Literal["project", "global"] | None = Field(
        None, description="project (default) or global (all repositories).")


class SaveMemory(Tool):
    name = "SaveMemory"
    kind = MEMORY
    description = (
        "Save one fact to long-term memory so that later sessions know it. Use this ONLY when the "
        "person explicitly asks you to remember something (\"remember that ...\", \"from now on ...\"); "
        "never save things on your own initiative. Write the fact as one short, self-contained "
        "sentence. scope is 'project' (this repository, the default) or 'global' (only when the "
        "person says it applies to all their projects).")
    Args = SaveMemoryArgs

    async def act(self, args: SaveMemoryArgs, ctx: ToolContext) -> Action:
        from de_agent.memory import append_fact, clean_fact

        fact = clean_fact(args.fact)
        if not fact:
            raise ToolError("parameter 'fact' must not be blank")
        if len(fact) > MAX_FACT:
            raise ToolError(f"the fact is {len(fact)} characters long; keep it under {MAX_FACT} "
                            "(one short sentence)")
        scope = args.scope or "project"
        fact = _redacted(fact)
        root = ctx.workspace.root

        async def save() -> Outcome:
            try:
                path, added = append_fact(root, fact, scope)
            except OSError as exc:
                raise ToolError(f"could not write the memory file: {exc.strerror or exc}") from None
            where = "for all repositories" if scope == "global" else "for this repository"
            if not added:
                return Outcome(True, f"Already remembered {where}: {fact}",
                               display={"kind": "memory", "fact": fact, "scope": scope, "path": str(path)})
            return Outcome(True, f"Remembered {where}: {fact}",
                           display={"kind": "memory", "fact": fact, "scope": scope, "path": str(path)})

        action = simple_action(MEMORY, f"remember ({scope}): {fact[:80]}", save)
        if scope == "global":
            # It reaches every later session of every repository: the person decides (and plan
            # mode, which is read-only, refuses it).
            action.asks = True
            action.ask_reason = ("saves a fact into the global memory, read by every later session "
                                 "in every repository")
        return action


def _redacted(text: str) -> str:
    """Secrets never reach the memory file (it is sent to the model in every later session)."""
    try:
        from de_agent.security.env import redact
    except ImportError:
        return text
    return redact(text)
