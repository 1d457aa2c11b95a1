"""The one place that builds every git process de-agent itself runs on the host.

A repository (or a command that ran inside the sandbox) must never get de-agent's own git
calls to run a program or to work on files outside it. Git reads the repository's own
``.git/config`` (and whatever it includes) on every call, and honours settings there that run
programs (``core.fsmonitor``, hooks, filter, diff and merge drivers, pagers, credential
helpers, ...) or move the work tree (``core.worktree``). So every host git call here:

- names the repository explicitly (``GIT_DIR`` and ``GIT_WORK_TREE``, found by walking up
  from the folder, never from the repository's config), so ``core.worktree`` cannot point
  de-agent's snapshots and undo at another folder;
- passes ``-c`` overrides, which beat every config file, for every setting that runs a
  program, contacts anything or descends into nested repositories (``FIXED``), plus, for each
  filter, diff or merge driver that a repository-scope config file defines (followed through
  ``include``/``includeIf`` by reading those files ourselves with ``git config --file
  --no-includes``), an override that empties its commands;
- runs with an environment without inherited ``GIT_*`` variables (only the author and
  committer identity is kept), without secrets, and with pagers and prompts off.

``ignored_settings`` lists the repository's own settings that these overrides neutralise,
for the notice shown when a session starts. The person's own system and global config are
still read (their excludes file, identity and attributes), but cannot run programs either.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from de_agent.security.env import clean_env

# Settings that run a program, contact a remote, or recurse into nested repositories, with the
# value that turns each off. ``-c`` is command-line scope, which beats every config file.
FIXED: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", "/dev/null"),
    ("core.pager", "cat"),
    ("core.editor", ":"),
    ("sequence.editor", ":"),
    ("core.askPass", ""),
    ("core.sshCommand", "false"),
    ("core.gitProxy", ""),
    ("core.alternateRefsCommand", ""),
    ("core.untrackedCache", "false"),
    ("core.quotePath", "false"),
    ("credential.helper", ""),
    ("diff.external", ""),
    ("diff.ignoreSubmodules", "all"),
    ("diff.submodule", "short"),
    ("status.submoduleSummary", "false"),
    ("submodule.recurse", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("log.showSignature", "false"),
    ("gpg.program", "false"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("protocol.allow", "never"),
    *((f"protocol.{name}.allow", "never") for name in ("file", "git", "ssh", "http", "https", "ext")),
)
# Driver settings (section.<driver>.key) that run a program; emptied per driver found.
DRIVER_KEYS = {"filter": ("clean", "smudge", "process"), "diff": ("textconv", "command"),
               "merge": ("driver",)}
# Repository settings worth a notice when present (the overrides above make them inert).
_NOTICE_KEYS = {k.lower() for k, _ in FIXED if not k.startswith("protocol.")} | {
    "core.worktree", "include.path", "pager", "alias"}
KEEP_ENV = frozenset({"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                      "GIT_COMMITTER_EMAIL"})
MAX_INCLUDE_DEPTH = 10


@dataclass(frozen=True)
class Location:
    """The work tree and git folder of the repository holding a folder."""

    top: Path
    git_dir: Path
    common_dir: Path


def locate(folder: str | os.PathLike[str]) -> Location | None:
    """Walk up from folder to the nearest ``.git`` (a folder, or a ``gitdir:`` file)."""
    here = Path(os.path.realpath(folder))
    for top in (here, *here.parents):
        dot = top / ".git"
        gdir: Path | None = None
        if dot.is_dir() and not dot.is_symlink():
            gdir = dot
        elif dot.is_symlink() and dot.is_dir():
            gdir = Path(os.path.realpath(dot))
        elif dot.is_file():
            try:
                text = dot.read_text(errors="replace")[:4096]
            except OSError:
                text = ""
            if text.startswith("gitdir:"):
                target = Path(text[len("gitdir:"):].strip())
                gdir = Path(os.path.realpath(target if target.is_absolute() else top / target))
        if gdir is not None and gdir.is_dir():
            common = gdir
            try:
                rel = (gdir / "commondir").read_text(errors="replace").strip()
                if rel:
                    common = Path(os.path.realpath(Path(rel) if os.path.isabs(rel) else gdir / rel))
            except OSError:
                pass
            return Location(top, gdir, common)
    return None


def base_env() -> dict[str, str]:
    """The environment of a host git process: no inherited GIT_*, no secrets, nothing waits."""
    env = {k: v for k, v in clean_env().items() if not k.startswith("GIT_") or k in KEEP_ENV}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "GIT_ASKPASS": "",
                "GIT_OPTIONAL_LOCKS": "0"})
    return env


_lock = threading.Lock()
_file_cache: dict[str, tuple[tuple[int, int, int], list[tuple[str, str]]]] = {}


def read_config_file(path: Path) -> list[tuple[str, str]]:
    """(key, value) pairs of one config file as git parses it, without following includes."""
    try:
        st = os.stat(path)
    except OSError:
        return []
    if not os.path.isfile(path):
        return []  # a FIFO or device would hang the reader
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    key = str(path)
    with _lock:
        hit = _file_cache.get(key)
    if hit and hit[0] == stamp:
        return hit[1]
    env = base_env() | {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
                        "GIT_DIR": "/nonexistent-de-agent"}
    try:
        proc = subprocess.run(["git", "config", "--file", str(path), "--no-includes", "--list", "-z"],
                              cwd="/", env=env, capture_output=True, timeout=10,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return []
    pairs = []
    for record in proc.stdout.split(b"\0"):
        if not record:
            continue
        name, _, value = record.decode(errors="surrogateescape").partition("\n")
        pairs.append((name, value))
    with _lock:
        _file_cache[key] = (stamp, pairs)
    return pairs


def repo_settings(loc: Location) -> list[tuple[str, str]]:
    """Every setting in the repository-scope config files git would read, includes followed."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    todo = [(loc.common_dir / "config", 0), (loc.git_dir / "config.worktree", 0)]
    while todo:
        path, depth = todo.pop(0)
        real = os.path.realpath(path)
        if real in seen or depth > MAX_INCLUDE_DEPTH:
            continue
        seen.add(real)
        for name, value in read_config_file(Path(path)):
            found.append((name, value))
            low = name.lower()
            if (low == "include.path" or (low.startswith("includeif.") and low.endswith(".path"))) \
                    and value:
                target = os.path.expanduser(value)
                if not os.path.isabs(target):
                    target = os.path.join(os.path.dirname(path), target)
                todo.append((Path(target), depth + 1))
    return found


def _driver(name: str) -> tuple[str, str] | None:
    """(section, driver) for a driver key like ``filter.lfs.clean``, else None."""
    section, _, rest = name.partition(".")
    driver, _, key = rest.rpartition(".")
    section = section.lower()
    if driver and section in DRIVER_KEYS and key.lower() in DRIVER_KEYS[section]:
        return section, driver
    return None


def overrides(loc: Location | None) -> list[str]:
    """The ``-c`` arguments for a git call in this repository."""
    args: list[str] = []
    for key, value in FIXED:
        args += ["-c", f"{key}={value}"]
    if loc is None:
        return args
    drivers = dict.fromkeys(d for d in (_driver(n) for n, _ in repo_settings(loc)) if d)
    for section, driver in drivers:
        for key in DRIVER_KEYS[section]:
            args += ["-c", f"{section}.{driver}.{key}="]
        if section == "filter":
            args += ["-c", f"filter.{driver}.required=false"]
    return args


def ignored_settings(folder: str | os.PathLike[str]) -> list[str]:
    """The repository's own settings that de-agent's git calls ignore (for a notice)."""
    loc = locate(folder)
    if loc is None:
        return []
    out: list[str] = []
    for name, _ in repo_settings(loc):
        low = name.lower()
        head = low.split(".", 1)[0]
        if low in _NOTICE_KEYS or head in _NOTICE_KEYS or low.startswith("includeif.") \
                or _driver(name) or low.startswith("protocol."):
            if low == "core.quotepath" or (low == "core.untrackedcache"):
                continue
            out.append(name)
    hooks = loc.common_dir / "hooks"
    try:
        out += [f"hook {e.name}" for e in os.scandir(hooks)
                if not e.name.endswith(".sample") and e.is_file() and os.access(e.path, os.X_OK)]
    except OSError:
        pass
    return list(dict.fromkeys(out))


def notice(folder: str | os.PathLike[str]) -> str:
    """A sentence for the start of a session, or "" when the repository sets nothing risky."""
    names = ignored_settings(folder)
    if not names:
        return ""
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return (f"This repository's git configuration sets {shown}; de-agent's own git commands "
            "(status, checkpoints, /diff, /undo) ignore these settings.")


def command(cwd: str | os.PathLike[str], *args: str) -> tuple[list[str], dict[str, str]]:
    """(argv, env) for ``git ARGS`` run by de-agent in cwd; see the module docstring."""
    loc = locate(cwd)
    env = base_env()
    if loc is not None:
        env["GIT_DIR"] = str(loc.git_dir)
        env["GIT_WORK_TREE"] = str(loc.top)
    return ["git", "--no-pager", "--no-optional-locks", *overrides(loc), *args], env
