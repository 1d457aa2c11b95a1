"""The engine's session: its id, history, usage, turn count, shared state and recorder.

Only the engine changes a :class:`Session`, and only through its methods: compaction
calls :meth:`Session.switch` and :meth:`Session.replace_history`, resuming calls
:meth:`Session.restore` with a :class:`Snapshot` that ``sessions/resume.py`` builds from a
file. Nothing outside ``de_agent/engine/`` assigns a session's or an engine's attributes
(``tests/test_architecture.py`` checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from de_agent.engine.contracts import Recorder
from de_agent.tools.base import SessionState


@dataclass
class SessionUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0
    cost_known: bool = True

    def add(self, reply: Any) -> None:
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        if reply.cost is None:
            self.cost_known = False
        elif self.cost is not None:
            self.cost += reply.cost

    def as_dict(self) -> dict[str, Any]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "cost": self.cost if self.cost_known else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionUsage:
        cost = data.get("cost")
        return cls(int(data.get("prompt_tokens") or 0), int(data.get("completion_tokens") or 0),
                   float(cost) if cost is not None else 0.0, cost_known=cost is not None)


@dataclass
class DanglingCall:
    """A tool call a killed session left without a result."""

    call_id: str
    name: str


@dataclass
class Snapshot:
    """Everything a saved session brings back (built by ``sessions/resume.py``)."""

    session_id: str
    messages: list[dict[str, Any]]
    usage: dict[str, Any]
    turns: int
    plan: list[dict[str, str]] = field(default_factory=list)
    plan_explanation: str = ""
    changed_files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dangling: list[DanglingCall] = field(default_factory=list)
    interrupted_notice: str = ""  # non-empty: the session stopped in the middle of a turn
    interrupted_result: str = "Interrupted."
    # Opens the session's own file for appending (called only when the engine records).
    open_recorder: Callable[[], Recorder] | None = None
    # Given the engine's checkpoints, those of the session's first ancestor when they differ
    # (a compacted session keeps its checkpoints under that id), else None.
    reattach_checkpoints: Callable[[Any], Any] | None = None


@dataclass
class Session:
    """One conversation's state; the engine's methods are the only writers."""

    id: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    usage: SessionUsage = field(default_factory=SessionUsage)
    turn_index: int = 0
    state: SessionState = field(default_factory=SessionState)
    recorder: Recorder | None = None

    def add_message(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    def replace_history(self, messages: list[dict[str, Any]]) -> None:
        """The conversation becomes ``messages`` (compaction's summary, for instance)."""
        self.messages = list(messages)

    def switch(self, session_id: str, recorder: Recorder | None) -> None:
        """Go on as another session (compaction): a new id and file, same state."""
        self.id = session_id
        self.recorder = recorder

    def set_changed_files(self, files: list[str]) -> None:
        self.state.changed_files = list(files)

    def restore(self, snapshot: Snapshot) -> None:
        """Become the saved session: its id, file, history, usage, turn count and state."""
        self.id = snapshot.session_id
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = snapshot.open_recorder() if snapshot.open_recorder else None
        self.messages = list(snapshot.messages)
        self.usage = SessionUsage.from_dict(snapshot.usage)
        self.turn_index = snapshot.turns
        if snapshot.plan:
            self.state.set_plan(snapshot.plan, snapshot.plan_explanation)
        if snapshot.changed_files:
            self.state.changed_files = list(snapshot.changed_files)

    def begin_turn(self) -> int:
        self.turn_index += 1
        self.state.session_id, self.state.turn_index = self.id, self.turn_index
        return self.turn_index
