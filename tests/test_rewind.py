"""Undo and rewind in the engine: what the front ends are told, and what the session keeps."""

from __future__ import annotations

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.engine.rewind import rewind_points
from de_agent.frontends.factory import build_engine
from de_agent.sessions.resume import resume_file
from tests.support.fake_llm import FakeLLM

EDIT = {"file_path": "etl/load.py", "old_string": "return list(rows)", "new_string": "return [r for r in rows if r]"}


def engine_for(repo, script, events: list, **kw):
    settings = Settings(approval_mode="auto-edit", sandbox="none")
    return build_engine(settings, repo, events.append, approvals=P.Approvals.NOBODY, llm=FakeLLM(script), **kw).engine


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


def turn_script() -> list:
    second = {"file_path": "etl/load.py", "old_string": "def load(rows):", "new_string": "def load(rows, strict=False):"}
    return [{"tool_calls": [{"name": "Edit", "arguments": EDIT}]}, {"text": "filtered"},
            {"tool_calls": [{"name": "Edit", "arguments": second}]}, {"text": "made it strict"},
            {"text": "third answer"}]


async def three_turns(repo, events):
    engine = engine_for(repo, turn_script(), events)
    for text in ("filter empty rows", "add a strict flag", "explain it"):
        await engine.start_turn(text)
    return engine


async def test_rewind_forks_the_session_and_keeps_the_later_part(repo):
    events: list[P.Event] = []
    engine = await three_turns(repo, events)
    old_id, old_path = engine.session_id, engine.recorder.path
    assert [p.text for p in rewind_points(engine)] == ["filter empty rows", "add a strict flag", "explain it"]
    result = await engine.submit(P.Rewind(2))
    assert isinstance(result, P.OpResult) and result.ok and result.code is None
    assert engine.session_id == result.value != old_id  # the op's answer is the new session's id
    assert [m["content"] for m in engine.messages if m["role"] == "user"] == ["filter empty rows"]
    assert "strict=False" in (repo / "etl" / "load.py").read_text()  # files left alone unless asked
    notice = [e.message for e in events if isinstance(e, P.Notice)][-1]
    assert f"stays in session {old_id}" in notice and result.value in notice
    assert '"add a strict flag"' in notice
    # the later part stays in the old session, whole; the fork holds the kept part and resumes
    assert "explain it" in old_path.read_text()
    engine.recorder.close()
    fork = resume_file(engine.recorder.path)
    assert fork.loaded.meta["parent"] == old_id
    assert [m["content"] for m in fork.loaded.messages if m["role"] == "user"] == ["filter empty rows"]
    assert [e.text for e in fork.events if isinstance(e, P.UserMessage)] == ["filter empty rows"]
    # the next turn goes on from the kept history
    engine.llm.script = [{"text": "again"}]
    await engine.start_turn("add a lenient flag")
    sent = [m["content"] for m in engine.llm.calls[-1] if m["role"] == "user"]
    assert sent == ["filter empty rows", "add a lenient flag"]


async def test_rewind_with_files_puts_back_what_changed_since(repo):
    events: list[P.Event] = []
    original = (repo / "etl" / "load.py").read_text()
    engine = await three_turns(repo, events)
    result = await engine.submit(P.Rewind(2, restore_files=True))
    assert result.ok and "Files put back: etl/load.py." in result.message
    text = (repo / "etl" / "load.py").read_text()
    assert "if r]" in text and "strict" not in text  # turn 1 kept, turn 2 put back
    assert ("etl/load.py", "undone") in [(e.file_path, e.stage) for e in events if isinstance(e, P.Diff)]
    result = await engine.submit(P.Rewind(1, restore_files=True))
    assert result.ok and (repo / "etl" / "load.py").read_text() == original
    assert engine.messages == []


async def test_rewind_to_a_message_that_does_not_exist_says_so(repo):
    events: list[P.Event] = []
    engine = engine_for(repo, [{"text": "hi"}], events)
    await engine.start_turn("hello")
    session = engine.session_id
    result = await engine.submit(P.Rewind(5))
    assert not result.ok and "There is no message 5" in result.message and engine.session_id == session
    assert result.code == P.ErrorKind.INVALID_ARGUMENTS
