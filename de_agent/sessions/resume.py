"""Resuming a session: restore its conversation, usage, plan and turn count into an engine.

The engine keeps appending to the same file. A session killed in the middle of a turn is
closed cleanly here: each tool call left without a result gets an "interrupted" result
(recorded, so the provider accepts the history), the unfinished turn gets its end record,
and the person is told what was in flight.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from de_agent import protocol as P
from de_agent.sessions.reader import INTERRUPTED_RESULT, LoadedSession, load_session
from de_agent.sessions.store import SessionRecorder


@dataclass
class Resume:
    """A callable ``resume(engine)`` that restores one session; front ends replay ``events``."""

    loaded: LoadedSession

    @property
    def session_id(self) -> str:
        return self.loaded.id

    @property
    def path(self) -> Path:
        return self.loaded.path

    @property
    def events(self) -> list[P.Event]:
        """The session's history as events (chat, plan, diffs), for the panes to replay."""
        return self.loaded.display_events()

    def __call__(self, engine: Any) -> None:
        restore(engine, self.loaded)


def resume_file(path: Path) -> Resume:
    return Resume(load_session(path))


def restore(engine: Any, loaded: LoadedSession) -> None:
    """Make ``engine`` continue ``loaded``: same id, same file, same conversation."""
    from de_agent.engine.loop import SessionUsage

    engine.session_id = loaded.id
    if engine.recorder is not None:
        engine.recorder.close()
        recorder = SessionRecorder(loaded.id, engine.ctx.workspace.root,
                                   str(loaded.meta.get("model") or ""), existing_file=loaded.path,
                                   parent=loaded.meta.get("parent"))
        recorder.title = loaded.title
        recorder.turns = loaded.turns
        recorder.open()
        engine.recorder = recorder
    engine.messages = list(loaded.messages)
    cost = loaded.usage.get("cost")
    engine.usage = SessionUsage(int(loaded.usage.get("prompt_tokens") or 0),
                                int(loaded.usage.get("completion_tokens") or 0),
                                float(cost) if cost is not None else 0.0, cost_known=cost is not None)
    engine.turn_index = loaded.turns
    if loaded.plan:
        engine.ctx.state["plan"] = [dict(step) for step in loaded.plan]
        engine.ctx.state["plan_explanation"] = loaded.plan_explanation
    if loaded.changed_files:
        engine.ctx.state["changed_files"] = list(loaded.changed_files)
    _reattach_checkpoints(engine, loaded)

    for warning in loaded.warnings:
        engine.emit(P.Notice(warning, "warning"))
    for call in loaded.dangling:
        engine.emit(P.ToolResult(call.call_id, call.name, False, INTERRUPTED_RESULT))
        engine.add_message({"role": "tool", "tool_call_id": call.call_id, "content": INTERRUPTED_RESULT})
    if loaded.open_turn is not None:
        engine.emit(P.Notice(interrupted_notice(loaded), "warning"))
        engine.emit(P.TurnFinished("interrupted", 0))
        if engine.recorder is not None:
            engine.recorder.end_turn("interrupted", engine.usage.as_dict())


def _reattach_checkpoints(engine: Any, loaded: LoadedSession) -> None:
    """A compacted session's checkpoints live under its first ancestor's id: use that one."""
    owner = loaded.meta.get("checkpoints")
    current = engine.checkpoints
    if not owner or current is None or current.session_id == owner:
        return
    from de_agent.gitops.checkpoints import Checkpoints

    checkpoints = Checkpoints(current.root, str(owner))
    if checkpoints.available:
        engine.checkpoints = checkpoints


def interrupted_notice(loaded: LoadedSession) -> str:
    """What was in flight when the session stopped, in one paragraph for the person."""
    request = " ".join((loaded.open_turn or "").split())
    if len(request) > 120:
        request = request[:117] + "..."
    head = f"Session {loaded.id} stopped in the middle of a turn (\"{request}\")."
    if loaded.dangling:
        calls = "; ".join(f"{c.name} {_short_args(c.arguments)}".rstrip() for c in loaded.dangling)
        return (f"{head} These tool calls were running or waiting and were closed as interrupted: "
                f"{calls}. Check their effects before running them again.")
    last = loaded.messages[-1]["role"] if loaded.messages else ""
    if last == "user":
        return f"{head} The model was still answering; its unfinished reply was not saved. Ask again to go on."
    return f"{head} Everything up to the stop was saved. Ask again to go on."


def _short_args(raw: str) -> str:
    try:
        args = json.loads(raw or "{}")
    except ValueError:
        return raw[:80]
    if isinstance(args, dict):
        for key in ("command", "file_path", "query", "url", "pattern", "sql"):
            if isinstance(args.get(key), str):
                text = args[key]
                return f"`{text[:80]}{'...' if len(text) > 80 else ''}`"
    text = json.dumps(args, ensure_ascii=False)
    return text[:80] + ("..." if len(text) > 80 else "")
