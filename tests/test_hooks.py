"""Hooks as real scripts: blocking, context, timeouts, failures and repository approval."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from de_agent import protocol as P
from de_agent.config import Settings, load_settings
from de_agent.extensions.hooks import Hook, HookRunner
from de_agent.frontends.factory import build_engine
from de_agent.sessions.compact import compact
from tests.support.fake_llm import FakeLLM


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(f"import json, sys, time\nevent = json.load(sys.stdin)\n{body}\n")
    return f"{sys.executable} {path}"


def runner(repo: Path, *hooks: Hook) -> HookRunner:
    return HookRunner(list(hooks), repo, [])


async def test_exit_2_blocks_with_stderr_as_the_reason(repo, tmp_path):
    cmd = script(tmp_path, "h.py", "print('no writes to prod', file=sys.stderr); sys.exit(2)")
    result = await runner(repo, Hook("PreToolUse", cmd, "Shell")).run("PreToolUse", {"tool_name": "Shell"}, "Shell")
    assert result.blocked and result.reason == "no writes to prod"


async def test_json_decision_blocks_and_matcher_filters(repo, tmp_path):
    cmd = script(tmp_path, "h.py", "print(json.dumps({'decision': 'block', 'reason': 'use RunSQL'}))")
    r = runner(repo, Hook("PreToolUse", cmd, "Shell|mcp__*"))
    assert (await r.run("PreToolUse", {}, "mcp__dbt__run")).reason == "use RunSQL"
    assert not (await r.run("PreToolUse", {}, "ReadFile")).blocked
    assert r.active("PreToolUse", "ReadFile") == []


async def test_timeout_and_failure_are_notices_not_blocks(repo, tmp_path):
    slow = Hook("PostToolUse", script(tmp_path, "slow.py", "time.sleep(30)"), timeout_s=0.5)
    broken = Hook("PostToolUse", script(tmp_path, "bad.py", "print('boom', file=sys.stderr); sys.exit(1)"))
    result = await runner(repo, slow, broken).run("PostToolUse", {}, "ReadFile")
    assert not result.blocked
    assert "timed out after 0.5 s" in result.notices[0]
    assert "failed (exit 1): boom" in result.notices[1]


async def test_hooks_get_the_cleaned_environment_and_run_in_the_repository(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_PASSWORD", "hunter2hunter2")
    out = tmp_path / "seen.json"
    cmd = script(tmp_path, "h.py", "import os\n"
                 f"open({str(out)!r}, 'w').write(json.dumps({{'cwd': os.getcwd(), 'env': sorted(os.environ), "
                 "'event': event}))")
    await runner(repo, Hook("Stop", cmd)).run("Stop", {"text": "done"})
    seen = json.loads(out.read_text())
    assert seen["cwd"] == str(repo) and "WAREHOUSE_PASSWORD" not in seen["env"]
    assert seen["event"]["event"] == "Stop" and seen["event"]["text"] == "done"


def _project_hooks(repo: Path, command: str) -> Settings:
    (repo / ".de-agent").mkdir(exist_ok=True)
    (repo / ".de-agent" / "config.toml").write_text(f"[[hooks.UserPromptSubmit]]\ncommand = {json.dumps(command)}\n")
    return load_settings(repo)


def test_repository_hooks_wait_for_approval_and_a_change_voids_it(repo, tmp_path):
    notices: list[str] = []
    first = HookRunner.from_settings(_project_hooks(repo, "echo one"), repo, notices)
    assert first.active("UserPromptSubmit") == [] and "/hooks approve" in notices[0]
    assert "Approved" in first.approve()
    assert len(first.active("UserPromptSubmit")) == 1
    assert HookRunner.from_settings(_project_hooks(repo, "echo one"), repo, []).project_approved
    changed = HookRunner.from_settings(_project_hooks(repo, "echo two"), repo, [])
    assert not changed.project_approved and changed.active("UserPromptSubmit") == []


def test_unknown_events_and_empty_commands_are_reported(repo):
    notices: list[str] = []
    settings = Settings(hooks={"AfterLunch": [{"command": "x"}], "Stop": [{"matcher": "*"}]})
    r = HookRunner.from_settings(settings, repo, notices)
    assert r.all == [] and "unknown event 'AfterLunch'" in notices[0] and "without a command" in notices[1]


async def test_user_prompt_block_ends_the_turn_before_the_model(repo, tmp_path):
    cmd = script(tmp_path, "h.py", "print('prompts may not mention prod', file=sys.stderr); sys.exit(2)")
    events: list[P.Event] = []
    llm = FakeLLM([{"text": "never"}])
    parts = build_engine(Settings(model="fake/m", sandbox="none", hooks={"UserPromptSubmit": [{"command": cmd}]}),
                         repo, events.append, llm=llm, record=False)
    outcome = await parts.engine.run_turn("drop prod")
    assert outcome.reason == "error" and llm.calls == []
    assert any(isinstance(e, P.Error) and "prompts may not mention prod" in e.message for e in events)


async def test_session_start_context_reaches_the_model_once(repo, tmp_path):
    cmd = script(tmp_path, "h.py", "print(json.dumps({'additionalContext': 'warehouse: ' + event['source']}))")
    llm = FakeLLM([{"text": "a"}, {"text": "b"}])
    parts = build_engine(Settings(model="fake/m", sandbox="none", hooks={"SessionStart": [{"command": cmd}]}),
                         repo, lambda e: None, llm=llm, record=False)
    await parts.engine.run_turn("one")
    await parts.engine.run_turn("two")
    assert llm.calls[0][-1]["content"] == "one\n\n[hook context] warehouse: startup"
    assert llm.calls[1][-1]["content"] == "two"


async def test_pre_compact_block_skips_compaction(repo, tmp_path):
    cmd = script(tmp_path, "h.py", "sys.exit(2)")
    events: list[P.Event] = []
    llm = FakeLLM([{"text": "answer"}])
    parts = build_engine(Settings(model="fake/m", sandbox="none", hooks={"PreCompact": [{"command": cmd}]}),
                         repo, events.append, llm=llm, record=False)
    await parts.engine.run_turn("hello")
    assert await compact(parts.engine) is False
    assert any(isinstance(e, P.Notice) and "PreCompact hook blocked it" in e.message for e in events)
    assert len(llm.calls) == 1  # no summary was asked for


def test_config_tables_for_servers_and_hooks(repo, de_agent_home):
    (de_agent_home / "config.toml").write_text(
        '[mcp_servers.dbt]\ncommand = "dbt-mcp"\ntrust = true\n[[hooks.Stop]]\ncommand = "true"\n')
    (repo / ".de-agent").mkdir()
    (repo / ".de-agent" / "config.toml").write_text(
        '[mcp_servers.dbt]\ncommand = "evil"\n[mcp_servers.repo]\nurl = "http://127.0.0.1:1/mcp"\n'
        '[[hooks.Stop]]\ncommand = "false"\n')
    settings = load_settings(repo)
    assert settings.mcp_servers["dbt"]["command"] == "dbt-mcp" and settings.mcp_servers["dbt"]["origin"] == "user"
    assert settings.mcp_servers["repo"]["origin"] == "project"
    assert any("ignored [mcp_servers.dbt]" in w for w in settings.warnings)
    assert [(h["command"], h["origin"]) for h in settings.hooks["Stop"]] == [("true", "user"), ("false", "project")]


def test_a_hooks_table_that_is_not_an_array_is_a_config_error(repo, de_agent_home):
    import pytest

    from de_agent.config import ConfigError

    (de_agent_home / "config.toml").write_text('[hooks.Stop]\ncommand = "true"\n')
    with pytest.raises(ConfigError, match=r"hooks must be arrays of tables"):
        load_settings(repo)
