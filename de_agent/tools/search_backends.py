"""The two engines behind SearchText and FindFiles: ripgrep, and a pure-Python equivalent.

ripgrep (the binary shipped on PyPI, found next to the running Python, then on PATH) is
run with flags that pin its behaviour to what :class:`~de_agent.tools.ignore.IgnoreTree`
implements: hidden files included, ``.git`` skipped, ``.gitignore`` and
``.git/info/exclude`` honoured (no global, ``.ignore`` or ``.rgignore`` files, no user
config), symlinks not followed, no encoding sniffing. Both engines then apply the same
rules so they return the same results:

- a file holding a NUL byte is binary and skipped (ripgrep stops at the first NUL and
  warns when it had matched before it; such files are dropped);
- secret-looking files (``Workspace.is_secret``) are not searched;
- a line is matched on its own (a match never spans lines); text is UTF-8 with invalid
  bytes replaced; results are ordered by path, then line.

Only the regex dialects differ: ripgrep's (Rust) has no look-around or back-references,
Python's ``re`` has no ``[[:alpha:]]`` classes.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from de_agent.tools.base import ToolError
from de_agent.tools.globs import glob_matcher, rg_globs
from de_agent.tools.ignore import ignore_tree, path_key
from de_agent.workspace import Workspace

RG_FLAGS = ("--no-config", "--hidden", "--glob", "!.git", "--no-ignore-dot", "--no-ignore-global",
            "--no-follow", "--encoding", "none", "--color", "never")
OVERFLOW_MATCHES = 20_000  # past this many matches, stop counting
MAX_LINE_CHARS = 400
OUTPUT_CAP = 64 << 20  # bytes of rg output read at most
_RG_LINE = re.compile(rb"([^\0]*)\0(\d+)([:-])(.*)", re.S)
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


@dataclass
class FileHits:
    path: str
    lines: dict[int, tuple[bool, str]] = field(default_factory=dict)  # line -> (is match, text)
    matches: int = 0


@dataclass
class Hits:
    files: list[FileHits]
    total: int
    overflow: bool  # more than OVERFLOW_MATCHES: total is a lower bound, files a prefix


def clip(text: str) -> str:
    if len(text) <= MAX_LINE_CHARS:
        return text
    return f"{text[:MAX_LINE_CHARS]}… [{len(text) - MAX_LINE_CHARS} more characters]"


def _accept_fn(root: str, query: Query, check_ignored: bool) -> Callable[[str], bool]:
    include = glob_matcher(query.include, query.start) if query.include else None
    ignored = ignore_tree(root).checker(query.start) if check_ignored else None

    def accept(path: str) -> bool:
        if Workspace.is_secret(path):
            return False
        if include is not None and not include(path):
            return False
        return ignored is None or not ignored(path)

    return accept


def compile_pattern(query: Query) -> re.Pattern[str]:
    try:
        return re.compile(re.escape(query.pattern) if query.fixed else query.pattern, re.MULTILINE)
    except re.error as exc:
        raise ToolError(f"invalid regular expression {query.pattern!r}: {exc}. "
                        "Escape special characters or set fixed_strings=true.") from None


# -- ripgrep ------------------------------------------------------------------------------

def rg_search_argv(rg: str, query: Query, sort: bool = False) -> list[str]:
    argv = [rg, *RG_FLAGS, "--null", "--line-number", "--no-heading", "--with-filename"]
    if sort:
        argv += ["--sort", "path"]
    if query.fixed:
        argv.append("--fixed-strings")
    if query.context:
        argv += ["--context", str(query.context)]
    for glob in rg_globs(query.include, query.start):
        argv += ["--glob", glob]
    argv += ["--regexp", query.pattern, "--"]
    if query.start:
        argv.append(query.start)
    return argv


class _RgCollector:
    """Parses ripgrep's ``--null`` output as it arrives; files are final when the next begins."""

    def __init__(self, accept: Callable[[str], bool], stop_after: int):
        self.accept = accept
        self.stop_after = stop_after
        self.files: dict[str, FileHits] = {}
        self.total = 0
        self._current: FileHits | None = None
        self._current_raw = b""
        self._binary = False
        self._rest = b""

    def _finish(self) -> None:
        cur = self._current
        if cur is not None and not self._binary and cur.matches and self.accept(cur.path):
            prior = self.files.get(cur.path)
            if prior is None:
                self.files[cur.path] = cur
            else:
                prior.lines.update(cur.lines)
                prior.matches += cur.matches
            self.total += cur.matches
        self._current, self._current_raw, self._binary = None, b"", False

    def feed(self, data: bytes) -> bool:
        """Take a chunk; True once more than stop_after matches are final."""
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        for line in lines:
            m = _RG_LINE.match(line)
            if m is None:
                k = line.find(_RG_BINARY)
                if k >= 0 and line[:k] == self._current_raw:
                    self._binary = True
                continue
            raw, num, kind, text = m.groups()
            if raw != self._current_raw:
                self._finish()
                if self.total > self.stop_after:
                    return True
                self._current = FileHits(os.fsdecode(raw))
                self._current_raw = raw
            cur = self._current
            is_match = kind == b":"
            n = int(num)
            if is_match:
                cur.matches += 1
            elif n in cur.lines:
                continue
            cur.lines[n] = (is_match, clip(text.decode("utf-8", "replace").rstrip("\r")))
        return False

    def close(self) -> None:
        if self._rest:
            self.feed(b"\n")
        self._finish()


async def _drain(stream: asyncio.StreamReader, keep: int = 16_000) -> bytes:
    """Read a stream to its end (so the writer never blocks), keeping the start."""
    kept = b""
    while chunk := await stream.read(1 << 16):
        if len(kept) < keep:
            kept += chunk[: keep - len(kept)]
    return kept


async def _run_rg(argv: list[str], cwd: str, collector: _RgCollector, timeout: float) -> tuple[int, str, bool]:
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    stopped = False

    async def pump() -> bytes:
        nonlocal stopped
        assert proc.stdout is not None and proc.stderr is not None
        err_task = asyncio.ensure_future(_drain(proc.stderr))
        while True:
            chunk = await proc.stdout.read(1 << 18)
            if not chunk:
                break
            if collector.feed(chunk):
                stopped = True
                proc.kill()
                break
        if not stopped:
            collector.close()
        return await err_task

    try:
        err = await asyncio.wait_for(pump(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ToolError(f"the search took longer than {timeout:.0f} s and was stopped; "
                        "narrow it with dir_path or include") from None
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    code = await proc.wait()
    return code, err.decode("utf-8", "replace"), stopped


async def _run_rg_to_file(argv: list[str], cwd: str, timeout: float) -> tuple[int, bytes, str, bool]:
    """Run rg with its output going to an unlinked temporary file (no wake-up per write).

    Returns (exit code, output, error text, capped): capped when the output passed
    OUTPUT_CAP bytes and rg was stopped.
    """
    with tempfile.TemporaryFile(prefix="de-agent-rg-") as out, tempfile.TemporaryFile() as err:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=err)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        capped = False
        waiter = asyncio.ensure_future(proc.wait())
        try:
            while not waiter.done():
                await asyncio.wait({waiter}, timeout=0.05)
                if waiter.done():
                    break
                if os.fstat(out.fileno()).st_size > OUTPUT_CAP:
                    capped = True
                    proc.kill()
                elif loop.time() > deadline:
                    raise ToolError(f"the search took longer than {timeout:.0f} s and was stopped; "
                                    "narrow it with dir_path or include")
            code = waiter.result()
        except BaseException:
            if proc.returncode is None:
                proc.kill()
            await asyncio.shield(waiter)
            raise
        out.seek(0)
        data = out.read(OUTPUT_CAP + (1 << 20))
        err.seek(0)
        return code, data, err.read(16_000).decode("utf-8", "replace"), capped


def _rg_error(query: Query, err: str) -> ToolError:
    if "regex parse error" in err or "error:" in err:
        reason = [ln.strip().removeprefix("error: ") for ln in err.splitlines() if ln.strip()][-1]
        hint = (" ripgrep's regex syntax has no look-around or back-references."
                if "look-around" in reason or "backreference" in reason else "")
        return ToolError(f"invalid regular expression {query.pattern!r}: {reason}.{hint} "
                         "Escape special characters or set fixed_strings=true.")
    return ToolError(f"ripgrep failed: {err.strip().removeprefix('rg: ') or 'no message'}")


async def rg_search(rg: str, root: str, query: Query, timeout: float = 60.0) -> Hits:
    # --glob includes files even when .gitignore'd: check those again when globs are used.
    accept = _accept_fn(root, query, check_ignored=bool(query.include))
    collector = _RgCollector(accept, OVERFLOW_MATCHES)
    code, data, err, capped = await _run_rg_to_file(rg_search_argv(rg, query), root, timeout)
    if code == 2 and not data:
        raise _rg_error(query, err)
    over = capped  # a gigantic output: treat as too many matches
    view = memoryview(data)
    step = 1 << 20
    for at in range(0, 0 if capped else len(data), step):
        if collector.feed(bytes(view[at:at + step])):
            over = True
            break
    if not over:
        collector.close()
        over = collector.total > OVERFLOW_MATCHES
    if over:
        # Too many matches: take the first ones in path order from a sorted, stoppable run.
        collector = _RgCollector(accept, query.keep - 1)
        await _run_rg(rg_search_argv(rg, query, sort=True), root, collector, timeout)
        files = sorted(collector.files.values(), key=lambda f: path_key(f.path))
        return Hits(files, OVERFLOW_MATCHES + 1, True)
    files = sorted(collector.files.values(), key=lambda f: path_key(f.path))
    return Hits(files, collector.total, False)


async def rg_files(rg: str, root: str, start: str = "", timeout: float = 60.0) -> list[str]:
    """Every searchable file under start (repository-relative, unsorted)."""
    argv = [rg, *RG_FLAGS, "--files", "--null", "--"]
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


# -- pure Python --------------------------------------------------------------------------

def _search_file(rx: re.Pattern[str], text: str, context: int) -> FileHits | None:
    """Lines of text matching rx on their own, with context lines; None when none match."""
    size = len(text)
    phantom_end = size == 0 or text.endswith("\n")  # no empty line after a final newline
    found: list[tuple[int, str]] = []
    pos, line_no, counted = 0, 1, 0
    while pos <= size:
        m = rx.search(text, pos)
        if m is None:
            break
        start = text.rfind("\n", 0, m.start()) + 1
        if start >= size and phantom_end:
            break
        end = text.find("\n", start)
        if end < 0:
            end = size
        line = text[start:end]
        if rx.search(line) is not None:
            line_no += text.count("\n", counted, start)
            counted = start
            found.append((line_no, line))
        pos = end + 1
    if not found:
        return None
    hits = FileHits("")
    if context:
        all_lines = text.split("\n")
        if phantom_end and all_lines:
            all_lines.pop()
        for n, _ in found:
            for k in range(max(1, n - context), min(len(all_lines), n + context) + 1):
                if k not in hits.lines:
                    hits.lines[k] = (False, clip(all_lines[k - 1].rstrip("\r")))
    for n, line in found:
        hits.lines[n] = (True, clip(line.rstrip("\r")))
    hits.lines = dict(sorted(hits.lines.items()))
    hits.matches = len(found)
    return hits


def py_search(ws: Workspace, query: Query) -> Hits:
    rx = compile_pattern(query)
    accept = _accept_fn(str(ws.root), query, check_ignored=False)
    files: list[FileHits] = []
    total = 0
    for path in ignore_tree(ws.root).walk(query.start):
        if not accept(path):
            continue
        try:
            data = ws.read_bytes(path)
        except OSError:
            continue
        if b"\0" in data:
            continue
        hits = _search_file(rx, data.decode("utf-8", "replace"), query.context)
        if hits is None:
            continue
        hits.path = path
        files.append(hits)
        total += hits.matches
        if total > OVERFLOW_MATCHES:
            return Hits(files, OVERFLOW_MATCHES + 1, True)
    return Hits(files, total, False)


def py_files(ws: Workspace, start: str = "") -> list[str]:
    return list(ignore_tree(ws.root).walk(start))
