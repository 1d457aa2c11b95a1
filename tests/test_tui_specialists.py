"""The TUI with specialists, the real engine and the local model server, driven with Textual's pilot:
a question answered in the modal, a specialist's edit approved in a modal that names it, its steps in
a nested block and its plan under its name, and the key that starts the named follow-up."""

from __future__ import annotations

import pytest

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.tui.app import DeAgentApp
from de_agent.tui.screens.approval import ApprovalScreen
from de_agent.tui.screens.question import QuestionScreen
from de_agent.tui.widgets.handoff import HandoffBlock
from tests.support.openai_server import ScriptedServer, tool_messages
from tests.support.tui import StubHost, settle, shows, wait_for

EDIT = {"file_path": "etl/load.py", "old_string": "def load(rows):\n",
        "new_string": 'def load(rows):\n    """Load rows."""\n'}
CHILD_PLAN = {"plan": [{"step": "Read load()", "status": "completed"},
                       {"step": "Add the docstring", "status": "in_progress"}]}


@pytest.fixture
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")


def app_on(server: ScriptedServer, repo) -> DeAgentApp:
    settings = Settings(model="openai/test-model", api_base=server.url, sandbox="none", max_retries=0,
                        request_timeout_s=30)
    return DeAgentApp(settings, repo, cursor_blink=False)


async def send(pilot, app: DeAgentApp, text: str) -> None:
    await wait_for(pilot, lambda: app.host.engine is not None, what="engine ready", timeout=15)
    app.prompt.value = text
    await pilot.press("enter")


async def test_question_handoff_with_approval_nested_block_and_follow_up_key(repo, api_key):
    script = [
        {"tool_calls": [{"name": "AskUser", "arguments": {
            "question": "Which function?", "options": [{"label": "count()"}, {"label": "load()"}]}}]},
        {"tool_calls": [{"name": "Handoff", "arguments": {"specialist": "analytics-engineer",
                                                           "task": "Add a docstring to load()"}}]},
        {"tool_calls": [{"name": "update_plan", "arguments": CHILD_PLAN}]},  # the specialist
        {"tool_calls": [{"name": "Edit", "arguments": EDIT}]},
        {"text": "**Found / changed** etl/load.py"},
        {"text": "Documented load().\n\nHandoff: @reviewer review the docstring in etl/load.py"},
        {"text": "**Found / changed** nothing wrong"},  # the reviewer, started with Ctrl+N
    ]
    with ScriptedServer(script) as server:
        app = app_on(server, repo)
        async with app.run_test(size=(120, 44)) as pilot:
            await send(pilot, app, "document a function")
            await wait_for(pilot, lambda: isinstance(app.screen, QuestionScreen), what="question modal")
            await shows(pilot, app, "de-agent asks", "Which function?", "1. count()", "2. load()")
            await pilot.press("2")
            await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="child's approval")
            assert app.screen.request.specialist == "analytics-engineer"
            await shows(pilot, app, "@analytics-engineer: Apply this change to etl/load.py?")
            await pilot.press("y")
            await wait_for(pilot, lambda: app.turns_finished >= 1, what="turn end", timeout=20)
            await settle(pilot)
            block = app.chat.handoff(next(iter(app.chat._handoffs)))
            assert isinstance(block, HandoffBlock) and block.specialist == "analytics-engineer"
            assert block.status == "completed"
            assert [kind for _key, kind, _text in block.steps if kind != "text"] == ["ok"]  # the Edit
            assert "Edit" in block.steps[0][2]
            assert app.plan_pane.child_plans["analytics-engineer"][1]["step"] == "Add the docstring"
            assert "@analytics-engineer" in app.plan_pane.as_text()
            await shows(pilot, app, "Next: @reviewer review the docstring in etl/load.py", "Ctrl+N")
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: app.turns_finished >= 2, what="follow-up turn", timeout=20)
            await settle(pilot)
            assert [b.specialist for b in app.chat._handoffs.values()] == ["analytics-engineer", "reviewer"]
    assert '"""Load rows."""' in (repo / "etl" / "load.py").read_text()
    assert "The person answered: load()" in tool_messages(server.requests[1])[0]["content"]
    assert server.requests[6]["messages"][1]["content"] == "Task: review the docstring in etl/load.py"


async def test_question_modal_takes_free_text_and_escape_skips():
    host = StubHost()
    app = DeAgentApp(Settings(model="openai/test-model"), repo_path(), host=host, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.status.session_id, what="session start")
        host.feed(P.Question("q1", "Which schema?", [{"label": "staging"}], specialist="reviewer",
                             handoff_id="h1"))
        await wait_for(pilot, lambda: isinstance(app.screen, QuestionScreen), what="question modal")
        await shows(pilot, app, "@reviewer asks")
        await pilot.press("tab", *"analytics", "enter")
        await wait_for(pilot, lambda: host.ops, what="answer")
        host.feed(P.Question("q2", "Drop it?", multiple=False))
        await wait_for(pilot, lambda: isinstance(app.screen, QuestionScreen), what="second question")
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(host.ops) == 2, what="skip")
    assert host.ops == [P.AnswerQuestion("q1", "analytics"), P.AnswerQuestion("q2", None)]


async def test_parallel_children_each_get_their_own_block():
    host = StubHost()
    app = DeAgentApp(Settings(model="openai/test-model"), repo_path(), host=host, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.status.session_id, what="session start")
        host.feed(P.HandoffStarted("h1", task="review A", read_only=True, specialist="reviewer"),
                  P.HandoffStarted("h2", task="review B", read_only=True, specialist="reviewer"),
                  P.ToolCall("c1", "ReadFile", {"file_path": "a.sql"}, "a.sql", specialist="reviewer",
                             handoff_id="h1"),
                  P.ToolCall("c2", "ReadFile", {"file_path": "b.sql"}, "b.sql", specialist="reviewer",
                             handoff_id="h2"),
                  P.ToolResult("c2", "ReadFile", False, "no such file", specialist="reviewer", handoff_id="h2"),
                  P.HandoffFinished("h2", stop_reason="completed", report="B is fine", specialist="reviewer"))
        await wait_for(pilot, lambda: app.chat.handoff("h2") is not None
                       and app.chat.handoff("h2").status == "completed", what="blocks")
        await settle(pilot)
        first, second = app.chat.handoff("h1"), app.chat.handoff("h2")
        assert [s[2] for s in first.steps] == ["ReadFile  a.sql"] and first.steps[0][1] == "called"
        assert second.steps[0][1] == "failed" and second.report == "B is fine" and second.collapsed
        assert first.status == "running" and not first.collapsed


def repo_path():
    from pathlib import Path

    return Path("/work/demo-repo")


async def test_resumed_session_shows_its_specialists_blocks(repo, api_key, de_agent_home):
    from de_agent.sessions.cli import resume_by_id
    from tests.support.cli import run_cli, stream_events

    script = [{"tool_calls": [{"name": "Handoff", "arguments": {"specialist": "reviewer", "task": "review load"}}]},
              {"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "etl/load.py"}}]},
              {"text": "**Found / changed** fine"}, {"text": "Reviewed."}]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "review", "--output-format", "stream-json", server=server)
    assert proc.returncode == 0, proc.stderr
    sid = stream_events(proc.stdout)[0]["session_id"]
    settings = Settings(model="openai/test-model", sandbox="none")
    app = DeAgentApp(settings, repo, resume=resume_by_id(repo, sid), cursor_blink=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.chat.handoff_count() == 1, what="replayed handoff block", timeout=15)
        await settle(pilot)
        block = next(iter(app.chat._handoffs.values()))
        assert block.specialist == "reviewer" and block.status == "completed"
        assert [kind for _k, kind, _t in block.steps if kind != "text"] == ["ok"]
        await shows(pilot, app, "Reviewed.")


async def test_ctrl_c_during_a_specialist_stops_it_cleanly(repo, api_key):
    script = [{"tool_calls": [{"name": "Handoff", "arguments": {"specialist": "reviewer", "task": "review"}}]},
              {"hang": True}, {"text": "after the interrupt"}]
    with ScriptedServer(script) as server:
        app = app_on(server, repo)
        async with app.run_test(size=(120, 36)) as pilot:
            await send(pilot, app, "review")
            await wait_for(pilot, lambda: len(server.requests) == 2, what="the specialist's request", timeout=15)
            await wait_for(pilot, lambda: app.chat.handoff_count() == 1, what="handoff block")
            await pilot.press("ctrl+c")
            await wait_for(pilot, lambda: app.turns_finished >= 1, what="turn end", timeout=20)
            await settle(pilot)
            block = next(iter(app.chat._handoffs.values()))
            assert block.status == "interrupted"
            engine = app.host.engine
            assert not engine.busy and engine.messages[-1]["role"] == "tool"
            assert "Interrupted" in engine.messages[-1]["content"]
            # The session goes on: the next turn reaches the model with a valid history.
            app.prompt.value = "go on"
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.turns_finished >= 2, what="next turn", timeout=20)
            await shows(pilot, app, "after the interrupt")


async def test_question_closes_when_the_turn_ends_unanswered():
    host = StubHost()
    app = DeAgentApp(Settings(model="openai/test-model"), repo_path(), host=host, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.status.session_id, what="session start")
        host.feed(P.Question("q1", "Which schema?"))
        await wait_for(pilot, lambda: isinstance(app.screen, QuestionScreen), what="question modal")
        host.feed(P.TurnFinished(P.StopReason.INTERRUPTED, 1))
        await wait_for(pilot, lambda: not isinstance(app.screen, QuestionScreen), what="modal closed")
        await settle(pilot)
    assert host.ops == []  # nothing is answered for a turn that is over
