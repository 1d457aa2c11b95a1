"""The engine's side of AskUser and Handoff, and the settings a tree of engines shares.

:class:`Interactions` belongs to one engine (``ctx.interact``). Asking emits a
:class:`~de_agent.protocol.Question` and waits for an :class:`~de_agent.protocol.AnswerQuestion`
op; when nobody can answer (headless) the model is told to state its assumption and go on.
Handing off runs a specialist as a child engine (:mod:`de_agent.engine.handoff`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from de_agent import protocol as P
from de_agent.tools.base import Outcome

if TYPE_CHECKING:
    from de_agent.engine.loop import Engine

HEADLESS_ANSWER = ("Nobody can answer: de-agent is running headless. Do not ask again. State the "
                   "assumption you make in your answer (so the person can correct it), then go on with "
                   "the task on that assumption.")


@dataclass
class Delegation:
    """What every engine of one tree shares: the specialists and how child engines are made.

    ``make_recorder(child_id, parent_id, specialist, call_id)`` opens a child's transcript (None:
    not recorded). Limits: ``max_depth`` levels of handoff below the main engine,
    ``max_parallel`` read-only specialists at once, ``max_turns`` model calls per child when its
    file does not say.
    """

    catalog: Any = None  # specialists.catalog.Catalog
    make_recorder: Callable[[str, str, str, str], Any] | None = None
    max_depth: int = 1
    max_parallel: int = 3
    max_turns: int = 20
    _edit_lock: asyncio.Lock | None = field(default=None, repr=False)
    _slots: asyncio.Semaphore | None = field(default=None, repr=False)

    @property
    def edit_lock(self) -> asyncio.Lock:
        """One specialist that edits at a time, in the whole tree."""
        if self._edit_lock is None:
            self._edit_lock = asyncio.Lock()
        return self._edit_lock

    @property
    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(max(1, self.max_parallel))
        return self._slots


class Interactions:
    def __init__(self, engine: Engine, delegation: Delegation | None) -> None:
        self.engine = engine
        self.delegation = delegation
        self.questions: dict[str, asyncio.Future] = {}
        self.children: dict[str, Engine] = {}  # running child engines by the Handoff call id

    @property
    def catalog(self) -> Any:
        return self.delegation.catalog if self.delegation is not None else None

    # -- AskUser ---------------------------------------------------------------------------------

    async def ask(self, call_id: str, question: str, options: list[dict[str, str]], multiple: bool) -> Outcome:
        engine = self.engine
        engine.emit(P.Question(call_id, question, options, multiple))
        if engine.policy.nobody_answers:
            return Outcome(True, HEADLESS_ANSWER, display={"kind": "answer", "question": question,
                                                           "answer": None, "by": "headless"})
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.questions[call_id] = future
        try:
            answer = await future
        finally:
            self.questions.pop(call_id, None)
        if answer is None or not str(answer).strip():
            return Outcome(True, "The person dismissed the question without answering. State your assumption "
                                 "in your answer and go on.",
                           display={"kind": "answer", "question": question, "answer": None, "by": "user"})
        return Outcome(True, f"The person answered: {answer}",
                       display={"kind": "answer", "question": question, "answer": str(answer), "by": "user"})

    # -- routing the person's answers to the engine that waits for them --------------------------

    def route(self, op: P.ApprovalDecision | P.AnswerQuestion) -> bool:
        """Deliver an answer to this engine or to the running child that asked; True when delivered."""
        if isinstance(op, P.AnswerQuestion):
            future = self.questions.get(op.call_id)
            if future is not None and not future.done():
                future.set_result(op.answer)
                return True
        elif op.call_id in self.engine.calls.pending:
            self.engine.calls.decide(op)
            return True
        return any(child.interact.route(op) for child in list(self.children.values()))

    def pending_calls(self) -> list[str]:
        """Call ids of approval requests and questions waiting in this engine or its children."""
        ids = list(self.engine.calls.pending) + list(self.questions)
        for child in list(self.children.values()):
            ids += child.interact.pending_calls()
        return ids

    # -- Handoff ---------------------------------------------------------------------------------

    async def direct_handoff(self, outcome: Any, spec: Any, task: str) -> Any:
        """``@name task`` typed by the person: hand off at once, without asking the model first.

        The history gets an assistant message with the Handoff call (providers need one before a
        tool result); the turn's answer is the specialist's report.
        """
        engine = self.engine
        call = {"id": f"direct-{engine.turn_index}-{spec.name}", "name": "Handoff",
                "arguments": json.dumps({"specialist": spec.name, "task": task})}
        engine.add_message({"role": "assistant", "content": None, "tool_calls": [
            {"id": call["id"], "type": "function", "function": {"name": "Handoff", "arguments": call["arguments"]}}]})
        ok = await engine.calls.run(call)
        last = engine.messages[-1]
        outcome.text = str(last.get("content") or "") if last.get("role") == "tool" else ""
        if not ok:
            outcome.reason, outcome.code = P.StopReason.ERROR, P.ErrorKind.TOOL_FAILED
        return outcome

    async def handoff(self, call_id: str, spec: Any, task: str, context: str) -> Outcome:
        from de_agent.engine.handoff import run_handoff

        return await run_handoff(self, call_id, spec, task, context)
