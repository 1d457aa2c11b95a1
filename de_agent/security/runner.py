"""Running one shell command: bounded in time, output and resources, and never left behind.

``run_command`` starts ``bash -c COMMAND`` (wrapped by the sandbox when there is one) with
stdin on ``/dev/null``, in its own session and process group, under resource limits. Output
(stdout and stderr together) is read as it comes, keeping only a head and a tail, so a flood
never grows memory. On timeout, on cancellation (Ctrl+C), and when the command finishes, the
whole process group is killed: a background child neither outlives the call nor holds it up
by keeping the output pipe open. Where a cgroup can be made (``pidcap.py``) the command runs
in one whose ``pids.max`` caps processes for root too and whose members are all killed at the
end, wherever they moved (``setsid ... &``); without a cgroup and without bubblewrap's PID
namespace it runs under a subreaper launcher (``reaper.py``) that kills those descendants. The main process is not reaped before its group is killed,
so the group id cannot have been reused by an unrelated process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from de_agent.security.env import clean_env, protect_process
from de_agent.security.pidcap import PidCap, preexec_enter

REAPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reaper.py")

HEAD_BYTES = 24_000
TAIL_BYTES = 24_000
MAX_LINES = 2_000
# After the main process exits: how long children may still write before the group is killed.
EXIT_GRACE_S = 0.2
TERM_GRACE_S = 1.0

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


@dataclass
class CommandResult:
    exit_code: int | None
    """The exit status; negative: killed by that signal; None: it never started."""
    output: str
    """stdout and stderr interleaved, bounded, with a note where the middle was cut."""
    timed_out: bool
    truncated: bool
    duration_s: float
    total_bytes: int = 0
    note: str = ""


@dataclass(frozen=True)
class Limits:
    """Resource limits for the command's processes (inherited by every child)."""

    nproc_headroom: int = 1024
    """Processes and threads the command may add to the user's current count."""
    address_space: int | None = None
    """Bytes of virtual memory per process; None: the machine's RAM (at least 4 GiB)."""
    file_size: int = 8 << 30
    """Largest file a process may write."""

    def values(self) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = [(resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, self.file_size)]
        if hasattr(resource, "RLIMIT_AS"):
            out.append((resource.RLIMIT_AS, self.address_space or _default_address_space()))
        if hasattr(resource, "RLIMIT_NPROC"):
            out.append((resource.RLIMIT_NPROC, _user_tasks(os.getuid()) + self.nproc_headroom))
        return out

    def preexec(self) -> Callable[[], None]:
        """A function for the child between fork and exec: only lowers limits, never raises."""
        wanted = []
        for res, value in self.values():
            soft, hard = resource.getrlimit(res)
            cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
            wanted.append((res, cap))

        def apply() -> None:
            for res, cap in wanted:
                try:
                    resource.setrlimit(res, (cap, cap))
                except (ValueError, OSError):
                    pass

        return apply


DEFAULT_LIMITS = Limits()


def _default_address_space() -> int:
    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        ram = 0
    return max(ram, 4 << 30)


_task_count: tuple[float, int, int] = (0.0, -1, 0)  # (when, uid, count): a scan costs ~2 ms


def _user_tasks(uid: int) -> int:
    """Processes and threads the user runs now (RLIMIT_NPROC counts both); cached 5 s."""
    global _task_count
    when, cached_uid, cached = _task_count
    if cached_uid == uid and time.monotonic() - when < 5:
        return cached
    count = _scan_tasks(uid)
    _task_count = (time.monotonic(), uid, count)
    return count


def _scan_tasks(uid: int) -> int:
    count = 0
    try:
        entries = os.scandir("/proc")
    except OSError:
        return 1024
    with entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count


class _Capture:
    """Keeps the first and last bytes of a stream of any size, and counts the rest."""

    def __init__(self, head: int, tail: int):
        self.head_limit, self.tail_limit = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.newlines = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.newlines += chunk.count(b"\n")
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.tail_limit:
                del self.tail[: len(self.tail) - self.tail_limit]

    def text(self) -> tuple[str, bool]:
        head = _clean(self.head.decode("utf-8", "replace"))
        if self.total <= self.head_limit + self.tail_limit and len(self.head) + len(self.tail) == self.total:
            return _bound_lines(head + _clean(self.tail.decode("utf-8", "replace")))
        tail = _clean(self.tail.decode("utf-8", "replace"))
        # Cut at line boundaries so neither side starts or ends mid-line.
        if "\n" in head:
            head = head[: head.rfind("\n") + 1]
        if "\n" in tail[:-1]:
            tail = tail[tail.find("\n") + 1:]
        omitted = self.total - len(head.encode()) - len(tail.encode())
        omitted_lines = max(0, self.newlines - head.count("\n") - tail.count("\n"))
        marker = (f"[... {omitted} bytes ({omitted_lines} lines) of output omitted; showing the "
                  f"first {len(head.encode())} and last {len(tail.encode())} bytes of {self.total} ...]\n")
        text, _ = _bound_lines(head + marker + tail)
        return text, True


def _clean(text: str) -> str:
    """Drop colour codes and keep only the last state of lines redrawn with carriage returns."""
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    if "\r" in text:
        text = "\n".join(line.rsplit("\r", 1)[-1] if line.rstrip("\r") else line
                         for line in text.split("\n"))
    return text


def _bound_lines(text: str, max_lines: int = MAX_LINES) -> tuple[str, bool]:
    lines = text.split("\n")
    if len(lines) <= max_lines:
        return text, False
    half = max_lines // 2
    cut = len(lines) - 2 * half
    return "\n".join([*lines[:half], f"[... {cut} lines of output omitted ...]", *lines[-half:]]), True


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _exit_future(loop: asyncio.AbstractEventLoop, proc: subprocess.Popen
                 ) -> tuple[asyncio.Future, Callable[[], None]]:
    """A future resolved when the process exits, without reaping it (pidfd, or WNOWAIT polling)."""
    pid = proc.pid
    fut: asyncio.Future = loop.create_future()
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    if pidfd is not None:
        def ready() -> None:
            loop.remove_reader(pidfd)
            if not fut.done():
                fut.set_result(None)

        loop.add_reader(pidfd, ready)

        def cleanup() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)

        return fut, cleanup

    def exited() -> bool:
        waitid = getattr(os, "waitid", None)
        if waitid is None:  # no way to peek without reaping: reap (the pid is then free)
            return proc.poll() is not None
        try:
            return waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    async def poll() -> None:
        while not exited():
            await asyncio.sleep(0.02)
        if not fut.done():
            fut.set_result(None)

    task = loop.create_task(poll())

    def stop() -> None:
        task.cancel()

    return fut, stop


async def _settle(fut: asyncio.Future, timeout: float) -> bool:
    if not fut.done():
        await asyncio.wait([fut], timeout=timeout)
    return fut.done()


async def _kill_all(pgid: int) -> None:
    """SIGKILL the group a few times: a fork bomb may add members while the first one lands."""
    for _ in range(5):
        _kill_group(pgid, signal.SIGKILL)
        await asyncio.sleep(0.01)


def _preexec(limits: Limits | None, cap: PidCap | None) -> Callable[[], None] | None:
    steps = [f for f in (limits.preexec() if limits else None,
                         preexec_enter(cap.enter_path()) if cap else None) if f]
    if not steps:
        return None

    def run() -> None:
        for step in steps:
            step()

    return run


def _wait_exit(proc: subprocess.Popen, timeout: float) -> None:
    """Wait (blocking, bounded) until proc exits, without reaping it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return
        except ChildProcessError:
            return
        time.sleep(0.01)


def _reap(proc: subprocess.Popen) -> int | None:
    try:
        return proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            return proc.wait(timeout=2)
    return proc.returncode


async def run_command(command: str, cwd: str | os.PathLike[str], timeout_s: float,
                      env: Mapping[str, str] | None = None, sandbox: Any = None, *,
                      limits: Limits | None = DEFAULT_LIMITS, head_bytes: int = HEAD_BYTES,
                      tail_bytes: int = TAIL_BYTES) -> CommandResult:
    """Run ``bash -c command`` in ``cwd``; see the module docstring for the guarantees."""
    loop = asyncio.get_running_loop()
    protect_process()
    argv = ["bash", "-c", command]
    cap = PidCap.open() if limits else None
    # No PID namespace and no cgroup to kill: a subreaper launcher kills what left the group.
    reaped = cap is None and (sandbox is None or not getattr(sandbox, "sandboxed", False))
    if reaped:
        argv = [sys.executable, "-I", "-S", REAPER, *argv]
    elif sandbox is not None:
        argv = sandbox.wrap(argv, os.fspath(cwd))
    pass_fds = sandbox.take_fds() if hasattr(sandbox, "take_fds") else []
    env = dict(clean_env() if env is None else env)
    capture = _Capture(head_bytes, tail_bytes)
    start = time.monotonic()
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=write_fd, stderr=write_fd,
                                cwd=os.fspath(cwd), env=env, start_new_session=True, close_fds=True,
                                preexec_fn=_preexec(limits, cap), pass_fds=pass_fds)
    except (OSError, subprocess.SubprocessError) as exc:
        os.close(read_fd)
        if cap:
            cap.kill_all()
        return CommandResult(None, f"could not start the command: {exc}", False, False,
                             time.monotonic() - start, note=str(exc))
    finally:
        os.close(write_fd)
        for fd in pass_fds:
            os.close(fd)
    pgid = proc.pid
    os.set_blocking(read_fd, False)
    eof: asyncio.Future = loop.create_future()

    def stop_reading() -> None:
        loop.remove_reader(read_fd)
        if not eof.done():
            eof.set_result(None)

    def on_readable() -> None:
        try:
            for _ in range(16):  # up to 1 MiB per wake-up, then let the loop breathe
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    stop_reading()
                    return
                capture.add(chunk)
        except BlockingIOError:
            return
        except OSError:
            stop_reading()

    loop.add_reader(read_fd, on_readable)
    exited, forget_exit = _exit_future(loop, proc)
    timed_out = False
    note = ""
    try:
        if not await _settle(exited, max(timeout_s, 0.0)):
            timed_out = True
            _kill_group(pgid, signal.SIGTERM)
            if not await _settle(exited, TERM_GRACE_S):
                await _kill_all(pgid)
                await _settle(exited, 2.0)
        if await _settle(eof, EXIT_GRACE_S):
            _kill_group(pgid, signal.SIGKILL)  # children that closed their output
        else:
            await _kill_all(pgid)
            if not await _settle(eof, 0.5):
                note = ("a process that left the command's process group still holds its output "
                        "open; stopped reading it")
    except asyncio.CancelledError:
        if reaped:  # let the launcher kill what left the group before the group is killed
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            _wait_exit(proc, 1.0)
        _kill_group(pgid, signal.SIGKILL)
        raise
    finally:
        forget_exit()
        stop_reading()
        with contextlib.suppress(OSError):
            for _ in range(16):  # what is still in the pipe, bounded
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    break
                capture.add(chunk)
        os.close(read_fd)
        _kill_group(pgid, signal.SIGKILL)
        code = _reap(proc)
        if cap:
            cap.kill_all()
    output, truncated = capture.text()
    return CommandResult(code, output, timed_out, truncated, time.monotonic() - start,
                         capture.total, note)
