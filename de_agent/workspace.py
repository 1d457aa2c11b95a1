"""Confinement: the one place every file path a tool touches goes through.

A path is accepted only when it names something inside the repository root: ``..``,
absolute paths outside the root, symlinks that lead out, NUL bytes and the like are
refused. The check is not trusted alone: files are then opened component by component
from a descriptor of the root with ``O_NOFOLLOW``, so a directory swapped for a symlink
after the check makes the open fail instead of escaping. Only regular files are read (a
FIFO or device in the repository cannot hang or feed a tool). Writes are atomic (temporary
file, fsync, rename in the same directory), refuse files with several hard links, and never
go into a ``.git`` folder, whose config and hooks git would execute.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

SECRET_PATTERNS = (".env", ".env.*", "*.pem", "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*",
                   "*.key", "*.p12", "*.pfx", ".netrc", ".pgpass", "credentials.json")


def find_repo_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest folder upwards holding ``.git``; the start folder when there is none."""
    here = Path(os.path.realpath(start or Path.cwd()))
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def _not_a_folder(exc: OSError, rel: PurePosixPath, part: str, dir_fd: int) -> None:
    """Turn a failed O_NOFOLLOW|O_DIRECTORY open into the error that says what happened."""
    if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
        return
    try:
        mode = os.stat(part, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except OSError:
        mode = 0
    if exc.errno == errno.ENOTDIR and not stat.S_ISLNK(mode):
        raise NotADirectoryError(errno.ENOTDIR, f"'{part}' is a file, not a folder", str(rel)) from None
    raise ConfinementError(f"{rel}: a path component changed into a symlink") from None


class ConfinementError(PermissionError):
    """A path would leave the repository, or cannot be used safely."""


def _in_git_dir(rel: PurePosixPath) -> bool:
    return any(part.lower() == ".git" for part in rel.parts)


class Workspace:
    """The repository root and the only sanctioned ways to reach files beneath it."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(os.path.realpath(root))

    # -- checking ---------------------------------------------------------------------

    def relative(self, path: str | os.PathLike[str]) -> PurePosixPath:
        """The confined path relative to the root; raises ConfinementError otherwise."""
        text = os.fspath(path)
        if "\x00" in text:
            raise ConfinementError("path contains a NUL byte")
        if not text.strip():
            raise ConfinementError("path is empty")
        candidate = Path(text).expanduser() if text.startswith("~") else Path(text)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        if str(candidate).startswith("/proc/"):
            raise ConfinementError(f"{text}: paths under /proc are not allowed")
        # realpath resolves '..' and every symlink, including /proc magic links.
        try:
            real = Path(os.path.realpath(candidate))
        except OSError as exc:  # e.g. a symlink swapped for a folder during the walk
            raise ConfinementError(f"{text}: cannot be resolved safely ({exc.strerror or exc})") from None
        try:
            rel = real.relative_to(self.root)
        except ValueError:
            raise ConfinementError(
                f"{text}: outside the repository ({self.root}); only paths inside it can be used"
            ) from None
        return PurePosixPath(rel.as_posix())

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """The absolute, symlink-free path inside the root."""
        rel = self.relative(path)
        return self.root if str(rel) == "." else self.root / rel

    def display(self, path: str | os.PathLike[str]) -> str:
        rel = self.relative(path)
        return str(rel)

    @staticmethod
    def is_secret(path: str | os.PathLike[str]) -> bool:
        name = PurePosixPath(os.fspath(path)).name
        return any(fnmatch.fnmatch(name, pat) for pat in SECRET_PATTERNS)

    # -- descriptor walking -------------------------------------------------------------

    @contextmanager
    def _parent_fd(self, rel: PurePosixPath, create: bool = False):
        """An O_NOFOLLOW-opened descriptor of rel's parent, walked from the root."""
        parts = [p for p in rel.parts[:-1] if p not in ("", ".")]
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in parts:
                try:
                    nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    try:
                        os.mkdir(part, 0o777, dir_fd=fd)
                    except FileExistsError:  # created meanwhile: opened below like any other
                        pass
                    try:
                        nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                    except OSError as exc:
                        _not_a_folder(exc, rel, part, fd)
                        raise
                except OSError as exc:
                    _not_a_folder(exc, rel, part, fd)
                    raise
                os.close(fd)
                fd = nxt
            yield fd
        finally:
            os.close(fd)

    def read_bytes(self, path: str | os.PathLike[str], limit: int | None = None) -> bytes:
        """Read a file inside the root without following any symlink at open time."""
        rel = self.relative(path)
        with self._parent_fd(rel) as pfd:
            try:
                # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
                fd = os.open(rel.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=pfd)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise ConfinementError(f"{rel}: changed into a symlink while being opened") from None
                raise
        with os.fdopen(fd, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if stat.S_ISDIR(mode):
                raise IsADirectoryError(errno.EISDIR, "is a directory", str(rel))
            if not stat.S_ISREG(mode):
                raise ConfinementError(f"{rel}: not a regular file (a FIFO, socket or device); not reading it")
            os.set_blocking(fh.fileno(), True)
            return fh.read() if limit is None else fh.read(limit)

    def stat(self, path: str | os.PathLike[str]) -> os.stat_result:
        rel = self.relative(path)
        if str(rel) == ".":
            return os.stat(self.root)
        with self._parent_fd(rel) as pfd:
            return os.stat(rel.name, dir_fd=pfd, follow_symlinks=False)

    def exists(self, path: str | os.PathLike[str]) -> bool:
        try:
            self.stat(path)
            return True
        except FileNotFoundError:
            return False

    def writable(self, path: str | os.PathLike[str]) -> PurePosixPath:
        """``path`` relative to the root, when a tool may write it: not the root, nothing inside .git."""
        rel = self.relative(path)
        if str(rel) == ".":
            raise ConfinementError("cannot write to the repository root itself")
        if _in_git_dir(rel):
            raise ConfinementError(f"{rel}: inside .git; git's own files are changed with git commands only")
        return rel

    def write_bytes(self, path: str | os.PathLike[str], data: bytes) -> None:
        """Write atomically, keeping the file's permissions; refuse hard-linked files."""
        rel = self.writable(path)
        with self._parent_fd(rel, create=True) as pfd:
            mode = 0o644
            try:
                st = os.stat(rel.name, dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is not None:
                if stat.S_ISLNK(st.st_mode):
                    raise ConfinementError(f"{rel}: changed into a symlink; not writing")
                if stat.S_ISDIR(st.st_mode):
                    raise IsADirectoryError(errno.EISDIR, "is a directory", str(rel))
                if not stat.S_ISREG(st.st_mode):
                    raise ConfinementError(f"{rel}: not a regular file; not writing")
                if st.st_nlink > 1:
                    raise ConfinementError(
                        f"{rel}: has {st.st_nlink} hard links; writing would change a file elsewhere")
                mode = stat.S_IMODE(st.st_mode)
            tmp = f".{rel.name}.de-agent-{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=pfd)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fchmod(fh.fileno(), mode)
                    os.fsync(fh.fileno())
                os.rename(tmp, rel.name, src_dir_fd=pfd, dst_dir_fd=pfd)
            except BaseException:
                try:
                    os.unlink(tmp, dir_fd=pfd)
                except OSError:
                    pass
                raise

    def make_parents(self, path: str | os.PathLike[str]) -> None:
        """Create the missing folders above ``path`` (the same walk as a write: no symlink followed)."""
        rel = self.writable(path)
        with self._parent_fd(rel, create=True):
            pass

    def delete(self, path: str | os.PathLike[str]) -> None:
        rel = self.relative(path)
        if str(rel) == "." or _in_git_dir(rel):
            raise ConfinementError(f"{rel}: cannot delete the repository root or files inside .git")
        with self._parent_fd(rel) as pfd:
            os.unlink(rel.name, dir_fd=pfd)
