"""A rewound session's file: a new session holding the history up to an earlier message.

The engine's Rewind op calls this through its hooks (``ContextBudget.fork``): the old file
gets a closing note and stays resumable; the new one (``parent`` = the old id) holds the
kept messages and the display events rebuilt from them, so resuming it shows the same
conversation.
"""

from __future__ import annotations

from typing import Any

from de_agent import protocol as P
from de_agent.engine.rewind import events_from_messages, short
from de_agent.sessions.store import SessionRecorder, new_session_id


def fork_session(engine: Any, messages: list[dict[str, Any]], title: str) -> tuple[str, SessionRecorder | None]:
    """(new session id, its recorder or None when the session is not recorded or the file fails)."""
    parent = engine.session_id
    child = new_session_id()
    while child == parent:
        child = new_session_id()
    old = engine.recorder
    if old is None:
        return child, None
    old.record_event(P.Notice(f"Rewound: the conversation went on as session {child}, from before "
                              f"\"{short(title)}\"."))
    old.close()
    owner = str(getattr(engine.checkpoints, "session_id", "") or parent)
    new = SessionRecorder(child, engine.ctx.workspace.root, old.model, directory=old.directory,
                          parent=parent, extra_meta={"checkpoints": owner, "rewound_from": parent})
    try:
        new.open(old.title or title)
        for message in messages:
            new.record_message(message)
        events = events_from_messages(messages)
        for event in events:
            new.record_event(event)
        new.turns = sum(isinstance(e, P.UserMessage) for e in events)
    except OSError as exc:
        engine.sink(P.Notice(f"The rewound session's file cannot be written ({exc}); the conversation "
                             "goes on but is no longer saved.", "warning"))
        return child, None
    return child, new
