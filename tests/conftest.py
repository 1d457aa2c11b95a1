"""Shared fixtures: a real git repository in a temporary folder and a private user state folder."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
import textual._wait

# Bytecode is cached, by this process and every Python process a test starts (the workers, the
# de-agent command): where PYTHONDONTWRITEBYTECODE is set, each of them compiled every module anew.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# Textual's pilot waits for the app to go idle after every key press, in steps of 20 ms (at least
# 40 ms a key); 5 ms steps find the same idle moments, and the tests wait on conditions anyway.
textual._wait.SLEEP_GRANULARITY = 0.005

# Every front end (TUI, plain, headless, ACP) starts its engine so: token counts and context
# windows of a directly spoken endpoint never import litellm. Engines built by tests do the same.
__import__("de_agent.llm.adapter", fromlist=["fast_start"]).fast_start()


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by marker
def pytest_collection_modifyitems(config, items) -> None:
    """The tests on the session's PostgreSQL server are end-to-end tests (a real server, left out of
    the quick loop); under pytest-xdist (``--dist loadgroup``) they run on one worker, so that only
    one server is started."""
    for item in items:
        if "postgres_server" in item.fixturenames:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("postgres"))


def pytest_collection_finish(session) -> None:
    """What collection imported lives to the end: keep it out of every later garbage collection
    (pytest alone collects five times at the end of a session)."""
    gc.freeze()


@pytest.fixture(autouse=True)
def de_agent_home(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own DE_AGENT_HOME; no test touches the real user folders."""
    home = tmp_path_factory.mktemp("de_agent_home")
    monkeypatch.setenv("DE_AGENT_HOME", str(home))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    return home


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    """A real git repository with one commit."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "user.name", "Test")
    (root / "README.md").write_text("# demo\n")
    (root / "etl").mkdir()
    (root / "etl" / "load.py").write_text("def load(rows):\n    return list(rows)\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return Path(os.path.realpath(root))


from tests.support.engines import postgres_server  # noqa: E402,F401 - session-scoped, shared by test modules
