"""Git checkpoints, undo, auto-commit and the status summary, in real temporary repositories."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from de_agent.gitops import Checkpoints, commit_message, git_summary, prune_sessions
from tests.conftest import git


def quiet_git(cwd: Path, *args: str) -> str:
    """git without optional locks, so the test's own look does not rewrite the index."""
    return git(cwd, "--no-optional-locks", *args)


def turn(cp: Checkpoints, n: int, root: Path, writes: dict[str, str | None]) -> list[str]:
    """One engine turn: checkpoint, apply writes (None deletes), report them, end the turn."""
    cp.begin_turn(n)
    for rel, text in writes.items():
        path = root / rel
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    cp.record_changes(n, list(writes))
    return cp.end_turn(n)


def user_state(root: Path) -> dict[str, str]:
    return {
        "head": quiet_git(root, "rev-parse", "HEAD"),
        "branch": quiet_git(root, "symbolic-ref", "HEAD"),
        "stash": quiet_git(root, "stash", "list"),
        "staged": quiet_git(root, "diff", "--cached"),
        "status": quiet_git(root, "status", "--porcelain", "--untracked-files=all"),
        "index_bytes": hashlib.sha256((root / ".git" / "index").read_bytes()).hexdigest(),
        "branches": quiet_git(root, "for-each-ref", "refs/heads", "refs/stash", "refs/tags"),
    }


LOAD = "def load(rows):\n    return list(rows)\n"


def test_undo_after_one_turn_restores_the_file(repo):
    cp = Checkpoints(repo, "s1")
    assert cp.available and cp.notice == ""
    changed = turn(cp, 1, repo, {"etl/load.py": "def load(rows):\n    return set(rows)\n"})
    assert changed == ["etl/load.py"]
    result = cp.undo()
    assert result.ok, result.message
    assert result.restored == ["etl/load.py"]
    assert (repo / "etl/load.py").read_text() == LOAD
    assert "Undid turn 1" in result.message
    assert quiet_git(repo, "status", "--porcelain") == ""


def test_undo_after_three_turns_goes_back_step_by_step(repo):
    cp = Checkpoints(repo, "s1")
    versions = [LOAD] + [f"def load(rows):\n    return rows  # v{n}\n" for n in (1, 2, 3)]
    for n in (1, 2, 3):
        turn(cp, n, repo, {"etl/load.py": versions[n], f"notes/n{n}.md": f"turn {n}\n"})
    assert cp.turns() == [1, 2, 3]
    for n in (3, 2, 1):
        result = cp.undo()
        assert result.ok, result.message
        assert f"turn {n}" in result.message
        assert (repo / "etl/load.py").read_text() == versions[n - 1]
        assert not (repo / f"notes/n{n}.md").exists()
        assert all((repo / f"notes/n{k}.md").exists() for k in range(1, n))
    assert not (repo / "notes").exists()
    last = cp.undo()
    assert not last.ok and "Nothing to undo" in last.message


def test_undo_refused_after_user_edit_names_the_file(repo):
    cp = Checkpoints(repo, "s1")
    turn(cp, 1, repo, {"etl/load.py": "agent\n", "README.md": "# agent\n"})
    (repo / "etl/load.py").write_text("agent\nuser's own line\n")
    result = cp.undo()
    assert not result.ok
    assert "etl/load.py" in result.message and "README.md" not in result.message
    assert "overwrite" in result.message and result.restored == []
    # Nothing was touched: the user's edit and the turn's other change stay.
    assert (repo / "etl/load.py").read_text() == "agent\nuser's own line\n"
    assert (repo / "README.md").read_text() == "# agent\n"
    # Once the user puts the file back as the turn left it, undo works.
    (repo / "etl/load.py").write_text("agent\n")
    assert cp.undo().ok
    assert (repo / "etl/load.py").read_text() == LOAD


def test_undo_refused_when_user_deleted_a_file_the_turn_created(repo):
    cp = Checkpoints(repo, "s1")
    turn(cp, 1, repo, {"etl/new.py": "x = 1\n"})
    (repo / "etl/new.py").unlink()
    result = cp.undo()
    assert not result.ok and "etl/new.py" in result.message


def test_file_and_folder_created_by_a_turn_are_removed(repo):
    cp = Checkpoints(repo, "s1")
    turn(cp, 1, repo, {"etl/dedupe/step.py": "def step(): ...\n", "etl/load.py": "changed\n"})
    result = cp.undo()
    assert result.ok, result.message
    assert sorted(result.restored) == ["etl/dedupe/step.py", "etl/load.py"]
    assert "removed etl/dedupe/step.py (created by the turn)" in result.message
    assert not (repo / "etl/dedupe").exists()
    assert (repo / "etl").is_dir()


def test_a_file_deleted_by_a_turn_comes_back_with_its_mode(repo):
    script = repo / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    git(repo, "add", "run.sh")
    git(repo, "commit", "-q", "-m", "script")
    cp = Checkpoints(repo, "s1")
    turn(cp, 1, repo, {"run.sh": None})
    assert cp.undo().ok
    assert script.read_text() == "#!/bin/sh\necho hi\n"
    assert os.access(script, os.X_OK)


def test_users_index_stash_branch_and_head_are_untouched(repo):
    (repo / "README.md").write_text("# stashed work\n")
    git(repo, "stash", "-q")
    (repo / "staged.py").write_text("staged = True\n")
    git(repo, "add", "staged.py")
    (repo / "README.md").write_text("# unstaged user edit\n")
    (repo / "scratch.txt").write_text("untracked\n")
    before = user_state(repo)
    assert before["stash"] and before["staged"]

    cp = Checkpoints(repo, "s1")
    cp.begin_turn(1)
    assert user_state(repo) == before
    (repo / "etl/load.py").write_text("agent\n")
    (repo / "etl/extra.py").write_text("agent\n")
    cp.record_changes(1, ["etl/load.py", "etl/extra.py"])
    cp.end_turn(1)
    assert "etl/load.py" in cp.session_diff()
    assert cp.undo().ok
    assert user_state(repo) == before
    # The snapshot holds the user's work in progress too, without having staged it.
    snapshot = quiet_git(repo, "ls-tree", "-r", "--name-only", "refs/de-agent/s1/start")
    assert {"staged.py", "scratch.txt", "README.md"} <= set(snapshot.split())


def test_ignored_files_are_neither_snapshotted_nor_deleted(repo):
    (repo / ".gitignore").write_text("*.log\ndata/\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "ignore")
    (repo / "old.log").write_text("before\n")
    (repo / "scratch.txt").write_text("untracked before\n")
    cp = Checkpoints(repo, "s1")
    turn(cp, 1, repo, {"old.log": "rewritten by the turn\n", "data/out.csv": "a,b\n",
                       "scratch.txt": "untracked, changed by the turn\n", "etl/load.py": "x\n"})
    tree = quiet_git(repo, "ls-tree", "-r", "--name-only", "refs/de-agent/s1/1-post").split()
    assert "scratch.txt" in tree and "old.log" not in tree and "data/out.csv" not in tree
    result = cp.undo()
    assert result.ok, result.message
    assert (repo / "scratch.txt").read_text() == "untracked before\n"
    assert (repo / "etl/load.py").read_text() == LOAD
    # Ignored files stay exactly as the turn left them, and the message says so.
    assert (repo / "old.log").read_text() == "rewritten by the turn\n"
    assert (repo / "data/out.csv").read_text() == "a,b\n"
    assert "ignored by git" in result.message and "old.log" in result.message


def test_turn_that_changed_only_ignored_files_is_skipped_with_a_note(repo):
    (repo / ".gitignore").write_text("*.log\n")
    cp = Checkpoints(repo, "s1")
    turn(cp, 1, repo, {"etl/load.py": "turn 1\n"})
    turn(cp, 2, repo, {"run.log": "only ignored\n"})
    result = cp.undo()
    assert not result.ok and "run.log" in result.message and "ignored by git" in result.message
    assert (repo / "run.log").exists()
    assert cp.undo().ok
    assert (repo / "etl/load.py").read_text() == LOAD


def test_files_over_the_size_limit_are_left_alone(repo):
    cp = Checkpoints(repo, "s1", max_file_bytes=1000)
    turn(cp, 1, repo, {"big.csv": "x" * 5000, "etl/load.py": "small\n"})
    tree = quiet_git(repo, "ls-tree", "-r", "--name-only", "refs/de-agent/s1/1-post").split()
    assert "big.csv" not in tree
    result = cp.undo()
    assert result.ok and "big.csv" in result.message and "size limit" in result.message
    assert (repo / "big.csv").exists()
    assert (repo / "etl/load.py").read_text() == LOAD


def test_changes_made_by_a_command_are_found_without_being_reported(repo):
    cp = Checkpoints(repo, "s1")
    cp.begin_turn(1)
    subprocess.run(["sh", "-c", "echo generated > etl/gen.py && rm README.md"], cwd=repo, check=True)
    assert cp.end_turn(1) == ["README.md", "etl/gen.py"]
    assert cp.undo().ok
    assert (repo / "README.md").read_text() == "# demo\n" and not (repo / "etl/gen.py").exists()


def test_turn_without_changes_leaves_no_checkpoint(repo):
    cp = Checkpoints(repo, "s1")
    turn(cp, 1, repo, {"etl/load.py": "turn 1\n"})
    cp.begin_turn(2)
    assert cp.end_turn(2) == []
    assert cp.turns() == [1]
    assert "turn 1" in cp.undo().message


def test_undo_ends_a_turn_the_engine_did_not_end(repo):
    cp = Checkpoints(repo, "s1")
    cp.begin_turn(1)
    (repo / "etl/load.py").write_text("unfinished turn\n")
    result = cp.undo()
    assert result.ok and (repo / "etl/load.py").read_text() == LOAD


def test_a_resumed_session_can_undo_earlier_turns(repo):
    first = Checkpoints(repo, "s1")
    turn(first, 1, repo, {"etl/load.py": "from the first run\n"})
    first.close()
    again = Checkpoints(repo, "s1")
    assert again.turns() == [1]
    assert again.undo().ok
    assert (repo / "etl/load.py").read_text() == LOAD
    assert Checkpoints(repo, "other").undo().ok is False


def test_a_resumed_session_that_numbers_turns_from_one_again(repo):
    first = Checkpoints(repo, "s1")
    turn(first, 1, repo, {"etl/load.py": "first run\n"})
    first.close()
    again = Checkpoints(repo, "s1")
    pre = again.begin_turn(1)
    assert pre != git(repo, "rev-parse", "refs/de-agent/s1/1").strip()
    assert again.begin_turn(1) == pre
    assert git(repo, "rev-parse", "refs/de-agent/s1/2").strip() == pre
    (repo / "etl/load.py").write_text("second run\n")
    again.end_turn(1)
    assert again.turns() == [1, 1]
    assert again.undo().ok and (repo / "etl/load.py").read_text() == "first run\n"
    assert again.undo().ok and (repo / "etl/load.py").read_text() == LOAD


def test_session_diff_shows_the_total_change(repo):
    cp = Checkpoints(repo, "s1")
    assert cp.session_diff() == ""
    turn(cp, 1, repo, {"etl/load.py": "def load(rows):\n    return sorted(rows)\n"})
    turn(cp, 2, repo, {"etl/clean.py": "def clean(): ...\n"})
    diff = cp.session_diff()
    assert "--- a/etl/load.py" in diff and "+    return sorted(rows)" in diff
    assert "-    return list(rows)" in diff
    assert "+++ b/etl/clean.py" in diff and "new file mode" in diff
    cp.undo()
    cp.undo()
    assert cp.session_diff() == ""


def test_auto_commit_creates_one_commit_with_the_message(repo):
    (repo / "staged.py").write_text("user's staged work\n")
    git(repo, "add", "staged.py")
    before = int(git(repo, "rev-list", "--count", "HEAD"))
    cp = Checkpoints(repo, "s1")
    files = turn(cp, 1, repo, {"etl/load.py": "def load(rows):\n    return sorted(rows)\n",
                               "etl/clean.py": "def clean(): ...\n", "README.md": None})
    message = commit_message("please sort the rows in load()", files)
    result = cp.auto_commit(message)
    assert result.ok, result.message
    assert int(git(repo, "rev-list", "--count", "HEAD")) == before + 1
    assert git(repo, "log", "-1", "--format=%B").strip() == message.strip()
    assert git(repo, "rev-parse", "HEAD").strip() == result.commit
    committed = git(repo, "show", "--name-status", "--format=", "HEAD").split("\n")
    assert sorted(filter(None, committed)) == ["A\tetl/clean.py", "D\tREADME.md", "M\tetl/load.py"]
    # The user's own staged change stays staged and out of the commit.
    assert git(repo, "diff", "--cached", "--name-only").split() == ["staged.py"]
    assert "on main" in result.message


def test_auto_commit_with_nothing_changed_commits_nothing(repo):
    cp = Checkpoints(repo, "s1")
    head = git(repo, "rev-parse", "HEAD")
    result = cp.auto_commit("nothing")
    assert not result.ok and "Nothing to commit" in result.message
    assert git(repo, "rev-parse", "HEAD") == head


def test_commit_message_says_what_and_why():
    message = commit_message("please add a dedupe step to load() so reruns do not double rows.",
                             ["etl/load.py", "etl/dedupe.py"])
    subject, blank, *body = message.splitlines()
    assert subject == "Add a dedupe step to load() so reruns do not double rows" and blank == ""
    assert "- etl/load.py" in body and "- etl/dedupe.py" in body
    assert any("so reruns do not double rows" in line for line in body)
    long = commit_message("x " * 200, [f"f{i}.py" for i in range(30)])
    assert len(long.splitlines()[0]) <= 72 and "and 10 more" in long
    assert commit_message("", ["a.py"]).startswith("Update a.py\n")


def test_paths_are_relative_to_a_root_below_the_top(repo):
    cp = Checkpoints(repo / "etl", "s1")
    cp.begin_turn(1)
    (repo / "etl/load.py").write_text("changed\n")
    cp.record_changes(1, ["load.py"])
    assert cp.end_turn(1) == ["load.py"]
    assert cp.undo().restored == ["load.py"]


def test_outside_a_repository_everything_is_a_no_op(tmp_path):
    (tmp_path / "a.py").write_text("x\n")
    cp = Checkpoints(tmp_path, "s1")
    assert not cp.available
    assert "not inside a git repository" in cp.notice and "off" in cp.notice
    assert cp.begin_turn(1) is None
    cp.record_changes(1, ["a.py"])
    assert cp.end_turn(1) == []
    result = cp.undo()
    assert not result.ok and result.message == cp.notice
    assert cp.session_diff() == ""
    assert not cp.auto_commit("msg").ok
    assert "not a git repository" in git_summary(tmp_path)
    assert not (tmp_path / ".git").exists()


def test_without_git_installed_checkpoints_are_off(repo, monkeypatch):
    monkeypatch.setenv("PATH", str(repo / "no-bin-here"))
    cp = Checkpoints(repo, "s1")
    assert not cp.available and "git is not installed" in cp.notice
    assert "git is not installed" in git_summary(repo)


def test_git_summary_names_branch_counts_and_paths(repo):
    assert git_summary(repo) == "Git: branch main\nStatus: clean"
    (repo / "etl/load.py").write_text("changed\n")
    (repo / "staged.py").write_text("s\n")
    git(repo, "add", "staged.py")
    for i in range(12):
        (repo / f"new{i:02}.txt").write_text("n\n")
    summary = git_summary(repo)
    assert summary.startswith("Git: branch main\nStatus: 1 staged, 1 modified, 12 untracked")
    assert " M etl/load.py" in summary and "A  staged.py" in summary
    assert "?? new00.txt" in summary and "... and 4 more" in summary


def test_git_summary_upstream_and_detached(repo, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "-u", "origin", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "local")
    assert "tracking origin/main, ahead 1" in git_summary(repo)
    git(repo, "checkout", "-q", "--detach", "HEAD~1")
    assert git_summary(repo).startswith("Git: detached HEAD at ")


def test_prune_sessions_keeps_the_newest(repo, monkeypatch):
    for name, date in (("zz-old", "2020-01-01T00:00:00"), ("aa-new", "2024-01-01T00:00:00")):
        monkeypatch.setenv("GIT_COMMITTER_DATE", date)
        cp = Checkpoints(repo, name)
        turn(cp, 1, repo, {"etl/load.py": name + "\n"})
    assert prune_sessions(repo, keep=1) == 1
    refs = quiet_git(repo, "for-each-ref", "--format=%(refname)", "refs/de-agent/").split()
    assert refs and all(r.startswith("refs/de-agent/aa-new/") for r in refs)


@pytest.mark.parametrize("session_id", ["2024-05-01T10:00 abc", "..x.lock", "a/b~c^d"])
def test_odd_session_ids_make_valid_refs(repo, session_id):
    cp = Checkpoints(repo, session_id)
    turn(cp, 1, repo, {"etl/load.py": "x\n"})
    assert cp.undo().ok


def test_auto_commit_never_runs_the_repositorys_hooks(repo, tmp_path):
    marker = tmp_path / "hook-ran"
    hook = repo / ".git/hooks/pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    hook.chmod(0o755)
    head = git(repo, "rev-parse", "HEAD")
    cp = Checkpoints(repo, "s1")
    turn(cp, 1, repo, {"etl/load.py": "x\n"})
    result = cp.auto_commit(commit_message("tweak load", ["etl/load.py"]))
    assert result.ok, result.message
    assert git(repo, "rev-parse", "HEAD") != head
    assert not marker.exists()


def test_a_repository_filter_is_ignored_and_checkpoints_keep_working(repo, tmp_path):
    marker = tmp_path / "filter-ran"
    (repo / ".gitattributes").write_text("*.py filter=broken\n")
    git(repo, "config", "filter.broken.clean", f"touch {marker}; false")
    git(repo, "config", "filter.broken.required", "true")
    (repo / "etl/load.py").write_text("dirty, so the filter would run\n")
    cp = Checkpoints(repo, "s1")
    assert cp.available
    turn(cp, 1, repo, {"etl/load.py": "changed by the turn\n"})
    assert cp.available, cp.notice
    assert cp.undo().ok
    assert (repo / "etl/load.py").read_text() == "dirty, so the filter would run\n"
    assert not marker.exists()


def test_git_failure_turns_checkpoints_off_instead_of_raising(repo):
    cp = Checkpoints(repo, "s1")
    assert cp.available
    (repo / "etl/load.py").write_text("dirty\n")
    objects = repo / ".git/objects"
    objects.rename(repo / ".git/objects.moved")
    objects.write_text("not a folder\n")
    assert cp.begin_turn(1) is None
    assert not cp.available and "off for this session" in cp.notice
    result = cp.undo()
    assert not result.ok and result.message == cp.notice
    assert cp.end_turn(1) == [] and cp.session_diff() == ""


def test_git_summary_counts_conflicts_and_odd_paths(repo):
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "README.md").write_text("# other\n")
    git(repo, "commit", "-q", "-am", "other")
    git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("# main\n")
    git(repo, "commit", "-q", "-am", "main")
    subprocess.run(["git", "merge", "-q", "other"], cwd=repo, capture_output=True)
    (repo / "with space é.txt").write_text("x\n")
    summary = git_summary(repo)
    assert "1 conflicted" in summary and "UU README.md" in summary
    assert "?? with space é.txt" in summary


def test_git_summary_is_fast(repo):
    import time

    for i in range(300):
        (repo / f"f{i}.py").write_text("x\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "many")
    git_summary(repo)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        git_summary(repo)
        times.append(time.perf_counter() - start)
    assert sorted(times)[2] < 0.5


def test_importing_gitops_pulls_in_neither_gitpython_nor_textual():
    code = ("import sys, de_agent.gitops; "
            "assert 'git' not in sys.modules and 'textual' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
