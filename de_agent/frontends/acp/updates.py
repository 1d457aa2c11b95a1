"""Engine events as ACP session updates: message chunks, tool calls, diffs, plans.

Pure mapping, no I/O except reading the file an edit is about to change (to give the
editor the old and new text an ACP diff carries).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from acp import helpers as H
from acp.schema import PermissionOption, PlanEntryStatus, ToolCallLocation, ToolKind

from de_agent import protocol as P
from de_agent.tools.helpers.diffs import NO_NEWLINE, parse_hunks

# Our tool names -> ACP tool kinds.
TOOL_KINDS: dict[str, ToolKind] = {
    "ReadFile": "read", "ReadManyFiles": "read", "ReadFolder": "read", "FindFiles": "search",
    "SearchText": "search", "Edit": "edit", "WriteFile": "edit", "ImageGenerator": "edit",
    "Shell": "execute", "LocalShell": "execute", "RunSQL": "execute", "ListTables": "search",
    "DescribeTable": "read", "ProfileData": "read", "SQLLineage": "read",
    "ScanPII": "search", "WebFetch": "fetch", "GoogleSearch": "fetch", "update_plan": "think",
    "SaveMemory": "other", "AskUser": "think", "Handoff": "think",
}
PATH_KEYS = ("file_path", "path", "dir_path", "output_path")
PLAN_STATUS: dict[str, PlanEntryStatus] = {"pending": "pending", "in_progress": "in_progress", "completed": "completed"}
MAX_RESULT_CHARS = 8000


def tool_kind(name: str) -> ToolKind:
    return TOOL_KINDS.get(name, "other")


def locations(root: Path, args: dict[str, Any]) -> list[ToolCallLocation]:
    found = []
    for key in PATH_KEYS:
        value = args.get(key)
        if isinstance(value, str) and value:
            found.append(ToolCallLocation(path=str((root / value).resolve()) if not Path(value).is_absolute()
                                          else value))
    for value in args.get("file_paths") or args.get("paths") or []:
        if isinstance(value, str):
            found.append(ToolCallLocation(path=str(root / value)))
    return found


def title(name: str, args: dict[str, Any], summary: str = "") -> str:
    """The tool call's title: its name and the tool's own one-line summary of the call."""
    if summary:
        short = " ".join(summary.split())
        return f"{name} {short[:80]}{'…' if len(short) > 80 else ''}"
    for key in ("command", "file_path", "path", "sql", "query", "pattern", "url", "prompt"):
        value = args.get(key)
        if isinstance(value, str) and value:
            short = " ".join(value.split())
            return f"{name} {short[:80]}{'…' if len(short) > 80 else ''}"
    return name


def apply_unified(old_text: str, diff: str) -> str:
    """``old_text`` with the unified ``diff`` applied (hunks trusted: they were made from it)."""
    old = old_text.splitlines(keepends=True)
    out: list[str] = []
    pos = 0
    last_was_new = False
    for hunk in parse_hunks(diff):
        start, end = hunk.old_range
        out += old[pos:start]
        new_lines: list[str] = []
        for line in hunk.lines:
            if line == NO_NEWLINE:
                if new_lines and last_was_new:
                    new_lines[-1] = new_lines[-1].rstrip("\n")
                continue
            last_was_new = line[:1] in (" ", "+")
            if last_was_new:
                new_lines.append(line[1:] + "\n")
        out += new_lines
        pos = end
    out += old[pos:]
    return "".join(out)


def diff_content(root: Path, event: P.Diff, old_text: str | None = None) -> Any:
    """An ACP diff (path, old text, new text) for a proposed change; None when it cannot be built.
    ``old_text``: the text the change was made from when it is not the disk's (an editor buffer)."""
    if not parse_hunks(event.diff):
        return None  # a binary file (a generated image): shown as text
    path = root / event.file_path
    try:
        if old_text is None and path.is_file():
            old_text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        new_text = apply_unified(old_text or "", event.diff)
    except Exception:  # noqa: BLE001 - a diff we cannot rebuild is shown as text instead
        return None
    return H.tool_diff_content(str(path), new_text, old_text)


def plan_update(event: P.PlanUpdated) -> Any:
    return H.update_plan([H.plan_entry(step.get("step", ""), status=PLAN_STATUS.get(str(step.get("status")), "pending"))
                          for step in event.plan])


def _tool_call(event: P.ToolCall, root: Path, replay: bool) -> list[Any]:
    return [H.start_tool_call(event.call_id, title(event.name, event.arguments, event.summary),
                              kind=tool_kind(event.name), status="pending",
                              locations=locations(root, event.arguments), raw_input=event.arguments)]


def _diff(event: P.Diff, root: Path, replay: bool, old_text: str | None = None) -> list[Any]:
    if event.stage != "proposed" or replay:
        return []
    content = diff_content(root, event, old_text)
    if content is None:
        content = H.tool_content(H.text_block(f"```diff\n{event.diff}\n```"))
    return [H.update_tool_call(event.call_id, content=[content])]


def _tool_result(event: P.ToolResult, root: Path, replay: bool) -> list[Any]:
    text = event.output if len(event.output) <= MAX_RESULT_CHARS else event.output[:MAX_RESULT_CHARS] + "\n[cut]"
    raw: dict[str, Any] = {"ok": event.ok}
    if event.code:
        raw["code"] = event.code
    return [H.update_tool_call(event.call_id, status="completed" if event.ok else "failed",
                               content=[H.tool_content(H.text_block(text))], raw_output=raw)]


# One dispatch: event type -> (event, repository root, replaying a loaded session) -> updates.
_UPDATES: dict[type[P.Event], Callable[[Any, Path, bool], list[Any]]] = {
    P.AssistantDelta: lambda e, root, replay: [] if replay else [H.update_agent_message_text(e.text)],
    P.AssistantMessage: lambda e, root, replay: [H.update_agent_message_text(e.text)] if replay else [],
    P.UserMessage: lambda e, root, replay: [H.update_user_message_text(e.text)] if replay else [],
    P.ToolCall: _tool_call,
    P.Diff: _diff,
    P.Approval: lambda e, root, replay: [H.update_tool_call(
        e.call_id, status="in_progress" if e.decision == "approved" else "failed")],
    P.ToolResult: _tool_result,
    P.PlanUpdated: lambda e, root, replay: [plan_update(e)],
    P.Error: lambda e, root, replay: [H.update_agent_message_text(f"\n\nerror: {e.message}\n")],
    P.Notice: lambda e, root, replay: [H.update_agent_thought_text(e.message)],
}


def to_updates(event: P.Event, root: Path, *, replay: bool = False, old_text: str | None = None) -> list[Any]:
    """The ACP session updates one engine event becomes (none for bookkeeping events).
    ``old_text``: for a diff made from an editor's buffer, that buffer's text."""
    if old_text is not None and isinstance(event, P.Diff):
        return _diff(event, root, replay, old_text)
    handler = _UPDATES.get(type(event))
    return handler(event, root, replay) if handler is not None else []


def permission_options(request: P.ApprovalRequest) -> list[PermissionOption]:
    """Our approval choices as ACP permission options (option ids are our choice names)."""
    options = [PermissionOption(option_id="once", name="Allow once", kind="allow_once"),
               PermissionOption(option_id="session", name="Allow for this session", kind="allow_always")]
    if request.always_pattern:
        options.append(PermissionOption(option_id="always", name=f"Always allow `{request.always_pattern}`",
                                        kind="allow_always"))
    options.append(PermissionOption(option_id="deny", name="Reject", kind="reject_once"))
    return options


def choice_of(response: Any) -> P.ApprovalChoice:
    """Our approval choice from a RequestPermissionResponse (a cancelled request is a denial)."""
    outcome = getattr(response, "outcome", None)
    option = getattr(outcome, "option_id", None)
    choices: dict[Any, P.ApprovalChoice] = {"once": "once", "session": "session", "always": "always"}
    return choices.get(option, "deny")


def prompt_text(blocks: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    """The text of an ACP prompt and its images ({mime_type, data}) in order."""
    parts: list[str] = []
    images: list[dict[str, Any]] = []
    for block in blocks:
        kind = getattr(block, "type", None)
        if kind == "text":
            parts.append(block.text)
        elif kind == "image":
            images.append({"mime_type": block.mime_type, "data": block.data, "uri": block.uri})
        elif kind == "resource_link":
            parts.append(f"@{_uri_path(block.uri)}")
        elif kind == "resource":
            res = block.resource
            text = getattr(res, "text", None)
            if text is not None:
                parts.append(f"\n<file uri={json.dumps(res.uri)}>\n{text}\n</file>\n")
    return "\n".join(p for p in parts if p), images


def _uri_path(uri: str) -> str:
    return uri[len("file://"):] if uri.startswith("file://") else uri
