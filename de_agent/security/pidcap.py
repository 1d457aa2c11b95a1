"""A process cap and a clean kill for one command, through a cgroup when one can be made.

``RLIMIT_NPROC`` does not bind root (nor a user namespace whose outside user is root), so a
fork loop in perl, python or ``xargs -P0`` was bounded only by the timeout. When the pids
controller is writable here (cgroup v1 ``pids`` hierarchy, or a cgroup v2 folder we own with
``pids`` delegated), each command gets a child cgroup with ``pids.max``: the kernel refuses
forks past it for root too. At the end of the call every process in it is killed (v2:
``cgroup.kill``) and the folder removed. ``PidCap.open`` returns None where no cgroup can
be made; the runner then relies on RLIMIT_NPROC (ordinary users) and says so.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from dataclasses import dataclass

DEFAULT_MAX_PIDS = 512
_V1 = "/sys/fs/cgroup/pids"
_counter = itertools.count()
_base_cache: list[tuple[str, str] | None] = []


def _own_cgroup(controller: str) -> str | None:
    try:
        with open("/proc/self/cgroup") as fh:
            for line in fh:
                _, names, path = line.rstrip("\n").split(":", 2)
                if (controller and controller in names.split(",")) or (not controller and names == ""):
                    return path
    except (OSError, ValueError):
        return None
    return None


def _base() -> tuple[str, str] | None:
    """(kind, folder) under which per-command cgroups can be made, cached; None if none."""
    if _base_cache:
        return _base_cache[0]
    found: tuple[str, str] | None = None
    v1 = _own_cgroup("pids")
    if v1 is not None and os.path.isdir(_V1):
        folder = os.path.join(_V1, v1.lstrip("/"))
        if os.access(folder, os.W_OK) and os.path.exists(os.path.join(folder, "cgroup.procs")):
            found = ("v1", folder)
    if found is None:
        v2 = _own_cgroup("")
        root = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
        if v2 is not None:
            folder = os.path.join(root, v2.lstrip("/"))
            try:
                with open(os.path.join(folder, "cgroup.subtree_control")) as fh:
                    delegated = "pids" in fh.read().split()
            except OSError:
                delegated = False
            if delegated and os.access(folder, os.W_OK):
                found = ("v2", folder)
    _base_cache.append(found)
    return found


@dataclass
class PidCap:
    kind: str
    folder: str

    @classmethod
    def open(cls, max_pids: int = DEFAULT_MAX_PIDS) -> PidCap | None:
        base = _base()
        if base is None:
            return None
        kind, parent = base
        folder = os.path.join(parent, f"de-agent-{os.getpid()}-{next(_counter)}")
        try:
            os.mkdir(folder)
            with open(os.path.join(folder, "pids.max"), "w") as fh:
                fh.write(str(max_pids))
        except OSError:
            with contextlib.suppress(OSError):
                os.rmdir(folder)
            return None
        return cls(kind, folder)

    def enter_path(self) -> str:
        """The file the child writes its pid to (between fork and exec)."""
        return os.path.join(self.folder, "cgroup.procs")

    def pids(self) -> list[int]:
        try:
            with open(os.path.join(self.folder, "cgroup.procs")) as fh:
                return [int(p) for p in fh.read().split()]
        except (OSError, ValueError):
            return []

    def kill_all(self) -> None:
        """Kill every process in the cgroup (a fork loop included), then remove it."""
        if self.kind == "v2":
            with contextlib.suppress(OSError):
                with open(os.path.join(self.folder, "cgroup.kill"), "w") as fh:
                    fh.write("1")
        for _ in range(200):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)
        for _ in range(100):
            try:
                os.rmdir(self.folder)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.01)  # zombies not yet reaped by their parent


def preexec_enter(path: str):
    """A pre-exec step that moves the child into the cgroup (its descendants follow)."""
    def enter() -> None:
        try:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, str(os.getpid()).encode())
            finally:
                os.close(fd)
        except OSError:
            pass
    return enter
