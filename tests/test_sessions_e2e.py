"""Sessions end to end: the real de-agent command, killed with SIGKILL, resumed, compacted."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from de_agent import paths
from de_agent.sessions.reader import load_session
from de_agent.tools import BUILTIN
from tests.support.cli import cli_env, run_cli, stream_events
from tests.support.openai_server import ScriptedServer

PLAN = [{"step": "inspect the loader", "status": "completed"}, {"step": "add the check", "status": "in_progress"}]
FIRST = [{"text": "Planning first.", "tool_calls": [{"name": "update_plan", "arguments": {"plan": PLAN}}]},
         {"text": "The loader has no null check."}]


def conversation(request: dict) -> list[dict]:
    """The messages of a request without the system prompt, in the form the model received them."""
    return [m for m in request["messages"] if m["role"] != "system"]


def answered(messages: list[dict]) -> bool:
    """Every tool call is followed by its result before anything else; no result is orphaned."""
    pending: set[str] = set()
    for m in messages:
        if m["role"] == "tool":
            if m["tool_call_id"] not in pending:
                return False
            pending.discard(m["tool_call_id"])
            continue
        if pending:
            return False
        pending = {c["id"] for c in m.get("tool_calls") or []}
    return not pending


class Running:
    """de-agent started in its own process group, its stream-json events read as they come."""

    def __init__(self, repo, home, *args, server, env=None):
        argv = [sys.executable, "-m", "de_agent", *args, "--output-format", "stream-json",
                "--model", "openai/test-model", "--api-base", server.url]
        self.proc = subprocess.Popen(argv, cwd=repo, env=env or cli_env(home), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                     start_new_session=True)
        self.events: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            if line.strip():
                self.events.put(json.loads(line))

    def wait_for(self, predicate, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                assert self.proc.poll() is None, self.proc.stderr.read()
                continue
            if predicate(event):
                return event
        raise AssertionError("the awaited event never came")

    def kill(self):
        """SIGKILL de-agent, then the commands it started (they run in sessions of their own)."""
        children = descendants(self.proc.pid)
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return children


def descendants(pid: int) -> list[int]:
    """The processes below ``pid``, read from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def first_session(repo, home):
    with ScriptedServer(FIRST) as server:
        proc = run_cli(repo, home, "-p", "check the loader", "--output-format", "json", server=server)
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    final = conversation(server.requests[-1]) + [{"role": "assistant", "content": "The loader has no null check."}]
    return body, final


def seed_session(repo) -> tuple[str, list[dict]]:
    """A finished session written in process (faster than a first run of the command)."""
    from de_agent import protocol as P
    from de_agent.config import Settings
    from de_agent.engine.loop import Engine
    from de_agent.engine.policy import Policy
    from de_agent.sessions.store import SessionRecorder, new_session_id
    from de_agent.tools.base import ToolContext
    from de_agent.tools.plan import UpdatePlan
    from de_agent.workspace import Workspace
    from tests.support.fake_llm import FakeLLM

    sid = new_session_id()
    ctx = ToolContext(workspace=Workspace(repo), settings=Settings())
    engine = Engine(llm=FakeLLM(list(FIRST)), tools=[UpdatePlan()], ctx=ctx, policy=Policy("default", repo),
                    sink=lambda e: None, session_id=sid, recorder=SessionRecorder(sid, repo, "openai/test-model"))
    engine.emit(P.SessionStarted(sid, "openai/test-model", str(repo)))
    asyncio.run(engine.run_turn("check the loader"))
    engine.recorder.close()
    return sid, engine.messages


def test_continue_sends_the_whole_first_conversation(repo, de_agent_home):
    body, first = first_session(repo, de_agent_home)
    assert any(m.get("tool_calls") for m in first) and any(m["role"] == "tool" for m in first)
    with ScriptedServer([{"text": "Added it."}]) as server:
        proc = run_cli(repo, de_agent_home, "-c", "-p", "now add the check", "--output-format", "json",
                       server=server)
    assert proc.returncode == 0, proc.stderr
    second = json.loads(proc.stdout)
    assert second["session_id"] == body["session_id"]
    sent = conversation(server.requests[0])
    assert sent == first + [{"role": "user", "content": "now add the check"}]
    # usage is per session: the second run's result counts the first run's calls too
    assert second["usage"]["prompt_tokens"] == 3 * 11 and body["usage"]["prompt_tokens"] == 2 * 11
    loaded = load_session(paths.sessions_dir() / f"{body['session_id']}.jsonl")
    assert loaded.turns == 2 and loaded.plan == PLAN and not loaded.warnings

    listing = run_cli(repo, de_agent_home, "--list-sessions")
    assert listing.returncode == 0, listing.stderr
    row = listing.stdout.splitlines()[1]
    assert body["session_id"] in row and "check the loader" in row and "openai/test-model" in row
    assert row.split()[3] == "2"  # turns


@pytest.mark.e2e  # a real process killed with SIGKILL
def test_sigkill_mid_stream_then_resume_loses_nothing(repo, de_agent_home):
    sid, first = seed_session(repo)
    with ScriptedServer([{"text": "Let me think about the", "hang": True}]) as server:
        run = Running(repo, de_agent_home, "-c", "-p", "second task", server=server)
        run.wait_for(lambda e: e["type"] == "assistant_delta")
        run.kill()
    with ScriptedServer([{"text": "Back again."}]) as server:
        proc = run_cli(repo, de_agent_home, "-c", "-p", "third task", server=server)
    assert proc.returncode == 0, proc.stderr
    assert "still answering" in proc.stderr
    sent = conversation(server.requests[0])
    assert sent == first + [{"role": "user", "content": "second task"}, {"role": "user", "content": "third task"}]
    assert answered(sent)
    loaded = load_session(paths.sessions_dir() / f"{sid}.jsonl")
    assert loaded.turns == 3 and loaded.open_turn is None
    assert [e["reason"] for e in loaded.events if e["type"] == "turn_finished"] == \
        ["completed", "interrupted", "completed"]


@pytest.mark.skipif(("de_agent.tools.shell", "Shell") not in BUILTIN, reason="the Shell tool is not registered yet")
@pytest.mark.e2e  # a real process killed with SIGKILL
def test_sigkill_mid_command_then_resume_closes_the_call(repo, de_agent_home):
    sid, first = seed_session(repo)
    script = [{"tool_calls": [{"name": "update_plan", "arguments": {"plan": PLAN[::-1]}},
                              {"name": "Shell", "arguments": {"command": "sleep 30"}}]}]
    with ScriptedServer(script) as server:
        run = Running(repo, de_agent_home, "-c", "-p", "run the slow job", "--approval-mode", "yolo",
                      server=server)
        run.wait_for(lambda e: e["type"] == "approval" and e["decision"] == "approved"
                     and e["call_id"] == "call_2")
        deadline = time.monotonic() + 10
        while not any("sleep" in _cmdline(p) for p in descendants(run.proc.pid)):
            assert time.monotonic() < deadline, "the command never started"
            time.sleep(0.05)
        assert run.kill()
    with ScriptedServer([{"text": "It was interrupted."}]) as server:
        proc = run_cli(repo, de_agent_home, "-c", "-p", "what happened?", server=server)
    assert proc.returncode == 0, proc.stderr
    assert "Shell `sleep 30`" in proc.stderr and "closed as interrupted" in proc.stderr
    sent = conversation(server.requests[0])
    assert sent[:len(first)] == first and answered(sent)
    assert sent[len(first)] == {"role": "user", "content": "run the slow job"}
    results = {m["tool_call_id"]: m["content"] for m in sent if m["role"] == "tool"}
    assert "Plan updated" in results["call_1"] and "de-agent stopped" in results["call_2"]
    assert sent[-1] == {"role": "user", "content": "what happened?"}
    assert load_session(paths.sessions_dir() / f"{sid}.jsonl").plan == PLAN[::-1]


def _cmdline(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_torn_line_and_garbage_files_never_stop_resume_or_listing(repo, de_agent_home):
    sid, first = seed_session(repo)
    folder = paths.sessions_dir()
    with open(folder / f"{sid}.jsonl", "a") as fh:
        fh.write('{"kind": "event", "event": {"type": "assistant_mes')
    (folder / "zz-garbage.jsonl").write_bytes(b"\x00\xff not json at all \x13\n\x01")
    listing = run_cli(repo, de_agent_home, "--list-sessions")
    assert listing.returncode == 0
    assert sid in listing.stdout and "zz-garbage.jsonl" in listing.stderr
    with ScriptedServer([{"text": "fine"}]) as server:
        proc = run_cli(repo, de_agent_home, "-c", "-p", "go on", server=server)
    assert proc.returncode == 0, proc.stderr
    assert "cut off" in proc.stderr
    assert conversation(server.requests[0]) == first + [{"role": "user", "content": "go on"}]
    with ScriptedServer([]) as server:
        bad = run_cli(repo, de_agent_home, "-r", "zz-garbage", "-p", "x", server=server)
    assert bad.returncode == 2 and "no session of this repository matches" in bad.stderr


def test_resume_without_id_in_headless_lists_and_fails_clearly(repo, de_agent_home):
    sid, _ = seed_session(repo)
    proc = run_cli(repo, de_agent_home, "-r", "-p", "continue")
    assert proc.returncode == 2
    assert f"1  {sid}" in proc.stderr and "pass the id" in proc.stderr
    with ScriptedServer([{"text": "resumed by prefix"}]) as server:
        ok = run_cli(repo, de_agent_home, "-r", sid[:-2], "-p", "continue", server=server)
    assert ok.returncode == 0 and ok.stdout.strip() == "resumed by prefix"
    assert len(conversation(server.requests[0])) == 5


def test_continue_with_no_session_fails_clearly(repo, de_agent_home):
    proc = run_cli(repo, de_agent_home, "-c", "-p", "anything")
    assert proc.returncode == 2 and "no session to resume" in proc.stderr


def test_small_context_window_compacts_into_a_linked_session(repo, de_agent_home):
    filler = " ".join(f"w{i * 7919 % 100003}" for i in range(9000))  # about 27,000 tokens

    def reply(request):
        if not request.get("tools"):
            return {"text": "SUMMARY: the loader needs a null check in etl/load.py."}
        if any("compacted" in str(m.get("content")) for m in request["messages"]):
            return {"text": "Continuing from the summary: done."}
        return {"text": filler, "tool_calls": [{"name": "update_plan", "arguments": {"plan": PLAN}}]}

    env = cli_env(de_agent_home, DE_AGENT_CONTEXT_WINDOW="20000")
    with ScriptedServer([reply] * 4, chunk=4000) as server:
        proc = run_cli(repo, de_agent_home, "-p", "check the loader", "--output-format", "stream-json",
                       server=server, env=env)
    assert proc.returncode == 0, proc.stderr
    events = stream_events(proc.stdout)
    first_id = events[0]["session_id"]
    result = events[-1]
    assert result["text"] == "Continuing from the summary: done." and result["session_id"] != first_id
    assert len(server.requests) == 3
    summarise, after = server.requests[1], server.requests[2]
    assert "tools" not in summarise and "check the loader" in summarise["messages"][1]["content"]
    told = conversation(after)
    assert len(told) == 1 and "compacted" in told[0]["content"]
    assert "SUMMARY: the loader needs a null check" in told[0]["content"]
    assert "- [completed] inspect the loader\n- [in_progress] add the check" in told[0]["content"]
    assert "## Request in progress\ncheck the loader" in told[0]["content"]
    child = load_session(paths.sessions_dir() / f"{result['session_id']}.jsonl")
    assert child.meta["parent"] == first_id and child.plan == PLAN
    assert any("Context compacted" in e.get("message", "") for e in child.events)
    # the next run continues the child, whose history is the summary
    with ScriptedServer([{"text": "ok"}]) as server:
        again = run_cli(repo, de_agent_home, "-c", "-p", "and then?", "--output-format", "json",
                        server=server, env=env)
    assert json.loads(again.stdout)["session_id"] == result["session_id"]
    assert conversation(server.requests[0])[0]["content"] == told[0]["content"]
