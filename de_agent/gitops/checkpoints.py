"""Git checkpoints: a snapshot of the working tree before each turn that changes files,
``undo`` turn by turn, the session's total diff, and optional auto-commits.

Snapshots are commits on private refs (see ``refs.py``), never on the user's branch.
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

import functools
import os
import posixpath
import shlex
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from de_agent.gitops import _git
from de_agent.gitops._git import GitError, RepoInfo
from de_agent.gitops.commit import CommitResult, commit_paths
from de_agent.gitops.refs import SessionRefs, Turn, prune_sessions

__all__ = ["Checkpoints", "UndoResult", "prune_sessions"]


@dataclass
class UndoResult:
    ok: bool
    message: str
    # Root-relative paths put back to their state before the turn (removed ones included).
    restored: list[str] = field(default_factory=list)


def _names(paths: Iterable[str], limit: int = 8) -> str:
    items = list(paths)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _guarded(fallback):
    """Off: return fallback(self). A git failure turns checkpoints off (with a notice)
    instead of breaking the turn that called."""
    def wrap(method):
        @functools.wraps(method)
        def inner(self, *args, **kwargs):
            if not self.available:
                return fallback(self)
            try:
                return method(self, *args, **kwargs)
            except (GitError, OSError, subprocess.SubprocessError) as exc:
                self.available = False
                self.notice = f"Checkpoints and /undo are off for this session: {exc}"
                return fallback(self)
        return inner
    return wrap


class Checkpoints:
    """Per-session checkpoints of the repository holding ``root``."""

    def __init__(self, root: Path, session_id: str, *,
                 max_file_bytes: int = _git.MAX_SNAPSHOT_FILE_BYTES):
        self.root = Path(os.path.realpath(root))
        self.session_id = session_id
        self._lock = threading.RLock()
        # Checkpointed turns not yet undone, by sequence number (the ref name).
        self._turns: dict[int, Turn] = {}
        self._start: str | None = None
        found = _git.find_repo(self.root)
        self.repo: RepoInfo | None = found if isinstance(found, RepoInfo) else None
        self.available = self.repo is not None
        self.notice = "" if self.repo else (
            f"Checkpoints and /undo are off: {found}. Changes are not snapshotted; "
            "run `git init` to turn them on.")
        if not self.repo:
            return
        self._refs = SessionRefs(self.repo.toplevel, session_id)
        folder = tempfile.mkdtemp(prefix="de-agent-checkpoint-")
        self._finalizer = weakref.finalize(self, _remove_tree, folder)
        self._index = _git.SnapshotIndex(self.repo, Path(folder), max_file_bytes)
        self._start, self._turns = self._refs.load()

    # -- engine calls ---------------------------------------------------------------------

    @_guarded(lambda self: None)
    def begin_turn(self, turn_index: int) -> str | None:
        """Snapshot the working tree before turn_index changes anything; returns the
        checkpoint commit (the same one when called again for the same turn)."""
        with self._lock:
            current = self._find(turn_index)
            if current is not None and current.post is None:
                return current.pre
            for earlier in [t for t in self._turns.values() if t.post is None]:
                self._end(earlier)
            seq = max(self._turns, default=0) + 1
            tree, big = self._index.write_tree()
            pre = self._refs.save(self._refs.ref(seq), tree, _git.head(self._top),
                                  f"before turn {turn_index}", {"turn": turn_index, "left_out": big})
            if self._start is None:
                _git.run(self._top, "update-ref", self._refs.start_ref, pre)
                self._start = pre
            self._turns[seq] = Turn(seq, turn_index, pre, pre_big=big)
            return pre

    @_guarded(lambda self: None)
    def record_changes(self, turn_index: int, paths: Iterable[str | os.PathLike[str]]) -> None:
        """Note files a turn changed (root-relative or absolute inside the repository)."""
        with self._lock:
            turn = self._find(turn_index)
            if turn is None or turn.post is not None:
                return
            for path in paths:
                rel = self._to_repo(path)
                if rel:
                    turn.recorded.add(rel)

    @_guarded(lambda self: [])
    def end_turn(self, turn_index: int) -> list[str]:
        """Snapshot the tree after the turn; returns the (root-relative) files it changed.
        A turn that changed nothing leaves no checkpoint, so /undo skips it."""
        with self._lock:
            turn = self._find(turn_index)
            if turn is None:
                return []
            if turn.post is None:
                self._end(turn)
            return [self._from_repo(p) for p in turn.changed]

    @_guarded(lambda self: UndoResult(False, self.notice))
    def undo(self) -> UndoResult:
        """Put back the files the last not-yet-undone turn changed, unless someone changed
        them after that turn."""
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
            post = turn.post or ""  # the last turn still to undo has ended, so it has its post commit
            now_tree, _ = self._index.write_tree()
            since = _git.changed_between(self._top, _git.tree_of(self._top, post), now_tree)
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
                    f"left them are in commit {post[:12]}."), [])
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
            redo = " ".join(shlex.quote(p) for p in shown[:8]) + (" …" if len(shown) > 8 else "")
            text += f" To redo: git restore --source={post[:12]} -- {redo}."
            return UndoResult(True, text, shown)

    @_guarded(lambda self: "")
    def session_diff(self) -> str:
        """Unified diff of the working tree against the session's first snapshot."""
        with self._lock:
            if self._start is None:
                return ""
            now_tree, _ = self._index.write_tree()
            start_tree = _git.tree_of(self._top, self._start)
            proc = _git.run(self._top, "diff", "--no-color", "--no-ext-diff", "--no-textconv",
                            "--src-prefix=a/", "--dst-prefix=b/", start_tree, now_tree)
            return proc.stdout.decode(errors="replace")

    @_guarded(lambda self: CommitResult(False, self.notice))
    def auto_commit(self, message: str, paths: Iterable[str] | None = None) -> CommitResult:
        """Commit the last ended turn's changed files (or paths) on the user's branch.
        Other staged changes of the user stay staged and out of the commit."""
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
        """The engine's numbers of the turns that can still be undone, oldest first."""
        return [self._turns[seq].index for seq in sorted(self._turns)]

    def discard(self) -> None:
        """Delete this session's refs (its snapshots become garbage for git gc)."""
        if not self.repo:
            return
        with self._lock:
            self._refs.delete_all()
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

    def _find(self, turn_index: int) -> Turn | None:
        """The latest checkpoint of the engine's turn turn_index."""
        found = [t for t in self._turns.values() if t.index == turn_index]
        return max(found, key=lambda t: t.seq) if found else None

    def _last_turn(self, end: bool = True) -> Turn | None:
        while self._turns:
            turn = self._turns[max(self._turns)]
            if turn.post is not None or not end:
                return turn
            self._end(turn)
            if turn.seq in self._turns:
                return turn
        return None

    def _end(self, turn: Turn) -> None:
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
        turn.post = self._refs.save(
            self._refs.ref(turn.seq, post=True), post_tree, turn.pre, f"after turn {turn.index}",
            {"turn": turn.index, "changed": turn.changed, "left_out": turn.left_out})

    def _forget(self, turn: Turn) -> None:
        self._refs.delete([self._refs.ref(turn.seq), self._refs.ref(turn.seq, post=True)])
        self._turns.pop(turn.seq, None)

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
