"""Helpers for the security tests: a tool context, the real policy as the gate, snapshots of
folders outside the repository, processes by marker, and running code as an ordinary user.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from de_agent.config import Settings
from de_agent.tools.base import Action, ToolContext, ToolError
from de_agent.workspace import Workspace

SECRET_TEXT = "TOP-SECRET-OUTSIDE-7f3a"
NOBODY = 65534
MAIN = Path(__file__).resolve().parents[2]


def make_ctx(root: Path, runner: Any = None, **settings: Any) -> ToolContext:
    return ToolContext(workspace=Workspace(root), settings=Settings(**settings), runner=runner)


def snapshot(folder: Path) -> dict[str, tuple[str, bytes | str, int]]:
    """Every entry under ``folder``: kind, content (or link target) and mode."""
    out: dict[str, tuple[str, bytes | str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path), st.st_mode)
            elif path.is_dir():
                out[rel] = ("dir", b"", st.st_mode)
            else:
                out[rel] = ("file", path.read_bytes(), st.st_mode)
    return out


def make_outside(base: Path) -> Path:
    outside = base / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "secret.txt").write_text(SECRET_TEXT + "\n")
    (outside / "sub" / "f").write_text(SECRET_TEXT + " sub\n")
    return outside


async def attempt(tool: Any, args: dict, ctx: ToolContext) -> tuple[bool, str]:
    """(ran_ok, text) of prepare + run, with a refusal counted as not ok."""
    try:
        action = await tool.prepare(args, ctx)
        outcome = await action.run(None)
    except (ToolError, OSError, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return outcome.ok, outcome.output


def policy_verdict(root: Path, mode: str, name: str, args: dict, action: Action) -> str:
    from de_agent.engine.policy import Policy

    return Policy(mode, root).decide(name, args, action).verdict


def pids_with(marker: str) -> list[int]:
    """Processes whose command line contains ``marker`` (never this test process)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry))
    return found


def wait_gone(marker: str, timeout: float = 2.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pids_with(marker):
            return []
        time.sleep(0.05)
    return pids_with(marker)


def kill_marked(marker: str) -> None:
    """Clean up processes a test itself started (found by their unique marker)."""
    for pid in pids_with(marker):
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def bwrap_or_skip(**settings: Any):
    from de_agent.security.sandbox import probe_bwrap, resolve_sandbox

    ok, reason = probe_bwrap()
    if not ok:
        pytest.skip(f"bubblewrap cannot run here: {reason}")
    return resolve_sandbox(Settings(sandbox="bwrap", **settings))


@functools.lru_cache(maxsize=1)
def _ordinary_python() -> tuple[str | None, str]:
    if os.geteuid() != 0:
        return sys.executable, ""
    probe = "import de_agent.security.runner, de_agent.security.sandbox"
    for python in (sys.executable, "/usr/bin/python3", shutil.which("python3") or ""):
        if not python:
            continue
        try:
            proc = subprocess.run([python, "-c", probe], preexec_fn=_drop, env=_user_env("/tmp"),
                                  capture_output=True, timeout=30, cwd="/")
        except (OSError, subprocess.SubprocessError):
            continue
        if proc.returncode == 0:
            return python, ""
    return None, "no Python that an unprivileged user can run with de_agent importable"


def _drop() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _user_env(home: str) -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "PYTHONPATH": str(MAIN),
            "DE_AGENT_HOME": os.path.join(home, "state"), "LANG": "C.UTF-8"}


def run_as_user(script: str, timeout: float = 60, extra_env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess:
    """Run a Python script as an ordinary user (``nobody`` when the tests run as root).

    RLIMIT_NPROC does not bind root, and root can read every /proc/<pid>/environ, so the
    cases about them run the real runner the way an ordinary user would.
    """
    python, reason = _ordinary_python()
    if python is None:
        pytest.skip(reason)
    folder = tempfile.mkdtemp(prefix="de-agent-user-")
    os.chmod(folder, 0o777)
    try:
        env = _user_env(folder) | (extra_env or {})
        preexec = _drop if os.geteuid() == 0 else None
        return subprocess.run([python, "-c", script], preexec_fn=preexec, env=env, cwd=folder,
                              capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
