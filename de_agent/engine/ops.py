"""What the engine does with each op a front end submits (one ``match``, one method per op).

Ops that change settings or state answer with a typed :class:`~de_agent.protocol.OpResult`
(the result of the task :meth:`OpHandler.submit` returns): an op that needs an idle
engine during a turn answers ``BUSY``; a model that fails its check answers ``CONFIG`` and
the old model stays. ``Rewind`` answers with the new session's id as its value;
``RunCommand`` (``!command``) runs like a turn and can be interrupted like one.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from de_agent import protocol as P
from de_agent.engine.session import Snapshot

if TYPE_CHECKING:
    from de_agent.engine.loop import Engine

K = P.ErrorKind


SYNC_OPS = (P.SetApprovalMode, P.RestoreSession)


class OpHandler:
    """The engine's op dispatcher (part of the engine; reaches into it freely)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def submit(self, op: P.Op) -> asyncio.Task | None:
        engine = self.engine
        match op:
            case P.ApprovalDecision() | P.AnswerQuestion():
                engine.interact.route(op)  # to this engine, or to the specialist that asked
                return None
            case P.Interrupt():
                engine.interrupt()
                return None
            case P.UserTurn(text=text, images=images):
                if engine.busy:
                    engine.emit(P.Notice("A turn is already running; wait for it or interrupt it first.",
                                         "warning"))
                    return None
                return engine.start_turn(text, images)
            case P.SetApprovalMode() | P.RestoreSession():
                self.apply(op)
                return None
            case P.Undo():
                return asyncio.ensure_future(self.undo())
            case P.Compact(instructions=instructions):
                if engine.busy:
                    engine.emit(P.Notice("A turn is running; compact after it ends or interrupt it first.",
                                         "warning"))
                    return None
                return asyncio.ensure_future(self.compact(instructions))
            case P.SetModel(model=model):
                return asyncio.ensure_future(self.set_model(model))
            case P.RunCommand(command=command):
                if engine.busy:
                    engine.emit(P.Notice("A turn is running; run the command after it ends or interrupt it first.",
                                         "warning"))
                    return None
                from de_agent.engine.user_command import run_user_command

                engine._task = asyncio.ensure_future(run_user_command(engine, command))
                return engine._task
            case P.Rewind(number=number, restore_files=restore_files):
                from de_agent.engine.rewind import rewind

                return asyncio.ensure_future(rewind(engine, number, restore_files))
        return None

    def apply(self, op: P.SetApprovalMode | P.RestoreSession) -> P.OpResult:
        """The ops that take effect at once, answered at once (no event loop needed)."""
        if isinstance(op, P.SetApprovalMode):
            return self.set_mode(op.mode)
        return self.restore(op.snapshot)

    def _busy(self, what: str) -> P.OpResult | None:
        if self.engine.busy:
            return P.OpResult(False, f"A turn is running; wait for it or interrupt it before {what}.", K.BUSY)
        return None

    # -- settings ----------------------------------------------------------------------------

    def set_mode(self, mode: str | None) -> P.OpResult:
        policy = self.engine.policy
        if mode is None:
            return P.OpResult(True, f"Approval mode: {policy.cycle_mode()}.", value=policy.mode)
        if mode not in P.APPROVAL_MODES:
            return P.OpResult(False, f"Unknown approval mode {mode!r}; choose one of "
                                     f"{', '.join(P.APPROVAL_MODES)}.", K.INVALID_ARGUMENTS, policy.mode)
        policy.set_mode(mode)
        return P.OpResult(True, f"Approval mode: {mode}.", value=mode)

    async def set_model(self, model: str) -> P.OpResult:
        """Switch to ``model`` when its configuration checks out; otherwise keep the old one."""
        if busy := self._busy(f"switching to {model}"):
            return busy
        llm = self.engine.llm
        old = str(getattr(llm, "model", ""))
        llm.model = model
        check = getattr(llm, "check_config", None)
        try:
            if check is not None:
                await asyncio.to_thread(check)
        except Exception as exc:  # noqa: BLE001 - LLMError and anything else become one line
            llm.model = old
            kind = getattr(exc, "kind", K.CONFIG)
            return P.OpResult(False, f"Kept {old}: {exc or type(exc).__name__}", P.ErrorKind(kind), old)
        return P.OpResult(True, f"Model: {model}.", value=model)

    # -- the session -------------------------------------------------------------------------

    async def undo(self) -> P.OpResult:
        engine = self.engine
        if busy := self._busy("/undo"):
            return busy
        checkpoints = engine.checkpoints
        if checkpoints is None:
            return P.OpResult(False, "Checkpoints are off (not a git repository), so there is nothing to undo.",
                              K.UNAVAILABLE)
        result = await asyncio.to_thread(checkpoints.undo)
        engine.emit(P.Notice(result.message, "info" if result.ok else "warning"))
        for path in result.restored if result.ok else []:
            engine.emit(P.Diff(path, "", "undone", "undo"))  # front ends stop showing it as applied
        if result.ok:
            note = (f"[de-agent] The user undid the last turn's changes; these files are back to their "
                    f"earlier content: {', '.join(result.restored) or 'none'}.")
            engine.add_message({"role": "user", "content": note})
        return P.OpResult(result.ok, result.message, None if result.ok else K.TOOL_FAILED)

    async def compact(self, instructions: str = "") -> P.OpResult:
        engine = self.engine
        if busy := self._busy("/compact"):
            return busy
        hooks = engine.hooks
        if hooks is None:
            return P.OpResult(False, "Compaction is not available in this session.", K.UNAVAILABLE)
        done = await hooks.compact(engine, instructions)
        return P.OpResult(done, "", None if done else K.UNAVAILABLE, engine.session_id)

    def restore(self, snapshot: Any) -> P.OpResult:
        """Continue a saved session here; close what a killed session left open."""
        engine = self.engine
        if busy := self._busy("resuming a session"):
            return busy
        if not isinstance(snapshot, Snapshot):
            return P.OpResult(False, "not a session snapshot", K.INVALID_ARGUMENTS)
        engine.session.restore(snapshot)
        if snapshot.reattach_checkpoints is not None and engine.checkpoints is not None:
            other = snapshot.reattach_checkpoints(engine.checkpoints)
            if other is not None:
                engine.checkpoints = other
        for warning in snapshot.warnings:
            engine.emit(P.Notice(warning, "warning"))
        for call in snapshot.dangling:
            engine.emit(P.ToolResult(call.call_id, call.name, False, snapshot.interrupted_result,
                                     code=K.INTERRUPTED))
            engine.add_message({"role": "tool", "tool_call_id": call.call_id,
                                "content": snapshot.interrupted_result})
        if snapshot.interrupted_notice:
            engine.emit(P.Notice(snapshot.interrupted_notice, "warning"))
            engine.emit(P.TurnFinished(P.StopReason.INTERRUPTED, 0))
            engine.record("end_turn", P.StopReason.INTERRUPTED, engine.usage.as_dict())
        return P.OpResult(True, f"Resumed session {snapshot.session_id}.", value=snapshot.session_id)
