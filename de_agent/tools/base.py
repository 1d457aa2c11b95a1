"""What every tool is made of, and the contract between tools, policy and engine.

A tool turns the model's arguments into an :class:`Action` (``prepare``): what it is about
to do, described well enough for the policy to decide and for a person to approve (the
command, the paths, the diffs). The engine then calls ``action.run`` once approved. Read
tools do their work in ``run`` as well, so nothing happens before the policy has spoken.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from de_agent.workspace import Workspace

if TYPE_CHECKING:
    from de_agent.config import Settings

# Kinds, as the policy sees them.
READ, EDIT, EXECUTE, PLAN, MEMORY, NETWORK = "read", "edit", "execute", "plan", "memory", "network"
MCP = "mcp"  # a tool of an MCP server: asks unless the person trusts it

MAX_OUTPUT_LINES = 2000
MAX_OUTPUT_BYTES = 48_000


class ToolError(Exception):
    """A failure the model should read: say what went wrong and what to try."""


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


@dataclass
class FileChange:
    file_path: str
    diff: str


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
    # An MCP tool the server marks read-only (plan mode may run it when trusted).
    read_only: bool = False


@dataclass
class ToolContext:
    workspace: Workspace
    settings: Settings
    # Set by the engine: lets tools see and change shared session state (plan, memory).
    state: dict[str, Any] = field(default_factory=dict)
    sandbox_name: str = "none"
    runner: Any = None  # the command runner (plain or sandboxed)


class Tool:
    name: str = ""
    kind: str = READ
    description: str = ""
    parameters: dict[str, Any] = {}

    def schema(self, ctx: ToolContext | None = None) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.describe(ctx),
                         "parameters": self.parameters},
        }

    def describe(self, ctx: ToolContext | None) -> str:
        return self.description

    async def prepare(self, args: dict[str, Any], ctx: ToolContext) -> Action:
        raise NotImplementedError


def require_str(args: dict[str, Any], key: str, *, allow_empty: bool = False) -> str:
    value = args.get(key)
    if not isinstance(value, str):
        raise ToolError(f"parameter '{key}' is required and must be a string")
    if not allow_empty and not value:
        raise ToolError(f"parameter '{key}' must not be empty")
    return value


def optional(args: dict[str, Any], key: str, kind: type, default: Any = None) -> Any:
    value = args.get(key, default)
    if value is None:
        return default
    if kind is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if kind is bool and isinstance(value, str):
        value = value.strip().lower() in ("1", "true", "yes")
    if kind is float and isinstance(value, int | str):
        try:
            value = float(value)
        except ValueError:
            pass
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ToolError(f"parameter '{key}' must be of type {kind.__name__}")
    return value


def bound_text(text: str, max_lines: int = MAX_OUTPUT_LINES, max_bytes: int = MAX_OUTPUT_BYTES,
               what: str = "output") -> str:
    """Cut text to the line and byte limits, saying so when it does."""
    lines = text.splitlines(keepends=True)
    cut_lines = len(lines) > max_lines
    if cut_lines:
        lines = lines[:max_lines]
    out = "".join(lines)
    data = out.encode("utf-8", "replace")
    cut_bytes = len(data) > max_bytes
    if cut_bytes:
        out = data[:max_bytes].decode("utf-8", "ignore")
        out = out[: out.rfind("\n") + 1] or out
    if cut_lines or cut_bytes:
        total = len(text.splitlines())
        out += (f"\n[{what} cut: showing {len(out.splitlines())} of {total} lines, "
                f"limit {max_lines} lines / {max_bytes} bytes]\n")
    return out


def looks_binary(data: bytes) -> bool:
    """Heuristic used by every read tool: a NUL byte in the first 8 KiB."""
    return b"\x00" in data[:8192]


def simple_action(kind: str, summary: str, fn: Callable[[], Awaitable[Outcome]], **kw: Any) -> Action:
    async def run(_hunks: list[int] | None) -> Outcome:
        return await fn()

    return Action(kind=kind, summary=summary, run=run, **kw)
