"""Slash commands on the real engine: /clear and /resume, /undo and /diff, /compact, /sessions, /memory."""

from __future__ import annotations

import pytest

from de_agent.config import Settings
from de_agent.sessions.cli import resume_by_id
from de_agent.tui.app import DeAgentApp
from de_agent.tui.screens.approval import ApprovalScreen
from de_agent.tui.screens.sessions import SessionPicker
from de_agent.tui.widgets.chat import NoticeEntry
from tests.support.openai_server import ScriptedServer
from tests.support.tui import screen_text, settle, shows, wait_for


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")


def app_for(server, repo, **kwargs) -> DeAgentApp:
    settings = Settings(model="openai/test-model", api_base=server.url, sandbox="none", max_retries=0,
                        request_timeout_s=10)
    return DeAgentApp(settings, repo, cursor_blink=False, **kwargs)


def notices(app) -> list[str]:
    return [w.text for w in app.chat.entries if isinstance(w, NoticeEntry)]


async def type_line(pilot, app, line: str) -> None:
    await wait_for(pilot, lambda: app.host.engine is not None and not app.slash.running, what="idle app",
                   timeout=15)
    app.prompt.value = line
    await pilot.press("enter")


async def run_turn(pilot, app, text: str) -> None:
    before = app.turns_finished
    await type_line(pilot, app, text)
    await wait_for(pilot, lambda: app.turns_finished > before, what="turn end", timeout=20)
    await settle(pilot)


async def test_clear_then_resume_brings_the_conversation_back(repo):
    with ScriptedServer([{"text": "First answer."}, {"text": "Second answer."}]) as server:
        app = app_for(server, repo)
        async with app.run_test(size=(120, 36)) as pilot:
            await run_turn(pilot, app, "first task")
            first_id = app.status.session_id
            await type_line(pilot, app, "/clear")
            await wait_for(pilot, lambda: app.status.session_id not in ("", first_id), what="new session")
            await settle(pilot)
            assert "First answer." not in screen_text(app)
            assert any(first_id in n for n in notices(app))
            await type_line(pilot, app, "/resume")
            await wait_for(pilot, lambda: isinstance(app.screen, SessionPicker), what="session picker")
            await settle(pilot)
            await shows(pilot, app, first_id, "first task")
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.status.session_id == first_id, what="resumed session")
            await settle(pilot)
            text = screen_text(app)
            assert "first task" in text and "First answer." in text and f"Resumed session {first_id}" in text
            await run_turn(pilot, app, "second task")
    contents = [m.get("content") for m in server.requests[-1]["messages"]]
    assert "first task" in contents and "First answer." in contents and "second task" in contents


async def test_resume_given_at_start_replays_the_session(repo):
    with ScriptedServer([{"text": "Kept answer."}]) as server:
        app = app_for(server, repo)
        async with app.run_test(size=(120, 36)) as pilot:
            await run_turn(pilot, app, "remember me")
            session_id = app.status.session_id
        resumed = DeAgentApp(app.settings, repo, resume=resume_by_id(repo, session_id[:12]), cursor_blink=False)
        async with resumed.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: resumed.status.session_id == session_id, what="resumed")
            await settle(pilot)
            assert "remember me" in screen_text(resumed) and "Kept answer." in screen_text(resumed)


async def test_pick_session_at_start_opens_the_picker(repo):
    with ScriptedServer([{"text": "Old answer."}]) as server:
        app = app_for(server, repo)
        async with app.run_test(size=(120, 36)) as pilot:
            await run_turn(pilot, app, "old request")
            old = app.status.session_id
        picking = app_for(server, repo, pick_session=True)
        async with picking.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: isinstance(picking.screen, SessionPicker), what="picker at start")
            await pilot.press("enter")
            await wait_for(pilot, lambda: picking.status.session_id == old, what="resumed")
            await settle(pilot)
            assert "Old answer." in screen_text(picking)


async def test_undo_and_diff_after_an_approved_edit(repo):
    edit = {"file_path": "etl/load.py", "old_string": "return list(rows)", "new_string": "return rows"}
    with ScriptedServer([{"tool_calls": [{"name": "Edit", "arguments": edit}]}, {"text": "Edited."}]) as server:
        app = app_for(server, repo)
        async with app.run_test(size=(120, 40)) as pilot:
            before = app.turns_finished
            await type_line(pilot, app, "simplify load")
            await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="approval")
            await pilot.press("y")
            await wait_for(pilot, lambda: app.turns_finished > before, what="turn end", timeout=20)
            assert "return rows" in (repo / "etl" / "load.py").read_text()
            await type_line(pilot, app, "/diff")
            await wait_for(pilot, lambda: "session" in app.diff_pane.as_text() or app.diff_pane.change.call_id
                           == "session", what="session diff")
            await settle(pilot)
            await shows(pilot, app, "+    return rows", "etl/load.py  session")
            await type_line(pilot, app, "/undo")
            await wait_for(pilot, lambda: any(n.startswith("Undid turn 1") for n in notices(app)), what="undo")
    assert (repo / "etl" / "load.py").read_text() == "def load(rows):\n    return list(rows)\n"


async def test_compact_continues_in_a_new_session(repo):
    script = [{"text": "Answer one."}, {"text": "Summary: the person asked one thing."}]
    with ScriptedServer(script) as server:
        app = app_for(server, repo)
        async with app.run_test(size=(120, 36)) as pilot:
            await run_turn(pilot, app, "one thing")
            old = app.status.session_id
            await type_line(pilot, app, "/compact keep it short")
            await wait_for(pilot, lambda: app.status.session_id != old, what="compacted", timeout=20)
            assert any("Context compacted" in n for n in notices(app))
            assert app.host.engine.session_id == app.status.session_id
    asked = server.requests[1]["messages"][-1]["content"]
    assert "keep it short" in asked


async def test_sessions_and_memory_commands(repo):
    with ScriptedServer([{"text": "ok"}]) as server:
        app = app_for(server, repo)
        async with app.run_test(size=(120, 36)) as pilot:
            await run_turn(pilot, app, "list me")
            await type_line(pilot, app, "/sessions")
            await wait_for(pilot, lambda: any(app.status.session_id in n for n in notices(app)), what="list")
            await type_line(pilot, app, "/memory")
            await wait_for(pilot, lambda: any("This repository" in n for n in notices(app)), what="memory")
            await type_line(pilot, app, "/model openai/other-model")
            await wait_for(pilot, lambda: app.status.model == "openai/other-model", what="model switch")
            assert app.host.engine.llm.model == "openai/other-model"
            await run_turn(pilot, app, "which model?")
    assert server.requests[-1]["model"] in ("other-model", "openai/other-model")
