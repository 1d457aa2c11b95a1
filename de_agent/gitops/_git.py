"""Plumbing shared by checkpoints and status: running git, finding the repository, and
building, comparing and restoring tree snapshots through a private temporary index.

Every command is built by ``hardened.command`` (no repository setting can run a program or
move the work tree) and runs with ``--no-optional-locks`` so that nothing refreshes or
rewrites the user's index behind their back. Snapshots use their own index file
(``GIT_INDEX_FILE``) and a fixed committer identity, so they work in repositories where
the user has no identity configured and never move HEAD, the branch, the index or the
stash.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from de_agent.security import hardened_git as hardened

# Untracked or modified files bigger than this are left out of snapshots (and so are
# never restored or deleted by undo): data engineers keep big data files around, and
# copying each version of them into .git/objects would bloat the repository.
MAX_SNAPSHOT_FILE_BYTES = 50 * 1024 * 1024

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

IDENTITY = {
    "GIT_AUTHOR_NAME": "de-agent",
    "GIT_AUTHOR_EMAIL": "de-agent@localhost",
    "GIT_COMMITTER_NAME": "de-agent",
    "GIT_COMMITTER_EMAIL": "de-agent@localhost",
}


class GitError(RuntimeError):
    """A git command failed; the message carries git's own explanation."""


@dataclass(frozen=True)
class RepoInfo:
    toplevel: Path
    git_dir: Path
    # The working folder's path inside the repository ("" or "sub/dir/").
    prefix: str


def git_exe() -> str | None:
    return shutil.which("git")


def run(cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None,
        check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` in cwd, hardened (see ``hardened.py``); raises GitError when check and it fails."""
    argv, full_env = hardened.command(cwd, *args)
    if env:
        full_env.update(env)
    proc = subprocess.run(argv, cwd=cwd, env=full_env, input=stdin, capture_output=True,
                          timeout=timeout, stdin=None if stdin is not None else subprocess.DEVNULL)
    if check and proc.returncode != 0:
        lines = dict.fromkeys(ln.strip() for ln in proc.stderr.decode(errors="replace").splitlines())
        detail = " / ".join(ln for ln in lines if ln)[:500] or f"exit status {proc.returncode}"
        raise GitError(f"git {args[0]}: {detail}")
    return proc


def out(cwd: Path, *args: str, **kw) -> str:
    return run(cwd, *args, **kw).stdout.decode(errors="surrogateescape").strip()


def find_repo(root: Path) -> RepoInfo | str:
    """The repository holding root, or a sentence explaining why there is none."""
    if git_exe() is None:
        return "git is not installed"
    try:
        proc = run(root, "rev-parse", "--show-toplevel", "--absolute-git-dir", "--show-prefix",
                   check=False, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"git could not run ({exc})"
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace")
        if "not a git repository" in err:
            return f"{root} is not inside a git repository"
        return f"git cannot use {root}: {err.strip()}"
    lines = proc.stdout.decode(errors="surrogateescape").split("\n")
    if len(lines) < 3 or not lines[0]:
        return f"{root} is not inside a git work tree"
    return RepoInfo(Path(lines[0]), Path(lines[1]), lines[2])


def head(cwd: Path) -> str | None:
    """The commit HEAD points to, or None on an unborn branch."""
    proc = run(cwd, "rev-parse", "--verify", "-q", "HEAD^{commit}", check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip() or None


def split_z(data: bytes) -> list[str]:
    return [p.decode(errors="surrogateescape") for p in data.split(b"\0") if p]


class SnapshotIndex:
    """A private index file used to turn the working tree into git trees.

    The index lives in a folder of its own and is kept between snapshots, so later
    snapshots only rehash files whose stat data changed. The first snapshot seeds it from
    a copy of the user's index for the same reason.
    """

    def __init__(self, repo: RepoInfo, folder: Path, max_file_bytes: int = MAX_SNAPSHOT_FILE_BYTES):
        self.repo = repo
        self.path = folder / "snapshot.index"
        self.max_file_bytes = max_file_bytes
        self._seeded = False

    def env(self, index: Path | None = None) -> dict[str, str]:
        return {"GIT_INDEX_FILE": str(index or self.path), **IDENTITY}

    def _seed(self) -> None:
        self._seeded = True
        user_index = self.repo.git_dir / "index"
        if not self.path.exists() and user_index.is_file():
            try:
                # copy2 keeps the mtime, which git's racy-entry check relies on.
                shutil.copy2(user_index, self.path)
            except OSError:
                self.path.unlink(missing_ok=True)

    def _too_big(self) -> list[str]:
        """Untracked or modified files over the size limit (repository-relative)."""
        top = self.repo.toplevel
        proc = run(top, "ls-files", "-z", "--others", "--modified", "--exclude-standard",
                   env=self.env())
        big = []
        for rel in dict.fromkeys(split_z(proc.stdout)):
            try:
                st = os.lstat(top / rel)
            except OSError:
                continue
            if st.st_size > self.max_file_bytes:
                big.append(rel)
        return big

    def write_tree(self) -> tuple[str, list[str]]:
        """Snapshot the working tree: (tree id, files left out because they are too big)."""
        if not self._seeded:
            self._seed()
        top = self.repo.toplevel
        try:
            return self._write_tree(top)
        except GitError:
            # A copied index git cannot use here (split index, odd extensions): start afresh.
            self.path.unlink(missing_ok=True)
            return self._write_tree(top)

    def _write_tree(self, top: Path) -> tuple[str, list[str]]:
        big = self._too_big()
        if big:
            # Drop stale entries so a skipped file is absent from the tree, never outdated.
            run(top, "update-index", "-z", "--force-remove", "--stdin",
                stdin=b"".join(p.encode(errors="surrogateescape") + b"\0" for p in big),
                env=self.env())
            spec = b"".join(b":(top,exclude,literal)" + p.encode(errors="surrogateescape") + b"\0"
                            for p in big)
            run(top, "add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul",
                stdin=spec, env=self.env())
        else:
            run(top, "add", "-A", env=self.env())
        return out(top, "write-tree", env=self.env()), big

    def checkout(self, tree: str, paths: list[str]) -> None:
        """Write paths from tree into the working tree (filters, modes and symlinks kept)."""
        if not paths:
            return
        scratch = self.path.with_name("checkout.index")
        env = self.env(scratch)
        top = self.repo.toplevel
        try:
            run(top, "read-tree", tree, env=env)
            run(top, "checkout-index", "-f", "-z", "--stdin", env=env,
                stdin=b"".join(p.encode(errors="surrogateescape") + b"\0" for p in paths))
        finally:
            scratch.unlink(missing_ok=True)


def commit_tree(cwd: Path, tree: str, message: str, parent: str | None) -> str:
    args = ["commit-tree", "--no-gpg-sign", tree, "-F", "-"]
    if parent:
        args += ["-p", parent]
    return out(cwd, *args, stdin=message.encode(), env=dict(IDENTITY))


def tree_of(cwd: Path, commit: str) -> str:
    return out(cwd, "rev-parse", f"{commit}^{{tree}}")


def changed_between(cwd: Path, a: str, b: str) -> set[str]:
    """Paths whose content or mode differs between two trees (no rename pairing)."""
    proc = run(cwd, "diff-tree", "-r", "-z", "--no-renames", "--name-only", a, b)
    return set(split_z(proc.stdout))


def present_in(cwd: Path, tree: str, paths: set[str]) -> set[str]:
    """Which of paths are files in tree."""
    if not paths:
        return set()
    proc = run(cwd, "ls-tree", "-r", "-z", "--name-only", "--full-tree", tree)
    return paths & set(split_z(proc.stdout))


def remove_file(top: Path, rel: str, keep_dirs: set[str]) -> bool:
    """Delete rel (never following a symlinked parent out of top), then any parent folders
    it leaves empty that are not in keep_dirs. True when something was removed."""
    target = top / rel
    parent = target.parent
    real_top = os.path.realpath(top)
    if os.path.realpath(parent) != os.path.join(real_top, *Path(rel).parent.parts):
        return False
    try:
        if os.path.isdir(target) and not os.path.islink(target):
            return False
        os.unlink(target)
    except FileNotFoundError:
        return False
    rel_parent = Path(rel).parent
    while str(rel_parent) not in (".", "") and rel_parent.as_posix() not in keep_dirs:
        try:
            os.rmdir(top / rel_parent)
        except OSError:
            break
        rel_parent = rel_parent.parent
    return True


def tree_dirs(cwd: Path, tree: str) -> set[str]:
    proc = run(cwd, "ls-tree", "-r", "-d", "-z", "--name-only", "--full-tree", tree)
    return set(split_z(proc.stdout))
