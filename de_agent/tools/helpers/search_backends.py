"""The ripgrep engine behind SearchText and FindFiles, and what both engines share.

ripgrep (the binary shipped on PyPI, found next to the running Python, then on PATH) is
run with flags that pin its behaviour to what :class:`~de_agent.tools.helpers.ignore.IgnoreTree`
implements: hidden files included, ``.git`` skipped, ``.gitignore`` and
``.git/info/exclude`` honoured (no global, ``.ignore`` or ``.rgignore`` files, no user
config), symlinks not followed, no encoding sniffing. Both engines then apply the same
rules so they return the same results:

- a file holding a NUL byte is binary and skipped (ripgrep stops at the first NUL and
  warns when it had matched before it; such files are dropped);
- secret-looking files (``Workspace.is_secret``) are not searched;
- a line is matched on its own (a match never spans lines); text is UTF-8 with invalid
  bytes replaced; results are ordered by path, then line.

The pure-Python engine is :mod:`de_agent.tools.helpers.search_python`. Only the regex dialects
differ: ripgrep's (Rust) has no look-around or back-references, Python's ``re`` has no
``[[:alpha:]]`` classes.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from de_agent.tools.base import ToolError
from de_agent.tools.helpers.globs import glob_matcher, rg_filter
from de_agent.tools.helpers.ignore import ignore_tree, path_key
from de_agent.workspace import SECRET_PATTERNS, Workspace

RG_FLAGS = ("--no-config", "--hidden", "--glob", "!.git", "--no-ignore-dot", "--no-ignore-global",
            "--no-follow", "--encoding", "none", "--color", "never")
OVERFLOW_MATCHES = 20_000  # past this many matches, stop counting
MAX_LINE_CHARS = 400
OUTPUT_CAP = 64 << 20  # bytes of rg output read at most
_RG_BODY_LINE = re.compile(rb"^(\d+)([:-])(.*)$", re.M)
_RG_MATCH_LINE = re.compile(rb"^\d+:", re.M)
_RG_BINARY = b": WARNING: stopped searching binary file"


def find_rg(setting: str = "auto") -> str | None:
    """The ripgrep binary to use, or None for the pure-Python engine.

    setting: 'auto' (next to sys.executable, i.e. the virtualenv's bin folder, then PATH),
    'off', or the path of a binary.
    """
    if setting == "off":
        return None
    if setting not in ("", "auto"):
        return setting if os.access(setting, os.X_OK) else None
    name = "rg.exe" if os.name == "nt" else "rg"
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("rg")


@dataclass
class Query:
    pattern: str
    fixed: bool = False
    context: int = 0
    start: str = ""  # repository-relative folder or file; '' for the root
    include: list[str] = field(default_factory=list)
    keep: int = 500  # matches needed in full when there are too many to count


class FileHits:
    """The matching (and context) lines of one file.

    ``lines`` maps line numbers to (is a match, text); the text is a str, or rg's raw bytes
    (see :func:`line_text`). From rg, the lines are parsed only when first asked for.
    """

    __slots__ = ("path", "matches", "_lines", "_raw")

    def __init__(self, path: str, matches: int = 0, raw: bytes = b""):
        self.path = path
        self.matches = matches
        self._raw = raw
        self._lines: dict[int, tuple[bool, str | bytes]] | None = None if raw else {}

    @property
    def lines(self) -> dict[int, tuple[bool, str | bytes]]:
        if self._lines is None:
            lines: dict[int, tuple[bool, str | bytes]] = {}
            for num, kind, text in _RG_BODY_LINE.findall(self._raw):
                n = int(num)
                if kind == b":":
                    lines[n] = (True, text)
                elif n not in lines:
                    lines[n] = (False, text)
            self._lines = dict(sorted(lines.items()))
        return self._lines

    @lines.setter
    def lines(self, value: dict[int, tuple[bool, str | bytes]]) -> None:
        self._lines = value


@dataclass
class Hits:
    files: list[FileHits]
    total: int
    overflow: bool  # more than OVERFLOW_MATCHES: total is a lower bound, files a prefix


def line_text(value: str | bytes) -> str:
    """A stored line as shown: decoded (invalid UTF-8 replaced), without \\r, cut when long."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    if text.endswith("\r"):
        text = text.rstrip("\r")
    if len(text) <= MAX_LINE_CHARS:
        return text
    return f"{text[:MAX_LINE_CHARS]}… [{len(text) - MAX_LINE_CHARS} more characters]"


_SECRET = re.compile("|".join(fnmatch.translate(p) for p in SECRET_PATTERNS))


def is_secret(path: str) -> bool:
    """Workspace.is_secret, compiled once (it runs for every file with matches)."""
    return _SECRET.match(path.rpartition("/")[2]) is not None


def accept_fn(root: str, query: Query, check_ignored: bool) -> Callable[[str], bool]:
    include = glob_matcher(query.include, query.start) if query.include else None
    ignored = ignore_tree(root).checker(query.start) if check_ignored else None

    def accept(path: str) -> bool:
        if is_secret(path):
            return False
        if include is not None and not include(path):
            return False
        return ignored is None or not ignored(path)

    return accept


def compile_pattern(query: Query) -> re.Pattern[str]:
    try:
        return re.compile(re.escape(query.pattern) if query.fixed else query.pattern, re.MULTILINE)
    except re.error as exc:
        raise ToolError(f"invalid regular expression `{query.pattern}`: {exc}. "
                        "Escape special characters or set fixed_strings=true.") from None


# -- ripgrep ------------------------------------------------------------------------------

def rg_search_argv(rg: str, query: Query, sort: bool = False) -> list[str]:
    argv = [rg, *RG_FLAGS, "--null", "--line-number", "--heading", "--with-filename"]
    if sort:
        argv += ["--sort", "path"]
    if query.fixed:
        argv.append("--fixed-strings")
    if query.context:
        argv += ["--context", str(query.context)]
    argv += rg_filter(query.include, query.start)[0]
    argv += ["--regexp", query.pattern, "--"]
    if query.start:
        argv.append(query.start)
    return argv


class _RgCollector:
    """Parses ripgrep's ``--heading --null`` output as it arrives, one file block at a time.

    A block is ``path\\0`` then the file's lines (``12:text`` for a match, ``12-text``
    for context, ``--`` between groups), ending at an empty line. Only matches are counted
    here; the lines of a block are parsed when shown (:attr:`FileHits.lines`).
    """

    def __init__(self, accept: Callable[[str], bool], stop_after: int):
        self.accept = accept
        self.stop_after = stop_after
        self.files: dict[str, FileHits] = {}
        self.total = 0
        self._rest = b""

    def _block(self, block: bytes) -> None:
        nul = block.find(b"\0")
        if nul <= 0:
            return
        raw = block[:nul]
        if b"\n" + raw + _RG_BINARY in block:  # stopped at a NUL byte after a match: binary
            return
        body = block[nul + 1:]
        matches = len(_RG_MATCH_LINE.findall(body))
        path = os.fsdecode(raw)
        if not matches or not self.accept(path):
            return
        prior = self.files.get(path)
        self.files[path] = FileHits(path, matches, body) if prior is None else FileHits(
            path, prior.matches + matches, prior._raw + b"\n" + body)
        self.total += matches

    def feed(self, data: bytes) -> bool:
        """Take a chunk; True once more than stop_after matches are final."""
        buf = self._rest + data if self._rest else data
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._rest = buf
            return False
        self._rest = buf[end + 2:]
        for block in buf[:end].split(b"\n\n"):
            self._block(block)
            if self.total > self.stop_after:
                return True
        return False

    def close(self) -> None:
        if self._rest.strip():
            self._block(self._rest.rstrip(b"\n"))
        self._rest = b""


def _scratch_file():
    """An anonymous file in memory (memfd) where available, else an unlinked temporary file."""
    if hasattr(os, "memfd_create"):
        try:
            return os.fdopen(os.memfd_create("de-agent-rg", os.MFD_CLOEXEC), "w+b")
        except OSError:
            pass
    return tempfile.TemporaryFile(prefix="de-agent-rg-")


async def _run_rg(argv: list[str], cwd: str, collector: _RgCollector, timeout: float) -> tuple[int, str, bool]:
    """Run rg, feeding its output to collector; returns (exit code, error text, stopped).

    rg writes to an in-memory file rather than a pipe, so a busy search does not wake this
    process for every write; the file is read at growing intervals (5 to 50 ms).
    stopped: the collector had enough (or the output passed OUTPUT_CAP) and rg was killed.
    """
    with _scratch_file() as out, _scratch_file() as err:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=err)
        offset = 0

        def pull() -> bool:
            nonlocal offset
            while chunk := os.pread(out.fileno(), 1 << 20, offset):
                offset += len(chunk)
                if collector.feed(chunk) or offset > OUTPUT_CAP:
                    return True
            return False

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        waiter = asyncio.ensure_future(proc.wait())
        stopped = False
        pause = 0.005
        try:
            while not waiter.done():
                await asyncio.wait({waiter}, timeout=pause)
                pause = min(pause * 2, 0.05)
                if waiter.done():
                    break
                if pull():
                    stopped = True
                    proc.kill()
                    break
                if loop.time() > deadline:
                    raise ToolError(f"the search took longer than {timeout:.0f} s and was stopped; "
                                    "narrow it with dir_path or include")
            code = await asyncio.shield(waiter)
        except BaseException:
            if proc.returncode is None:
                proc.kill()
            await asyncio.shield(waiter)
            raise
        if not stopped:
            stopped = pull()
            if not stopped:
                collector.close()
        err.seek(0)
        return code, err.read(16_000).decode("utf-8", "replace"), stopped


def _rg_error(query: Query, err: str) -> ToolError:
    if "regex parse error" in err:
        reason = [ln.strip().removeprefix("error: ") for ln in err.splitlines() if ln.strip()][-1]
        hint = (" ripgrep's regex syntax has no look-around or back-references."
                if "look-around" in reason or "backreference" in reason else "")
        return ToolError(f"invalid regular expression `{query.pattern}`: {reason}.{hint} "
                         "Escape special characters or set fixed_strings=true.")
    return ToolError(f"ripgrep failed: {err.strip().removeprefix('rg: ') or 'no message'}")


async def rg_search(rg: str, root: str, query: Query, timeout: float = 60.0) -> Hits:
    # --glob includes files even when .gitignore'd: check those again when it is used.
    accept = accept_fn(root, query, check_ignored=rg_filter(query.include, query.start)[1])
    collector = _RgCollector(accept, OVERFLOW_MATCHES)
    code, err, stopped = await _run_rg(rg_search_argv(rg, query), root, collector, timeout)
    if code == 2 and not collector.files and not stopped and (
            "regex parse error" in err or "(os error" not in err):
        raise _rg_error(query, err)  # a bad pattern, not a file that could not be read
    if stopped or collector.total > OVERFLOW_MATCHES:
        # Too many matches: take the first ones in path order from a sorted, stoppable run.
        collector = _RgCollector(accept, query.keep - 1)
        await _run_rg(rg_search_argv(rg, query, sort=True), root, collector, timeout)
        files = sorted(collector.files.values(), key=lambda f: path_key(f.path))
        return Hits(files, OVERFLOW_MATCHES + 1, True)
    files = sorted(collector.files.values(), key=lambda f: path_key(f.path))
    return Hits(files, collector.total, False)


async def rg_files(rg: str, root: str, start: str = "", filter_args: list[str] | None = None,
                   timeout: float = 60.0) -> list[str]:
    """The searchable files under start (repository-relative, unsorted)."""
    argv = [rg, *RG_FLAGS, "--files", "--null", *(filter_args or []), "--"]
    if start:
        argv.append(start)
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=root, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ToolError(f"listing files took longer than {timeout:.0f} s; narrow dir_path") from None
    return [os.fsdecode(p) for p in out.split(b"\0") if p]


async def list_matching(ws: Workspace, rg: str | None, start: str = "", globs: list[str] | None = None,
                        timeout: float = 60.0) -> list[str]:
    """Non-ignored files under start matching any of globs (every file without globs), in path order."""
    match = glob_matcher(globs, start) if globs else None
    if rg is None:
        return await asyncio.to_thread(
            lambda: [p for p in ignore_tree(ws.root).walk(start) if match is None or match(p)])
    filter_args, recheck = rg_filter(globs or [], start)
    root = str(ws.root)
    try:
        paths = await rg_files(rg, root, start, filter_args, timeout)
    except OSError:  # the binary cannot be started: list without it
        return await list_matching(ws, None, start, globs, timeout)
    ignored = ignore_tree(root).checker(start) if recheck else None
    found = [p for p in paths if (match is None or match(p)) and (ignored is None or not ignored(p))]
    found.sort(key=path_key)
    return found
