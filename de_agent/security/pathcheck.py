"""Path arguments of read-only commands: inside the repository and not secret-looking.

A read-only command is allowed without asking only when every file it is pointed at stays
in the repository. Given the root, each argument is resolved as bash would see it (globs
expanded against the root, symlinks followed); without a root, absolute paths, ``~`` and
``..`` count as outside. Secret-looking names (``.env``, ``*.pem``...) ask in every case.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from de_agent.workspace import Workspace

MAX_GLOB_MATCHES = 2000
HARMLESS = frozenset({"/dev/null", "/dev/stdin", "/dev/stdout", "/dev/stderr"})


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def path_reason(word: str, root: Path | None) -> str | None:
    """Why pointing a read-only command at ``word`` needs approval, or None."""
    if not word or word == "-" or word in HARMLESS:
        return None
    if word.startswith("~"):
        return f"reads outside the repository ({word})"
    if "{" in word and "}" in word:
        return f"uses brace expansion ({word}), which the policy does not expand"
    globbing = any(ch in word for ch in "*?[")
    parts = word.split("/")
    if globbing and any(p.startswith(".") and any(ch in p for ch in "*?[") for p in parts):
        return f"a glob starting with '.' ({word}) can match '..' and leave the repository"
    if Workspace.is_secret(word):
        return f"reads a file that may hold secrets ({word})"
    if root is None:
        if word.startswith("/") or ".." in parts:
            return f"reads outside the repository ({word})"
        return None
    top = str(root)
    matches = glob.glob(word, root_dir=top) if globbing else []
    for candidate in (matches or [word])[:MAX_GLOB_MATCHES]:
        full = candidate if candidate.startswith("/") else os.path.join(top, candidate)
        real = os.path.realpath(full)
        if not _within(real, top):
            return f"reads outside the repository ({word} -> {real})"
        if Workspace.is_secret(real) or Workspace.is_secret(candidate):
            return f"reads a file that may hold secrets ({candidate})"
    if globbing and len(matches) > MAX_GLOB_MATCHES:
        return f"the glob {word} matches more than {MAX_GLOB_MATCHES} files"
    return None
