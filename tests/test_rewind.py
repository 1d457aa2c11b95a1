"""Undo and rewind in the engine: what the front ends are told, and what the session keeps."""

from __future__ import annotations

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.engine.factory import build_engine
from de_agent.sessions.resume import resume_file
from tests.support.fake_llm import FakeLLM

EDIT = {"file_path": "etl/load.py", "old_string": "return list(rows)", "new_string": "return [r for r in rows if r]"}


def engine_for(repo, script, events: list, **kw):
    settings = Settings(approval_mode="auto-edit", sandbox="none")
    return build_engine(settings, repo, events.append, headless=True, llm=FakeLLM(script), **kw).engine


async def test_undo_marks_the_change_undone_in_the_events_and_the_session_file(repo):
    events: list[P.Event] = []
    engine = engine_for(repo, [{"tool_calls": [{"name": "Edit", "arguments": EDIT}]}, {"text": "filtered"}], events)
    await engine.start_turn("filter empty rows")
    message = await engine.undo()
    assert "To redo: git restore --source=" in message and message.endswith("-- etl/load.py.")
    diffs = [(e.file_path, e.stage) for e in events if isinstance(e, P.Diff)]
    assert diffs[-1] == ("etl/load.py", "undone") and ("etl/load.py", "applied") in diffs
    engine.recorder.close()
    replayed = [(e.file_path, e.stage) for e in resume_file(engine.recorder.path).events if isinstance(e, P.Diff)]
    assert replayed[-1] == ("etl/load.py", "undone")  # a resumed session shows it undone, not applied
