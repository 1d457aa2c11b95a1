"""/rewind and Esc Esc in the TUI with the real engine (scripted in-process model) in a real
git repository: pick an earlier message, get the conversation (and the files) back to it."""

from __future__ import annotations

from de_agent.config import Settings
from de_agent.tui import keys as keys_module
from de_agent.tui.app import DeAgentApp
from de_agent.tui.host import EngineHost
from de_agent.tui.screens.rewind import RewindPicker
from de_agent.tui.widgets.chat import UserEntry
from tests.support.fake_llm import FakeLLM
from tests.support.tui import screen_text, settle, wait_for

EDIT = {"file_path": "etl/load.py", "old_string": "return list(rows)", "new_string": "return [r for r in rows if r]"}


def make(repo):
    llm = FakeLLM([{"tool_calls": [{"name": "Edit", "arguments": EDIT}]}, {"text": "Filtered the rows."},
                   {"text": "It drops empty rows."}])
    settings = Settings(model="openai/test-model", sandbox="none", approval_mode="auto-edit")
    host = EngineHost(settings, repo, llm=llm, check_config=False)
    return DeAgentApp(settings, repo, host=host, cursor_blink=False), host


async def send(pilot, app, text: str) -> None:
    await wait_for(pilot, lambda: app.host.engine is not None, what="engine", timeout=15)
    done = app.turns_finished + 1
    app.prompt.value = text
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.turns_finished >= done, what="turn end", timeout=15)
    await settle(pilot)


async def test_esc_esc_rewinds_to_an_earlier_message_and_puts_the_files_back(repo, monkeypatch):
    monkeypatch.setattr(keys_module, "DOUBLE_ESCAPE_S", 60.0)  # a loaded test machine presses slowly
    original = (repo / "etl" / "load.py").read_text()
    app, host = make(repo)
    async with app.run_test(size=(120, 36)) as pilot:
        await send(pilot, app, "filter empty rows")
        await send(pilot, app, "what did you change?")
        assert "if r]" in (repo / "etl" / "load.py").read_text()
        old_session = app.status.session_id
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RewindPicker), what="the rewind picker")
        text = screen_text(app)
        assert "what did you change?" in text and "filter empty rows" in text
        assert "files changed since" in text
        await pilot.press("down")  # the newest is first: go to "filter empty rows"
        await pilot.press("f")
        await wait_for(pilot, lambda: app.prompt.value == "filter empty rows", what="the message back in the prompt")
        await settle(pilot)
        assert (repo / "etl" / "load.py").read_text() == original
        assert [w.text for w in app.chat.entries if isinstance(w, UserEntry)] == []
        assert app.status.session_id != old_session and app.host.controller.session_id == app.status.session_id
        assert f"stays in session {old_session}" in screen_text(app)
        assert host.engine.messages == []


async def test_rewind_n_keeps_the_files_and_an_unknown_number_is_refused(repo):
    app, host = make(repo)
    async with app.run_test(size=(120, 36)) as pilot:
        await send(pilot, app, "filter empty rows")
        await send(pilot, app, "what did you change?")
        app.prompt.value = "/rewind 7"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "There is no message 7" in screen_text(app), what="refusal")
        app.prompt.value = "/rewind 2"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.prompt.value == "what did you change?", what="rewound")
        await settle(pilot)
        assert [w.text for w in app.chat.entries if isinstance(w, UserEntry)] == ["filter empty rows"]
        assert "if r]" in (repo / "etl" / "load.py").read_text()  # files untouched without f
