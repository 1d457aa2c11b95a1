"""The real ``de-agent`` command in a real terminal: tmux runs it, sends keys and reads the screen."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.support.openai_server import ScriptedServer

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)")]


class Tmux:
    def __init__(self) -> None:
        self.socket = f"de-agent-test-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check)

    def screen(self, history: bool = False) -> str:
        extra = ["-S", "-"] if history else []  # from the start of the scrollback
        return self("capture-pane", "-p", "-t", "app", *extra, check=False).stdout

    def alive(self) -> bool:
        return self("has-session", "-t", "app", check=False).returncode == 0

    def wait_for(self, text: str, timeout: float = 30.0, history: bool = False) -> str:
        return self.until(lambda screen: text in screen, f"{text!r} to appear", timeout, history)

    def until(self, condition, what: str, timeout: float = 30.0, history: bool = False) -> str:
        """Poll the screen until ``condition(screen)`` holds; return that screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen(history)
            if condition(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{screen}")


def first_paragraph(screen: str) -> int:
    """The number of the topmost "Paragraph number N" on the screen (a large number if none)."""
    return min((int(n) for n in re.findall(r"Paragraph number (\d+) of", screen)), default=10**6)


@pytest.fixture
def tmux():
    t = Tmux()
    yield t
    t("kill-server", check=False)


def start(tmux: Tmux, repo, de_agent_home, server: ScriptedServer, size=("110", "32")) -> None:
    # env -u: a tmux server started without a terminal may hand COLUMNS=80/LINES=24 to its panes
    command = (f"env -u COLUMNS -u LINES {sys.executable} -m de_agent --model openai/test-model --api-base {server.url} "
               f"--sandbox none")
    env = {"DE_AGENT_HOME": str(de_agent_home), "OPENAI_API_KEY": "sk-test-not-real",
           "TERM": "xterm-256color", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    tmux("new-session", "-d", "-s", "app", "-x", size[0], "-y", size[1], "-c", str(repo), *env_args, command)


def test_de_agent_runs_in_a_real_terminal(repo, tmux, de_agent_home):
    with ScriptedServer([{"text": "Hello from the **tmux** test."}]) as server:
        start(tmux, repo, de_agent_home, server)
        first = tmux.wait_for("Ask de-agent")
        assert "Chat" in first and "Plan" in first and "Diff" in first
        assert "openai/test-model" in first
        tmux.wait_for("sandbox none")  # the engine is up: the status bar shows its sandbox

        tmux("send-keys", "-t", "app", "-l", "say hello")
        tmux("send-keys", "-t", "app", "Enter")
        shown = tmux.wait_for("Hello from the tmux test.")
        assert "say hello" in shown

        tmux("send-keys", "-t", "app", "-l", "/mode plan")
        tmux("send-keys", "-t", "app", "Enter")
        tmux.wait_for("mode plan")

        tmux("send-keys", "-t", "app", "C-c")
        tmux.wait_for("Press Ctrl+C again to quit.")  # the first press is handled; the second comes within 1 s
        tmux("send-keys", "-t", "app", "C-c")
        deadline = time.monotonic() + 15
        while tmux.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not tmux.alive(), "two quick Ctrl+C should quit"
    assert server.requests[0]["messages"][-1] == {"role": "user", "content": "say hello"}
    sessions = list((de_agent_home / "sessions").glob("*.jsonl"))
    assert len(sessions) == 1 and "say hello" in sessions[0].read_text()


def test_focus_stays_on_the_prompt_and_the_chat_scrolls_from_it(repo, tmux, de_agent_home):
    answer = "\n\n".join(f"Paragraph number {i} of a long answer." for i in range(1, 61))
    with ScriptedServer([{"text": answer}]) as server:
        start(tmux, repo, de_agent_home, server, size=("110", "32"))
        tmux.wait_for("sandbox none")
        tmux("send-keys", "-t", "app", "-l", "write a lot")
        tmux("send-keys", "-t", "app", "Enter")
        shown = tmux.wait_for("Paragraph number 60 of a long answer.")
        assert "Paragraph number 40 of" not in shown
        tmux("send-keys", "-t", "app", "Tab")  # on an empty prompt: focus must stay there
        scrolled = shown
        for _ in range(12):  # page up from the prompt until paragraph 40 shows
            lowest = first_paragraph(scrolled)
            tmux("send-keys", "-t", "app", "PageUp")
            scrolled = tmux.until(lambda screen, low=lowest: first_paragraph(screen) < low, "the chat to scroll up")
            if "Paragraph number 40 of" in scrolled:
                break
        assert "Paragraph number 40 of" in scrolled and "Paragraph number 60 of" not in scrolled
        tmux("send-keys", "-t", "app", "-l", "typed")  # still reaches the prompt
        tmux.wait_for("typed")
        tmux("send-keys", "-t", "app", "PageDown", "PageDown", "PageDown", "PageDown", "PageDown")
        tmux.wait_for("Paragraph number 60 of a long answer.")
        tmux("set-option", "-t", "app", "remain-on-exit", "on")
        tmux("send-keys", "-t", "app", "C-q")
        assert "Resume this session with: de-agent -r " in tmux.wait_for("Resume this session", timeout=45, history=True)  # may scroll past the pane
