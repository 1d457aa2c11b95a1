"""``!command``: a shell command the person types, run like the model's Shell calls.

It goes through the Shell tool (the same sandbox, environment scrubbing, time and output
bounds) and the same policy: the deny list and plan mode refuse it exactly as they would
refuse the model; where the policy would ask, typing the command was the person's answer.
The front ends see the usual tool_call / approval / tool_output / tool_result events, and
the model finds the command and its output in the conversation as a note.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from de_agent import protocol as P
from de_agent.engine.calls import RUNNING_CALL
from de_agent.tools.base import Outcome, ToolError, bound_text

_ids = itertools.count(1)
NOTE_LIMIT = 8_000  # bytes of output the model is told about


async def run_user_command(engine: Any, command: str) -> Outcome | None:
    """Run ``command`` for the person; the outcome, or None when it could not start."""
    tool = engine._by_name.get("Shell")
    call_id = f"user-cmd-{next(_ids)}"
    arguments = {"command": command}
    engine.emit(P.ToolCall(call_id, "Shell", arguments))
    outcome: Outcome | None = None
    try:
        if tool is None:
            outcome = Outcome(False, "The Shell tool is not available in this session.")
            return None
        try:
            action = await tool.prepare(arguments, engine.ctx)
        except ToolError as exc:
            outcome = Outcome(False, f"Shell failed: {exc}")
            return None
        decision = engine.policy.decide("Shell", arguments, action)
        if decision.verdict == "deny":
            engine.emit(P.Approval(call_id, "denied", "policy", decision.reason))
            outcome = Outcome(False, f"Denied by policy: {decision.reason}.")
            return None
        engine.emit(P.Approval(call_id, "approved", "policy" if decision.verdict == "allow" else "user",
                               "typed by you"))
        if engine.checkpoints is not None:
            await asyncio.to_thread(engine.checkpoints.begin_turn, engine.turn_index)
            engine._changed_this_turn = True
        RUNNING_CALL.set(call_id)
        try:
            outcome = await action.run(None)
        except ToolError as exc:
            outcome = Outcome(False, f"Shell failed: {exc}")
        except Exception as exc:  # noqa: BLE001 - a failure is a result, never a stuck screen
            outcome = Outcome(False, f"Shell failed unexpectedly: {type(exc).__name__}: {exc}")
        return outcome
    except asyncio.CancelledError:
        outcome = Outcome(False, "Interrupted by the user before it finished.")
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        return outcome
    finally:
        if outcome is not None:
            text = bound_text(outcome.output, what="command output")
            engine.emit(P.ToolResult(call_id, "Shell", outcome.ok, text, outcome.display))
            engine.add_message({"role": "user", "content": (
                f"[de-agent] The user ran this command themselves: `{command}`\n"
                f"{bound_text(outcome.output, max_bytes=NOTE_LIMIT, what='output')}")})
        if engine.checkpoints is not None and engine._changed_this_turn:
            try:
                await asyncio.to_thread(engine.checkpoints.end_turn, engine.turn_index)
            except Exception as exc:  # noqa: BLE001 - checkpoints never break a command
                engine.emit(P.Notice(f"checkpoint failed: {exc}", "warning"))
            engine._changed_this_turn = False
        engine.emit(P.TurnFinished("completed" if outcome is not None and outcome.ok else "error", 0))
