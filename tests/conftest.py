"""Shared fixtures: a real git repository in a temporary folder and a private user state folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


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
