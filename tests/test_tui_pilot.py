"""The real TUI and engine against the local OpenAI-compatible server, driven with Textual's pilot.

Given a repository and a scripted model, when the person types a task and answers the
approvals, then these files, panes and requests to the model.
"""

from __future__ import annotations

import pytest

from de_agent.config import Settings
from de_agent.tools import BUILTIN
from de_agent.tui.app import DeAgentApp
from de_agent.tui.screens.approval import ApprovalScreen
from de_agent.tui.widgets.chat import NoticeEntry
from tests.support.openai_server import ScriptedServer, tool_messages
from tests.support.tui import screen_text, settle, shows, wait_for

PLAN = {"plan": [{"step": "Read the loader", "status": "completed"},
                 {"step": "Fix the filter", "status": "in_progress"},
                 {"step": "Run the tests", "status": "pending"}],
        "explanation": "A small fix"}
TOOLS = {class_name for _, class_name in BUILTIN}


@pytest.fixture
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")


def settings_for(server: ScriptedServer | None, **extra) -> Settings:
    return Settings(model="openai/test-model", api_base=server.url if server else None, sandbox="none",
                    max_retries=0, request_timeout_s=10, **extra)


def errors(app) -> list[str]:
    return [w.text for w in app.chat.entries if isinstance(w, NoticeEntry) and w.level == "error"]


async def run_task(pilot, app, text: str) -> None:
    await wait_for(pilot, lambda: app.host.engine is not None, what="engine ready", timeout=15)
    app.expected_turns = app.turns_finished + 1
    app.prompt.value = text
    await pilot.press("enter")


async def turn_done(pilot, app, timeout: float = 20) -> None:
    await wait_for(pilot, lambda: app.turns_finished >= app.expected_turns, what="turn end", timeout=timeout)
    assert not app.status.busy
    await settle(pilot)


async def test_task_streams_the_answer_and_fills_the_plan_pane(repo, api_key):
    script = [{"text": "Planning first.", "tool_calls": [{"name": "update_plan", "arguments": PLAN}]},
              {"text": "All **done**: the filter is fixed."}]
    with ScriptedServer(script) as server:
        app = DeAgentApp(settings_for(server), repo, cursor_blink=False)
        async with app.run_test(size=(120, 36)) as pilot:
            await run_task(pilot, app, "fix the loader")
            await turn_done(pilot, app)
            await shows(pilot, app, "fix the loader", "Planning first.", "All done: the filter is fixed.",
                        "✓ update_plan 3 steps", "✓ Read the loader", "▶ Fix the filter", "A small fix",
                        "cost unknown", f"{(11 + 7) * 2} tok")
            assert app.status.session_id == app.host.engine.session_id
    assert len(server.requests) == 2
    assert server.requests[0]["messages"][-1] == {"role": "user", "content": "fix the loader"}
    assert [m["content"] for m in tool_messages(server.requests[1])] == ["Plan updated (1/3 steps completed)."]


@pytest.mark.skipif(not {"Edit", "Shell"} <= TOOLS, reason="the Edit and Shell tools are not registered yet")
async def test_approve_the_edit_and_deny_the_command_with_a_note(repo, api_key):
    edit = {"file_path": "etl/load.py", "old_string": "return list(rows)",
            "new_string": "return [r for r in rows if r]"}
    command = {"command": "python -c \"open('ran.txt', 'w').write('x')\""}
    script = [{"tool_calls": [{"name": "Edit", "arguments": edit}, {"name": "Shell", "arguments": command}]},
              {"text": "Edited the loader; I did not run the command."}]
    with ScriptedServer(script) as server:
        app = DeAgentApp(settings_for(server), repo, cursor_blink=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await run_task(pilot, app, "filter empty rows, then run the script")
            await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="edit approval")
            await shows(pilot, app, "Apply this change to etl/load.py?", "+    return [r for r in rows if r]")
            await pilot.press("y")
            await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen)
                           and app.screen.request.name == "Shell", what="command approval")
            await shows(pilot, app, "Run this command?", "open('ran.txt'", f"in {repo}")
            await pilot.press("f", *"not now", "enter")
            await turn_done(pilot, app)
            # "applied": the diff pane shows the applied change
            await shows(pilot, app, "✓ Edit etl/load.py", "⊘ Shell", "applied", "Edited the loader")
    assert (repo / "etl" / "load.py").read_text() == "def load(rows):\n    return [r for r in rows if r]\n"
    assert not (repo / "ran.txt").exists()
    told = [m["content"] for m in tool_messages(server.requests[1])]
    assert len(told) == 2
    assert "denied" not in told[0].lower()
    assert "The user denied this Shell call. The user said: not now" in told[1]


@pytest.mark.skipif("Edit" not in TOOLS, reason="the Edit tool is not registered yet")
async def test_only_the_accepted_hunk_is_applied_and_the_model_is_told(repo, api_key):
    body = "".join(f"line {i}\n" for i in range(1, 31))
    (repo / "etl" / "rows.txt").write_text(body)
    new = body.replace("line 2\n", "line two\n").replace("line 28\n", "line twenty-eight\n")
    edit = {"file_path": "etl/rows.txt", "old_string": body, "new_string": new}
    with ScriptedServer([{"tool_calls": [{"name": "Edit", "arguments": edit}]}, {"text": "ok"}]) as server:
        app = DeAgentApp(settings_for(server), repo, cursor_blink=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await run_task(pilot, app, "spell out two numbers")
            await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="edit approval")
            await settle(pilot)
            assert len(app.screen.hunks) == 2
            await pilot.press("down", "space", "y")  # keep hunk 0, skip hunk 1
            await turn_done(pilot, app)
    text = (repo / "etl" / "rows.txt").read_text()
    assert "line two\n" in text and "line 28\n" in text and "twenty-eight" not in text
    told = tool_messages(server.requests[1])[0]["content"]
    assert "1 of 2 hunks applied" in told and "NOT applied (rejected by the user): #2" in told


async def test_missing_api_key_is_a_message_in_the_chat(repo, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    app = DeAgentApp(settings_for(None), repo, cursor_blink=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: errors(app), what="configuration error", timeout=30)
        assert "OPENAI_API_KEY" in errors(app)[0]
        await shows(pilot, app, "OPENAI_API_KEY")
        assert app.is_running


async def test_unreachable_endpoint_is_a_message_and_the_app_goes_on(repo, api_key):
    with ScriptedServer([]) as server:
        dead = server.url
    app = DeAgentApp(Settings(model="openai/test-model", api_base=dead, sandbox="none", max_retries=0,
                              request_timeout_s=5), repo, cursor_blink=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await run_task(pilot, app, "hello")
        await turn_done(pilot, app, timeout=30)
        assert errors(app), "the failed request should be reported in the chat"
        assert "Traceback" not in screen_text(app)
        assert app.is_running and not app.status.busy


async def test_ctrl_c_stops_a_hanging_turn_and_the_session_goes_on(repo, api_key):
    script = [{"text": "Thinking about it", "hang": True}, {"text": "Second answer."}]
    with ScriptedServer(script, chunk=50) as server:
        app = DeAgentApp(settings_for(server), repo, cursor_blink=False)
        async with app.run_test(size=(120, 36)) as pilot:
            await run_task(pilot, app, "take your time")
            await wait_for(pilot, lambda: "Thinking about it" in screen_text(app), what="streamed text")
            await pilot.press("ctrl+c")
            await turn_done(pilot, app)
            await shows(pilot, app, "Turn interrupted")
            assert app.is_running
            await run_task(pilot, app, "go on")
            await turn_done(pilot, app)
            await shows(pilot, app, "Second answer.")
    last = server.requests[-1]["messages"]
    assert [m["content"] for m in last if m["role"] == "user"] == ["take your time", "go on"]
