"""``de-agent --plain`` in a real pseudo-terminal, against the local OpenAI-compatible server."""

from __future__ import annotations

import os
import re
import sys
import time

import pexpect
import pytest

from tests.support.openai_server import ScriptedServer

pytestmark = pytest.mark.e2e
SGR = r"(\x1b\[[0-9;]*m)*"  # styling codes (NO_COLOR keeps bold and dim)


def prompt(mode: str) -> str:
    """The REPL's prompt for a mode, with whatever styling codes sit between its parts."""
    return mode + SGR + " ›"

# Where the renderer may break a long line: spaces, a line end, its styling codes.
WRAP = r"(?:\s|\x1b\[[0-9;]*m)*"


def spawn(repo, home, **env) -> pexpect.spawn:
    base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("DE_AGENT_")}
    base.update({"DE_AGENT_HOME": str(home), "DE_AGENT_MODEL": "openai/test-model", "DE_AGENT_SANDBOX": "none",
                 "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                 "NO_COLOR": "1"})
    base.update(env)
    child = pexpect.spawn(sys.executable, ["-m", "de_agent", "--plain"], cwd=str(repo), env=base,
                          encoding="utf-8", dimensions=(40, 110), timeout=20)
    return child


def test_a_session_with_streaming_plan_approvals_and_interrupt(repo, de_agent_home):
    plan = [{"step": "look at etl/load.py", "status": "completed"}, {"step": "add a test", "status": "in_progress"}]
    script = [{"text": "Hello from the **test model**.", "piece_delay": 0.02},
              {"tool_calls": [{"name": "update_plan", "arguments": {"plan": plan}}]},
              {"text": "Planned."},
              {"tool_calls": [{"name": "Shell", "arguments": {"command": "echo made > made.txt"}}]},
              {"tool_calls": [{"name": "Shell", "arguments": {"command": "touch other.txt"}}]},
              {"text": "Done."},
              {"text": "thinking", "hang": True},
              {"text": "Still here."}]
    with ScriptedServer(script) as server:
        started = time.perf_counter()
        child = spawn(repo, de_agent_home, OPENAI_API_KEY="sk-test-plain", DE_AGENT_API_BASE=server.url)
        try:
            child.expect(r"openai/test-model · mode default · sandbox none")
            child.expect(prompt("default"))
            to_prompt = time.perf_counter() - started
            child.send("say hello\r")
            child.expect(r"Hello from the " + SGR + r"test model" + SGR + r"\.")  # bold survives NO_COLOR
            child.expect("cost unknown")
            child.expect(prompt("default"))
            child.send("make a plan\r")
            child.expect(r"\[x\] " + SGR + r"look at etl/load\.py")
            child.expect(r"\[>\] " + SGR + r"add a test")
            child.expect(r"Planned\.")
            child.expect(prompt("default"))
            child.send("make two files\r")
            child.expect(r"Shell" + SGR + r" wants to run a command")
            child.expect(r"in" + WRAP + re.escape(str(repo)) + r" ·" + WRAP + r"sandbox none")
            child.expect(r"\[y\] once  \[a\] session  \[A\] always \(echo made > made.txt\)  \[n\] deny")
            child.send("y")
            child.expect("approved once")
            child.expect(r"\[A\] always \(touch \*\)")
            child.send("n")
            child.expect("denied")
            child.expect(r"Done\.")
            child.expect(prompt("default"))
            child.send("/nope\r")
            child.expect(r"Unknown command /nope\.")
            child.expect(prompt("default"))
            child.send("/mode plan\r")
            child.expect(r"Approval mode: plan\.")
            child.expect(prompt("plan"))
            child.send("think hard\r")
            child.expect("thinking")
            child.send("\x03")
            child.expect("Turn interrupted")
            child.expect(prompt("plan"))
            child.send("still there?\r")
            child.expect(r"Still here\.")
            child.expect(prompt("plan"))
            child.send("\x04")
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
        assert child.exitstatus == 0, child.before
        assert to_prompt < 3.0
        # the model saw the interrupted request and the next one, in a consistent conversation
        last = server.requests[-1]["messages"]
        users = [m["content"] for m in last if m["role"] == "user"]
        assert users[-2:] == ["think hard", "still there?"]
        told = [m["content"] for m in last if m["role"] == "tool"]
        assert told[-2].startswith("Exit code: 0") and "The user denied this Shell call." in told[-1]
    assert (repo / "made.txt").read_text() == "made\n"
    assert not (repo / "other.txt").exists()
    history = (de_agent_home / "history.txt").read_text()
    assert "say hello" in history and "/mode plan" in history


def test_missing_api_key_is_a_clear_message_not_a_traceback(repo, de_agent_home):
    child = spawn(repo, de_agent_home)
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert "no API key for openai: set OPENAI_API_KEY" in child.before
    assert "Traceback" not in child.before
    assert child.exitstatus == 2


def test_bang_commands_mentions_yolo_confirmation_and_the_resume_hint(repo, de_agent_home):
    with ScriptedServer([{"text": "Read it."}]) as server:
        child = spawn(repo, de_agent_home, OPENAI_API_KEY="sk-test-plain", DE_AGENT_API_BASE=server.url)
        try:
            child.expect(prompt("default"))
            child.send("!echo from-the-pty\r")
            child.expect(r"Shell" + SGR + r"  echo from-the-pty")
            child.expect(r"exit 0")
            child.expect(r"from-the-pty")
            child.expect(prompt("default"))
            child.send("explain @etl/load.py\r")
            child.expect(r"Attached etl/load\.py\.")
            child.expect(r"Read it\.")
            child.expect(prompt("default"))
            child.send("/mode yolo\r")
            child.expect(r"Turn on yolo mode\?")
            child.send("n")
            child.expect(r"Approval mode stays default\.")
            child.expect(prompt("default"))
            child.send("\x04")
            child.expect(r"Resume this session with: de-agent -r \S+")
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
        assert child.exitstatus == 0, child.before
    sent = server.requests[0]["messages"]
    users = [m["content"] for m in sent if m["role"] == "user"]
    assert users[0].startswith("[de-agent] The user ran this command themselves: `echo from-the-pty`")
    assert users[1].startswith("explain @etl/load.py\n\n<attached_file path=\"etl/load.py\">")
