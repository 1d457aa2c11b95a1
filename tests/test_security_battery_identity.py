"""Attack battery, part 5: identity, processes and host sockets, end to end through the real
``de-agent -p`` command with a scripted model.

Under bubblewrap the command runs as an unprivileged uid in a user namespace, private host
files are hidden, a process cap holds for root too (a cgroup where one can be made), and a
unix socket outside the repository is unreachable when the network is cut. Without bubblewrap,
processes that left the command's group (``setsid ... &``) still end with the call.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from pathlib import Path

import pytest

from de_agent.security import pidcap
from tests.support.cli import cli_env, run_cli, stream_events
from tests.support.openai_server import ScriptedServer
from tests.support.security import bwrap_or_skip, pids_with, wait_gone

pytestmark = pytest.mark.e2e

FORK_LOOP = ("python3 -c \"import os,time\nn=0\ntry:\n  while n<3000:\n    pid=os.fork()\n"
             "    if pid==0:\n      time.sleep(3); os._exit(0)\n    n+=1\n  print('forked', n)\n"
             "except OSError as e: print('capped at', n)\"")


def _shell_outputs(cwd: Path, home: Path, commands: list[str], sandbox: str) -> list[str]:
    script = [{"tool_calls": [{"name": "Shell", "arguments": {"command": c}} for c in commands]},
              {"text": "done"}]
    with ScriptedServer(script) as server:
        proc = run_cli(cwd, home, "-p", "go", "--output-format", "stream-json", "--approval-mode", "yolo",
                       server=server, env=cli_env(home, DE_AGENT_SANDBOX=sandbox))
    assert proc.returncode == 0, proc.stderr
    return [e["output"] for e in stream_events(proc.stdout) if e["type"] == "tool_result"]


@pytest.fixture
def host_socket():
    """A unix socket outside the repository, /tmp and /run, accepting connections."""
    folder = tempfile.mkdtemp(prefix="de-agent-sock-", dir="/var/tmp")
    path = os.path.join(folder, "db.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    os.chmod(path, 0o777)
    server.listen(5)
    yield path
    server.close()
    shutil.rmtree(folder, ignore_errors=True)


def test_bwrap_drops_root_hides_host_files_and_blocks_host_sockets(repo, de_agent_home, host_socket):
    bwrap_or_skip()
    connect = (f"python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.connect('{host_socket}'); "
               f"print('CONNECTED')\"")
    outputs = _shell_outputs(repo, de_agent_home, [
        "id -u", "cat /etc/shadow && echo SHADOW-READ", connect,
        "python3 -c \"import socket; a, b = socket.socketpair(); print('PAIR-OK')\"",
        "touch made-in-sandbox && echo WROTE"], "bwrap")
    uid, shadow, sock, pair, wrote = outputs
    assert uid.split()[-1] != "0", uid
    assert "root:" not in shadow, shadow
    assert "CONNECTED" not in sock, sock
    assert "PAIR-OK" in pair  # socketpair (asyncio, multiprocessing) keeps working
    assert "WROTE" in wrote and (repo / "made-in-sandbox").exists()


def test_bwrap_fork_loop_is_capped_for_root_too(repo, de_agent_home):
    bwrap_or_skip()
    if pidcap.PidCap.open() is None and os.geteuid() == 0:
        pytest.skip("no writable pids cgroup here: as root only the timeout bounds a fork loop")
    (out,) = _shell_outputs(repo, de_agent_home, [FORK_LOOP], "bwrap")
    assert "capped at" in out, out
    assert int(out.split("capped at")[1].split()[0]) <= pidcap.DEFAULT_MAX_PIDS


def test_no_sandbox_setsid_background_process_ends_with_the_call(repo, de_agent_home):
    marker = f"9{uuid.uuid4().int % 10**6}.25"
    try:
        outputs = _shell_outputs(repo, de_agent_home, [
            f"setsid sh -c 'sleep {marker}' > /dev/null 2>&1 & echo started",
            f"( setsid sleep {marker} & ) ; nohup setsid sleep {marker} >/dev/null 2>&1 & echo again"], "none")
        assert "started" in outputs[0] and "again" in outputs[1]
        assert wait_gone(marker, timeout=3) == [], "a process outlived de-agent"
    finally:
        for pid in pids_with(marker):
            os.kill(pid, 9)


def test_no_sandbox_fork_loop_is_capped(repo, de_agent_home):
    if pidcap.PidCap.open() is None and os.geteuid() == 0:
        pytest.skip("no writable pids cgroup here: RLIMIT_NPROC does not bind root")
    (out,) = _shell_outputs(repo, de_agent_home, [FORK_LOOP], "none")
    assert "capped at" in out, out


def _run_bpf(prog: bytes, arch: int, nr: int, arg0: int) -> int:
    """A tiny classic-BPF interpreter for the seccomp data layout (nr, arch, ip, args)."""
    import struct

    data = struct.pack("=iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    code = [struct.unpack("=HBBI", prog[i:i + 8]) for i in range(0, len(prog), 8)]
    pc, acc = 0, 0
    while True:
        op, jt, jf, k = code[pc]
        if op == 0x20:
            acc = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif op == 0x15:
            pc += 1 + (jt if acc == k else jf)
        elif op == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {op:#x}")


@pytest.mark.parametrize(("arch", "nr", "arg0", "refused"), [
    (0xC000003E, 41, 1, True),             # x86_64 socket(AF_UNIX)
    (0xC000003E, 41, 2, False),            # x86_64 socket(AF_INET): the namespace has no network anyway
    (0xC000003E, 53, 1, False),            # x86_64 socketpair(AF_UNIX)
    (0xC000003E, 0x40000029, 1, True),     # x32 socket(AF_UNIX)
    (0x40000003, 359, 1, True),            # i386 socket(AF_UNIX)
    (0x40000003, 102, 1, True),            # i386 socketcall: refused whole
    (0x40000003, 3, 1, False),             # i386 read
])
def test_unix_socket_filter_logic(monkeypatch, arch, nr, arg0, refused):
    from de_agent.security import sandbox

    monkeypatch.setattr(sandbox.os, "uname", lambda: os.uname_result(("Linux", "h", "6", "v", "x86_64")))
    prog = sandbox.unix_socket_filter()
    action = _run_bpf(prog, arch, nr, arg0)
    assert (action == (0x00050000 | 13)) == refused and (action == 0x7FFF0000) == (not refused)
