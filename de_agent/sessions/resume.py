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
from de_agent.engine.session import DanglingCall, Snapshot
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
    def events(self) -> list[P.Event]:
        """The session's history as events (chat, plan, diffs), for the panes to replay."""
        return self.loaded.display_events()

    def snapshot(self, repo_root: Path) -> Snapshot:
        return snapshot(self.loaded, repo_root)

    def __call__(self, engine: Any) -> P.OpResult:
        """Restore the session into ``engine`` (through the RestoreSession op)."""
        return engine.apply(P.RestoreSession(self.snapshot(engine.ctx.workspace.root)))


def resume_file(path: Path) -> Resume:
    return Resume(load_session(path))


def snapshot(loaded: LoadedSession, repo_root: Path) -> Snapshot:
    """What the engine needs to continue ``loaded``: same id, same file, same conversation."""

    def open_recorder() -> SessionRecorder:
        recorder = SessionRecorder(loaded.id, repo_root, str(loaded.meta.get("model") or ""),
                                   existing_file=loaded.path, parent=loaded.meta.get("parent"))
        recorder.title = loaded.title
        recorder.turns = loaded.turns
        recorder.open()
        return recorder

    return Snapshot(
        session_id=loaded.id, messages=list(loaded.messages), usage=dict(loaded.usage), turns=loaded.turns,
        plan=[dict(step) for step in loaded.plan or []], plan_explanation=loaded.plan_explanation or "",
        changed_files=list(loaded.changed_files or []), warnings=list(loaded.warnings),
        dangling=[DanglingCall(c.call_id, c.name) for c in loaded.dangling],
        interrupted_notice=interrupted_notice(loaded) if loaded.open_turn is not None else "",
        interrupted_result=INTERRUPTED_RESULT, open_recorder=open_recorder,
        reattach_checkpoints=_checkpoints_of(str(loaded.meta.get("checkpoints") or "")))


def _checkpoints_of(owner: str) -> Any:
    """A compacted session's checkpoints live under its first ancestor's id: use that one."""
    if not owner:
        return None

    def reattach(current: Any) -> Any:
        if current.session_id == owner:
            return None
        from de_agent.gitops.checkpoints import Checkpoints

        checkpoints = Checkpoints(current.root, owner)
        return checkpoints if checkpoints.available else None

    return reattach


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
