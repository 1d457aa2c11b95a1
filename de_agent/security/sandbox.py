"""The OS sandbox for commands: bubblewrap when it works here, else the plain runner.

With bubblewrap (``bwrap``) a command sees the whole file system read-only, except the
repository, which stays writable; inside it ``.git`` and ``.de-agent`` are read-only again
(hooks and config can never be planted; git read commands still work). ``/tmp``, ``/dev`` and
``/run`` are private and empty, credential folders in the home folder are hidden, ``/proc/sys``
is read-only, the network is cut unless ``Settings.sandbox_network`` allows it, all
capabilities are dropped, and the command runs in new PID, IPC and UTS namespaces and a new
session: when its main process ends every other process of the sandbox ends with it, and the
sandbox dies with de-agent.

``--sandbox auto`` probes bwrap once (cached in the process and, keyed on the bwrap binary's
path, mtime and the kernel release, in the user state folder) and falls back to the plain
runner with resource limits. ``Sandbox.name`` says honestly which one is in force, for the
status bar, ``session_started.sandbox`` and the Shell tool's description.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from de_agent import paths

if TYPE_CHECKING:
    from de_agent.security.runner import CommandResult


class Settings(Protocol):
    """What choosing a sandbox reads of ``de_agent.config.Settings`` (config imports this
    package, so naming the class here would make a package cycle)."""

    sandbox: str
    sandbox_network: bool
    env_allow: list[str]

NO_SANDBOX_NAME = "none (resource limits only)"
# Credential stores in the home folder that a sandboxed command has no reason to read.
HOME_SECRETS = (".ssh", ".aws", ".azure", ".gnupg", ".kube", ".docker", ".config/gcloud",
                ".config/gh", ".config/hub", ".local/share/keyrings", ".password-store", ".netrc",
                ".pgpass", ".git-credentials", ".npmrc", ".pypirc", ".vault-token", ".databrickscfg",
                ".snowsql", ".terraform.d/credentials.tfrc.json", ".boto", ".s3cfg")
# Parts of a fresh /proc through which uid 0 could still change the host.
PROC_COVERS = ("sys", "sysrq-trigger", "irq", "bus", "fs")
# Sockets that hand out root on the host, hidden when the network is allowed (/run stays).
HOST_SOCKETS = ("/run/docker.sock", "/var/run/docker.sock", "/run/containerd", "/run/podman",
                "/run/user", "/run/dbus", "/run/snapd.socket")
# Files and folders a command has no business reading; hidden unless they hold the repository.
HOST_PRIVATE = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers",
                "/etc/sudoers.d", "/etc/ssh", "/etc/ssl/private", "/root", "/var/lib/sss", "/var/mail",
                "/var/spool/cron", "/var/lib/docker", "/var/lib/containerd")
# The uid and gid commands run as inside the sandbox's user namespace when de-agent is root.
SANDBOX_ID = 1000
_PROBE_FILE = "sandbox-probe.json"


class SandboxUnavailable(RuntimeError):
    """``--sandbox bwrap`` was asked for and bubblewrap cannot run here; the message says why."""


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@dataclass
class Sandbox:
    """How commands are confined; ``wrap`` turns a command's argv into the sandboxed argv."""

    kind: str  # "bwrap" or "none"
    name: str
    network: bool = True
    bwrap_path: str | None = None
    fallback_reason: str = ""
    env_allow: tuple[str, ...] = ()
    # Descriptors the last ``wrap`` opened for bwrap (the seccomp program): the caller passes
    # them to the child and closes them (``take_fds``).
    pass_fds: list[int] = field(default_factory=list)

    def take_fds(self) -> list[int]:
        fds, self.pass_fds = self.pass_fds, []
        return fds

    @property
    def sandboxed(self) -> bool:
        return self.kind == "bwrap"

    def wrap(self, argv: Sequence[str], cwd: str, root: str | None = None) -> list[str]:
        """The argv that runs ``argv`` in ``cwd`` inside the sandbox (unchanged without one)."""
        if self.kind != "bwrap":
            return list(argv)
        cwd = os.path.realpath(cwd)
        root = os.path.realpath(root or cwd)
        args = [self.bwrap_path or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for name in PROC_COVERS:
            if os.path.lexists(f"/proc/{name}"):
                args += ["--ro-bind", f"/proc/{name}", f"/proc/{name}"]
        args += ["--tmpfs", "/tmp"]
        if not self.network:
            for run in ("/run", "/var/run"):
                if os.path.isdir(run) and not os.path.islink(run) and not _within(root, run):
                    args += ["--tmpfs", run]
        else:
            args += self._masks(HOST_SOCKETS, root)
        home = os.path.expanduser("~")
        args += self._masks([os.path.join(home, p) for p in HOME_SECRETS] + [str(paths.home())], root)
        own_home = os.path.realpath(home)
        args += self._masks([p for p in (*HOST_PRIVATE, *_other_homes(home))
                             if os.path.realpath(p) != own_home], root)
        args += ["--bind", root, root]
        protect = [os.path.realpath(os.path.join(root, name)) for name in (".git", ".de-agent")
                   if os.path.lexists(os.path.join(root, name))]
        from de_agent.security.hardened_git import locate  # `.git` as a file: its folder too

        loc = locate(root)
        if loc is not None:
            protect += [str(loc.git_dir), str(loc.common_dir)]
        for target in dict.fromkeys(protect):
            if os.path.exists(target) and _within(target, root) and target != root:
                args += ["--ro-bind", target, target]
        if not self.network:
            args.append("--unshare-net")
            prog = unix_socket_filter()
            if prog is not None:
                read_fd, write_fd = os.pipe()
                os.write(write_fd, prog)
                os.close(write_fd)
                self.pass_fds.append(read_fd)
                args += ["--seccomp", str(read_fd)]
        ident = str(os.getuid() or SANDBOX_ID), str(os.getgid() or SANDBOX_ID)
        args += ["--unshare-user", "--uid", ident[0], "--gid", ident[1],
                 "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                 "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                 "--setenv", "TMPDIR", "/tmp", "--chdir", cwd, "--", *argv]
        return args

    @staticmethod
    def _masks(candidates: Sequence[str], root: str) -> list[str]:
        """Hide each existing path (empty folder or empty file), unless it holds the repository."""
        out: list[str] = []
        for path in candidates:
            path = os.path.realpath(path)  # a symlinked ~/.ssh is hidden where it really is
            if not os.path.lexists(path) or _within(root, path) or _within(path, root):
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                out += ["--tmpfs", path]
            elif not os.path.islink(path):
                out += ["--ro-bind", "/dev/null", path]
        return out

    def describe(self) -> str:
        """What the model is told about where its commands run; never claims more than is true."""
        if self.kind == "bwrap":
            net = ("Network access is allowed." if self.network
                   else "There is no network access (downloads and installs fail).")
            return ("Commands run inside a bubblewrap sandbox: the file system is read-only except "
                    "the repository; its .git and .de-agent folders stay read-only, so git commands "
                    "that write (commit, add, checkout, stash) fail there. /tmp is private and empty. "
                    f"{net} Every process the command started is stopped when it finishes.")
        return ("Commands are NOT sandboxed: they run with the user's full permissions and network "
                "access; only resource limits (processes, memory, file size) apply. Background "
                "processes are stopped when the command finishes.")

    async def run(self, command: str, cwd: str | os.PathLike[str], timeout_s: float,
                  env: Mapping[str, str] | None = None) -> CommandResult:
        """Run ``command`` with ``bash -c`` through this sandbox (see ``runner.run_command``)."""
        from de_agent.security.env import clean_env
        from de_agent.security.runner import run_command

        return await run_command(command, cwd, timeout_s,
                                 clean_env(self.env_allow) if env is None else env, self)


def _other_homes(home: str) -> list[str]:
    """Other users' home folders under /home (the person's own stays)."""
    try:
        names = os.listdir("/home")
    except OSError:
        return []
    own = os.path.realpath(home)
    return [p for p in (os.path.join("/home", n) for n in names) if os.path.realpath(p) != own]


def plain(reason: str = "", env_allow: Sequence[str] = ()) -> Sandbox:
    return Sandbox("none", NO_SANDBOX_NAME, network=True, fallback_reason=reason,
                   env_allow=tuple(env_allow))


def _bwrap_sandbox(path: str, network: bool, env_allow: Sequence[str]) -> Sandbox:
    name = "bwrap (network allowed)" if network else "bwrap (no network)"
    return Sandbox("bwrap", name, network=network, bwrap_path=path, env_allow=tuple(env_allow))


_probes: dict[tuple[str, float, str], tuple[bool, str]] = {}


def probe_bwrap(path: str | None = None) -> tuple[bool, str]:
    """Whether bubblewrap can run a sandbox here, and why not; cached in-process and on disk."""
    path = path or shutil.which("bwrap")
    if not path:
        return False, "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt install bubblewrap)"
    try:
        mtime = os.stat(path).st_mtime
    except OSError as exc:
        return False, f"bwrap at {path} cannot be used: {exc}"
    key = (path, mtime, os.uname().release)
    if key in _probes:
        return _probes[key]
    cache = paths.home() / _PROBE_FILE
    try:
        saved = json.loads(cache.read_text())
        if [saved.get("bwrap"), saved.get("mtime"), saved.get("kernel")] == list(key):
            _probes[key] = (bool(saved["ok"]), str(saved.get("reason", "")))
            return _probes[key]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    result = _run_probe(path)
    _probes[key] = result
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"bwrap": path, "mtime": mtime, "kernel": key[2],
                                   "ok": result[0], "reason": result[1]}, indent=2) + "\n")
        os.replace(tmp, cache)
    except OSError:
        pass
    return result


def _run_probe(path: str) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory(prefix="de-agent-probe-") as folder:
        box = _bwrap_sandbox(path, False, ())
        argv = box.wrap(["true"], folder)
        fds = box.take_fds()
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
                                  text=True, pass_fds=fds)
        except (OSError, subprocess.SubprocessError) as exc:
            return False, f"bwrap could not be started: {exc}"
        finally:
            for fd in fds:
                os.close(fd)
    if proc.returncode == 0:
        return True, ""
    detail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
    return False, f"bwrap cannot create a sandbox here ({detail})"


def resolve_sandbox(settings: Settings) -> Sandbox:
    """The sandbox for ``settings.sandbox`` (auto | bwrap | none); raises SandboxUnavailable."""
    mode = settings.sandbox
    allow = tuple(settings.env_allow)
    if mode == "none":
        return plain("sandbox disabled by configuration", allow)
    ok, reason = probe_bwrap()
    if ok:
        return _bwrap_sandbox(probe_path(), settings.sandbox_network, allow)
    if mode == "bwrap":
        raise SandboxUnavailable(f"--sandbox bwrap was asked for, but {reason}")
    return plain(reason, allow)


def probe_path() -> str:
    return shutil.which("bwrap") or "bwrap"


def clear_probe_cache() -> None:
    """Forget in-process probe answers (tests; after installing bubblewrap)."""
    _probes.clear()


def state_file() -> Path:
    return paths.home() / _PROBE_FILE


# A seccomp filter (classic BPF, as bwrap's --seccomp takes it) that refuses socket(AF_UNIX):
# with the network cut, a unix socket elsewhere on the host (a database, a daemon) would still
# be reachable through the read-only file system. socketpair() stays allowed.
_ARCH_SOCKET = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}


def unix_socket_filter() -> bytes | None:
    import struct

    arch = _ARCH_SOCKET.get(os.uname().machine)
    if arch is None:
        return None
    audit_arch, nr = arch
    ld_w_abs, jeq_k, ret_k = 0x20, 0x15, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | 13  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EACCES
    prog = [
        (ld_w_abs, 0, 0, 4),            # 0: A = arch
        (jeq_k, 1, 0, audit_arch),      # 1: our arch? go to 3
        (ret_k, 0, 0, allow),           # 2: other ABI: allow
        (ld_w_abs, 0, 0, 0),            # 3: A = syscall nr
        (jeq_k, 1, 0, nr),              # 4: socket? go to 6
        (ret_k, 0, 0, allow),           # 5
        (ld_w_abs, 0, 0, 16),           # 6: A = low word of the first argument (domain)
        (jeq_k, 0, 1, 1),               # 7: AF_UNIX? go to 8, else 9
        (ret_k, 0, 0, deny),            # 8
        (ret_k, 0, 0, allow),           # 9
    ]
    return b"".join(struct.pack("=HBBI", *ins) for ins in prog)
