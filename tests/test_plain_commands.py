"""Plain REPL slash commands and completion, driven through a prompt_toolkit pipe."""

from __future__ import annotations

import asyncio
import os
import stat

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from de_agent.frontends.plain_input import SlashCompleter
from de_agent.gitops.checkpoints import Checkpoints
from de_agent.tools.edit import WriteFile
from de_agent.tools.plan import UpdatePlan
from tests.support.fake_llm import FakeLLM
from tests.support.plain_driver import PlainDriver


def complete(text: str) -> list[str]:
    return [c.text for c in SlashCompleter().get_completions(Document(text), CompleteEvent())]


async def until(condition, timeout: float = 3.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_completer_offers_slash_commands_for_the_first_word_only():
    assert complete("/co") == ["/compact", "/copy", "/commands"]
    assert complete("/")[:3] == ["/help", "/mode", "/model"]
    assert complete("/mode pl") == []
    assert complete("hello /co") == []


async def test_tab_completes_a_command_in_the_prompt(tmp_path):
    async with PlainDriver(tmp_path, FakeLLM([]), []) as d:
        buffer = d.repl.session.default_buffer
        d.send("/the")
        await until(lambda: buffer.complete_state is not None)  # the menu opens while typing
        d.send("\t")
        await until(lambda: buffer.text == "/theme")
        d.send("\r")
        await d.expect("Themes apply to the full-screen app")


async def test_help_unknown_and_quit(tmp_path):
    async with PlainDriver(tmp_path, FakeLLM([]), []) as d:
        d.send("/help\r")
        shown = await d.expect(r"Approvals: y once")
        assert "/undo" in shown and "/compact [INSTRUCTIONS]" in shown and "Ctrl+C" in shown
        d.send("/frobnicate now\r")
        await d.expect(r"Unknown command /frobnicate\. Type /help for the list\.")
        d.send("/mod\r")
        await d.expect(r"Unknown command /mod\. Did you mean /mode, /model\?")
        d.send("/quit\r")
        assert await d.exit_code() == 0


async def test_mode_shows_sets_rejects_and_shift_tab_cycles(tmp_path):
    async with PlainDriver(tmp_path, FakeLLM([]), []) as d:
        d.send("/mode\r")
        await d.expect("Approval mode: default")
        d.send("/mode plan\r")
        await d.expect("Approval mode: plan.")
        assert d.engine.policy.mode == "plan"
        d.send("/mode reckless\r")
        await d.expect("Unknown approval mode 'reckless'")
        assert d.engine.policy.mode == "plan"
        d.send("\x1b[Z")  # Shift+Tab: plan -> default, never yolo
        d.send("/mode\r")
        await d.expect("Approval mode: default")
        assert d.settings.approval_mode == "default"
        d.send("/mode yolo\r")
        await d.expect("Turn on yolo mode")
        d.send("n")
        await d.expect("Approval mode stays default.")
        assert d.engine.policy.mode == "default"
        d.send("/mode yolo\r")
        await d.expect("Turn on yolo mode")
        d.send("y")
        await d.expect("Approval mode: yolo.")
        assert d.engine.policy.mode == "yolo"


async def test_model_shows_and_switches(tmp_path):
    llm = FakeLLM([])
    async with PlainDriver(tmp_path, llm, []) as d:
        d.send("/model\r")
        await d.expect("Model: fake/model")
        d.send("/model ollama/qwen2.5-coder\r")
        await d.expect("Model: ollama/qwen2.5-coder.")
    assert llm.model == "ollama/qwen2.5-coder"


async def test_plan_before_and_after_update_plan(tmp_path):
    plan = [{"step": "profile the table", "status": "in_progress"}]
    llm = FakeLLM([{"tool_calls": [{"name": "update_plan", "arguments": {"plan": plan,
                                                                       "explanation": "one step"}}]},
                   {"text": "ok"}])
    async with PlainDriver(tmp_path, llm, [UpdatePlan()]) as d:
        d.send("/plan\r")
        await d.expect("No plan yet")
        d.send("plan\r")
        await d.expect("ok")
        d.send("/plan\r")
        shown = await d.expect(r"\[>\] profile the table")
    assert "one step" in shown


async def test_diff_and_undo_with_git_checkpoints(repo):
    llm = FakeLLM([{"tool_calls": [{"name": "WriteFile",
                                    "arguments": {"file_path": "README.md", "content": "# demo\nmore\n"}}]},
                   {"text": "edited"}])
    checkpoints = Checkpoints(repo, "test-session")
    async with PlainDriver(repo, llm, [WriteFile()], checkpoints=checkpoints) as d:
        d.send("/diff\r")
        await d.expect("No changes in this session yet.")
        d.send("edit the readme\r")
        await d.expect("WriteFile wants to overwrite README.md")
        d.send("y")
        await d.expect("edited")
        d.send("/diff\r")
        await d.expect(r"\+more")
        assert (repo / "README.md").read_text() == "# demo\nmore\n"
        d.send("/undo\r")
        await d.expect("Undid turn 1: restored README.md")
        assert (repo / "README.md").read_text() == "# demo\n"
        d.send("/undo\r")
        await d.expect("Nothing to undo")


async def test_undo_and_diff_without_checkpoints_say_why(tmp_path):
    async with PlainDriver(tmp_path, FakeLLM([]), []) as d:
        d.send("/undo\r")
        await d.expect("Nothing to undo: checkpoints are off")
        d.send("/diff\r")
        await d.expect(r"Checkpoints are off \(not a git repository")


async def test_theme_memory_and_copy_without_a_clipboard(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    async with PlainDriver(tmp_path, FakeLLM([{"text": "the answer"}]), []) as d:
        d.send("/theme dark\r")
        await d.expect("Themes apply to the full-screen app")
        d.send("/memory\r")
        await d.expect(r"This repository \(")
        d.send("/copy\r")
        await d.expect("Nothing to copy yet")
        d.send("ask\r")
        await d.expect("the answer")
        d.send("/copy\r")
        await d.expect("The clipboard is unavailable in plain mode here")


async def test_copy_uses_a_clipboard_tool_when_there_is_one(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sink = tmp_path / "clipboard.txt"
    tool = bin_dir / "pbcopy"
    tool.write_text(f"#!/bin/sh\ncat > {sink}\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    async with PlainDriver(tmp_path, FakeLLM([{"text": "copy **me**"}]), []) as d:
        d.send("ask\r")
        await d.expect("copy me")
        d.send("/copy\r")
        await d.expect(r"Copied the last answer \(11 characters\) with pbcopy")
    assert sink.read_text() == "copy **me**"


async def test_clear_sessions_and_resume(repo):
    llm = FakeLLM([{"text": "first answer"}, {"text": "second answer"}])
    async with PlainDriver(repo, llm, [], record=True) as d:
        d.send("first question\r")
        await d.expect("first answer")
        d.send("/clear\r")
        await d.expect("session test-session-2")
        assert d.engine.messages == []
        d.send("/sessions\r")
        await d.expect(r"test-session .*first question")
        d.send("/resume\r")
        await d.expect(r"Use /resume ID")
        d.send("/resume nosuch\r")
        await d.expect("no session of this repository matches 'nosuch'")
        d.send("/resume test-session\r")
        shown = await d.expect("── resumed ──")
        assert "› first question" in shown and "first answer" in shown
        assert d.engine.session_id == "test-session"
        d.send("follow up\r")
        await d.expect("second answer")
    assert [m["content"] for m in llm.calls[1] if m["role"] == "user"] == ["first question", "follow up"]


async def test_compact_summarises_into_a_new_session(repo):
    llm = FakeLLM([{"text": "an answer"}, {"text": "Summary: the user asked a question."}])
    async with PlainDriver(repo, llm, [], record=True) as d:
        d.send("/compact\r")
        await d.expect("Nothing to compact yet")
        d.send("question\r")
        await d.expect("an answer")
        d.send("/compact keep it short\r")
        await d.expect("Context compacted")
        assert d.engine.session_id != "test-session"
        assert "Summary: the user asked a question." in d.engine.messages[0]["content"]
    assert "keep it short" in llm.calls[1][-1]["content"]


async def test_a_failed_clear_keeps_the_current_session(tmp_path):
    llm = FakeLLM([{"text": "still working"}])
    calls = []

    def factory(settings, root, sink, session_id):
        calls.append(session_id)
        if len(calls) > 1:
            raise RuntimeError("bwrap was asked for, but it is not installed")
        return driver._build(settings, root, sink, session_id)

    driver = PlainDriver(tmp_path, llm, [], factory=factory)
    async with driver as d:
        d.send("/clear\r")
        await d.expect("de-agent: could not start: bwrap was asked for, but it is not installed")
        d.send("go on\r")
        await d.expect("still working")
        assert d.engine.session_id == "test-session"


async def test_a_start_failure_is_a_message_and_exit_code_2(tmp_path):
    def factory(settings, root, sink, session_id):
        raise RuntimeError("no sandbox available")

    async with PlainDriver(tmp_path, FakeLLM([]), [], factory=factory) as d:
        assert await d.exit_code() == 2
    assert "de-agent: could not start: no sandbox available" in d.output


async def test_resuming_an_interrupted_session_says_so_after_its_history(repo):
    from de_agent import protocol as P
    from de_agent.sessions.store import SessionRecorder

    rec = SessionRecorder("killed-session", repo, "fake/model")
    rec.begin_turn("run the slow thing")
    rec.record_event(P.UserMessage("run the slow thing"))
    rec.record_message({"role": "user", "content": "run the slow thing"})
    rec.record_message({"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "Shell", "arguments": '{"command": "make"}'}}]})
    rec.close()
    async with PlainDriver(repo, FakeLLM([]), [], record=True) as d:
        d.send("/resume killed-session\r")
        shown = await d.expect("Check their effects")
        assert shown.index("── resumed ──") < shown.index("stopped in the middle of a turn")
        assert shown.index("› run the slow thing") < shown.index("Not completed: de-agent stopped")


async def test_rewind_lists_the_messages_and_goes_back_with_the_files(repo):
    llm = FakeLLM([{"tool_calls": [{"name": "WriteFile",
                                    "arguments": {"file_path": "README.md", "content": "# demo\nmore\n"}}]},
                   {"text": "edited"}, {"text": "it has two lines"}])
    checkpoints = Checkpoints(repo, "test-session")
    async with PlainDriver(repo, llm, [WriteFile()], checkpoints=checkpoints, mode="auto-edit") as d:
        d.send("edit the readme\r")
        await d.expect("edited")
        d.send("how long is it?\r")
        await d.expect("it has two lines")
        d.send("/rewind\r")
        await d.expect(r"  1  edit the readme")
        await d.expect(r"  2  how long is it\?")
        d.send("9\r")
        await d.expect("There is no message 9 to rewind to")
        d.send("/rewind 1\r")
        d.send("f")
        await d.expect("Rewound to before your message 1")
        await d.expect("Your message was: edit the readme")
        assert (repo / "README.md").read_text() == "# demo\n"
        assert d.engine.messages == [] and d.engine.session_id != "test-session"


def test_at_completes_repository_paths_but_not_ignored_ones(repo):
    (repo / ".gitignore").write_text("build/\n")
    (repo / "build").mkdir()
    (repo / "build" / "etl.txt").write_text("x")
    completer = SlashCompleter(repo)
    found = [c.text for c in completer.get_completions(Document("look at @et"), CompleteEvent())]
    assert found == ["@etl/load.py"]
    assert [c.text for c in completer.get_completions(Document("@build/"), CompleteEvent())] == []
    assert [c.text for c in SlashCompleter().get_completions(Document("@et"), CompleteEvent())] == []
