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
from typing import TYPE_CHECKING

from de_agent import protocol as P
from de_agent.engine.calls import failure
from de_agent.security.env import redact
from de_agent.tools.base import CURRENT_CALL, Outcome, bound_text

if TYPE_CHECKING:
    from de_agent.engine.loop import Engine

_ids = itertools.count(1)
NOTE_LIMIT = 8_000  # bytes of output the model is told about


async def run_user_command(engine: Engine, command: str) -> Outcome | None:
    """Run ``command`` for the person; the outcome, or None when it could not start."""
    tool = engine.tools.get("Shell")
    call_id = f"user-cmd-{next(_ids)}"
    arguments = {"command": command}
    engine.emit(P.ToolCall(call_id, "Shell", arguments, engine.tools.call_summary("Shell", arguments)))
    outcome: Outcome | None = None
    try:
        if tool is None:
            outcome = Outcome(False, "The Shell tool is not available in this session.", code=P.ErrorKind.UNAVAILABLE)
            return None
        try:
            action = await engine.tools.prepare(tool, arguments, engine.ctx)
        except Exception as exc:  # noqa: BLE001 - a failure is a result, never a stuck screen
            output, code = failure("Shell", exc)
            outcome = Outcome(False, output, code=code)
            return None
        decision = engine.policy.decide("Shell", arguments, action)
        if decision.verdict == "deny":
            engine.emit(P.Approval(call_id, "denied", "policy", decision.reason))
            outcome = Outcome(False, f"Denied by policy: {decision.reason}.", code=P.ErrorKind.DENIED)
            return None
        engine.emit(P.Approval(call_id, "approved", "policy" if decision.verdict == "allow" else "user",
                               "typed by you"))
        if engine.checkpoints is not None:
            await asyncio.to_thread(engine.checkpoints.begin_turn, engine.turn_index)
            engine.calls.changed_this_turn = True
        CURRENT_CALL.set(call_id)
        try:
            outcome = await action.run(None)
        except Exception as exc:  # noqa: BLE001 - a failure is a result, never a stuck screen
            output, code = failure("Shell", exc)
            outcome = Outcome(False, output, code=code)
        return outcome
    except asyncio.CancelledError:
        outcome = Outcome(False, "Interrupted by the user before it finished.", code=P.ErrorKind.INTERRUPTED)
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        return outcome
    finally:
        if outcome is not None:
            text = redact(bound_text(outcome.output, what="command output"))
            kind = None if outcome.ok else (outcome.code or P.ErrorKind.TOOL_FAILED)
            engine.emit(P.ToolResult(call_id, "Shell", outcome.ok, text, outcome.display, kind,
                                     engine.tools.result_summary("Shell", outcome.ok, text, outcome.display)))
            engine.add_message({"role": "user", "content": (
                f"[de-agent] The user ran this command themselves: `{command}`\n"
                f"{redact(bound_text(outcome.output, max_bytes=NOTE_LIMIT, what='output'))}")})
        if engine.checkpoints is not None and engine.calls.changed_this_turn:
            try:
                await asyncio.to_thread(engine.checkpoints.end_turn, engine.turn_index)
            except Exception as exc:  # noqa: BLE001 - checkpoints never break a command
                engine.emit(P.Notice(f"checkpoint failed: {exc}", "warning"))
            engine.calls.new_turn()
        ok = outcome is not None and outcome.ok
        engine.emit(P.TurnFinished(P.StopReason.COMPLETED if ok else P.StopReason.ERROR, 0))
