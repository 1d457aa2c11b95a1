"""Secrets in the environment, redaction, "always" patterns, approval rules and the sandbox probe."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from de_agent import paths
from de_agent.config import Settings
from de_agent.security import sandbox as sandbox_mod
from de_agent.security.commands import classify, suggest_pattern
from de_agent.security.env import REDACTED, clean_env, redact, secret_names
from de_agent.security.rules import ApprovalRules, RuleError, matches

ENV = {
    "PATH": "/usr/bin", "HOME": "/home/u", "PWD": "/repo", "LANG": "C.UTF-8",
    "OPENAI_API_KEY": "sk-abcdefghijklmnop", "ANTHROPIC_API_KEY": "sk-ant-abcdefghij",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-value-123", "AWS_PROFILE": "dev", "GITHUB_TOKEN": "ghp_xxxxxxxxxxxx",
    "DB_PASSWORD": "hunter2hunter2", "MY_SERVICE_AUTH": "auth-value-9999", "GH_PAT": "pat-value-abcdef",
    "DATABASE_URL": "postgres://user:pw-longer-than-8@db/x", "PLAIN_URL": "https://example.com/x",
    "GIT_AUTHOR_NAME": "Ann", "BASH_ENV": "/tmp/hook.sh", "BASH_FUNC_ls%%": "() { echo; }",
    "SSH_AUTH_SOCK": "/run/user/1/agent", "GOOGLE_APPLICATION_CREDENTIALS": "/k.json",
}


def test_clean_env_drops_secrets_and_startup_hooks_and_quiets_tools():
    env = clean_env(environ=ENV)
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "GITHUB_TOKEN",
                 "DB_PASSWORD", "MY_SERVICE_AUTH", "GH_PAT", "DATABASE_URL", "BASH_ENV", "BASH_FUNC_ls%%",
                 "SSH_AUTH_SOCK", "GOOGLE_APPLICATION_CREDENTIALS"):
        assert name not in env, name
    for name in ("PATH", "HOME", "PWD", "LANG", "PLAIN_URL", "GIT_AUTHOR_NAME"):
        assert env[name] == ENV[name]
    assert env["PAGER"] == env["GIT_PAGER"] == "cat"
    assert env["GIT_TERMINAL_PROMPT"] == "0" and env["NO_COLOR"] == "1"


def test_clean_env_allow_list_by_name_and_pattern():
    env = clean_env(["DB_PASSWORD", "AWS_*"], environ=ENV)
    assert env["DB_PASSWORD"] == "hunter2hunter2"
    assert env["AWS_PROFILE"] == "dev" and "AWS_SECRET_ACCESS_KEY" in env
    assert "OPENAI_API_KEY" not in env
    assert "DB_PASSWORD" not in secret_names(ENV, ["DB_PASSWORD"])


def test_clean_env_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-123456789")
    assert "SOME_SERVICE_TOKEN" not in clean_env()
    assert clean_env(["SOME_SERVICE_TOKEN"])["SOME_SERVICE_TOKEN"] == "tok-123456789"


def test_redact_replaces_secret_values_longest_first():
    text = ("key sk-abcdefghijklmnop and sk-ant-abcdefghij, db postgres://user:pw-longer-than-8@db/x, "
            "name Ann, profile dev, plain https://example.com/x")
    out = redact(text, environ=ENV)
    for secret in ("sk-abcdefghijklmnop", "sk-ant-abcdefghij", "pw-longer-than-8"):
        assert secret not in out
    assert out.count(REDACTED) == 3
    assert "Ann" in out and "https://example.com/x" in out and "profile dev" in out


def test_redact_ignores_short_values_and_reads_os_environ(monkeypatch):
    monkeypatch.setenv("TINY_TOKEN", "abc")
    monkeypatch.setenv("REAL_API_KEY", "real-key-0123456789")
    assert redact("abc real-key-0123456789") == f"abc {REDACTED}"
    assert redact("") == ""


@pytest.mark.parametrize(("command", "pattern"), [
    ("pytest tests/x.py -q", "pytest *"),
    ("pytest", "pytest *"),
    ("dbt run --select a", "dbt run *"),
    ("dbt test", "dbt test *"),
    ("git commit -m 'x y'", "git commit *"),
    ("make test", "make test *"),
    ("make", "make"),
    ("uv run pytest -q", "uv run pytest *"),
    ("poetry run dbt build", "poetry run dbt *"),
    ("npm run build", "npm run build *"),
    ("npx prettier --check .", "npx prettier *"),
    ("docker compose up -d", "docker compose *"),
    ("kubectl get pods", "kubectl get *"),
    ("python -m pytest -x", "python -m pytest *"),
    ("./scripts/check.sh a b", "./scripts/check.sh *"),
    ("python etl/load.py", "python etl/load.py"),
    ("uv run python etl/load.py", "uv run python etl/load.py"),
    ("bash deploy.sh", "bash deploy.sh"),
    ("sudo apt-get install x", "sudo apt-get install x"),
    ("rm -rf build", "rm -rf build"),
    ("git -C other status", "git -C other status"),
    ("pytest -q | tail -5", "pytest -q | tail -5"),
    ("pytest > out.txt", "pytest > out.txt"),
    ("pytest && git add -A", "pytest && git add -A"),
    ("FOO=1 pytest", "FOO=1 pytest"),
    ("pytest $(cat args)", "pytest $(cat args)"),
    ("rm -rf /", "rm -rf /"),
    ("cat ../secrets.txt", "cat ../secrets.txt"),
    ("git log --output=x", "git log --output=x"),
    ("git push origin main", "git push *"),
])
def test_suggest_pattern_never_wider_than_program_and_subcommand(command, pattern):
    assert suggest_pattern(command) == pattern


@pytest.mark.parametrize(("pattern", "command", "allowed"), [
    ("pytest *", "pytest tests/x.py -q", True),
    ("pytest *", "pytest", True),
    ("pytest *", "'pytest' -q", True),
    ("pytest *", "pytestx", False),
    ("pytest *", "./pytest", False),
    ("pytest *", "pytest; rm -rf build", False),
    ("pytest *", "pytest && curl x", False),
    ("pytest *", "pytest | sh", False),
    ("pytest *", "pytest > out", False),
    ("pytest *", "pytest $(touch x)", False),
    ("pytest *", "pytest `touch x`", False),
    ("pytest *", "pytest $HOME", False),
    ("pytest *", "X=1 pytest", False),
    ("pytest *", "pytest &", False),
    ("pytest *", "pytest\nrm -rf build", False),
    ("pytest *", "(pytest)", False),
    ("dbt run *", "dbt run --select a", True),
    ("dbt run *", "dbt build", False),
    ("dbt run *", "dbt", False),
    ("python -m pytest *", "python -m pytest -x", True),
    ("python -m pytest *", "python -c 'import os'", False),
    ("pytest -q | tail -5", "pytest -q | tail -5", True),
    ("pytest -q | tail -5", "pytest -q | tail -5; rm x", False),
    ("bash -c 'rm -rf /'", "bash -c 'rm -rf /'", False),
])
def test_rules_match_only_the_shape_that_was_shown(pattern, command, allowed):
    assert matches(pattern, command) is allowed


def test_always_rules_persist_per_repository(repo, tmp_path):
    rules = ApprovalRules(repo)
    assert not rules.allows("pytest -q")
    rules.add("pytest *")
    rules.add("pytest *")
    again = ApprovalRules(repo)
    assert again.allows("pytest -q") and again.always == ["pytest *"]
    data = json.loads(again.file.read_text())
    assert data["repository"] == str(repo) and data["rules"][0]["pattern"] == "pytest *"
    assert again.file.parent == paths.approvals_dir()
    other = tmp_path / "other"
    other.mkdir()
    assert not ApprovalRules(other).allows("pytest -q")
    assert again.remove("pytest *") and not ApprovalRules(repo).allows("pytest -q")


def test_session_rules_are_not_saved(repo):
    rules = ApprovalRules(repo)
    rules.add_session("dbt run *")
    assert rules.allows("dbt run --select a") and rules.matching("dbt run") == "dbt run *"
    assert not ApprovalRules(repo).allows("dbt run --select a")
    assert not rules.file.exists()


@pytest.mark.parametrize("pattern", ["*", "  ", "* *", "a\nb"])
def test_rules_refuse_patterns_that_allow_everything(repo, pattern):
    with pytest.raises(RuleError):
        ApprovalRules(repo).add(pattern)


def test_corrupt_rules_file_is_ignored_with_a_note(repo):
    rules = ApprovalRules(repo)
    rules.file.parent.mkdir(parents=True, exist_ok=True)
    rules.file.write_text("{not json")
    loaded = ApprovalRules(repo)
    assert loaded.always == [] and "unreadable" in loaded.problem
    loaded.add("make test *")
    assert ApprovalRules(repo).always == ["make test *"]


def test_hand_edited_rules_file_cannot_allow_everything(repo):
    rules = ApprovalRules(repo)
    rules.file.parent.mkdir(parents=True, exist_ok=True)
    rules.file.write_text(json.dumps({"rules": [{"pattern": "*"}, {"pattern": "ls *"}]}))
    loaded = ApprovalRules(repo)
    assert loaded.always == ["ls *"] and not loaded.allows("rm -rf build")


def test_classify_asks_for_git_reads_when_the_repository_config_runs_programs(repo):
    assert classify("git status", root=repo).verdict == "allow"
    with open(repo / ".git" / "config", "a") as fh:
        fh.write('[diff "csv"]\n\ttextconv = ./evil.sh\n')
    verdict = classify("git log -p", root=repo)
    assert verdict.verdict == "ask" and "textconv" in verdict.reason


def test_classify_asks_for_git_reads_with_an_executable_hook(repo):
    hook = repo / ".git" / "hooks" / "post-index-change"
    hook.write_text("#!/bin/sh\ntouch pwned\n")
    hook.chmod(0o755)
    assert "hook" in classify("git status", root=repo).reason


def test_sandbox_none_is_honest():
    box = sandbox_mod.resolve_sandbox(Settings(sandbox="none"))
    assert box.name == "none (resource limits only)" and not box.sandboxed
    assert "NOT sandboxed" in box.describe()
    assert box.wrap(["bash", "-c", "true"], "/tmp") == ["bash", "-c", "true"]


def test_auto_falls_back_when_bwrap_is_missing(monkeypatch):
    sandbox_mod.clear_probe_cache()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    box = sandbox_mod.resolve_sandbox(Settings(sandbox="auto"))
    assert box.kind == "none" and "not installed" in box.fallback_reason
    with pytest.raises(sandbox_mod.SandboxUnavailable, match="not installed"):
        sandbox_mod.resolve_sandbox(Settings(sandbox="bwrap"))


def test_probe_is_cached_on_disk_keyed_on_the_binary(tmp_path, monkeypatch):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    sandbox_mod.clear_probe_cache()
    ok, reason = sandbox_mod.probe_bwrap(str(fake))
    assert not ok and "cannot create a sandbox" in reason
    saved = json.loads(sandbox_mod.state_file().read_text())
    assert saved["bwrap"] == str(fake) and saved["ok"] is False
    fake.write_text("#!/bin/sh\nexit 0\n")  # a new binary (new mtime) is probed again
    os.utime(fake, (1, 1))
    sandbox_mod.clear_probe_cache()
    assert sandbox_mod.probe_bwrap(str(fake))[0] is True
    saved = json.loads(sandbox_mod.state_file().read_text())
    assert saved["ok"] is True and saved["mtime"] == 1
    saved["ok"], saved["reason"] = False, "stale"  # the same binary reads the disk cache
    sandbox_mod.state_file().write_text(json.dumps(saved))
    sandbox_mod.clear_probe_cache()
    assert sandbox_mod.probe_bwrap(str(fake)) == (False, "stale")
    sandbox_mod.clear_probe_cache()


def test_bwrap_wrap_binds_repository_writable_and_git_read_only(repo):
    box = sandbox_mod.Sandbox("bwrap", "bwrap (no network)", network=False, bwrap_path="/usr/bin/bwrap")
    (repo / ".de-agent").mkdir()
    argv = box.wrap(["bash", "-c", "true"], str(repo))
    joined = " ".join(argv)
    assert f"--bind {repo} {repo}" in joined
    assert f"--ro-bind {repo}/.git {repo}/.git" in joined
    assert f"--ro-bind {repo}/.de-agent {repo}/.de-agent" in joined
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session", "--cap-drop ALL"):
        assert flag in joined
    assert joined.index("--tmpfs /tmp") < joined.index(f"--bind {repo}")
    assert argv[-3:] == ["bash", "-c", "true"]
    assert "--unshare-net" not in box.__class__("bwrap", "x", network=True).wrap(["true"], str(repo))
