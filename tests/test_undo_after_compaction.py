"""/undo still reaches turns from before a compaction after the compacted session is resumed."""

from __future__ import annotations

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.frontends.factory import build_engine
from de_agent.sessions.compact import compact
from de_agent.sessions.resume import resume_file
from tests.support.fake_llm import FakeLLM

EDIT = {"file_path": "etl/load.py", "old_string": "return list(rows)", "new_string": "return [r for r in rows if r]"}


async def test_undo_after_compaction_and_restart(repo, de_agent_home):
    original = (repo / "etl" / "load.py").read_text()
    settings = Settings(approval_mode="auto-edit", sandbox="none")
    llm = FakeLLM([{"tool_calls": [{"name": "Edit", "arguments": EDIT}]}, {"text": "filtered"},
                   {"text": "summary of the work"}])
    first = build_engine(settings, repo, lambda e: None, approvals=P.Approvals.NOBODY, llm=llm).engine
    parent_id = first.session_id
    await first.run_turn("filter empty rows")
    assert "if r]" in (repo / "etl" / "load.py").read_text()
    assert await compact(first)
    child_id = first.session_id
    assert child_id != parent_id and first.checkpoints.session_id == parent_id
    first.recorder.close()

    # a new process: the compacted child is resumed
    resume = resume_file(first.recorder.path)
    second = build_engine(settings, repo, lambda e: None, approvals=P.Approvals.NOBODY, llm=FakeLLM([]),
                          session_id=resume.session_id).engine
    assert second.checkpoints.session_id == child_id
    resume(second)
    assert second.checkpoints.session_id == parent_id
    message = await second.undo()
    assert "restored etl/load.py" in message
    assert (repo / "etl" / "load.py").read_text() == original
