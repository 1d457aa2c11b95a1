"""End to end through the real ``de-agent`` command: MCP servers, hooks and skills."""

from __future__ import annotations

import json
import sys

import pytest

from tests.mcp_support import demo_toml
from tests.support.cli import run_cli, stream_events
from tests.support.openai_server import ScriptedServer, tool_messages

pytestmark = pytest.mark.e2e


def _results(events: list[dict]) -> dict[str, dict]:
    return {e["name"]: e for e in events if e["type"] == "tool_result"}


def test_a_trusted_mcp_tool_runs_headless_and_the_model_sees_the_schema(repo, de_agent_home):
    (de_agent_home / "config.toml").write_text(demo_toml("demo", extra="trust = true"))
    script = [{"tool_calls": [{"name": "mcp__demo__add", "arguments": {"a": 20, "b": 22}}]},
              {"text": "The sum is 42."}]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "add 20 and 22", "--output-format", "stream-json",
                       server=server)
        first_tools = {t["function"]["name"]: t["function"] for t in server.requests[0]["tools"]}
        seen = tool_messages(server.requests[1])
    assert proc.returncode == 0, proc.stderr
    assert first_tools["mcp__demo__add"]["parameters"]["properties"]["a"]["type"] == "integer"
    result = _results(stream_events(proc.stdout))["mcp__demo__add"]
    assert result["ok"] and '"sum": 42' in result["output"]
    assert '"sum": 42' in seen[-1]["content"]


def test_an_untrusted_mcp_tool_is_denied_headless_in_default_mode(repo, de_agent_home):
    (de_agent_home / "config.toml").write_text(demo_toml("demo"))
    script = [{"tool_calls": [{"name": "mcp__demo__echo", "arguments": {"text": "x"}}]}, {"text": "ok"}]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "echo", "--output-format", "stream-json", server=server)
    events = stream_events(proc.stdout)
    approval = next(e for e in events if e["type"] == "approval")
    assert approval["decision"] == "denied" and approval["by"] == "headless"
    assert not _results(events)["mcp__demo__echo"]["ok"]


def test_a_repository_mcp_server_does_not_start_unapproved(repo, de_agent_home):
    (repo / ".de-agent").mkdir()
    (repo / ".de-agent" / "config.toml").write_text(demo_toml("repo_srv"))
    with ScriptedServer([{"text": "hi"}]) as server:
        proc = run_cli(repo, de_agent_home, "-p", "hello", server=server)  # notices go to stderr
        tools = {t["function"]["name"] for t in server.requests[0]["tools"]}
    assert proc.returncode == 0, proc.stderr
    assert not any(n.startswith("mcp__") for n in tools)
    assert "/mcp approve repo_srv" in proc.stderr


def test_a_failing_mcp_server_is_a_notice_and_the_task_goes_on(repo, de_agent_home):
    (de_agent_home / "config.toml").write_text(demo_toml("broken", "--crash-on-start"))
    with ScriptedServer([{"text": "still here"}]) as server:
        proc = run_cli(repo, de_agent_home, "-p", "hello", server=server)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "still here"
    assert "MCP server 'broken' failed" in proc.stderr and "cannot read profiles.yml" in proc.stderr


def _hook_script(tmp_path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(f"import json, sys\nevent = json.load(sys.stdin)\n{body}\n")
    return f"{sys.executable} {path}"


def test_pre_tool_use_hook_blocks_and_the_model_reads_why(repo, de_agent_home, tmp_path):
    log = tmp_path / "seen.jsonl"
    hook = _hook_script(tmp_path, "guard.py",
                        f"open({str(log)!r}, 'a').write(json.dumps(event) + '\\n')\n"
                        "print('README edits need a ticket number', file=sys.stderr)\nsys.exit(2)")
    (de_agent_home / "config.toml").write_text(
        f"[[hooks.PreToolUse]]\nmatcher = \"ReadFile|Edit\"\ncommand = {json.dumps(hook)}\n")
    script = [{"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "README.md"}}]},
              {"tool_calls": [{"name": "ReadFolder", "arguments": {"dir_path": "."}}]},
              {"text": "blocked, as expected"}]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "read the readme", "--output-format", "stream-json",
                       server=server)
        seen = tool_messages(server.requests[1])
    assert proc.returncode == 0, proc.stderr
    results = _results(stream_events(proc.stdout))
    assert not results["ReadFile"]["ok"]
    assert "Blocked by a PreToolUse hook: README edits need a ticket number" in seen[-1]["content"]
    assert results["ReadFolder"]["ok"]  # the matcher does not cover it
    payloads = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(payloads) == 1
    assert payloads[0]["event"] == "PreToolUse" and payloads[0]["tool_name"] == "ReadFile"
    assert payloads[0]["tool_input"] == {"file_path": "README.md"} and payloads[0]["cwd"] == str(repo)


def test_post_tool_use_context_and_user_prompt_hooks(repo, de_agent_home, tmp_path):
    post = _hook_script(tmp_path, "post.py", "print(json.dumps({'additionalContext': 'owner: data-platform team'}))")
    prompt = _hook_script(tmp_path, "prompt.py",
                          "print(json.dumps({'additionalContext': 'ticket ' + event['prompt'][:4]}))")
    (de_agent_home / "config.toml").write_text(
        f"[[hooks.PostToolUse]]\ncommand = {json.dumps(post)}\n"
        f"[[hooks.UserPromptSubmit]]\ncommand = {json.dumps(prompt)}\n")
    script = [{"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "README.md"}}]}, {"text": "ok"}]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "DE-7 read it", "--output-format", "stream-json", server=server)
        first, second = server.requests[0], server.requests[1]
    assert proc.returncode == 0, proc.stderr
    user = [m for m in first["messages"] if m["role"] == "user"][-1]["content"]
    assert user.startswith("DE-7 read it") and "[hook context] ticket DE-7" in user
    assert "[hook context] owner: data-platform team" in tool_messages(second)[-1]["content"]


def test_stop_hook_that_blocks_makes_the_model_go_on(repo, de_agent_home, tmp_path):
    marker = tmp_path / "stopped-once"
    stop = _hook_script(tmp_path, "stop.py",
                        f"import pathlib\nm = pathlib.Path({str(marker)!r})\n"
                        "if not m.exists():\n    m.write_text('1')\n"
                        "    print(json.dumps({'decision': 'block', 'reason': 'run the tests first'}))")
    (de_agent_home / "config.toml").write_text(f"[[hooks.Stop]]\ncommand = {json.dumps(stop)}\n")
    with ScriptedServer([{"text": "finished"}, {"text": "tests ran; finished"}]) as server:
        proc = run_cli(repo, de_agent_home, "-p", "do it", "--output-format", "stream-json", server=server)
        last = server.requests[-1]["messages"][-1]
    assert proc.returncode == 0, proc.stderr
    assert last == {"role": "user", "content": "[Stop hook] run the tests first"}
    assert stream_events(proc.stdout)[-1]["text"] == "tests ran; finished"
