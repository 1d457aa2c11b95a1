"""FindFiles and ReadFolder: what files exist, as git sees the repository.

Both honour ``.gitignore`` (via ripgrep's file listing when the binary is available, the
pure-Python :class:`~de_agent.tools.helpers.ignore.IgnoreTree` otherwise: same list either way),
never follow symlinks, and bound their output with a note. Also home of the argument
helpers the read tools share (confined paths, glob parameters, sizes).
"""

from __future__ import annotations

import asyncio
import os
import stat
from typing import Annotated

from pydantic import Field, WithJsonSchema

from de_agent.tools.base import READ, Action, Outcome, Tool, ToolContext, ToolError, simple_action
from de_agent.tools.helpers.globs import glob_matcher
from de_agent.tools.helpers.ignore import GIT_DIR, ignore_tree
from de_agent.tools.helpers.search_backends import find_rg, list_matching
from de_agent.tools.schema import ToolArgs
from de_agent.workspace import ConfinementError

MAX_FILES = 500
MAX_ENTRIES = 500
LIST_TIMEOUT_S = 60.0


def confined_path(ctx: ToolContext, path: str) -> str:
    """The repository-relative form of a model-supplied path ('.' for the root), or a ToolError."""
    try:
        return str(ctx.workspace.relative(path))
    except ConfinementError as exc:
        raise ToolError(f"{exc}. Use a path relative to the repository root.") from None


def confined_dir(ctx: ToolContext, dir_path: str | None) -> str:
    """Like confined_path, but '' for the root (the form the listing functions take)."""
    if dir_path is None or dir_path.strip() in ("", "."):
        return ""
    rel = confined_path(ctx, dir_path)
    return "" if rel == "." else rel


# Glob parameters: the schema says a string (or a list), both forms are accepted.
GlobArg = Annotated[str | list[str] | None, WithJsonSchema({"type": "string"})]
GlobList = Annotated[str | list[str] | None, WithJsonSchema({"type": "array", "items": {"type": "string"}})]


def globs_of(value: str | list[str] | None) -> list[str]:
    """The globs of a glob parameter, commas splitting them."""
    if value is None or value == "":
        return []
    values = [value] if isinstance(value, str) else value
    return [g.strip() for v in values for g in _split_commas(v) if g.strip()]


def _split_commas(glob: str) -> list[str]:
    """'*.py,*.sql' is two globs; the comma in '*.{py,sql}' is not a separator."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in glob:
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += (ch == "{") - (ch == "}" and depth > 0)
        current.append(ch)
    parts.append("".join(current))
    return parts


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    scaled = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GiB":
            return f"{scaled:.1f} {unit}"
    return f"{size} B"


async def list_files(ctx: ToolContext, start: str, globs: list[str] | None = None) -> list[str]:
    """Every non-ignored file under start matching any of globs (all without), in path order."""
    rg = find_rg(getattr(ctx.settings, "ripgrep", "auto"))
    return await list_matching(ctx.workspace, rg, start, globs, LIST_TIMEOUT_S)


def _require_dir(ctx: ToolContext, rel: str) -> None:
    try:
        st = ctx.workspace.stat(rel or ".")
    except FileNotFoundError:
        raise ToolError(f"{rel}: no such folder; use ReadFolder on its parent to see what exists") from None
    except OSError as exc:
        raise ToolError(f"{rel}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise ToolError(f"{rel}: is a file, not a folder; use ReadFile to read it")


class FindFilesArgs(ToolArgs):
    pattern: str = Field(min_length=1, description="Glob to match, e.g. '**/*.sql'.")
    dir_path: str | None = Field(None, description=(
        "Folder to search in, relative to the repository root. Default: the root."))


class ReadFolderArgs(ToolArgs):
    dir_path: str = Field(min_length=1, description="Folder relative to the repository root ('.' for the root).")
    ignore: GlobList = Field(None, description="Globs of entries to leave out, e.g. ['*.pyc', 'tmp*'].")


class FindFiles(Tool):
    name = "FindFiles"
    kind = READ
    description = (
        "Find files by glob, e.g. '**/*.sql', '*.py', 'dags/**/*.py', '*.{yml,yaml}'. A glob without "
        "'/' matches file names at any depth; with '/' it is relative to dir_path (or the repository "
        "root). Returns repository-relative paths sorted by path. Files ignored by .gitignore are not "
        f"listed; folders themselves are not listed. At most {MAX_FILES} paths are shown.")
    Args = FindFilesArgs

    async def act(self, args: FindFilesArgs, ctx: ToolContext) -> Action:
        pattern = args.pattern.strip()
        patterns = globs_of(pattern)
        start = confined_dir(ctx, args.dir_path)
        try:
            glob_matcher(patterns, start)
        except ValueError as exc:
            raise ToolError(str(exc)) from None

        async def run() -> Outcome:
            _require_dir(ctx, start)
            found = await list_files(ctx, start, patterns)
            where = start or "the repository"
            display = {"kind": "files", "pattern": pattern, "count": len(found)}
            if not found:
                return Outcome(True, f"No files match {pattern!r} in {where} (files ignored by .gitignore "
                               "are not listed).\n", display=display)
            shown = found[:MAX_FILES]
            head = f"{len(found):,} file{'s' * (len(found) != 1)} match {pattern!r} in {where} (sorted by path):\n"
            out = head + "".join(f"{p}\n" for p in shown)
            if len(found) > len(shown):
                out += (f"[showing the first {len(shown)} of {len(found):,}; narrow the pattern or "
                        "dir_path to see the rest]\n")
            return Outcome(True, out, display=display)

        return simple_action(READ, f"find {pattern}" + (f" in {start}" if start else ""), run,
                             paths=[start or "."])


class ReadFolder(Tool):
    name = "ReadFolder"
    kind = READ
    description = (
        "List one folder (not recursive): sub-folders first (ending in '/'), then files with their "
        "sizes; symlinks are shown with '@' and their target, never followed. Entries ignored by "
        "git (.gitignore) or by your `ignore` globs are left out and counted. Use FindFiles to "
        "search deeper.")
    Args = ReadFolderArgs

    async def act(self, args: ReadFolderArgs, ctx: ToolContext) -> Action:
        start = confined_dir(ctx, args.dir_path)
        ignore = globs_of(args.ignore)
        try:
            skip = glob_matcher(ignore, start) if ignore else None
        except ValueError as exc:
            raise ToolError(str(exc)) from None

        async def run() -> Outcome:
            _require_dir(ctx, start)
            return await asyncio.to_thread(self._list, ctx, start, skip)

        return simple_action(READ, f"list {start or '.'}", run, paths=[start or "."])

    @staticmethod
    def _list(ctx: ToolContext, start: str, skip) -> Outcome:
        folder = ctx.workspace.resolve(start or ".")
        ignored = ignore_tree(ctx.workspace.root).checker(start)
        dirs: list[str] = []
        files: list[str] = []
        n_git = n_skip = 0
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise ToolError(f"{start or '.'}: cannot be listed ({exc.strerror or exc})") from None
        for entry in entries:
            if entry.name == GIT_DIR:
                continue
            rel = f"{start}/{entry.name}" if start else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            if ignored(rel, is_dir):
                n_git += 1
                continue
            if skip is not None and (skip(rel) or (is_dir and skip(rel + "/"))):
                n_skip += 1
                continue
            if is_dir:
                dirs.append(f"{entry.name}/")
            elif stat.S_ISLNK(st.st_mode):
                try:
                    target = os.readlink(entry.path)
                except OSError:
                    target = "?"
                files.append(f"{entry.name}@ -> {target}")
            elif stat.S_ISREG(st.st_mode):
                files.append(f"{entry.name}  ({human_size(st.st_size)})")
            else:
                files.append(f"{entry.name}  (special file)")
        rows = dirs + files
        where = start or "."
        head = f"{where}/: {len(dirs)} folder{'s' * (len(dirs) != 1)}, {len(files)} file{'s' * (len(files) != 1)}\n"
        out = head + "".join(f"{r}\n" for r in rows[:MAX_ENTRIES])
        notes = []
        if len(rows) > MAX_ENTRIES:
            notes.append(f"showing the first {MAX_ENTRIES} of {len(rows):,} entries; use FindFiles to narrow")
        if n_git:
            notes.append(f"{n_git} entr{'ies' if n_git != 1 else 'y'} ignored by .gitignore not shown")
        if n_skip:
            notes.append(f"{n_skip} entr{'ies' if n_skip != 1 else 'y'} matching the ignore globs not shown")
        if not rows and not notes:
            out += "(empty folder)\n"
        out += "".join(f"[{n}]\n" for n in notes)
        display = {"kind": "folder", "path": where, "dirs": len(dirs), "files": len(files),
                   "ignored": n_git + n_skip}
        return Outcome(True, out, display=display)
