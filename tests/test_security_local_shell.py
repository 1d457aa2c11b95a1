"""LocalShell: runs on the host outside the sandbox, asked in every mode but yolo, refused in
plan mode and headless (unless yolo), output masked; end to end through the real command."""

from __future__ import annotations

import pytest

from de_agent.engine.policy import Policy
from de_agent.tools.local_shell import LocalShell
from tests.support.cli import cli_env, run_cli, stream_events
from tests.support.openai_server import ScriptedServer, tool_messages
from tests.support.security import make_ctx

SECRET = "sk-person-" + "7" * 24


def _run(repo, home, command: str, mode: str, sandbox: str = "none"):
    script = [{"tool_calls": [{"name": "LocalShell", "arguments": {"command": command,
                                                                   "description": "needs warehouse"}}]},
              {"text": "done"}]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, home, "-p", "go", "--output-format", "stream-json", "--approval-mode", mode,
                       server=server, env=cli_env(home, DE_AGENT_SANDBOX=sandbox, WAREHOUSE_PASSWORD=SECRET,
                                                  PERSON_SETTING="from-the-shell"))
    assert proc.returncode == 0, proc.stderr
    return stream_events(proc.stdout), server, proc


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["default", "auto-edit", "plan"])
def test_local_shell_refused_unless_yolo_in_headless(repo, de_agent_home, tmp_path, mode):
    marker = tmp_path / "ran-on-host"
    events, server, _ = _run(repo, de_agent_home, f"touch {marker}", mode)
    approval = [e for e in events if e["type"] == "approval"][0]
    assert approval["decision"] == "denied"
    assert approval["by"] == ("policy" if mode == "plan" else "headless")
    assert not marker.exists()
    assert "LocalShell" in tool_messages(server.requests[1])[0]["content"] or \
        "sandbox" in tool_messages(server.requests[1])[0]["content"]


@pytest.mark.e2e
def test_local_shell_in_yolo_runs_outside_the_sandbox_with_the_persons_env_masked(repo, de_agent_home, tmp_path):
    from tests.support.security import bwrap_or_skip

    bwrap_or_skip()
    marker = tmp_path / "ran-on-host"
    events, server, proc = _run(repo, de_agent_home,
                                f"touch {marker} && echo $PERSON_SETTING $WAREHOUSE_PASSWORD", "yolo",
                                sandbox="bwrap")
    assert marker.exists(), "LocalShell must run outside the sandbox (the sandbox cannot write here)"
    result = [e for e in events if e["type"] == "tool_result"][0]
    assert result["ok"] and "from-the-shell" in result["output"]
    assert SECRET not in proc.stdout and "[REDACTED]" in result["output"]
    assert SECRET not in str(server.requests)
    session_files = list((de_agent_home).rglob("*.jsonl"))
    assert session_files and all(SECRET not in f.read_text() for f in session_files)


async def test_local_shell_asks_even_for_a_read_only_command(repo):
    ctx = make_ctx(repo)
    action = await LocalShell().prepare({"command": "ls"}, ctx)
    for mode in ("default", "auto-edit"):
        policy = Policy(mode, repo)
        decision = policy.decide("LocalShell", {"command": "ls"}, action)
        assert decision.verdict == "ask"
        assert "OUTSIDE the sandbox" in decision.reason and "credentials" in decision.reason
        policy.remember("LocalShell", {"command": "ls"}, action, "session", decision.always_pattern)
        policy.remember("LocalShell", {"command": "ls"}, action, "always", "ls")
        assert policy.decide("LocalShell", {"command": "ls"}, action).verdict == "ask"
    assert Policy("plan", repo).decide("LocalShell", {"command": "ls"}, action).verdict == "deny"
    assert Policy("yolo", repo).decide("LocalShell", {"command": "ls"}, action).verdict == "allow"


async def test_local_shell_deny_list_holds_in_yolo(repo):
    action = await LocalShell().prepare({"command": "rm -rf /"}, make_ctx(repo))
    assert Policy("yolo", repo).decide("LocalShell", {"command": "rm -rf /"}, action).verdict == "deny"
    outcome = await action.run(None)
    assert not outcome.ok and "Refused" in outcome.output
