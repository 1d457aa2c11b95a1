"""Reading sessions back: the whole file for a resume, the first line and the tail for a listing.

A session file is the JSONL written by :mod:`de_agent.sessions.store`. Reading never fails
because of a kill: a torn last line is skipped with a warning, a bad line in the middle is
skipped and named, and a file that is not a de-agent session raises
:class:`SessionFileError` naming the file, so a listing can report it and go on.

Loading also repairs the conversation for the provider: every tool call of an assistant
message gets its result right after it (a call left without one, because the process
died while it ran, is reported in :attr:`LoadedSession.dangling`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from de_agent import paths

# Events a front end replays to show a resumed session as it was.
DISPLAY_TYPES = frozenset({
    "user_message", "assistant_message", "tool_call", "approval", "tool_result", "plan_updated",
    "diff", "notice", "error", "turn_finished", "question", "handoff_started", "handoff_finished",
})
TAIL_BYTES = 16_384
META_LIMIT = 65_536

INTERRUPTED_RESULT = ("Not completed: de-agent stopped (the process ended) while this call was in "
                      "flight. It may or may not have taken effect; check before repeating it.")


class SessionFileError(Exception):
    """A file in the sessions folder that cannot be read as a session; the message names it."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class SessionInfo:
    """What a listing shows, read from the first line and the last turn record only."""

    id: str
    path: Path
    repo_root: str
    model: str
    created: str
    title: str
    parent: str | None
    turns: int
    usage: dict[str, Any]
    updated: float  # file modification time (last activity)
    specialist: str = ""  # set for a specialist's transcript (its parent is the session that handed off)


@dataclass
class DanglingCall:
    call_id: str
    name: str
    arguments: str


@dataclass
class LoadedSession:
    """Everything a resume needs, rebuilt from one file."""

    path: Path
    meta: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # displayable, in order
    usage: dict[str, Any] = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0,
                                                           "cost": 0.0})
    turns: int = 0
    plan: list[dict[str, str]] = field(default_factory=list)
    plan_explanation: str = ""
    changed_files: list[str] = field(default_factory=list)
    open_turn: str | None = None  # the request of a turn that never finished (killed mid-turn)
    dangling: list[DanglingCall] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.meta.get("id", ""))

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or "")

    def display_events(self) -> list[Any]:
        """The displayable events as protocol objects (unknown types are skipped)."""
        from de_agent.protocol import event_from_dict

        out = []
        for data in self.events:
            try:
                out.append(event_from_dict(data))
            except (KeyError, TypeError):
                continue
        return out


def _check_meta(path: Path, record: Any) -> dict[str, Any]:
    if not isinstance(record, dict) or record.get("kind") != "meta" or not record.get("id"):
        raise SessionFileError(path, "not a de-agent session (the first line is not session metadata)")
    return record


def _parse_lines(path: Path, data: bytes, warnings: list[str]) -> list[Any]:
    lines = data.split(b"\n")
    torn = lines.pop()  # b"" when the file ends with a newline
    try:
        records = json.loads(b"[" + b",".join(ln for ln in lines if ln.strip()) + b"]")
    except ValueError:
        records = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                if not records:  # the first line that is not blank
                    raise SessionFileError(path, "not a de-agent session (the first line is not JSON)") \
                        from None
                warnings.append(f"{path.name}: line {number} is not valid JSON and was skipped")
    if torn.strip():
        try:
            records.append(json.loads(torn))
        except ValueError:
            if not records:
                raise SessionFileError(path, "not a de-agent session (no complete first line)") from None
            warnings.append(f"{path.name}: the last line was cut off (de-agent was stopped while writing "
                            "it) and was skipped")
    return records


def load_session(path: Path) -> LoadedSession:
    """Rebuild a session from its file; raises SessionFileError for a foreign or unreadable file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SessionFileError(path, f"cannot be read ({exc.strerror or exc})") from None
    if not data.strip():
        raise SessionFileError(path, "empty file")
    warnings: list[str] = []
    records = _parse_lines(path, data, warnings)
    meta = _check_meta(path, records[0])
    loaded = LoadedSession(path=path, meta=meta, warnings=warnings)
    messages: list[dict[str, Any]] = []
    events = loaded.events
    changed: dict[str, None] = dict.fromkeys(meta.get("changed_files") or [])
    carried_plan = meta.get("plan")
    if isinstance(carried_plan, list):
        loaded.plan = carried_plan
        loaded.plan_explanation = str(meta.get("plan_explanation") or "")
    usage = loaded.usage
    turns = 0
    open_turn: str | None = None
    for record in records[1:]:
        if not isinstance(record, dict):
            continue
        kind = record.get("kind")
        if kind == "event":
            event = record.get("event")
            if not isinstance(event, dict):
                continue
            etype = event.get("type")
            if etype in DISPLAY_TYPES:
                events.append(event)
            if event.get("specialist") and etype != "diff":
                continue  # a specialist's own turn, usage and plan are not this session's
            if etype == "user_message":
                turns += 1
                open_turn = str(event.get("text", ""))
            elif etype == "usage":
                usage = {"prompt_tokens": event.get("session_prompt_tokens", 0),
                         "completion_tokens": event.get("session_completion_tokens", 0),
                         "cost": event.get("session_cost")}
            elif etype == "plan_updated":
                loaded.plan = event.get("plan") or []
                loaded.plan_explanation = event.get("explanation", "")
            elif etype == "diff" and event.get("stage") == "applied" and event.get("file_path"):
                changed[event["file_path"]] = None
        elif kind == "message":
            message = record.get("message")
            if isinstance(message, dict) and message.get("role"):
                messages.append(message)
        elif kind == "amend":
            for message in reversed(messages):
                if message.get("role") == "tool" and message.get("tool_call_id") == record.get("tool_call_id"):
                    message["content"] = f"{message.get('content') or ''}{record.get('append') or ''}"
                    break
        elif kind == "turn_end":
            open_turn = None
            if isinstance(record.get("usage"), dict):
                usage = record["usage"]
            if isinstance(record.get("turn"), int):
                turns = max(turns, record["turn"])
    loaded.usage = usage
    loaded.turns = turns
    loaded.open_turn = open_turn
    loaded.changed_files = list(changed)
    loaded.messages, loaded.dangling, repaired = repair_messages(messages)
    if repaired:
        loaded.warnings.append(f"{path.name}: {repaired} tool result(s) out of place were repaired")
    return loaded


def repair_messages(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[DanglingCall], int]:
    """Put each tool result right after the assistant message that asked for it.

    Returns (messages, calls still unanswered at the end, number of repairs elsewhere). A call
    left unanswered before the end gets an interrupted result here (counted as a repair); one
    at the very end is returned in the list so that the caller can record its result.
    """
    out: list[dict[str, Any]] = []
    pending: dict[str, dict[str, Any]] = {}  # unanswered calls of the latest assistant message
    repairs = 0
    for message in messages:
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id in pending:
                del pending[call_id]
                out.append(message)
            else:
                repairs += 1  # an orphan result: providers reject it
            continue
        if pending:
            for call in pending.values():
                out.append(_interrupted_result(call))
                repairs += 1
            pending = {}
        out.append(message)
        if role == "assistant":
            for call in message.get("tool_calls") or []:
                if isinstance(call, dict) and call.get("id"):
                    pending[call["id"]] = call
    dangling = [DanglingCall(c["id"], (c.get("function") or {}).get("name", "?"),
                             (c.get("function") or {}).get("arguments", ""))
                for c in pending.values()]
    return out, dangling, repairs


def _interrupted_result(call: dict[str, Any]) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call["id"], "content": INTERRUPTED_RESULT}


# -- listing -------------------------------------------------------------------------------


def read_info(path: Path) -> SessionInfo:
    """The listing line of one session: its first line plus its last turn record."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(META_LIMIT)
            size = os.fstat(fh.fileno()).st_size
            mtime = os.fstat(fh.fileno()).st_mtime
            try:
                meta = _check_meta(path, json.loads(first))
            except ValueError:
                raise SessionFileError(path, "not a de-agent session (the first line is not JSON)") from None
            last_turn = _last_turn_end(fh, size, len(first))
    except OSError as exc:
        raise SessionFileError(path, f"cannot be read ({exc.strerror or exc})") from None
    turns, usage = 0, {"prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0}
    if last_turn is not None:
        turns = int(last_turn.get("turn") or 0)
        usage = last_turn.get("usage") or usage
    return SessionInfo(id=str(meta["id"]), path=path, repo_root=str(meta.get("repo_root", "")),
                       model=str(meta.get("model", "")), created=str(meta.get("created", "")),
                       title=str(meta.get("title") or ""), parent=meta.get("parent"), turns=turns,
                       usage=usage, updated=mtime, specialist=str(meta.get("specialist") or ""))


def _last_turn_end(fh: Any, size: int, body_start: int) -> dict[str, Any] | None:
    """The last ``turn_end`` record, reading backwards from the end in growing windows."""
    window = TAIL_BYTES
    end = size
    carry = b""
    while end > body_start:
        start = max(body_start, end - window)
        fh.seek(start)
        chunk = fh.read(end - start) + carry
        lines = chunk.split(b"\n")
        carry = lines[0] if start > body_start else b""
        for line in reversed(lines[1:] if start > body_start else lines):
            if b'"turn_end"' in line[:40]:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("kind") == "turn_end":
                    return record
        end = start
        window *= 4
    return None


def session_files(directory: Path | None = None) -> list[Path]:
    folder = directory or paths.sessions_dir()
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    return [Path(e.path) for e in entries if e.name.endswith(".jsonl") and e.is_file()]


def list_sessions(repo_root: Path | str | None = None, directory: Path | None = None
                  ) -> tuple[list[SessionInfo], list[str]]:
    """(sessions, problems): newest activity first; only those of ``repo_root`` when given.

    A file that cannot be read is reported in ``problems`` by name; the others still load.
    """
    wanted = os.path.realpath(repo_root) if repo_root is not None else None
    infos: list[SessionInfo] = []
    problems: list[str] = []
    for path in session_files(directory):
        try:
            info = read_info(path)
        except SessionFileError as exc:
            problems.append(str(exc))
            continue
        if info.specialist:
            continue  # a specialist's transcript belongs to its parent session
        if wanted is not None and info.repo_root != wanted and \
                os.path.realpath(info.repo_root or "/nonexistent") != wanted:
            continue
        infos.append(info)
    infos.sort(key=lambda i: (i.updated, i.id), reverse=True)
    return infos, problems
