"""Which git commands are read-only, and whether this repository's git would run programs.

``git status/diff/log/show/branch`` (listing) and a few other read commands are allowed
without asking. Options that write files (``--output``), run programs (``--ext-diff``,
``grep -O``, global ``-c``), read outside the repository (``--no-index``, ``-C``) make them
ask. So does a repository whose own ``.git/config`` or hooks would run programs during a
read command (``core.fsmonitor``, textconv and filter drivers, a pager, included files,
executable hooks): a repository copied from elsewhere could carry them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

GIT_READ = frozenset({"status", "diff", "log", "show", "branch", "tag", "ls-files", "ls-tree",
                      "rev-parse", "blame", "shortlog", "describe", "grep", "show-ref", "cat-file",
                      "whatchanged", "count-objects", "merge-base", "rev-list", "name-rev"})
FORBIDDEN_PREFIXES = ("--output", "--ext-diff", "--no-index", "--open-files-in-pager", "--exec",
                      "--textconv", "--filters")
LISTING_FLAGS = frozenset({"-a", "--all", "-r", "--remotes", "-l", "--list", "-v", "-vv", "--verbose",
                           "--show-current", "--no-color", "--color", "-i", "--ignore-case",
                           "--column", "--no-column", "--omit-empty", "-n"})
LISTING_VALUE_FLAGS = frozenset({"--contains", "--no-contains", "--merged", "--no-merged",
                                 "--points-at", "--sort", "--format"})
_SECTION = re.compile(r'^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$')
_KEY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$")
_RUNS = {("core", "fsmonitor"), ("core", "pager"), ("core", "sshcommand"), ("core", "hookspath"),
         ("core", "askpass"), ("core", "gitproxy"), ("diff", "external"), ("diff", "textconv"),
         ("diff", "command"), ("filter", "clean"), ("filter", "smudge"), ("filter", "process"),
         ("gpg", "program"), ("include", "path"), ("includeif", "path"), ("pager", "*")}
_FALSE = frozenset({"false", "no", "off", "0", ""})


def git_reason(words: list[str], root: Path | None) -> str | None:
    """Why this git command needs approval, or None when it only reads."""
    i = 1
    while i < len(words) and words[i].startswith("-"):
        if words[i] != "--no-pager":
            return f"`git {words[i]}` before the subcommand can change configuration or paths"
        i += 1
    if i >= len(words):
        return "`git` without a subcommand"
    sub, args = words[i], words[i + 1:]
    if sub not in GIT_READ:
        return f"`git {sub}` is not a read-only git command"
    for arg in args:
        if arg.startswith(FORBIDDEN_PREFIXES):
            return f"`git {sub} {arg}` writes files, runs programs or reads outside the repository"
    for arg in args:
        value = arg.split("=", 1)[1] if arg.startswith("--") and "=" in arg else arg
        if value.startswith(("/", "~")) or value == ".." or value.startswith("../") or "/../" in value:
            return f"`git {sub} {arg}` names a path outside the repository"
    if sub == "grep" and any(a.startswith("-O") for a in args):
        return "`git grep -O` opens a pager program"
    if sub in ("branch", "tag"):
        reason = _listing(sub, args)
        if reason:
            return reason
    if root is not None:
        danger = config_runs_programs(root)
        if danger:
            return f"this repository's git setup runs programs ({danger}); git commands need approval"
    return None


def _listing(sub: str, args: list[str]) -> str | None:
    listing = any(a in ("-l", "--list") for a in args)
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in LISTING_VALUE_FLAGS:
            skip = True
        elif arg in LISTING_FLAGS or arg.startswith(tuple(f + "=" for f in LISTING_VALUE_FLAGS)) \
                or arg.startswith(("--color=", "--column=")) or (sub == "tag" and re.fullmatch(r"-n\d+", arg)):
            continue
        elif arg.startswith("-"):
            return f"`git {sub} {arg}` changes {sub}es" if sub == "branch" else f"`git tag {arg}` changes tags"
        elif not listing:
            return f"`git {sub} {arg}` creates a {sub}"
    return None


def git_dir(root: Path) -> Path | None:
    dot = root / ".git"
    if dot.is_dir():
        return dot
    try:
        text = dot.read_text(errors="replace")[:4096]
    except OSError:
        return None
    if text.startswith("gitdir:"):
        target = Path(text[len("gitdir:"):].strip())
        return target if target.is_absolute() else (root / target)
    return None


def config_runs_programs(root: Path) -> str | None:
    """The first setting or hook by which a git read command here would run a program."""
    gdir = git_dir(root)
    if gdir is None:
        return None
    try:
        text = (gdir / "config").read_text(errors="replace")[:1_000_000]
    except OSError:
        text = ""
    section = ""
    for line in text.splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0] if '"' not in line else line
        match = _SECTION.match(line)
        if match:
            name, sub, rest = match.groups()
            section = name.lower().split(".", 1)[0]
            line = rest
            if not line.strip():
                continue
        key = _KEY.match(line)
        if not key:
            continue
        name, value = key.group(1).lower(), (key.group(2) or "").strip().strip('"')
        if (section, name) in _RUNS or (section, "*") in _RUNS:
            if name in ("fsmonitor",) and value.lower() in _FALSE | {"true", "yes", "on", "1"}:
                continue
            return f"{section}.{name} = {value}"
    hooks = gdir / "hooks"
    try:
        for entry in os.scandir(hooks):
            if not entry.name.endswith(".sample") and entry.is_file() and os.access(entry.path, os.X_OK):
                return f"executable hook .git/hooks/{entry.name}"
    except OSError:
        pass
    return None
