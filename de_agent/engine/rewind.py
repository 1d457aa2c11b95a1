"""Rewind: take the conversation back to just before one of the person's earlier messages.

The conversation from that message on is not lost: it stays in the current session file,
which keeps its id and can be resumed. The engine goes on in a new session (a fork whose
``parent`` is the old one) holding the history up to the chosen message. Optionally the
files the agent changed since then are put back from the git checkpoints, turn by turn
from the newest, exactly as /undo would (a turn whose files were changed afterwards by
someone else stops the restore, and says so).

UI-free: front ends reach it through the :class:`~de_agent.protocol.Rewind` op (its answer
is an :class:`~de_agent.protocol.OpResult` whose value is the new session's id), and list
the choices with :func:`rewind_points`. The new session file is made by the engine's hooks
(``sessions/fork.py``); the engine changes its session only through ``Session.fork``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from de_agent.engine.loop import Engine

from de_agent import protocol as P
from de_agent.engine.mentions import strip_attachments

NOTE_PREFIX = "[de-agent"  # notes de-agent adds as user messages (undo, compaction): not the person's


@dataclass
class RewindPoint:
    """One of the person's messages that the conversation can go back to."""

    number: int  # 1 = the first of the messages still in the history
    position: int  # its index in engine.messages
    turn: int  # the engine turn it started (checkpoints are kept per turn)
    text: str


def rewind_points(engine: Any) -> list[RewindPoint]:
    """The person's messages in the history, oldest first. Turn numbers count back from the
    engine's current turn: each turn starts with exactly one of them."""
    found = [(i, m["content"]) for i, m in enumerate(engine.messages)
             if m.get("role") == "user" and isinstance(m.get("content"), str)
             and not m["content"].startswith(NOTE_PREFIX)]
    last = engine.turn_index
    return [RewindPoint(n, position, last - (len(found) - n), strip_attachments(text))
            for n, (position, text) in enumerate(found, 1)]


async def rewind(engine: Engine, number: int, restore_files: bool = False) -> P.OpResult:
    """Go back to just before the person's message ``number``; see the module docstring."""
    if engine.busy and engine._task is not asyncio.current_task():
        return _said(engine, P.OpResult(False, "A turn is running; interrupt it before /rewind.", P.ErrorKind.BUSY))
    points = rewind_points(engine)
    point = next((p for p in points if p.number == number), None)
    if point is None:
        return _said(engine, P.OpResult(False, f"There is no message {number} to rewind to "
                                               f"(this conversation has {len(points)}).",
                                        P.ErrorKind.INVALID_ARGUMENTS))
    restored, stop = await _restore_files(engine, point.turn) if restore_files else ([], "")
    parent = engine.session_id
    kept = engine.messages[:point.position]
    child, recorder = _fork(engine, kept, point.text)
    engine.session.fork(child, recorder, kept, point.turn - 1)
    _restore_plan(engine)
    text = (f"Rewound to before your message {number} (\"{short(point.text)}\"). The conversation from "
            f"there on stays in session {parent} (/resume {parent} brings it back); this one goes on as "
            f"session {child}.")
    if restore_files:
        text += (f" Files put back: {', '.join(restored)}." if restored else " No file needed putting back.")
    if stop:
        text += f" {stop}"
    return _said(engine, P.OpResult(True, text, value=child), "warning" if stop else "info")


def _said(engine: Engine, result: P.OpResult, level: str = "") -> P.OpResult:
    engine.emit(P.Notice(result.message, level or ("info" if result.ok else "warning")))  # type: ignore[arg-type]
    return result


def short(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


async def _restore_files(engine: Engine, turn: int) -> tuple[list[str], str]:
    """Undo every checkpointed turn from ``turn`` on, newest first; (files, why it stopped)."""
    checkpoints = engine.checkpoints
    if checkpoints is None:
        return [], "Files were not put back: checkpoints are off (not a git repository)."
    restored: list[str] = []
    while True:
        turns = await asyncio.to_thread(checkpoints.turns)
        if not turns or turns[-1] < turn:
            return restored, ""
        result = await asyncio.to_thread(checkpoints.undo)
        if not result.ok:
            return restored, f"Putting files back stopped: {result.message}"
        for path in result.restored:
            engine.emit(P.Diff(path, "", "undone", "rewind"))
            if path not in restored:
                restored.append(path)


def _fork(engine: Engine, messages: list[dict[str, Any]], title: str) -> tuple[str, Any]:
    """The new session's id and recorder (the hooks write its file; without hooks, no file)."""
    if engine.hooks is not None:
        return engine.hooks.fork(engine, messages, title)
    if engine.recorder is not None:
        engine.recorder.close()  # the old file keeps the later part; nothing writes the fork
    return f"{engine.session_id}-r{engine.turn_index}", None


def _restore_plan(engine: Engine) -> None:
    """The plan as the kept history last set it (none when it never did)."""
    plan, explanation = [], ""
    for message in engine.messages:
        for call in message.get("tool_calls") or []:
            fn = call.get("function") or {}
            if fn.get("name") == "update_plan":
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    continue
                if isinstance(args, dict) and isinstance(args.get("plan"), list):
                    plan, explanation = args["plan"], str(args.get("explanation") or "")
    engine.session.state.set_plan(plan, explanation)
    engine.emit(P.PlanUpdated(plan, explanation))


def events_from_messages(messages: list[dict[str, Any]]) -> list[P.Event]:
    """What a conversation looked like, rebuilt from its messages (for a screen to show)."""
    events: list[P.Event] = []
    names: dict[str, str] = {}
    for message in messages:
        role = message.get("role")
        content = message.get("content")
        text = content if isinstance(content, str) else ""
        if role == "user" and not text.startswith(NOTE_PREFIX):
            events.append(P.UserMessage(strip_attachments(text)))
        elif role == "assistant":
            if text:
                events.append(P.AssistantMessage(text))
            for call in message.get("tool_calls") or []:
                fn = call.get("function", {})
                names[call.get("id", "")] = fn.get("name", "")
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    args = {"_raw": fn.get("arguments", "")}
                events.append(P.ToolCall(call.get("id", ""), fn.get("name", ""), args if isinstance(args, dict) else {}))
        elif role == "tool":
            call_id = message.get("tool_call_id", "")
            events.append(P.ToolResult(call_id, names.get(call_id, "tool"), True, text))
    return events
