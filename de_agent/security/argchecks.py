"""Which files a read-only program reaches, from its arguments: the checks behind the policy's
"allow" for find, grep, rg, uniq, diff, sed and date, and for every program whose paths are
checked (``paths``), including recursive reads (``walk_reason``: a secret-looking file below
the folders makes the command ask).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from de_agent.security import programs as progs
from de_agent.security.gitcheck import git_reason
from de_agent.security.pathcheck import path_reason
from de_agent.workspace import Workspace

# Programs that read every file under a folder they are given: secret-looking files and
# symlinks leading out below it make them ask.
MAX_WALK = 100_000
_WALK_TTL_S = 0.3  # the classifications of one call, not later calls (files change)
_walks: dict[tuple, tuple[float, str | None]] = {}


def paths(args: list[str], root: Path | None, base: Path | None = None) -> str | None:
    for arg in args:
        reason = path_reason(arg, root, base)
        if reason:
            return reason
    return None


def walk_reason(folders: list[str], root: Path | None, base: Path | None, hidden: bool = True,
                 follow: bool = False) -> str | None:
    """For a program that reads every file below folders: a secret-looking file there (or a
    symlink leading out, when it follows links) makes it ask. A command is classified several
    times in one call (prepare, policy, run): the answer is kept for a moment."""
    if root is None:
        return None
    key = (tuple(folders), str(root), str(base), hidden, follow)
    hit = _walks.get(key)
    if hit and time.monotonic() - hit[0] < _WALK_TTL_S:
        return hit[1]
    reason = _walk(folders, root, base, hidden, follow)
    if len(_walks) > 256:
        _walks.clear()
    _walks[key] = (time.monotonic(), reason)
    return reason


def _walk(folders: list[str], root: Path, base: Path | None, hidden: bool, follow: bool) -> str | None:
    start = str(base or root)
    seen = 0
    for folder in folders or ["."]:
        top = os.path.realpath(os.path.join(start, folder))
        if not os.path.isdir(top):
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if d != ".git" and (hidden or not d.startswith("."))]
            for name in filenames + (dirnames if follow else []):
                seen += 1
                if seen > MAX_WALK:
                    return f"reads more than {MAX_WALK} files below {folder}; cannot check them all"
                if not hidden and name.startswith("."):
                    continue
                full = os.path.join(dirpath, name)
                if Workspace.is_secret(name):
                    return f"reads files that may hold secrets ({os.path.relpath(full, root)})"
                if follow and os.path.islink(full):
                    real = os.path.realpath(full)
                    if not (real == str(root) or real.startswith(str(root) + "/")):
                        return f"follows a symbolic link out of the repository ({os.path.relpath(full, root)})"
    return None


def _find(words: list[str], root: Path | None, base: Path | None = None) -> str | None:
    i = 1
    while i < len(words) and words[i] in ("-P", "-H", "-L", "--") or (i < len(words) and words[i].startswith("-O")):
        if words[i] in ("-H", "-L"):
            return "`find` that follows symbolic links could leave the repository"
        i += 1
    if i < len(words) and words[i] == "-D":
        return "`find -D` debug options"
    starts: list[str] = []
    while i < len(words) and not (words[i].startswith("-") or words[i] in ("(", "!", ")", ",")):
        starts.append(words[i])
        i += 1
    reached = list(starts)
    while i < len(words):
        word = words[i]
        if word in progs.FIND_TESTS:
            if word in progs.FIND_PATH_TESTS and i + 1 < len(words):
                reached.append(words[i + 1])
            i += 2
            continue
        if word in progs.FIND_NOVALUE:
            i += 1
            continue
        if word in ("-follow",):
            return "`find -follow` follows symbolic links, which could leave the repository"
        return f"`find {word}` runs commands, writes or deletes files, or is not known to be read-only"
    return paths(reached, root, base)


def _search(prog: str, words: list[str], root: Path | None, base: Path | None) -> str | None:
    """grep / rg: options from the allow-list; the first positional is the pattern unless
    -e/-f gave one; recursive reads check what lies below each folder."""
    reason, positional, values = progs.check_options(prog, words)
    if reason:
        return reason
    given = any(w in ("-e", "--regexp", "-f", "--file") or w.startswith(("--regexp=", "--file="))
                or (w.startswith("-") and not w.startswith("--") and ("e" in w[1:] or "f" in w[1:])
                    and _valued_letter(prog, w) in ("e", "f"))
                for w in words[1:])
    if not given:
        positional = positional[1:]
    reason = paths(positional + values, root, base)
    if reason:
        return reason
    flags = {c for w in words[1:] if w.startswith("-") and not w.startswith("--") for c in w[1:]}
    longs = {w.split("=", 1)[0] for w in words[1:] if w.startswith("--")}
    if prog == "rg":
        hidden = bool({".", "u"} & flags) or bool({"--hidden", "--unrestricted"} & longs)
        return walk_reason(positional, root, base, hidden=hidden)
    recursive = bool({"r", "R"} & flags) or bool({"--recursive", "--dereference-recursive"} & longs) \
        or any(w in ("-drecurse", "--directories=recurse") for w in words)
    if recursive:
        follow = "R" in flags or "--dereference-recursive" in longs
        return walk_reason(positional, root, base, follow=follow)
    return None


def _valued_letter(prog: str, word: str) -> str:
    """The first short option in a cluster that takes a value (``-ie PAT`` -> ``e``)."""
    spec = progs.OPTIONS[prog]
    for ch in word[1:]:
        if ch in spec.valued:
            return ch
        if ch not in spec.flags:
            return ""
    return ""


def _grep(words: list[str], root: Path | None, base: Path | None = None) -> str | None:
    return _search(words[0], words, root, base)


def _rg(words: list[str], root: Path | None, base: Path | None = None) -> str | None:
    return _search("rg", words, root, base)


def _uniq(words: list[str], root: Path | None, base: Path | None = None) -> str | None:
    reason, args, values = progs.check_options("uniq", words)
    if reason:
        return reason
    if len(args) > 1:
        return "`uniq IN OUT` writes its second argument"
    return paths(args + values, root, base)


def _diff(words: list[str], root: Path | None, base: Path | None = None) -> str | None:
    reason, args, values = progs.check_options("diff", words)
    if reason:
        return reason
    reason = paths(args + values, root, base)
    if reason:
        return reason
    if any(w in ("-r", "--recursive") or (w.startswith("-") and not w.startswith("--") and "r" in w)
           for w in words[1:]):
        return walk_reason(args, root, base)
    return None


_SED_CMD = re.compile(r"^\s*(?:(?:\d+|\$|/(?:[^/\\]|\\.)*/)(?:\s*,\s*(?:\d+|\$|/(?:[^/\\]|\\.)*/))?)?"
                      r"\s*(?:[pl=dqQ]|s/(?:[^/\\\n]|\\.)*/(?:[^/\\\n]|\\.)*/[gpiI0-9]*)\s*$")


def _sed(words: list[str], root: Path | None, base: Path | None = None) -> str | None:
    """sed that only prints: -n/-E/-r/-z/-s/-u, a script of p, l, =, d, q and s/// without the
    w or e flags; no -i, -f, w, r, e or other commands."""
    scripts: list[str] = []
    files: list[str] = []
    i = 1
    while i < len(words):
        word = words[i]
        if word in ("-e", "--expression"):
            scripts.append(words[i + 1] if i + 1 < len(words) else "")
            i += 2
            continue
        if word.startswith("--expression="):
            scripts.append(word.split("=", 1)[1])
        elif word in ("--quiet", "--silent", "--regexp-extended", "--separate", "--unbuffered",
                      "--null-data", "--posix", "--sandbox"):
            pass
        elif word.startswith("-") and len(word) > 1 and not word.startswith("--"):
            if set(word[1:]) - set("nErzsu"):
                return f"`sed {word}` may write files or run programs"
        elif word.startswith("--"):
            return f"`sed {word}` is not an option known to keep sed read-only"
        else:
            files.append(word)
        i += 1
    if not scripts:
        if not files:
            return "`sed` without a script"
        scripts, files = [files[0]], files[1:]
    for script in scripts:
        for part in re.split(r"[;\n]", script):
            if part.strip() and not _SED_CMD.match(part):
                return f"the sed script `{script[:60]}` does more than print"
    return paths(files, root, base)


def _date(words: list[str], root: Path | None, base: Path | None = None) -> str | None:
    rest = [w for w in words if not w.startswith("+")]
    reason, _args, values = progs.check_options("date", rest)
    if reason:
        return "`date -s` sets the system clock" if "-s" in reason or "--s" in reason else reason
    return paths(values, root, base)


CHECKS = {"find": _find, "grep": _grep, "egrep": _grep, "fgrep": _grep, "rg": _rg, "uniq": _uniq,
           "diff": _diff, "sed": _sed, "date": _date, "git": git_reason}
