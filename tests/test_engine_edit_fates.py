"""Several edits in one reply: the ones that match apply, and the model is told not to resend them."""

from __future__ import annotations

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.engine.loop import Engine
from de_agent.engine.policy import Policy
from de_agent.sessions.reader import load_session
from de_agent.sessions.store import SessionRecorder
from de_agent.tools import load_tools
from de_agent.tools.base import ToolContext
from de_agent.workspace import Workspace
from tests.support.fake_llm import FakeLLM


async def test_partly_applied_reply_names_the_applied_edits_and_is_saved(repo, de_agent_home):
    (repo / "etl" / "clean.py").write_text("def clean(x):\n    return x\n")
    script = [
        {"tool_calls": [
            {"name": "Edit", "arguments": {"file_path": "etl/load.py", "old_string": "return list(rows)",
                                           "new_string": "return [r for r in rows if r]"}},
            {"name": "Edit", "arguments": {"file_path": "etl/clean.py", "old_string": "return y",
                                           "new_string": "return x.strip()"}}]},
        {"text": "ok"},
    ]
    events: list[P.Event] = []
    recorder = SessionRecorder("s-fates", repo, "fake/model")
    engine = Engine(llm=FakeLLM(script), tools=load_tools(),
                    ctx=ToolContext(workspace=Workspace(repo), settings=Settings(sandbox="none")),
                    policy=Policy("auto-edit", repo, P.Approvals.NOBODY), sink=events.append, session_id="s-fates",
                    recorder=recorder)
    await engine.run_turn("filter empty rows and strip")
    recorder.close()

    assert "[r for r in rows if r]" in (repo / "etl" / "load.py").read_text()
    assert (repo / "etl" / "clean.py").read_text() == "def clean(x):\n    return x\n"
    results = [m for m in engine.messages if m["role"] == "tool"]
    assert results[0]["content"] and "these applied" not in results[0]["content"]
    assert "Of the 2 edits in your last reply, these applied: Edit etl/load.py" in results[1]["content"]
    assert "Do not resend them" in results[1]["content"]
    # the session file holds what the model saw
    loaded = load_session(recorder.path)
    assert [m for m in loaded.messages if m["role"] == "tool"] == results
