"""The Shell tool and the runner's reporting: exit codes, timeouts, bounded output, honesty."""

from __future__ import annotations

import time

import pytest

from de_agent.config import Settings
from de_agent.security.runner import _Capture, run_command
from de_agent.security.sandbox import plain
from de_agent.tools import load_tools
from de_agent.tools.base import EXECUTE, ToolError
from de_agent.tools.shell import Shell
from tests.support.security import bwrap_or_skip, make_ctx


def test_shell_is_registered():
    assert "Shell" in [t.name for t in load_tools()]


async def test_prepare_runs_nothing_and_describes_the_action(repo):
    action = await Shell().prepare({"command": "touch marker", "description": "make a marker"},
                                   make_ctx(repo, runner=plain()))
    assert not (repo / "marker").exists()
    assert action.kind == EXECUTE and action.command == "touch marker"
    assert action.summary == "make a marker" and action.asks
    outcome = await action.run(None)
    assert outcome.ok and (repo / "marker").exists()


async def test_commands_run_from_the_repository_root(repo):
    action = await Shell().prepare({"command": "pwd"}, make_ctx(repo, runner=plain()))
    assert (await action.run(None)).output.splitlines()[-1] == str(repo)


async def test_exit_code_reported_and_failure_not_ok(repo):
    action = await Shell().prepare({"command": "echo out; echo err >&2; exit 3"}, make_ctx(repo, runner=plain()))
    outcome = await action.run(None)
    assert not outcome.ok
    assert outcome.output.splitlines() == ["Exit code: 3", "out", "err"]
    assert outcome.display["exit_code"] == 3 and outcome.display["sandbox"] == "none (resource limits only)"


async def test_timeout_said_clearly(repo):
    start = time.monotonic()
    action = await Shell().prepare({"command": "echo begun; sleep 20", "timeout_s": 1},
                                   make_ctx(repo, runner=plain()))
    outcome = await action.run(None)
    assert time.monotonic() - start < 4
    assert not outcome.ok and outcome.output.startswith("Timed out after 1 s")
    assert "begun" in outcome.output and outcome.display["timed_out"]


async def test_default_timeout_comes_from_settings(repo):
    ctx = make_ctx(repo, runner=plain(), shell_timeout_s=1)
    outcome = await (await Shell().prepare({"command": "sleep 20"}, ctx)).run(None)
    assert "Timed out after 1 s" in outcome.output


@pytest.mark.parametrize("args", [{"command": ""}, {"command": "   "}, {}, {"command": "ls\x00"},
                                  {"command": "ls", "timeout_s": 0}, {"command": "ls", "timeout_s": "x"},
                                  {"command": "ls", "timeout_s": 10**6}])
async def test_bad_arguments_are_tool_errors(repo, args):
    with pytest.raises(ToolError):
        await Shell().prepare(args, make_ctx(repo, runner=plain()))


async def test_long_output_is_cut_in_the_middle_and_says_so(repo):
    outcome = await (await Shell().prepare({"command": "seq 1 300000"}, make_ctx(repo, runner=plain()))).run(None)
    lines = outcome.output.splitlines()
    assert lines[1] == "1" and lines[-1] == "300000"
    assert "omitted" in outcome.output and len(outcome.output) < 60_000
    assert outcome.display["truncated"]


async def test_output_secrets_redacted(repo, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_PASSWORD", "correct-horse-battery")
    (repo / "notes.txt").write_text("pw: correct-horse-battery\n")
    outcome = await (await Shell().prepare({"command": "cat notes.txt"}, make_ctx(repo, runner=plain()))).run(None)
    assert "correct-horse-battery" not in outcome.output and "[REDACTED]" in outcome.output


def test_description_is_honest_without_a_sandbox(repo):
    text = Shell().describe(make_ctx(repo, runner=plain()))
    assert "NOT sandboxed" in text and "bubblewrap" not in text
    assert str(repo) in text and "no terminal" in text.lower()
    assert "NOT sandboxed" in Shell().describe(make_ctx(repo, sandbox="none"))


def test_description_names_the_sandbox_when_there_is_one(repo):
    box = bwrap_or_skip()
    text = Shell().describe(make_ctx(repo, runner=box))
    assert "bubblewrap" in text and "no network" in text and "NOT sandboxed" not in text
    assert box.name == "bwrap (no network)"


async def test_required_sandbox_missing_is_said(repo, monkeypatch):
    import shutil

    from de_agent.security import sandbox as sandbox_mod

    sandbox_mod.clear_probe_cache()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    ctx = make_ctx(repo, sandbox="bwrap")
    assert "Commands cannot run" in Shell().describe(ctx)
    action = await Shell().prepare({"command": "ls"}, ctx)
    with pytest.raises(ToolError, match="bwrap"):
        await action.run(None)
    sandbox_mod.clear_probe_cache()


async def test_runner_reports_a_command_that_cannot_start(tmp_path):
    result = await run_command("true", tmp_path / "missing", 5)
    assert result.exit_code is None and "could not start" in result.output


def test_capture_keeps_head_and_tail_with_a_note():
    cap = _Capture(100, 100)
    for i in range(10_000):
        cap.add(f"line {i}\n".encode())
    text, truncated = cap.text()
    assert truncated and text.startswith("line 0\n") and text.endswith("line 9999\n")
    assert "lines) of output omitted" in text
    assert len(cap.head) == 100 and len(cap.tail) == 100


def test_capture_cleans_colours_and_progress_redraws():
    cap = _Capture(1000, 1000)
    cap.add(b"\x1b[31mred\x1b[0m\r\n10%\r50%\r100%\ndone\n")
    assert cap.text() == ("red\n100%\ndone\n", False)


async def test_settings_default_sandbox_resolves_for_the_tool(repo):
    ctx = make_ctx(repo)
    assert ctx.settings == Settings()
    outcome = await (await Shell().prepare({"command": "echo hi"}, ctx)).run(None)
    assert outcome.ok and outcome.display["sandbox"]


async def test_runner_without_pidfd_polls_for_the_exit(tmp_path, monkeypatch):
    import os

    monkeypatch.delattr(os, "pidfd_open", raising=False)
    start = time.monotonic()
    result = await run_command("echo polled; sleep 0.2; exit 4", tmp_path, 5)
    assert result.exit_code == 4 and result.output == "polled\n"
    assert time.monotonic() - start < 2
