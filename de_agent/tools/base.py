"""What every tool is made of, and the contract between tools, policy and engine.

A tool turns the model's arguments into an :class:`Action` (``prepare``): what it is about
to do, described well enough for the policy to decide and for a person to approve (the
command, the paths, the diffs). The engine then calls ``action.run`` once approved. Read
tools do their work in ``run`` as well, so nothing happens before the policy has spoken.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from de_agent.protocol import ErrorKind, Event
from de_agent.tools.helpers.output import (  # noqa: F401 - part of the tools' contract
    MAX_OUTPUT_BYTES,
    MAX_OUTPUT_LINES,
    bound_text,
    looks_binary,
)
from de_agent.workspace import Workspace

if TYPE_CHECKING:
    from de_agent.config import Settings

# Kinds, as the policy sees them.
READ, EDIT, EXECUTE, PLAN, MEMORY, NETWORK = "read", "edit", "execute", "plan", "memory", "network"
MCP = "mcp"  # a tool of an MCP server: asks unless the person trusts it
QUESTION, DELEGATE = "question", "delegate"  # AskUser and Handoff: never asked about themselves

# The id of the tool call whose action runs in this task (set by the engine around ``action.run``).
CURRENT_CALL: ContextVar[str] = ContextVar("de_agent_current_call", default="")



class ToolError(Exception):
    """A failure the model should read: say what went wrong and what to try."""

    def __init__(self, message: str, kind: ErrorKind = ErrorKind.TOOL_FAILED) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Outcome:
    """What a tool run produced: the text for the model, and optional data for displays."""

    ok: bool
    output: str
    display: dict[str, Any] | None = None
    # Files the run changed (repository-relative), for checkpoints and /diff.
    changed: list[str] = field(default_factory=list)
    # (file_path, unified diff) of what was actually applied.
    applied_diffs: list[tuple[str, str]] = field(default_factory=list)
    code: ErrorKind | None = None  # what kind of failure, when ok is False (default TOOL_FAILED)
    # Events the tool has to say (the plan), emitted by the engine after the result.
    events: list[Event] = field(default_factory=list)
    # Images for the model to see (reference parts from de_agent.images.store).
    images: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FileChange:
    file_path: str
    diff: str
    new_text: str | None = None  # the whole file after the change (the impact of SQL edits reads it)


@dataclass
class Action:
    """What a tool call is about to do; the policy decides on it before ``run``."""

    kind: str
    summary: str
    run: Callable[[list[int] | None], Awaitable[Outcome]]
    command: str | None = None
    paths: list[str] = field(default_factory=list)
    changes: list[FileChange] = field(default_factory=list)
    secret_read: bool = False
    # Extra policy input (e.g. a RunSQL statement that writes asks like a command).
    asks: bool = False
    ask_reason: str = ""
    # Runs on the host outside the sandbox (LocalShell): asked every time but in yolo,
    # refused in plan mode, never approved for a session or "always".
    host: bool = False
    host_command: str | None = None
    # Asks in every mode, yolo included, and is never approved "for the session" (a write on a
    # protected warehouse connection).
    force_ask: bool = False
    # An MCP tool the server marks read-only (plan mode may run it when trusted).
    read_only: bool = False


@dataclass
class SessionState:
    """What tools share with the session: the plan, and the files changed so far.

    Compaction and resume carry it over; the engine's Session owns it and tools reach it
    through :attr:`ToolContext.state`.
    """

    plan: list[dict[str, str]] = field(default_factory=list)
    plan_explanation: str = ""
    changed_files: list[str] = field(default_factory=list)
    # For the query ledger and the warehouse cost gate: which session and turn a statement
    # belongs to, and the bytes the engines estimated for what ran this session.
    session_id: str = ""
    turn_index: int = 0
    scan_bytes_spent: int = 0
    scan_counted_for: str = ""  # the session whose ledger scan_bytes_spent already includes

    def set_plan(self, plan: list[dict[str, str]], explanation: str = "") -> None:
        links = {s["step"]: s for s in self.plan if s.get("verified_by")}  # a data diff's link stays with its step
        self.plan = [{**{k: v for k, v in links.get(step.get("step", ""), {}).items()
                         if k in ("verified_by", "verification")}, **step} for step in plan]
        self.plan_explanation = explanation


@dataclass
class ToolContext:
    workspace: Workspace
    settings: Settings
    # The session's shared state (the engine's Session hands it over).
    state: SessionState = field(default_factory=SessionState)
    sandbox_name: str = "none"
    runner: Any = None  # the command runner (plain or sandboxed)
    # Set by the engine: takes the output of the running call as it arrives (a live view).
    on_output: Callable[[str], None] | None = None
    # The engine's side of AskUser and Handoff (``engine.interact.Interactions``); set by the engine.
    interact: Any = None
    # An editor's file access (``tools.text_files.TextFiles``, set by the ACP front end when the
    # client offers it); None: files are read and written on disk.
    files: Any = None


# The arguments that say most about a call, in order (a tool may name its own).
KEY_ARGUMENTS = ("command", "file_path", "dir_path", "pattern", "include", "url", "query", "sql", "fact", "path")


class Tool:
    """A tool the model can call.

    Every built-in tool is declarative: it sets ``Args`` to a :class:`~de_agent.tools.schema.ToolArgs`
    model and implements ``act``. The JSON schema the model sees is generated from ``Args``,
    and the registry validates the arguments once, so ``act`` gets them as the model instance.

    A tool whose schema comes ready-made (an MCP server's tool, say) leaves ``Args`` unset,
    puts that JSON schema in ``parameters`` as it is, and implements ``prepare`` on the
    arguments dict; nothing checks them on our side.

    ``call_summary`` and ``result_summary`` say a call and its result in one line each;
    ``key_arguments`` name the arguments the default call summary shows.
    """

    name: str = ""
    kind: str = READ
    description: str = ""
    parameters: ClassVar[dict[str, Any]] = {}
    Args: ClassVar[Any] = None  # a pydantic BaseModel subclass
    key_arguments: ClassVar[tuple[str, ...]] = KEY_ARGUMENTS

    def schema(self, ctx: ToolContext | None = None) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.describe(ctx),
                         "parameters": self.json_parameters()},
        }

    def json_parameters(self) -> dict[str, Any]:
        if self.Args is not None:
            from de_agent.tools.schema import args_schema

            return args_schema(self.Args)
        return self.parameters

    def describe(self, ctx: ToolContext | None) -> str:
        return self.description

    def parallel_safe(self, arguments: dict[str, Any], ctx: ToolContext) -> bool:
        """May this call run at the same time as its neighbours in one reply (read-only handoffs)?"""
        return False

    def call_summary(self, arguments: dict[str, Any]) -> str:
        """One line that says what a call is about (its path, command, query...)."""
        return key_argument(arguments, self.key_arguments)

    def result_summary(self, ok: bool, output: str, display: dict[str, Any] | None) -> str:
        """One line that says what a call came to (by default made from its display facts,
        else the output's first line; see :mod:`de_agent.tools.summaries`)."""
        from de_agent.tools.summaries import summarise_result

        return summarise_result(ok, output, display)

    async def prepare(self, args: Any, ctx: ToolContext) -> Action:
        """What the call is about to do. Declarative tools get their arguments validated here
        (once: the registry hands over the validated model) and implement :meth:`act`."""
        if self.Args is None:
            raise NotImplementedError
        if not isinstance(args, self.Args):
            from de_agent.tools.schema import validate_args

            args = validate_args(self.Args, args)
        return await self.act(args, ctx)

    async def act(self, args: Any, ctx: ToolContext) -> Action:
        """A declarative tool's ``prepare``, with its arguments as the ``Args`` model."""
        raise NotImplementedError


def key_argument(arguments: dict[str, Any], keys: tuple[str, ...] = KEY_ARGUMENTS, width: int = 100) -> str:
    """The first of ``keys`` that the call has, on one line; else the arguments as compact JSON."""
    text = ""
    for key in keys:
        value = arguments.get(key)
        if isinstance(value, str) and value:
            text = " ".join(value.split())
            break
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            text = ", ".join(value)
            break
    else:
        text = json.dumps(arguments, ensure_ascii=False) if arguments else ""
    return text if len(text) <= width else text[: width - 1] + "…"


def simple_action(kind: str, summary: str, fn: Callable[[], Awaitable[Outcome]], **kw: Any) -> Action:
    async def run(_hunks: list[int] | None) -> Outcome:
        return await fn()

    return Action(kind=kind, summary=summary, run=run, **kw)
