"""Plain REPL turns, approvals and interrupts, driven through a prompt_toolkit pipe."""

from __future__ import annotations

import os
import re
import signal
import socket

from de_agent.config import Settings
from de_agent.frontends.plain import endpoint_problem
from de_agent.llm.adapter import AssistantReply
from de_agent.tools.edit import Edit, WriteFile
from de_agent.tools.plan import UpdatePlan
from tests.support.fake_llm import FakeLLM
from tests.support.plain_driver import PlainDriver


def write(path: str, content: str) -> dict:
    return {"tool_calls": [{"name": "WriteFile", "arguments": {"file_path": path, "content": content}}]}


def tool_messages(messages: list[dict]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "tool"]


async def test_banner_then_a_streamed_answer_shown_once_with_usage(tmp_path):
    llm = FakeLLM([{"text": "Hello **world**, this is plain mode."}])
    async with PlainDriver(tmp_path, llm, [UpdatePlan()]) as d:
        await d.expect("de-agent · fake/model · mode default · sandbox none · session test-session")
        d.send("hi\r")
        await d.expect("Hello world, this is plain mode.")
        await d.expect(r"turn: 10 in, 5 out, cost unknown")
        d.send("\x04")
        assert await d.exit_code() == 0
    assert d.output.count("Hello world") == 1 and "**" not in d.output
    assert "Resume this session with: de-agent -r test-session" in d.output
    assert llm.calls[0][-1] == {"role": "user", "content": "hi"}


class SlowLLM:
    """Streams a few pieces, noting what the screen showed before each piece; after each piece
    it holds the stream until the piece is on screen (which fails if painting waited for the end)."""

    model = "slow/model"

    def __init__(self, pieces: list[str], driver_ref: list):
        self.pieces = pieces
        self.driver_ref = driver_ref
        self.screens: list[str] = []

    def check_config(self) -> None:
        pass

    async def complete(self, messages, tools, on_text=None) -> AssistantReply:
        for piece in self.pieces:
            self.screens.append(self.driver_ref[0].output)
            await on_text(piece)
            driver, word = self.driver_ref[0], piece.strip()
            await driver.until(lambda d=driver, w=word: w in d.output, what=f"{word!r} painted mid-stream")
        return AssistantReply(text="".join(self.pieces), tool_calls=[], prompt_tokens=3,
                              completion_tokens=4, cost=0.0021)


async def test_answer_is_painted_while_it_streams_in_a_terminal(tmp_path):
    ref: list = []
    llm = SlowLLM(["alpha ", "beta ", "gamma ", "delta"], ref)
    async with PlainDriver(tmp_path, llm, [], terminal=True) as d:
        ref.append(d)
        d.send("go\r")
        await d.expect(r"turn: 3 in, 4 out, \$0\.0021")
        d.send("\x04")
        assert await d.exit_code() == 0
    # before the last piece was sent, the earlier ones were already on screen
    assert "beta" in llm.screens[3] and "delta" not in llm.screens[3]
    assert "alpha beta gamma delta" in d.output


async def test_edit_approved_with_y_is_applied_and_the_diff_shown_once(tmp_path):
    llm = FakeLLM([write("notes.txt", "hello\n"), {"text": "written"}])
    async with PlainDriver(tmp_path, llm, [WriteFile(), Edit()]) as d:
        d.send("write it\r")
        await d.expect(r"\? WriteFile wants to create notes.txt \(\+1 -0\) \(changes a file\)")
        await d.expect(r"\+hello")
        d.send("y")
        await d.expect("→ approved once")
        await d.expect(r"Created notes.txt \(1 line\)\.")
        await d.expect("written")
        d.send("\x04")
        await d.exit_code()
    assert (tmp_path / "notes.txt").read_text() == "hello\n"
    assert d.output.count("+hello") == 1
    assert tool_messages(llm.calls[1])[0].startswith("Created notes.txt (1 line).")


async def test_edit_denied_with_n_is_not_applied_and_the_model_is_told(tmp_path):
    llm = FakeLLM([write("notes.txt", "hello\n"), {"text": "ok, not writing"}])
    async with PlainDriver(tmp_path, llm, [WriteFile(), Edit()]) as d:
        d.send("write it\r")
        await d.expect("WriteFile wants to create")
        d.send("n")
        await d.expect("→ denied")
        await d.expect("ok, not writing")
        d.send("\x04")
        await d.exit_code()
    assert not (tmp_path / "notes.txt").exists()
    assert "The user denied this WriteFile call." in tool_messages(llm.calls[1])[0]


async def test_deny_with_a_note_sends_the_note_to_the_model(tmp_path):
    llm = FakeLLM([write("notes.txt", "x\n"), {"text": "understood"}])
    async with PlainDriver(tmp_path, llm, [WriteFile(), Edit()]) as d:
        d.send("write it\r")
        await d.expect("WriteFile wants to create")
        d.send("f")
        d.send("put it in docs/ instead\r")
        await d.expect("→ denied with a note: put it in docs/ instead")
        await d.expect("understood")
    assert not (tmp_path / "notes.txt").exists()
    assert "The user said: put it in docs/ instead" in tool_messages(llm.calls[1])[0]


async def test_session_approval_stops_asking_for_that_tool(tmp_path):
    llm = FakeLLM([write("a.txt", "a\n"), write("b.txt", "b\n"), {"text": "both"}])
    async with PlainDriver(tmp_path, llm, [WriteFile(), Edit()]) as d:
        d.send("write two\r")
        await d.expect("WriteFile wants to create a.txt")
        d.send("a")
        await d.expect("approved for this session")
        await d.expect("both")
        # the second edit was applied without asking, and its diff is shown as applied
        assert d.output.count("wants to") == 1
        assert "+b" in d.output
    assert (tmp_path / "b.txt").read_text() == "b\n"


async def test_plan_is_shown_as_a_checklist(tmp_path):
    plan = [{"step": "read the schema", "status": "completed"},
            {"step": "write the loader", "status": "in_progress"},
            {"step": "test it", "status": "pending"}]
    llm = FakeLLM([{"tool_calls": [{"name": "update_plan", "arguments": {"plan": plan}}]}, {"text": "planned"}])
    async with PlainDriver(tmp_path, llm, [UpdatePlan()]) as d:
        d.send("plan it\r")
        shown = await d.expect("planned")
    assert "[x] read the schema" in shown and "[>] write the loader" in shown and "[ ] test it" in shown
    assert "update_plan" not in shown  # the checklist replaces the raw call line


async def test_sigint_interrupts_a_running_turn_and_the_session_goes_on(tmp_path):
    llm = FakeLLM([{"sleep": 30, "text": "never shown"}, {"text": "second answer"}])
    async with PlainDriver(tmp_path, llm, []) as d:
        d.send("slow task\r")
        await d.wait_busy()
        await d.until(lambda: d.repl._work is not None)  # the REPL waits on the turn: Ctrl+C reaches it
        os.kill(os.getpid(), signal.SIGINT)
        await d.expect("Turn interrupted")
        d.send("again\r")
        await d.expect("second answer")
        d.send("\x04")
        assert await d.exit_code() == 0
    assert "never shown" not in d.output
    roles = [(m["role"], m.get("content")) for m in d.engine.messages]
    assert roles == [("user", "slow task"), ("user", "again"), ("assistant", "second answer")]
    # the handler is gone with the REPL: SIGINT is Python's default again
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


async def test_ctrl_c_at_an_approval_interrupts_the_turn_and_answers_the_call(tmp_path):
    llm = FakeLLM([write("notes.txt", "x\n"), {"text": "fine"}])
    async with PlainDriver(tmp_path, llm, [WriteFile(), Edit()]) as d:
        d.send("write it\r")
        await d.expect("WriteFile wants to create")
        d.send("\x03")
        await d.expect("Turn interrupted")
        d.send("go on\r")
        await d.expect("fine")
    assert not (tmp_path / "notes.txt").exists()
    assert "interrupted by the user" in tool_messages(llm.calls[1])[0]


async def test_ctrl_c_clears_typed_text_then_twice_on_empty_prompt_quits(tmp_path):
    llm = FakeLLM([{"text": "got it"}])
    async with PlainDriver(tmp_path, llm, []) as d:
        d.send("half typed\x03real question\r")
        await d.expect("got it")
        d.send("\x03")
        await d.expect(r"Ctrl\+C again to quit")
        d.send("\x03")
        assert await d.exit_code() == 0
    assert llm.calls[0][-1]["content"] == "real question"


async def test_multi_line_input_with_escape_enter_and_trailing_backslash(tmp_path):
    llm = FakeLLM([{"text": "three lines"}])
    async with PlainDriver(tmp_path, llm, []) as d:
        d.send("line one\x1b\rline two\\\rline three\r")
        await d.expect("three lines")
    assert llm.calls[0][-1]["content"] == "line one\nline two\nline three"


async def test_model_failure_is_a_message_and_the_repl_stays(tmp_path):
    from de_agent.llm.adapter import LLMError

    llm = FakeLLM([LLMError("cannot reach http://127.0.0.1:9/v1: connection refused", config=True),
                   {"text": "back again"}])
    async with PlainDriver(tmp_path, llm, []) as d:
        d.send("hello\r")
        await d.expect("error: cannot reach http://127.0.0.1:9/v1: connection refused")
        d.send("retry\r")
        await d.expect("back again")
    assert "Traceback" not in d.output


async def test_choosing_hunks_applies_only_the_accepted_ones(tmp_path):
    lines = [f"line {i}\n" for i in range(1, 21)]
    (tmp_path / "data.txt").write_text("".join(lines))
    changed = list(lines)
    changed[1] = "LINE 2\n"
    changed[18] = "LINE 19\n"
    llm = FakeLLM([write("data.txt", "".join(changed)), {"text": "partly done"}])
    async with PlainDriver(tmp_path, llm, [WriteFile(), Edit()]) as d:
        d.send("shout\r")
        await d.expect("WriteFile wants to overwrite data.txt")
        d.send("h")
        await d.expect("hunk 1 of 2")
        d.send("y")
        await d.expect("hunk 2 of 2")
        d.send("n")
        await d.expect(r"→ approved once \(applying hunk 1 of 2; skipping hunk 2\)")
        await d.expect("partly done")
    text = (tmp_path / "data.txt").read_text()
    assert "LINE 2\n" in text and "line 19\n" in text and "LINE 19" not in text
    assert "Only part of the change was applied" in tool_messages(llm.calls[1])[0]


async def test_rejecting_every_hunk_denies_the_edit(tmp_path):
    lines = [f"line {i}\n" for i in range(1, 21)]
    (tmp_path / "data.txt").write_text("".join(lines))
    changed = list(lines)
    changed[1], changed[18] = "LINE 2\n", "LINE 19\n"
    llm = FakeLLM([write("data.txt", "".join(changed)), {"text": "left alone"}])
    async with PlainDriver(tmp_path, llm, [WriteFile()]) as d:
        d.send("shout\r")
        await d.expect("WriteFile wants to overwrite")
        d.send("hd")
        await d.expect("→ denied with a note: The user rejected every hunk of this change.")
        await d.expect("left alone")
    assert (tmp_path / "data.txt").read_text() == "".join(lines)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


async def test_unreachable_endpoint_is_reported_at_start(tmp_path):
    url = closed_port_url()
    settings = Settings(model="fake/model", api_base=url)
    async with PlainDriver(tmp_path, FakeLLM([]), [], settings=settings) as d:
        await d.expect(rf"warning: cannot reach the model endpoint {re.escape(url)} \(connection refused\)")
        d.send("/quit\r")
        assert await d.exit_code() == 0


async def test_endpoint_probe_finds_a_listening_server():
    from tests.support.openai_server import ScriptedServer

    with ScriptedServer([]) as server:
        assert await endpoint_problem(server.url) == ""
    assert "not a URL" in await endpoint_problem("localhost")
