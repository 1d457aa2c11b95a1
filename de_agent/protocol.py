"""The engine's protocol: ops that front ends submit and events the engine emits.

Defined once, here. Every front end (TUI, plain REPL, headless), the session store and
``--output-format stream-json`` consume these same typed, JSON-serialisable events.
The ``type`` string of each event is part of the public contract (DESIGN.md section 4).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar, Literal

Decision = Literal["approved", "denied"]
DecidedBy = Literal["policy", "user", "headless"]


class ApprovalMode(StrEnum):
    """How much the policy lets through without asking (DESIGN.md section 2)."""

    DEFAULT = "default"
    AUTO_EDIT = "auto-edit"
    PLAN = "plan"
    YOLO = "yolo"


APPROVAL_MODES: tuple[str, ...] = tuple(m.value for m in ApprovalMode)


class Approvals(StrEnum):
    """Who answers an approval request: a person (interactive), or nobody (headless: ask becomes deny)."""

    PERSON = "person"
    NOBODY = "nobody"


class StopReason(StrEnum):
    """Why a turn ended (``turn_finished.reason`` and ``result.stop_reason``)."""

    COMPLETED = "completed"
    MAX_TURNS = "max_turns"
    REPEATED_CALLS = "repeated_calls"
    INTERRUPTED = "interrupted"
    ERROR = "error"


class PlanStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


PLAN_MARKS: dict[str, str] = {PlanStatus.PENDING: "[ ]", PlanStatus.IN_PROGRESS: "[>]",
                              PlanStatus.COMPLETED: "[x]"}


class ErrorKind(StrEnum):
    """What kind of failure a tool result or an ``error`` event reports (the ``code`` field)."""

    INVALID_ARGUMENTS = "invalid_arguments"  # the model's arguments did not fit the tool
    UNKNOWN_TOOL = "unknown_tool"
    TOOL_FAILED = "tool_failed"  # the tool ran and reported a failure the model should read
    REFUSED = "refused"  # confinement or a permission check said no
    DENIED = "denied"  # the policy or the person denied the call
    INTERRUPTED = "interrupted"
    INTERNAL = "internal"  # a bug in a tool: an unexpected exception
    MODEL = "model"  # the model call failed
    CONFIG = "config"  # the model cannot be used as configured (key, name, endpoint)
    CONTEXT_OVERFLOW = "context_overflow"
    MAX_TURNS = "max_turns"
    REPEATED_CALLS = "repeated_calls"
    BUSY = "busy"  # an op that needs an idle engine arrived during a turn
    UNAVAILABLE = "unavailable"  # the feature is off here (e.g. no checkpoints outside git)
    BLOCKED = "blocked"  # one of the person's hooks blocked the step (the reason says why)


@dataclass
class Event:
    """Base of every event; ``type`` names it on the wire.

    An event of a specialist's child engine carries ``specialist`` (its name) and
    ``handoff_id`` (the call id of the parent's Handoff call); both are left out of the wire
    form of the main engine's own events.
    """

    type: ClassVar[str] = "event"
    specialist: str = field(default="", kw_only=True)
    handoff_id: str = field(default="", kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        data = {"type": self.type, **asdict(self)}
        for key in ("specialist", "handoff_id"):
            if not data[key]:
                del data[key]
        return data


# --- events in the public stream (DESIGN.md section 4) -------------------------------


@dataclass
class SessionStarted(Event):
    type: ClassVar[str] = "session_started"
    session_id: str
    model: str
    cwd: str
    approval_mode: str = "default"
    sandbox: str = "none"
    resumed: bool = False


@dataclass
class AssistantDelta(Event):
    type: ClassVar[str] = "assistant_delta"
    text: str


@dataclass
class AssistantMessage(Event):
    type: ClassVar[str] = "assistant_message"
    text: str


@dataclass
class ToolCall(Event):
    type: ClassVar[str] = "tool_call"
    call_id: str
    name: str
    arguments: dict[str, Any]
    summary: str = ""  # the tool's one-line summary of the call (its path, command, query...)


@dataclass
class Approval(Event):
    type: ClassVar[str] = "approval"
    call_id: str
    decision: Decision
    by: DecidedBy
    reason: str = ""


@dataclass
class ToolResult(Event):
    type: ClassVar[str] = "tool_result"
    call_id: str
    name: str
    ok: bool
    output: str
    display: dict[str, Any] | None = None
    code: str | None = None  # an ErrorKind when ok is False
    summary: str = ""  # the tool's one-line summary of what the call came to


@dataclass
class PlanUpdated(Event):
    type: ClassVar[str] = "plan_updated"
    plan: list[dict[str, str]]
    explanation: str = ""


@dataclass
class Diff(Event):
    type: ClassVar[str] = "diff"
    file_path: str
    diff: str
    stage: Literal["proposed", "applied", "undone"] = "proposed"  # undone: put back by /undo or /rewind
    call_id: str = ""
    # Blast radius of a SQL or dbt model edit (de_agent.tools.data.helpers.impact); computed in the
    # background, so it comes in a second diff event with the same call_id.
    impact: dict[str, Any] | None = None


@dataclass
class Usage(Event):
    type: ClassVar[str] = "usage"
    prompt_tokens: int
    completion_tokens: int
    cost: float | None  # None: the provider's price is unknown (local models)
    session_prompt_tokens: int = 0
    session_completion_tokens: int = 0
    session_cost: float | None = None


@dataclass
class Error(Event):
    type: ClassVar[str] = "error"
    message: str
    code: str | None = None  # an ErrorKind


@dataclass
class Result(Event):
    type: ClassVar[str] = "result"
    text: str
    session_id: str
    turns: int
    stop_reason: str = "completed"
    usage: dict[str, Any] = field(default_factory=dict)
    # Work left for a specialist, named at the end of the final answer: {specialist, task}.
    handoff: dict[str, str] | None = None


@dataclass
class Question(Event):
    """AskUser: the engine waits for an AnswerQuestion op with the same call_id (headless: nobody answers)."""

    type: ClassVar[str] = "question"
    call_id: str
    question: str
    options: list[dict[str, str]] = field(default_factory=list)
    multiple: bool = False


@dataclass
class HandoffStarted(Event):
    type: ClassVar[str] = "handoff_started"
    call_id: str  # the parent's Handoff call; ``specialist`` names the one started
    task: str = ""
    session_id: str = ""  # the child's own transcript
    read_only: bool = False
    depth: int = 1


@dataclass
class HandoffFinished(Event):
    type: ClassVar[str] = "handoff_finished"
    call_id: str
    session_id: str = ""
    stop_reason: str = "completed"
    turns: int = 0
    report: str = ""
    changed_files: list[str] = field(default_factory=list)


# --- events for interactive front ends and the session store ---------------------------


@dataclass
class UserMessage(Event):
    type: ClassVar[str] = "user_message"
    text: str


@dataclass
class ApprovalRequest(Event):
    """The engine waits for an ApprovalDecision op with the same call_id."""

    type: ClassVar[str] = "approval_request"
    call_id: str
    name: str
    kind: str
    summary: str
    command: str | None = None
    cwd: str | None = None
    sandbox: str | None = None
    diffs: list[dict[str, str]] = field(default_factory=list)
    always_pattern: str | None = None
    reason: str = ""
    can_diff_data: bool = False  # an edit of a SQL model: the person may ask for a data diff first
    data_diff: str = ""  # that data diff, when asked for (the request comes again with it)


@dataclass
class Notice(Event):
    type: ClassVar[str] = "notice"
    message: str
    level: Literal["info", "warning"] = "info"


@dataclass
class ToolOutput(Event):
    """Output of a running tool call as it arrives (a command's stdout and stderr), for a
    live view. Not written to session files; the tool_result carries the bounded whole."""

    type: ClassVar[str] = "tool_output"
    call_id: str
    text: str


@dataclass
class TurnFinished(Event):
    type: ClassVar[str] = "turn_finished"
    reason: str  # a StopReason
    turns: int
    handoff: dict[str, str] | None = None  # the follow-up the final answer names: {specialist, task}


@dataclass
class SessionCleared(Event):
    """Interactive front ends only: another session takes over (/clear, /resume); panes start afresh."""

    type: ClassVar[str] = "session_cleared"


PUBLIC_STREAM_TYPES = frozenset(
    c.type
    for c in (SessionStarted, AssistantDelta, AssistantMessage, ToolCall, Approval, ToolResult,
              PlanUpdated, Diff, Usage, Error, Result, Question, HandoffStarted, HandoffFinished)
)

EVENT_TYPES: dict[str, type[Event]] = {
    c.type: c
    for c in (SessionStarted, AssistantDelta, AssistantMessage, ToolCall, Approval, ToolResult,
              PlanUpdated, Diff, Usage, Error, Result, UserMessage, ApprovalRequest, Notice,
              TurnFinished, SessionCleared, ToolOutput, Question, HandoffStarted, HandoffFinished)
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its wire form; unknown keys are ignored, unknown types raise."""
    cls = EVENT_TYPES[data["type"]]
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


# --- ops: what front ends submit --------------------------------------------------------

ApprovalChoice = Literal["once", "session", "always", "deny", "deny_note", "data_diff"]  # data_diff: show it, ask again


@dataclass
class UserTurn:
    text: str
    # Attached images: {"path": repo-relative or absolute} or {"mime_type", "data" (base64)}.
    images: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ApprovalDecision:
    call_id: str
    choice: ApprovalChoice
    note: str = ""
    # For edits: the indices of the hunks to apply (None: all of them).
    hunks: list[int] | None = None
    sample: int | None = None  # with choice data_diff: compare this percent of keys (None: all rows)

    @property
    def approved(self) -> bool:
        return self.choice in ("once", "session", "always")


@dataclass
class AnswerQuestion:
    """A person's answer to a Question event: the chosen option labels and/or free text.

    ``answer=None`` means the person dismissed the question without answering.
    """

    call_id: str
    answer: str | None


@dataclass
class Interrupt:
    pass


@dataclass
class Undo:
    pass


@dataclass
class Compact:
    instructions: str = ""


@dataclass
class Rewind:
    """Go back to just before the person's message ``number`` (1 = the oldest still in the
    history; see ``engine.rewind.rewind_points``), forking the session; ``restore_files``
    also puts back the files changed since, from the git checkpoints."""

    number: int
    restore_files: bool = False


@dataclass
class RunCommand:
    """A shell command the person typed (``!command``): run through the Shell tool, the
    policy and the sandbox like the model's calls; the model sees it as a note."""

    command: str


@dataclass
class SetApprovalMode:
    """Set the approval mode; ``mode=None`` cycles to the next one (Shift+Tab)."""

    mode: str | None = None


@dataclass
class SetModel:
    """Switch the model; the engine checks it first and keeps the old one when the check fails."""

    model: str


@dataclass
class RestoreSession:
    """Continue a saved session in this engine (``snapshot`` is an ``engine.session.Snapshot``)."""

    snapshot: Any


Op = (UserTurn | ApprovalDecision | AnswerQuestion | Interrupt | Undo | Compact | SetApprovalMode | SetModel
      | RestoreSession | Rewind | RunCommand)


@dataclass
class OpResult:
    """What an op that changes the engine's settings or state came to (a typed answer, not text)."""

    ok: bool
    message: str = ""
    code: ErrorKind | None = None
    value: str = ""  # e.g. the mode or model now in force
