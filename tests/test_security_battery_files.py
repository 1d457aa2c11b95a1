"""Attack battery, part 1: path escapes through Workspace and every file tool.

Each case is an end-to-end attempt through the real Workspace or the real tool (prepare and
run, as approved) and asserts that nothing outside the repository changed and that no
outside content came back.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from de_agent.workspace import ConfinementError, Workspace
from tests.support.security import SECRET_TEXT, attempt, make_ctx, make_outside, snapshot

fs_read = pytest.importorskip("de_agent.tools.fs_read")
edit = pytest.importorskip("de_agent.tools.edit")


@pytest.fixture
def world(repo, tmp_path):
    outside = make_outside(tmp_path)
    before = snapshot(outside)
    yield repo, outside
    assert snapshot(outside) == before, "something outside the repository changed"


def _setup(repo: Path, outside: Path, kind: str) -> None:
    if kind == "file-link":
        (repo / "leak.txt").symlink_to(outside / "secret.txt")
    elif kind == "dir-link":
        (repo / "linkdir").symlink_to(outside)
    elif kind == "chain":
        (repo / "b").symlink_to(outside / "secret.txt")
        (repo / "a").symlink_to(repo / "b")
    elif kind == "relative-link":
        (repo / "rel").symlink_to(os.path.relpath(outside / "secret.txt", repo))
    elif kind == "root-link":
        (repo / "rootlink").symlink_to("/")
    elif kind == "proc-link":
        (repo / "proclink").symlink_to("/proc/self/root")
    elif kind == "nested-link":
        (repo / "etl" / "deep").symlink_to(outside / "sub")


# (case id, setup, path template: {out} is the outside folder)
ESCAPES = [
    ("dotdot", None, "../outside/secret.txt"),
    ("dotdot-deep", None, "etl/../../outside/secret.txt"),
    ("absolute", None, "{out}/secret.txt"),
    ("etc-passwd", None, "/etc/passwd"),
    ("tilde", None, "~/.bashrc"),
    ("proc-self-root", None, "/proc/self/root{out}/secret.txt"),
    ("double-slash-proc", None, "//proc/self/root{out}/secret.txt"),
    ("proc-self-cwd", None, "/proc/self/cwd/../outside/secret.txt"),
    ("dev-fd", None, "/dev/fd/0"),
    ("nul-byte", None, "README.md\x00../outside/secret.txt"),
    ("symlink-file", "file-link", "leak.txt"),
    ("symlink-dir", "dir-link", "linkdir/secret.txt"),
    ("symlink-chain", "chain", "a"),
    ("symlink-relative", "relative-link", "rel"),
    ("symlink-to-root", "root-link", "rootlink{out}/secret.txt"),
    ("symlink-to-proc", "proc-link", "proclink{out}/secret.txt"),
    ("symlink-nested", "nested-link", "etl/deep/f"),
]
READERS = ["workspace-read", "ReadFile"]
WRITERS = ["workspace-write", "WriteFile", "Edit"]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(("case", "setup", "template"), ESCAPES, ids=[e[0] for e in ESCAPES])
async def test_read_escape_refused(world, reader, case, setup, template):
    repo, outside = world
    if setup:
        _setup(repo, outside, setup)
    path = template.format(out=outside)
    if reader == "workspace-read":
        with pytest.raises((ConfinementError, FileNotFoundError, NotADirectoryError)):
            Workspace(repo).read_bytes(path)
        return
    ok, text = await attempt(fs_read.ReadFile(), {"file_path": path}, make_ctx(repo))
    assert not ok
    assert SECRET_TEXT not in text and "root:x:0" not in text


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize(("case", "setup", "template"), ESCAPES, ids=[e[0] for e in ESCAPES])
async def test_write_escape_refused(world, writer, case, setup, template):
    repo, outside = world
    if setup:
        _setup(repo, outside, setup)
    path = template.format(out=outside)
    etc_before = Path("/etc/passwd").read_bytes()
    if writer == "workspace-write":
        with pytest.raises((ConfinementError, OSError)):
            Workspace(repo).write_bytes(path, b"pwned\n")
    else:
        tool, args = ((edit.WriteFile(), {"file_path": path, "content": "pwned\n"}) if writer == "WriteFile"
                      else (edit.Edit(), {"file_path": path, "old_string": SECRET_TEXT, "new_string": "pwned"}))
        ok, text = await attempt(tool, args, make_ctx(repo))
        assert not ok, text
        assert SECRET_TEXT not in text
    assert Path("/etc/passwd").read_bytes() == etc_before


@pytest.mark.parametrize("writer", WRITERS)
async def test_hard_link_to_outside_never_written(world, writer):
    repo, outside = world
    os.link(outside / "secret.txt", repo / "hl.txt")
    if writer == "workspace-write":
        with pytest.raises(ConfinementError, match="hard links"):
            Workspace(repo).write_bytes("hl.txt", b"pwned\n")
    else:
        tool, args = ((edit.WriteFile(), {"file_path": "hl.txt", "content": "pwned\n"}) if writer == "WriteFile"
                      else (edit.Edit(), {"file_path": "hl.txt", "old_string": "OUTSIDE", "new_string": "x"}))
        ok, text = await attempt(tool, args, make_ctx(repo))
        assert not ok, text
    assert (outside / "secret.txt").read_text() == SECRET_TEXT + "\n"


@pytest.mark.parametrize("target", [".git/config", ".git/hooks/pre-commit", ".git/hooks/post-checkout"])
@pytest.mark.parametrize("writer", WRITERS)
async def test_git_internals_never_written(repo, writer, target):
    before = snapshot(repo / ".git")
    if writer == "workspace-write":
        with pytest.raises(ConfinementError, match=".git"):
            Workspace(repo).write_bytes(target, b"[core]\n\tfsmonitor = touch pwned\n")
    else:
        tool, args = ((edit.WriteFile(), {"file_path": target, "content": "#!/bin/sh\ntouch pwned\n"})
                      if writer == "WriteFile"
                      else (edit.Edit(), {"file_path": target, "old_string": "[core]",
                                          "new_string": "[core]\n\tfsmonitor = touch pwned"}))
        ok, text = await attempt(tool, args, make_ctx(repo))
        assert not ok, text
    assert snapshot(repo / ".git") == before


@pytest.mark.timeout(10)
@pytest.mark.parametrize("reader", READERS)
async def test_fifo_in_repository_does_not_hang_a_read(repo, reader):
    os.mkfifo(repo / "pipe")
    if reader == "workspace-read":
        with pytest.raises(ConfinementError, match="regular"):
            Workspace(repo).read_bytes("pipe")
    else:
        ok, _ = await asyncio.wait_for(attempt(fs_read.ReadFile(), {"file_path": "pipe"}, make_ctx(repo)), 5)
        assert not ok


def _swapper(repo: Path, outside: Path, stop: threading.Event) -> None:
    """Swap repo/d between a real folder and a symlink to the outside, as fast as possible."""
    real, link, d = repo / "d.real", repo / "d.link", repo / "d"
    steps = [(d, real), (link, d), (d, link), (real, d)]
    while not stop.is_set():
        for src, dst in steps:
            try:
                os.rename(src, dst)
            except OSError:  # a write created d while it was away; keep swapping the rest
                pass


def _prepare_swap(repo: Path, outside: Path) -> None:
    (repo / "d").mkdir()
    (repo / "d" / "secret.txt").write_text("inside\n")
    (repo / "d.link").symlink_to(outside)


@pytest.mark.parametrize("via", ["workspace-read", "ReadFile", "workspace-write"])
def test_swap_race_never_escapes(world, via):
    repo, outside = world
    _prepare_swap(repo, outside)
    ws, ctx, tool = Workspace(repo), make_ctx(repo), fs_read.ReadFile()
    stop = threading.Event()
    thread = threading.Thread(target=_swapper, args=(repo, outside, stop), daemon=True)
    results = {"ok": 0, "refused": 0}
    thread.start()
    try:
        for i in range(600 if via != "ReadFile" else 150):
            try:
                if via == "workspace-read":
                    data = ws.read_bytes("d/secret.txt").decode()
                elif via == "ReadFile":
                    ok, data = asyncio.run(attempt(tool, {"file_path": "d/secret.txt"}, ctx))
                    if not ok:
                        raise ConfinementError(data)
                else:
                    ws.write_bytes(f"d/new{i}.txt", b"pwned\n")
                    data = ""
                assert SECRET_TEXT not in data
                results["ok"] += 1
            except (ConfinementError, FileNotFoundError, NotADirectoryError):
                results["refused"] += 1
    finally:
        stop.set()
        thread.join()
    assert results["ok"] + results["refused"] > 0
    assert not list(outside.glob("new*.txt"))
