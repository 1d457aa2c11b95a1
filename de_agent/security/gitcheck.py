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
# Long options that write files, run programs or read outside. git accepts any unique prefix
# of a long option (``--open-files-in-page``), so an option that is a prefix of one of these
# (three letters or more) asks as well as one these are a prefix of.
FORBIDDEN = ("--output", "--ext-diff", "--no-index", "--open-files-in-pager", "--exec", "--textconv",
             "--filters", "--upload-pack", "--receive-pack", "--exec-path", "--git-dir", "--work-tree",
             "--paginate", "--edit-description", "--config", "--template", "--separate-git-dir",
             "--output-directory", "--contents-from")
FORBIDDEN_PREFIXES = FORBIDDEN
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


def _forbidden(arg: str) -> bool:
    name = arg.split("=", 1)[0]
    if not name.startswith("--") or len(name) < 5:
        return False
    return any(f.startswith(name) or name.startswith(f) for f in FORBIDDEN)


def git_reason(words: list[str], root: Path | None, base: Path | None = None) -> str | None:
    """Why this git command needs approval, or None when it only reads."""
    from de_agent.security.pathcheck import path_reason

    i = 1
    where = base or root
    while i < len(words) and words[i].startswith("-"):
        if words[i] in ("-C",) and i + 1 < len(words) and root is not None:
            reason = path_reason(words[i + 1], root, base)
            if reason:
                return f"`git -C {words[i + 1]}`: {reason}"
            where = Path(os.path.realpath(os.path.join(str(base or root), words[i + 1])))
            i += 2
            continue
        if words[i] not in ("--no-pager", "-P"):
            return f"`git {words[i]}` before the subcommand can change configuration or paths"
        i += 1
    if i >= len(words):
        return "`git` without a subcommand"
    sub, args = words[i], words[i + 1:]
    if sub not in GIT_READ:
        return f"`git {sub}` is not a read-only git command"
    for arg in args:
        if _forbidden(arg):
            return f"`git {sub} {arg}` writes files, runs programs or reads outside the repository"
    for arg in args:
        value = arg.split("=", 1)[1] if arg.startswith("--") and "=" in arg else arg
        if value.startswith(("/", "~")) or value == ".." or value.startswith("../") or "/../" in value:
            return f"`git {sub} {arg}` names a path outside the repository"
        if ":" in value and not value.startswith("-"):  # REV:path reads that file from history
            from de_agent.workspace import Workspace

            if Workspace.is_secret(value.rsplit(":", 1)[1]):
                return f"`git {sub} {arg}` reads a file that may hold secrets"
        if root is not None and not value.startswith("-") and value:
            reason = path_reason(value, root, base) if os.path.lexists(
                os.path.join(str(base or root), value)) else None
            if reason:
                return f"`git {sub} {arg}`: {reason}"
    if sub == "grep" and any(a.startswith("-O") for a in args):
        return "`git grep -O` opens a pager program"
    if sub in ("branch", "tag"):
        reason = _listing(sub, args)
        if reason:
            return reason
    if sub == "grep" and where is not None:
        from de_agent.security.argchecks import walk_reason

        # git grep reads tracked files (and untracked with --untracked/--no-index)
        reason = walk_reason(["."], Path(where), None)
        if reason and any(a in ("--untracked", "--no-exclude-standard") for a in args):
            return reason
    if where is not None:
        danger = config_runs_programs(where)
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
    """The first setting or hook by which a git read command here would run a program: the
    repository-scope config files as git reads them (``include``/``includeIf`` followed,
    ``config.worktree`` too), and executable hooks."""
    from de_agent.security import hardened_git as hardened

    loc = hardened.locate(root)
    if loc is None:
        return None
    for name, value in hardened.repo_settings(loc):
        low = name.lower()
        section, _, rest = low.partition(".")
        key = rest.rsplit(".", 1)[-1]
        if (section, key) in _RUNS or (section, "*") in _RUNS or low.startswith("includeif.") \
                or low == "core.worktree" or low.startswith("alias."):
            if key == "fsmonitor" and value.lower() in _FALSE:
                continue
            return f"{name} = {value}"
    hooks_dir = loc.common_dir / "hooks"
    try:
        for entry in os.scandir(hooks_dir):
            if not entry.name.endswith(".sample") and entry.is_file() and os.access(entry.path, os.X_OK):
                return f"executable hook .git/hooks/{entry.name}"
    except OSError:
        pass
    return None
