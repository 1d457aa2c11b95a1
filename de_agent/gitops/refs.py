"""Where checkpoints live: commits on private refs, one folder of refs per session.

::

    refs/de-agent/<session>/start      the working tree when the session first changed something
    refs/de-agent/<session>/<n>        the working tree before the session's n-th checkpointed turn
    refs/de-agent/<session>/<n>-post   the working tree after it

Each commit's message body is a JSON object (the engine's turn number, the files the
turn changed, the files left out of the snapshot), so a resumed session rebuilds its
undo history from the refs alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from de_agent.gitops import _git
from de_agent.gitops._git import RepoInfo

REF_ROOT = "refs/de-agent"


@dataclass
class Turn:
    seq: int
    # The engine's turn number, used in messages.
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


class SessionRefs:
    """Reading and writing one session's checkpoint refs."""

    def __init__(self, top: Path, session_id: str):
        self.top = top
        self.base = f"{REF_ROOT}/{ref_safe(session_id)}"

    @property
    def start_ref(self) -> str:
        return f"{self.base}/start"

    def ref(self, seq: int, post: bool = False) -> str:
        return f"{self.base}/{seq}{'-post' if post else ''}"

    def save(self, ref: str, tree: str, parent: str | None, title: str, meta: dict) -> str:
        """Commit tree with a JSON body and point ref at it; returns the commit."""
        message = f"de-agent checkpoint: {title}\n\n{json.dumps(meta)}\n"
        commit = _git.commit_tree(self.top, tree, message, parent)
        _git.run(self.top, "update-ref", "--stdin", stdin=f"update {ref} {commit}\n".encode())
        return commit

    def delete(self, refs: list[str]) -> None:
        if refs:
            lines = "".join(f"delete {ref}\n" for ref in refs)
            _git.run(self.top, "update-ref", "--stdin", stdin=lines.encode(), check=False)

    def delete_all(self) -> None:
        self.delete(_git.out(self.top, "for-each-ref", "--format=%(refname)", self.base + "/").split())

    def meta(self, commit: str) -> dict:
        body = _git.out(self.top, "log", "-1", "--format=%b", commit)
        try:
            data = json.loads(body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def load(self) -> tuple[str | None, dict[int, Turn]]:
        """The start commit and the turns a previous run of this session left."""
        listing = _git.out(self.top, "for-each-ref", "--format=%(refname) %(objectname)",
                           self.base + "/")
        refs = dict(line.split(" ", 1) for line in listing.splitlines() if " " in line)
        start = refs.pop(self.start_ref, None)
        turns: dict[int, Turn] = {}
        for ref, sha in refs.items():
            name = ref.rsplit("/", 1)[1]
            if name.isdigit():
                meta = self.meta(sha)
                turns[int(name)] = Turn(int(name), int(meta.get("turn", name)), sha,
                                        pre_big=list(meta.get("left_out", [])))
        for seq, turn in turns.items():
            post = refs.get(self.ref(seq, post=True))
            if post:
                meta = self.meta(post)
                turn.post = post
                turn.changed = list(meta.get("changed", []))
                turn.left_out = list(meta.get("left_out", []))
        return start, turns


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
    SessionRefs(found.toplevel, "").delete([ref for name in old for ref in sessions[name]])
    return len(old)
