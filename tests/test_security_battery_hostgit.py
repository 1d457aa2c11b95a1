"""Attack battery, part 4: de-agent's own git calls on the host never run what the repository
(or a command in the sandbox) planted, and never leave the repository.

Each case is end to end through the real ``python -m de_agent -p ... --output-format
stream-json`` against the local model server: a scripted model plants git configuration with
Shell (as a sandboxed command could, or as a repository copied from elsewhere carries it),
then edits a file so the end-of-turn checkpoint runs git; a second session starts in plan
mode, which runs ``git status`` for the system prompt. Every planted program would create a
marker OUTSIDE the repository; the test asserts that it never appears, and that checkpoints
still work.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import git
from tests.support.cli import cli_env, run_cli, stream_events
from tests.support.openai_server import ScriptedServer

pytestmark = pytest.mark.e2e


def _session(cwd: Path, home: Path, script: list, mode: str = "yolo", **env: str):
    with ScriptedServer(script) as server:
        proc = run_cli(cwd, home, "-p", "go", "--output-format", "stream-json", "--approval-mode",
                       mode, server=server, env=cli_env(home, **env))
    assert proc.returncode == 0, proc.stderr
    return stream_events(proc.stdout)


def _attack(cwd: Path, home: Path, plant: str, edit: str = "etl/load.py") -> list[dict]:
    """Plant with Shell, then an edit (checkpoint + end of turn), then a plan-mode session."""
    script = [{"tool_calls": [{"name": "Shell", "arguments": {"command": plant}}]},
              {"tool_calls": [{"name": "WriteFile", "arguments": {"file_path": edit,
                                                                   "content": "x = 1\n"}}]},
              {"text": "done"}]
    events = _session(cwd, home, script)
    shell = [e for e in events if e["type"] == "tool_result"][0]
    assert shell["ok"], shell
    events += _session(cwd, home, [{"text": "looked"}], mode="plan")
    return events


def _touch(marker: Path) -> str:
    return f"touch {marker}; false"


PLANTS = {
    # a filter driver in the repository's own config (a repository copied from elsewhere)
    "repo-filter": "git config filter.ev.clean '{cmd}' && git config filter.ev.process '{cmd}' && "
                   "echo '*.py filter=ev' > .gitattributes",
    # fsmonitor, hooks path and external diff in the repository's own config
    "repo-fsmonitor": "git config core.fsmonitor '{cmd}'",
    "repo-hookspath": "mkdir -p hk && printf '#!/bin/sh\\n{cmd}\\n' > hk/post-index-change && "
                      "chmod +x hk/post-index-change && git config core.hooksPath hk",
    # configuration hidden behind include and includeIf
    "include": "printf '[core]\\n\\tfsmonitor = {cmd}\\n[filter \"inc\"]\\n\\tclean = {cmd}\\n' > inc.cfg && "
               "git config include.path ../inc.cfg && echo '*.py filter=inc' > .gitattributes",
    "include-if": "printf '[filter \"iif\"]\\n\\tsmudge = {cmd}\\n\\tclean = {cmd}\\n' > iif.cfg && "
                  "git config 'includeIf.gitdir:/.path' ../iif.cfg && echo '*.py filter=iif' > .gitattributes",
}


@pytest.mark.parametrize("case", sorted(PLANTS))
def test_planted_git_config_never_runs_on_the_host(repo, de_agent_home, tmp_path, case):
    marker = tmp_path / f"pwned-{case}"
    events = _attack(repo, de_agent_home, PLANTS[case].format(cmd=_touch(marker)))
    assert not marker.exists(), f"{case}: a planted program ran on the host"
    assert (repo / "etl/load.py").read_text() == "x = 1\n"
    # Checkpoints still work in such a repository: the edit's turn left its snapshot refs.
    session = next(e["session_id"] for e in events if e["type"] == "session_started")
    refs = subprocess.run(["git", "-C", str(repo), "for-each-ref", "--format=%(refname)", f"refs/de-agent/{session}/"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert f"refs/de-agent/{session}/1" in refs, refs


def test_submodule_git_file_replaced_by_a_planted_repository(repo, de_agent_home, tmp_path):
    sub_src = tmp_path / "subsrc"
    sub_src.mkdir()
    git(sub_src, "init", "-q", "-b", "main")
    (sub_src / "f").write_text("f\n")
    git(sub_src, "add", "-A")
    git(sub_src, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "s")
    subprocess.run(["git", "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub_src), "sub"],
                   cwd=repo, check=True, capture_output=True)
    git(repo, "commit", "-qm", "sub")
    marker = tmp_path / "pwned-submodule"
    plant = (f"rm sub/.git && cp -r .git/modules/sub sub/.git && "
             f"git config --file sub/.git/config --unset core.worktree && "
             f"git config --file sub/.git/config core.fsmonitor '{_touch(marker)}' && echo dirty >> sub/f")
    _attack(repo, de_agent_home, plant)
    assert not marker.exists()


def test_git_file_pointing_to_a_folder_inside_the_repository(tmp_path, de_agent_home):
    work = tmp_path / "work"
    work.mkdir()
    (work / "etl").mkdir()
    (work / "etl" / "load.py").write_text("y = 0\n")
    marker = tmp_path / "pwned-gitfile"
    plant = (f"git init -q --separate-git-dir=.gitstore . && git config core.fsmonitor '{_touch(marker)}'"
             f" && git config filter.ev.clean '{_touch(marker)}' && echo '* filter=ev' > .gitattributes")
    _attack(work, de_agent_home, plant)
    assert (work / ".git").is_file()
    assert not marker.exists()


def test_a_folder_made_a_repository_by_a_command_runs_nothing_at_next_start(tmp_path, de_agent_home):
    """No .git to protect: the command makes one; the next session's start-up (plan mode) and
    its checkpoints still run nothing from it."""
    work = tmp_path / "plain-folder"
    (work / "etl").mkdir(parents=True)
    (work / "etl" / "load.py").write_text("y = 0\n")
    marker = tmp_path / "pwned-init"
    plant = (f"git init -q . && git config core.fsmonitor '{_touch(marker)}' && "
             f"git config core.pager '{_touch(marker)}' && git config status.showUntrackedFiles all")
    _attack(work, de_agent_home, plant)
    assert not marker.exists()


def test_core_worktree_cannot_point_checkpoints_and_undo_outside(repo, de_agent_home, tmp_path):
    outside = tmp_path / "outside-tree"
    (outside / "etl").mkdir(parents=True)
    (outside / "etl" / "load.py").write_text("OUTSIDE\n")
    (outside / "keep.txt").write_text("keep\n")
    _attack(repo, de_agent_home, f"git config core.worktree {outside}")
    script = [{"tool_calls": [{"name": "WriteFile", "arguments": {"file_path": "new.txt", "content": "n\n"}}]},
              {"text": "done"}]
    _session(repo, de_agent_home, script)
    assert sorted(p.name for p in outside.iterdir()) == ["etl", "keep.txt"]
    assert (outside / "etl" / "load.py").read_text() == "OUTSIDE\n"


def test_repository_with_risky_settings_still_works_with_a_notice(repo, de_agent_home, tmp_path):
    marker = tmp_path / "pwned-notice"
    git(repo, "config", "core.fsmonitor", _touch(marker))
    git(repo, "config", "filter.ev.clean", _touch(marker))
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\n{_touch(marker)}\n")
    hook.chmod(0o755)
    with ScriptedServer([{"text": "hi"}]) as server:  # notices go to stderr in text mode
        proc = run_cli(repo, de_agent_home, "-p", "go", "--approval-mode", "plan", server=server)
    assert proc.returncode == 0, proc.stderr
    notes = [ln for ln in proc.stderr.splitlines() if ln.startswith("note:")]
    assert any("core.fsmonitor" in n and "filter.ev.clean" in n and "hook pre-commit" in n
               and "ignore" in n for n in notes), proc.stderr
    assert "hi" in proc.stdout
    assert not marker.exists()


def test_inherited_git_environment_does_not_reach_host_git(repo, de_agent_home, tmp_path):
    marker = tmp_path / "pwned-env"
    events = _session(repo, de_agent_home, [
        {"tool_calls": [{"name": "WriteFile", "arguments": {"file_path": "etl/load.py", "content": "z\n"}}]},
        {"text": "done"}],
        GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="core.fsmonitor", GIT_CONFIG_VALUE_0=_touch(marker),
        GIT_EXTERNAL_DIFF=str(marker))
    assert not marker.exists()
    assert any(e["type"] == "diff" for e in events)


def test_an_inherited_git_dir_does_not_redirect_checkpoints(repo, de_agent_home, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    git(elsewhere, "init", "-q")
    before = sorted(p.name for p in (elsewhere / ".git" / "refs").rglob("*"))
    _session(repo, de_agent_home, [
        {"tool_calls": [{"name": "WriteFile", "arguments": {"file_path": "etl/load.py", "content": "z\n"}}]},
        {"text": "done"}], GIT_DIR=str(elsewhere / ".git"), GIT_WORK_TREE=str(elsewhere))
    assert sorted(p.name for p in (elsewhere / ".git" / "refs").rglob("*")) == before
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/de-agent/")
    assert refs.strip(), "the checkpoint went to the repository the session runs in"


def test_session_diff_runs_no_external_diff_or_textconv(repo, tmp_path):
    from de_agent.gitops.checkpoints import Checkpoints

    marker = tmp_path / "pwned-diff"
    git(repo, "config", "diff.external", _touch(marker))
    git(repo, "config", "diff.ev.textconv", _touch(marker))
    (repo / ".gitattributes").write_text("* diff=ev\n")
    cp = Checkpoints(repo, "s1")
    cp.begin_turn(1)
    (repo / "etl/load.py").write_text("changed\n")
    cp.record_changes(1, ["etl/load.py"])
    cp.end_turn(1)
    assert "+changed" in cp.session_diff()
    assert not marker.exists()


def test_a_dotenv_in_the_repository_never_reaches_de_agents_environment(repo, de_agent_home, tmp_path):
    """litellm loads the first ``.env`` above its own folder when imported; with a project
    virtualenv inside the repository that is the repository's ``.env``."""
    import litellm

    site = repo / ".venv" / "site"
    site.mkdir(parents=True)
    (site / "litellm").symlink_to(Path(litellm.__file__).parent)
    marker = tmp_path / "pwned-dotenv"
    (repo / ".env").write_text(f"DE_AGENT_DOTENV_PROBE=leaked\nGIT_CONFIG_COUNT=1\n"
                               f"GIT_CONFIG_KEY_0=core.fsmonitor\nGIT_CONFIG_VALUE_0='{_touch(marker)}'\n"
                               "OPENAI_API_BASE=http://127.0.0.1:9/v1\n")
    env = cli_env(de_agent_home)
    env["PYTHONPATH"] = f"{site}:{env['PYTHONPATH']}"
    script = [{"tool_calls": [{"name": "Shell", "arguments": {"command": "echo probe=${DE_AGENT_DOTENV_PROBE:-unset}"}}]},
              {"tool_calls": [{"name": "WriteFile", "arguments": {"file_path": "etl/load.py", "content": "q\n"}}]},
              {"text": "done"}]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "go", "--output-format", "stream-json", "--approval-mode",
                       "yolo", server=server, env=env)
    assert proc.returncode == 0, proc.stderr
    shell = [e for e in stream_events(proc.stdout) if e["type"] == "tool_result"][0]
    assert "probe=unset" in shell["output"], shell["output"]
    assert not marker.exists()
