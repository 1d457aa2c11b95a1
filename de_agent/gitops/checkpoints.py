"""Git checkpoints: a snapshot of the working tree before each turn that changes files,
``undo`` turn by turn, the session's total diff, and optional auto-commits.

Snapshots are commits on private refs, never on the user's branch::

    refs/de-agent/<session>/start      the working tree when the session first changed something
    refs/de-agent/<session>/<n>        the working tree before turn n
    refs/de-agent/<session>/<n>-post   the working tree after turn n (its message lists the files)

They are built from a private index, so HEAD, the branch, the index, the stash and the
working tree stay as they are. Because the state lives in refs, a resumed session (same
id) can still undo its earlier turns. Files git ignores, and files over the size limit,
are not in snapshots: undo never restores or deletes them, and says so.

The engine's part: ``begin_turn(n)`` before the first change of a turn, ``record_changes``
after each applied edit or command, ``end_turn(n)`` when the turn is over, ``undo()`` for
/undo, ``session_diff()`` for /diff, and ``auto_commit`` after ``end_turn`` when
``Settings.auto_commit`` is on. The calls are synchronous (tens of milliseconds of git
each); run them in a thread from async code. Outside a git repository every call is a
no-op and ``notice`` says why.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import tempfile
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from de_agent.gitops import _git
from de_agent.gitops._git import GitError, RepoInfo
from de_agent.gitops.commit import CommitResult, commit_paths

REF_ROOT = "refs/de-agent"


@dataclass
class UndoResult:
    ok: bool
    message: str
    # Root-relative paths put back to their state before the turn (removed ones included).
    restored: list[str] = field(default_factory=list)


@dataclass
class _Turn:
    index: int
    pre: str
    pre_big: list[str] = field(default_factory=list)
    post: str | None = None
    recorded: set[str] = field(default_factory=set)
    changed: list[str] = field(default_factory=list)
    # Files the turn touched that snapshots do not hold (ignored by git, or too big).
    left_out: list[str] = field(default_factory=list)
    commit: str | None = None


def ref_safe(session_id: str) -> str:
    """A session id made safe as one ref name component."""
    text = re.sub(r"[^A-Za-z0-9._-]", "-", session_id).strip(".-")
    text = re.sub(r"\.{2,}", ".", text)
    if text.endswith(".lock"):
        text = text[: -len(".lock")] + "-lock"
    return text or "session"


def _names(paths: Iterable[str], limit: int = 8) -> str:
    items = list(paths)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


class Checkpoints:
    """Per-session checkpoints of the repository holding ``root``."""

    def __init__(self, root: Path, session_id: str, *,
                 max_file_bytes: int = _git.MAX_SNAPSHOT_FILE_BYTES):
        self.root = Path(os.path.realpath(root))
        self.session_id = session_id
        self._lock = threading.RLock()
        self._turns: dict[int, _Turn] = {}
        self._start: str | None = None
        found = _git.find_repo(self.root)
        self.repo: RepoInfo | None = found if isinstance(found, RepoInfo) else None
        self.available = self.repo is not None
        self.notice = "" if self.repo else (
            f"Checkpoints and /undo are off: {found}. Changes are not snapshotted; "
            "run `git init` to turn them on.")
        if not self.repo:
            return
        self._ref_base = f"{REF_ROOT}/{ref_safe(session_id)}"
        folder = tempfile.mkdtemp(prefix="de-agent-checkpoint-")
        self._finalizer = weakref.finalize(self, _remove_tree, folder)
        self._index = _git.SnapshotIndex(self.repo, Path(folder), max_file_bytes)
        self._load()

    # -- engine calls ---------------------------------------------------------------------

    def begin_turn(self, turn_index: int) -> str | None:
        """Snapshot the working tree before turn_index changes anything; returns the
        checkpoint commit (the same one when called again for the same turn)."""
        if not self.repo:
            return None
        with self._lock:
            if turn_index in self._turns:
                return self._turns[turn_index].pre
            for earlier in [t for t in self._turns.values() if t.post is None]:
                self._end(earlier)
            tree, big = self._index.write_tree()
            meta = json.dumps({"left_out": big})
            message = f"de-agent checkpoint: before turn {turn_index}\n\n{meta}\n"
            pre = _git.commit_tree(self._top, tree, message, _git.head(self._top))
            self._update_refs([(self._ref(turn_index), pre)])
            if self._start is None:
                self._update_refs([(f"{self._ref_base}/start", pre)])
                self._start = pre
            self._turns[turn_index] = _Turn(turn_index, pre, pre_big=big)
            return pre

    def record_changes(self, turn_index: int, paths: Iterable[str | os.PathLike[str]]) -> None:
        """Note files a turn changed (root-relative or absolute inside the repository)."""
        if not self.repo:
            return
        with self._lock:
            turn = self._turns.get(turn_index)
            if turn is None or turn.post is not None:
                return
            for path in paths:
                rel = self._to_repo(path)
                if rel:
                    turn.recorded.add(rel)

    def end_turn(self, turn_index: int) -> list[str]:
        """Snapshot the tree after the turn; returns the (root-relative) files it changed.
        A turn that changed nothing leaves no checkpoint, so /undo skips it."""
        if not self.repo:
            return []
        with self._lock:
            turn = self._turns.get(turn_index)
            if turn is None:
                return []
            if turn.post is None:
                self._end(turn)
            return [self._from_repo(p) for p in turn.changed]

    def undo(self) -> UndoResult:
        """Put back the files the last not-yet-undone turn changed, unless someone changed
        them after that turn."""
        if not self.repo:
            return UndoResult(False, self.notice)
        with self._lock:
            turn = self._last_turn()
            if turn is None:
                return UndoResult(False, "Nothing to undo: no turn of this session changed files "
                                         "that are still to be undone.")
            shown = [self._from_repo(p) for p in turn.changed]
            left = [self._from_repo(p) for p in turn.left_out]
            if not turn.changed:
                self._forget(turn)
                return UndoResult(False, (
                    f"Nothing was restored: turn {turn.index} changed only files that checkpoints "
                    f"do not hold. {self._left_out_note(turn.left_out)} "
                    "/undo again goes to the turn before."))
            now_tree, _ = self._index.write_tree()
            since = _git.changed_between(self._top, _git.tree_of(self._top, turn.post), now_tree)
            touched = [p for p in turn.changed if p in since]
            if touched:
                names = [self._from_repo(p) for p in touched]
                return UndoResult(False, (
                    f"Cannot undo turn {turn.index}: {_names(names)} changed after that turn "
                    "(by you or another program), and undo would overwrite those changes. "
                    "Nothing was restored. Put them back as the turn left them and /undo again, "
                    f"or restore files yourself with `git restore --source={turn.pre[:12]} -- <file>`."))
            pre_tree = _git.tree_of(self._top, turn.pre)
            keep = _git.present_in(self._top, pre_tree, set(turn.changed))
            created = [p for p in turn.changed if p not in keep]
            dirs = _git.tree_dirs(self._top, pre_tree)
            try:
                for rel in sorted(created, key=lambda p: p.count("/"), reverse=True):
                    _git.remove_file(self._top, rel, dirs)
                self._index.checkout(pre_tree, sorted(keep))
            except (GitError, OSError) as exc:
                return UndoResult(False, (
                    f"Undo of turn {turn.index} stopped part-way: {exc}. The files as the turn "
                    f"left them are in commit {turn.post[:12]}."), [])
            self._forget(turn)
            done = []
            if keep:
                done.append(f"restored {_names(self._from_repo(p) for p in sorted(keep))}")
            if created:
                done.append(f"removed {_names(self._from_repo(p) for p in created)} "
                            "(created by the turn)")
            text = f"Undid turn {turn.index}: " + "; ".join(done) + "."
            if left:
                text += " " + self._left_out_note(turn.left_out)
            if turn.commit:
                text += (f" The turn's commit {turn.commit[:12]} stays in the history; the undo "
                         "shows as uncommitted changes.")
            text += f" To redo: git restore --source={turn.post[:12]} -- <file>."
            return UndoResult(True, text, shown)

    def session_diff(self) -> str:
        """Unified diff of the working tree against the session's first snapshot."""
        if not self.repo:
            return ""
        with self._lock:
            if self._start is None:
                return ""
            now_tree, _ = self._index.write_tree()
            start_tree = _git.tree_of(self._top, self._start)
            proc = _git.run(self._top, "diff", "--no-color", "--no-ext-diff", "--no-textconv",
                            "--src-prefix=a/", "--dst-prefix=b/", start_tree, now_tree)
            return proc.stdout.decode(errors="replace")

    def auto_commit(self, message: str, paths: Iterable[str] | None = None) -> CommitResult:
        """Commit the last ended turn's changed files (or paths) on the user's branch.
        Other staged changes of the user stay staged and out of the commit."""
        if not self.repo:
            return CommitResult(False, self.notice)
        with self._lock:
            turn = self._last_turn(end=False)
            if paths is None:
                files = list(turn.changed) if turn and turn.post else []
            else:
                files = [p for p in (self._to_repo(x) for x in paths) if p]
            result = commit_paths(self._top, files, message)
            if result.ok and turn is not None and paths is None:
                turn.commit = result.commit
            return result

    def turns(self) -> list[int]:
        """Indices of the turns that can still be undone, oldest first."""
        return sorted(self._turns)

    def discard(self) -> None:
        """Delete this session's refs (its snapshots become garbage for git gc)."""
        if not self.repo:
            return
        with self._lock:
            refs = _git.out(self._top, "for-each-ref", "--format=%(refname)", self._ref_base + "/")
            self._delete_refs(refs.split())
            self._turns.clear()
            self._start = None

    def close(self) -> None:
        if self.repo:
            self._finalizer()

    # -- internals --------------------------------------------------------------------------

    @property
    def _top(self) -> Path:
        assert self.repo is not None
        return self.repo.toplevel

    def _ref(self, turn_index: int, post: bool = False) -> str:
        return f"{self._ref_base}/{turn_index}{'-post' if post else ''}"

    def _last_turn(self, end: bool = True) -> _Turn | None:
        while self._turns:
            turn = self._turns[max(self._turns)]
            if turn.post is not None or not end:
                return turn
            self._end(turn)
            if turn.index in self._turns:
                return turn
        return None

    def _end(self, turn: _Turn) -> None:
        post_tree, big = self._index.write_tree()
        pre_tree = _git.tree_of(self._top, turn.pre)
        detected = _git.changed_between(self._top, pre_tree, post_tree)
        unsafe = detected & (set(big) | set(turn.pre_big))
        quiet = turn.recorded - detected
        in_trees = (_git.present_in(self._top, pre_tree, quiet)
                    | _git.present_in(self._top, post_tree, quiet))
        turn.left_out = sorted(unsafe | (quiet - in_trees))
        turn.changed = sorted(detected - unsafe)
        if not turn.changed and not turn.left_out:
            self._forget(turn)
            return
        meta = json.dumps({"changed": turn.changed, "left_out": turn.left_out})
        message = f"de-agent checkpoint: after turn {turn.index}\n\n{meta}\n"
        turn.post = _git.commit_tree(self._top, post_tree, message, turn.pre)
        self._update_refs([(self._ref(turn.index, post=True), turn.post)])

    def _forget(self, turn: _Turn) -> None:
        self._delete_refs([self._ref(turn.index), self._ref(turn.index, post=True)])
        self._turns.pop(turn.index, None)

    def _update_refs(self, pairs: list[tuple[str, str]]) -> None:
        lines = "".join(f"update {ref} {sha}\n" for ref, sha in pairs)
        _git.run(self._top, "update-ref", "--stdin", stdin=lines.encode())

    def _delete_refs(self, refs: list[str]) -> None:
        if refs:
            lines = "".join(f"delete {ref}\n" for ref in refs)
            _git.run(self._top, "update-ref", "--stdin", stdin=lines.encode(), check=False)

    def _left_out_note(self, left_out: list[str]) -> str:
        spec = b"".join(p.encode(errors="surrogateescape") + b"\0" for p in left_out)
        proc = _git.run(self._top, "check-ignore", "-z", "--stdin", stdin=spec,
                        check=False)
        ignored = set(_git.split_z(proc.stdout))
        notes = []
        if ignored:
            notes.append(f"ignored by git: {_names(self._from_repo(p) for p in left_out if p in ignored)}")
        big = [self._from_repo(p) for p in left_out if p not in ignored]
        if big:
            limit = self._index.max_file_bytes
            size = f"{limit / 1024 / 1024:g} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
            notes.append(f"over the snapshot size limit ({size}): {_names(big)}")
        return "Left as they are, not in checkpoints: " + "; ".join(notes) + "."

    def _load(self) -> None:
        """Pick up the checkpoints a previous run of this session left."""
        listing = _git.out(self._top, "for-each-ref", "--format=%(refname) %(objectname)",
                           self._ref_base + "/")
        refs = dict(line.split(" ", 1) for line in listing.splitlines() if " " in line)
        self._start = refs.pop(f"{self._ref_base}/start", None)
        for ref, sha in refs.items():
            name = ref.rsplit("/", 1)[1]
            if name.isdigit():
                meta = self._meta(sha)
                self._turns[int(name)] = _Turn(int(name), sha, pre_big=meta.get("left_out", []))
        for ref, sha in refs.items():
            name = ref.rsplit("/", 1)[1]
            turn = self._turns.get(int(name[:-5])) if name.endswith("-post") and \
                name[:-5].isdigit() else None
            if turn is not None:
                meta = self._meta(sha)
                turn.post = sha
                turn.changed = list(meta.get("changed", []))
                turn.left_out = list(meta.get("left_out", []))

    def _meta(self, commit: str) -> dict:
        body = _git.out(self._top, "log", "-1", "--format=%b", commit)
        try:
            data = json.loads(body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _to_repo(self, path: str | os.PathLike[str]) -> str | None:
        """A path as git names it (relative to the top of the repository), or None."""
        text = os.fspath(path)
        if os.path.isabs(text):
            folder = os.path.realpath(os.path.dirname(text))
            full = os.path.join(folder, os.path.basename(text))
            rel = os.path.relpath(full, self._top)
        else:
            rel = posixpath.join(self.repo.prefix, Path(text).as_posix()) if self.repo else text
        rel = posixpath.normpath(Path(rel).as_posix())
        if rel in (".", "") or rel == ".." or rel.startswith("../") or rel.startswith(".git/"):
            return None
        return rel

    def _from_repo(self, rel: str) -> str:
        prefix = self.repo.prefix if self.repo else ""
        if not prefix:
            return rel
        if rel.startswith(prefix):
            return rel[len(prefix):]
        return os.path.relpath(self._top / rel, self.root)


def _remove_tree(folder: str) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def prune_sessions(root: Path, keep: int = 30) -> int:
    """Delete the checkpoint refs of all but the ``keep`` most recent sessions of the
    repository holding root; returns how many sessions were pruned."""
    found = _git.find_repo(Path(root))
    if not isinstance(found, RepoInfo):
        return 0
    listing = _git.out(found.toplevel, "for-each-ref", "--sort=-committerdate",
                       "--format=%(refname)", REF_ROOT + "/")
    sessions: dict[str, list[str]] = {}
    for ref in listing.split():
        parts = ref.split("/")
        if len(parts) >= 4:
            sessions.setdefault(parts[2], []).append(ref)
    old = list(sessions)[keep:]
    refs = [ref for name in old for ref in sessions[name]]
    if refs:
        lines = "".join(f"delete {ref}\n" for ref in refs)
        _git.run(found.toplevel, "update-ref", "--stdin", stdin=lines.encode(), check=False)
    return len(old)
