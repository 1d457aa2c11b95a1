"""Auto-commit: a commit of exactly the files a turn changed, on the user's branch, with a
message that says what changed and why.

``git commit --only`` takes the named files from the working tree and leaves anything
else the user staged staged and out of the commit. Like every git call de-agent makes, it
runs no program the repository names: hooks, filters and signing programs are off (see
``hardened.py``); run your checks before committing yourself.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from de_agent.gitops import _git
from de_agent.gitops._git import GitError

SUBJECT_MAX = 72
FILES_LISTED = 20
REQUEST_MAX = 1000


@dataclass
class CommitResult:
    ok: bool
    message: str
    commit: str | None = None


def _subject(request: str, files: Sequence[str]) -> str:
    first = next((line.strip() for line in request.splitlines() if line.strip()), "")
    first = " ".join(first.split())
    for polite in ("please ", "could you ", "can you "):
        if first.lower().startswith(polite):
            first = first[len(polite):]
    first = first.rstrip(" .!?")
    if not first:
        if not files:
            return "Update files"
        if len(files) == 1:
            return f"Update {files[0]}"
        if len(files) == 2:
            return f"Update {files[0]} and {files[1]}"
        return f"Update {files[0]} and {len(files) - 1} other files"
    first = first[0].upper() + first[1:]
    if len(first) > SUBJECT_MAX:
        cut = first[: SUBJECT_MAX - 3].rsplit(" ", 1)[0]
        first = (cut or first[: SUBJECT_MAX - 3]) + "..."
    return first


def commit_message(request: str, files: Sequence[str]) -> str:
    """A commit message for a turn: the request's gist as subject (what), then the files,
    then the request itself (why)."""
    lines = [_subject(request, files), "", "Files changed:"]
    lines += [f"- {f}" for f in files[:FILES_LISTED]]
    if len(files) > FILES_LISTED:
        lines.append(f"- ... and {len(files) - FILES_LISTED} more")
    text = " ".join(request.split())
    if text:
        if len(text) > REQUEST_MAX:
            text = text[:REQUEST_MAX] + "..."
        lines += ["", "Why (the request to de-agent):"]
        lines += textwrap.wrap(text, 72, initial_indent="  ", subsequent_indent="  ")
    lines += ["", "Committed automatically by de-agent."]
    return "\n".join(lines) + "\n"


def _spec(paths: Sequence[str]) -> bytes:
    return b"".join(b":(top,literal)" + p.encode(errors="surrogateescape") + b"\0" for p in paths)


def _known(top: Path) -> set[str]:
    """Paths in the user's index or in HEAD."""
    found = set(_git.split_z(_git.run(top, "ls-files", "-z", "--cached", "--full-name").stdout))
    if _git.head(top):
        listing = _git.run(top, "ls-tree", "-r", "-z", "--name-only", "--full-tree", "HEAD").stdout
        found |= set(_git.split_z(listing))
    return found


def commit_paths(top: Path, files: Sequence[str], message: str) -> CommitResult:
    """Commit files (relative to the top of the repository) as they are in the working tree."""
    files = list(dict.fromkeys(files))
    existing = [f for f in files if os.path.lexists(top / f)]
    gone = [f for f in files if f not in existing]
    if gone:
        known = _known(top)
        gone = [f for f in gone if f in known]
    if not existing and not gone:
        return CommitResult(False, "Nothing to commit: the turn changed no files git can commit.")
    staged = False
    try:
        index_files = set(_git.split_z(_git.run(top, "ls-files", "-z", "--cached", "--full-name").stdout))
        to_add = existing + [f for f in gone if f in index_files]
        if to_add:
            _git.run(top, "add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul",
                     stdin=_spec(to_add))
            staged = True
        _git.run(top, "commit", "-q", "--only", "-m", message, "--pathspec-from-file=-",
                 "--pathspec-file-nul", stdin=_spec(existing + gone), env={"GIT_EDITOR": "true"})
    except GitError as exc:
        note = " (the turn's files are staged)" if staged else ""
        return CommitResult(False, f"Auto-commit failed, nothing was committed{note}: {exc}")
    sha = _git.head(top)
    branch = _git.run(top, "symbolic-ref", "--short", "-q", "HEAD", check=False).stdout.decode().strip()
    where = f"on {branch}" if branch else "on a detached HEAD"
    subject = message.splitlines()[0] if message else ""
    count = len(existing) + len(gone)
    return CommitResult(True, f"Committed {count} file{'s' if count != 1 else ''} as "
                              f"{(sha or '')[:12]} {where}: {subject}", sha)
