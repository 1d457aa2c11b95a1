"""Git awareness for the system prompt: the branch and a short status, from one fast
``git status --porcelain=v2`` call (no index refresh written, no rename detection, no
recursion into submodules)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from de_agent.gitops import _git


@dataclass
class GitStatus:
    branch: str | None = None
    detached_at: str | None = None
    unborn: bool = False
    upstream: str | None = None
    ahead: int = 0
    behind: int = 0
    staged: int = 0
    modified: int = 0
    untracked: int = 0
    conflicted: int = 0
    # (two-letter code as in `git status --short`, path)
    entries: list[tuple[str, str]] = field(default_factory=list)


def parse_porcelain_v2(data: bytes) -> GitStatus:
    """Parse `git status --porcelain=v2 --branch -z --no-renames` output."""
    st = GitStatus()
    oid = ""
    for raw in data.split(b"\0"):
        if not raw:
            continue
        line = raw.decode(errors="surrogateescape")
        if line.startswith("# "):
            key, _, value = line[2:].partition(" ")
            if key == "branch.oid":
                oid = value
                st.unborn = value == "(initial)"
            elif key == "branch.head":
                st.branch = None if value == "(detached)" else value
            elif key == "branch.upstream":
                st.upstream = value
            elif key == "branch.ab":
                ahead, _, behind = value.partition(" ")
                st.ahead, st.behind = abs(int(ahead or 0)), abs(int(behind or 0))
        elif line.startswith("? "):
            st.untracked += 1
            st.entries.append(("??", line[2:]))
        elif line[:2] in ("1 ", "u "):
            fields = line.split(" ", 10 if line[0] == "u" else 8)
            xy, path = fields[1], fields[-1]
            if line[0] == "u":
                st.conflicted += 1
            else:
                st.staged += xy[0] != "."
                st.modified += xy[1] != "."
            st.entries.append((xy.replace(".", " "), path))
    if st.branch is None and not st.unborn and oid:
        st.detached_at = oid[:12]
    return st


def read_status(root: Path, timeout: float = 2.0) -> GitStatus | str:
    """The repository's status, or a sentence saying why there is none."""
    if _git.git_exe() is None:
        return "git is not installed"
    try:
        proc = _git.run(Path(root), "status", "--porcelain=v2", "--branch", "-z", "--no-renames",
                        "--untracked-files=normal", "--ignore-submodules=dirty",
                        check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"git status took longer than {timeout:g} s"
    except OSError as exc:
        return f"git could not run ({exc})"
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace")
        if "not a git repository" in err:
            return "not a git repository"
        return err.strip().splitlines()[0] if err.strip() else "git status failed"
    return parse_porcelain_v2(proc.stdout)


def format_summary(st: GitStatus, limit: int = 10) -> str:
    if st.unborn:
        where = f"branch {st.branch} (no commits yet)"
    elif st.branch:
        where = f"branch {st.branch}"
    else:
        where = f"detached HEAD at {st.detached_at}"
    if st.upstream:
        track = [f"ahead {st.ahead}"] if st.ahead else []
        track += [f"behind {st.behind}"] if st.behind else []
        where += f" (tracking {st.upstream}{', ' + ', '.join(track) if track else ', up to date'})"
    lines = [f"Git: {where}"]
    if not st.entries:
        lines.append("Status: clean")
        return "\n".join(lines)
    counts = [(st.staged, "staged"), (st.modified, "modified"), (st.untracked, "untracked"),
              (st.conflicted, "conflicted")]
    lines.append("Status: " + ", ".join(f"{n} {label}" for n, label in counts if n))
    lines += [f"  {code} {path}" for code, path in st.entries[:limit]]
    if len(st.entries) > limit:
        lines.append(f"  ... and {len(st.entries) - limit} more")
    return "\n".join(lines)


def git_summary(root: Path, limit: int = 10) -> str:
    """Branch, upstream distance and a short status for the system prompt."""
    st = read_status(root)
    if isinstance(st, str):
        return f"Git: {st} (checkpoints and /undo are off)" if "not a git" in st or "not installed" in st \
            else f"Git: status unavailable ({st})"
    return format_summary(st, limit)
