"""Writing a session: one append-only JSONL file per session (DESIGN.md section 5).

The first line is the metadata (id, repository root, model, created, title, parent).
Then one record per line: ``{"kind": "event", "event": {...}}`` for what front ends
showed, ``{"kind": "message", "message": {...}}`` for the conversation the model sees,
``{"kind": "amend", ...}`` when the engine adds a note to a recorded tool result, and
``{"kind": "turn_end", ...}`` after each turn. Every record is flushed when written
and the file is fsynced at the end of each turn. Secrets are redacted before writing.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from de_agent import paths
from de_agent.protocol import AssistantDelta, Event

FORMAT_VERSION = 1


def new_session_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


def _redact(text: str) -> str:
    from de_agent.security.env import redact

    return redact(text)


class SessionRecorder:
    """Appends a session's records to its file; the file is created at the first turn."""

    def __init__(self, session_id: str, repo_root: Path, model: str, *,
                 directory: Path | None = None, parent: str | None = None,
                 existing_file: Path | None = None, extra_meta: dict[str, Any] | None = None):
        self.session_id = session_id
        self.repo_root = str(repo_root)
        self.model = model
        self.parent = parent
        self.directory = directory or (existing_file.parent if existing_file else paths.sessions_dir())
        self.path = existing_file or (self.directory / f"{session_id}.jsonl")
        self.extra_meta = extra_meta or {}
        self.title = ""
        self._fh: TextIO | None = None
        self.turns = 0  # turns begun in this session (a resumed session starts from its count)

    def open(self, title: str = "") -> None:
        """Open the file for appending (writing the metadata first when it is new)."""
        self._open(title)

    def _open(self, title: str) -> None:
        if self._fh is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            _mend_torn_tail(self.path)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the session
        if fresh:
            self.title = " ".join(title.split())[:80]
            meta = {"kind": "meta", "version": FORMAT_VERSION, "id": self.session_id,
                    "repo_root": self.repo_root, "model": self.model,
                    "created": datetime.now(UTC).isoformat(timespec="seconds"),
                    "title": self.title, "parent": self.parent, **self.extra_meta}
            self._write(meta)

    def _write(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            return
        line = _redact(json.dumps(record, ensure_ascii=False))
        self._fh.write(line + "\n")
        self._fh.flush()

    def begin_turn(self, text: str) -> None:
        self._open(text)
        self.turns += 1

    def record_event(self, event: Event) -> None:
        if isinstance(event, AssistantDelta):
            return  # the whole message is recorded once it is complete
        self._write({"kind": "event", "ts": round(time.time(), 3), "event": event.to_dict()})

    def record_message(self, message: dict[str, Any]) -> None:
        self._write({"kind": "message", "message": message})

    def record_amend(self, tool_call_id: str, append: str) -> None:
        """Text added to an already recorded tool result (the engine's note on a reply's edits)."""
        self._write({"kind": "amend", "tool_call_id": tool_call_id, "append": append})

    def end_turn(self, reason: str, usage: dict[str, Any]) -> None:
        self._write({"kind": "turn_end", "turn": self.turns, "reason": reason, "usage": usage})
        if self._fh is not None:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _mend_torn_tail(path: Path) -> None:
    """Before appending: drop a torn last record (a kill mid-write) or end a whole one with a newline."""
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        start = max(0, size - 1_048_576)
        while True:
            fh.seek(start)
            chunk = fh.read(size - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0 or start == 0:
                break
            start = max(0, start - 1_048_576)
        keep = start + cut + 1 if cut >= 0 else 0
        fh.seek(keep)
        tail = fh.read()
        try:
            json.loads(tail)
        except ValueError:
            fh.truncate(keep)
            return
        fh.seek(0, os.SEEK_END)
        fh.write(b"\n")
