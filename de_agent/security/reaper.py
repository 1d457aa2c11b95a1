"""A tiny launcher that leaves no process behind: ``python -I -S reaper.py PROGRAM ARGS...``.

Without bubblewrap's PID namespace, killing a command's process group misses processes that
left it (``setsid ... &``, a double fork into a new session). This launcher makes itself a
child subreaper (``PR_SET_CHILD_SUBREAPER``), so every orphaned descendant, whatever session
or group it moved to, is re-parented to it instead of to init. It runs the program, waits for
it, then kills every remaining descendant (repeatedly, until none is left) and exits with the
program's status. SIGTERM (timeout, cancellation) does the same at once.

Standalone on purpose: it imports nothing from de_agent (nor ``signal``/``enum``) and starts fast.
"""

import _signal as signal  # type: ignore[import-not-found]  # the C module: ``signal`` would import enum (~15 ms of start-up)
import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36


def _children() -> list[int]:
    me = str(os.getpid())
    found = []
    try:
        tasks = os.listdir(f"/proc/{me}/task")
    except OSError:
        tasks = [me]
    for tid in tasks:
        try:
            with open(f"/proc/{me}/task/{tid}/children") as fh:
                found += [int(p) for p in fh.read().split()]
        except OSError:
            return _children_by_scan()
    return found


def _children_by_scan() -> list[int]:
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == me:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _kill_descendants() -> None:
    """SIGKILL every child; their orphans come to us and are killed in the next round."""
    for _ in range(1000):
        kids = _children()
        if not kids:
            break
        for pid in kids:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        for pid in kids:
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass
    while True:  # reap whatever is left
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break


def main(argv: list[str]) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    def stop(signum, _frame):
        _kill_descendants()
        os._exit(128 + signum)

    signal.signal(15, stop)
    signal.signal(2, stop)
    signal.signal(1, stop)
    pid = os.fork()
    if pid == 0:
        for sig in (15, 2, 1):
            signal.signal(sig, signal.SIG_DFL)
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            sys.stderr.write(f"could not start {argv[0]}: {exc}\n")
        os._exit(127)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    _kill_descendants()
    if os.WIFSIGNALED(status):  # die the same way, so the caller sees the signal
        signum = os.WTERMSIG(status)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return 128 + signum
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
