"""What the engine needs from its parts, as Protocols: model client, recorder, checkpoints, hooks.

The engine depends on these shapes, never on the packages that fill them
(``llm/adapter.py``, ``sessions/store.py``, ``gitops/checkpoints.py``,
``sessions/budget.py``, ``sessions/fork.py``), so there is no import cycle and a test can hand in a fake.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from de_agent.engine.loop import Engine
    from de_agent.protocol import Event


class Reply(Protocol):
    """One answer of the model (``llm.adapter.AssistantReply``)."""

    text: str
    tool_calls: list[dict[str, Any]]
    prompt_tokens: int
    completion_tokens: int
    cost: float | None

    def message(self) -> dict[str, Any]: ...


class ModelClient(Protocol):
    model: str

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
                       on_text: Callable[[str], Awaitable[None]] | None = None) -> Any: ...

    def check_config(self) -> None: ...


class Recorder(Protocol):
    """The session file (``sessions.store.SessionRecorder``)."""

    def begin_turn(self, text: str) -> None: ...

    def record_event(self, event: Event) -> None: ...

    def record_message(self, message: dict[str, Any]) -> None: ...

    def record_amend(self, tool_call_id: str, append: str) -> None: ...

    def end_turn(self, reason: str, usage: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class UndoResult(Protocol):
    ok: bool
    message: str
    restored: list[str]


class Checkpoints(Protocol):
    """Git checkpoints of the files each turn changes (``gitops.checkpoints.Checkpoints``)."""

    session_id: str

    def begin_turn(self, turn_index: int) -> Any: ...

    def record_changes(self, turn_index: int, paths: Any) -> None: ...

    def end_turn(self, turn_index: int) -> list[str]: ...

    def undo(self) -> Any: ...

    def turns(self) -> list[int]: ...

    def session_diff(self) -> str: ...

    def auto_commit(self, message: str, paths: Any = None) -> Any: ...

    def close(self) -> None: ...


class Hooks(Protocol):
    """Context budget and compaction (``sessions.budget.ContextBudget``)."""

    async def before_model_call(self, engine: Engine) -> None: ...

    async def on_context_overflow(self, engine: Engine) -> bool: ...

    async def compact(self, engine: Engine, instructions: str = "") -> bool: ...

    def fork(self, engine: Engine, messages: list[dict[str, Any]], title: str) -> tuple[str, Recorder | None]:
        """A new session (id, recorder) holding ``messages``, whose parent is the engine's (rewind)."""
        ...
