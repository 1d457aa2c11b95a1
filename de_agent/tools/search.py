"""SearchText: regex search over the repository's files, ripgrep-fast, bounded for the model.

The engine is ripgrep when its binary is available and pure Python otherwise
(:mod:`de_agent.tools.helpers.search_backends`); both give the same text for the same call.
Output is ``path:line: text`` for matching lines and ``path-line- text`` for context
lines, files in path order separated by a blank line, non-adjacent groups within a file
by ``--``; the number of matches, the bytes and the length of each line are bounded and
the output says when it was cut.
"""

from __future__ import annotations

import asyncio
import re

from pydantic import Field

from de_agent.tools.base import READ, Action, Outcome, Tool, ToolContext, ToolError, simple_action
from de_agent.tools.fs_list import GlobArg, confined_dir, globs_of
from de_agent.tools.helpers.globs import glob_matcher
from de_agent.tools.helpers.output import MAX_OUTPUT_BYTES
from de_agent.tools.helpers.search_backends import (
    OVERFLOW_MATCHES,
    Hits,
    Query,
    find_rg,
    line_text,
    rg_search,
)
from de_agent.tools.helpers.search_python import py_search
from de_agent.tools.schema import ToolArgs

MAX_MATCHES = 300
MAX_CONTEXT = 10
SEARCH_TIMEOUT_S = 60.0
_NEWLINE_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\n")


def format_hits(hits: Hits, query: Query, max_matches: int = MAX_MATCHES,
                max_bytes: int = MAX_OUTPUT_BYTES) -> str:
    where = query.start or "the repository"
    what = f"{'string' if query.fixed else 'pattern'} `{query.pattern}`"
    if query.include:
        where += f" (files matching {', '.join(query.include)})"
    if not hits.files:
        return (f"No matches for {what} in {where}. Ignored (.gitignore), binary and "
                "secret-looking files are not searched.\n")
    total = f"more than {OVERFLOW_MATCHES:,}" if hits.overflow else f"{hits.total:,}"
    in_files = "" if hits.overflow else f" in {len(hits.files):,} file{'s' * (len(hits.files) != 1)}"
    head = f"Found {total} match{'es' * (hits.total != 1)}{in_files} for {what} in {where}:\n"
    out = [head]
    used = len(head.encode())
    shown = 0
    cut_bytes = False
    for index, file in enumerate(hits.files):
        if shown >= max_matches or cut_bytes:
            break
        block: list[str] = ["\n"] if index else []
        previous = None
        for n, (is_match, text) in file.lines.items():
            if previous is not None and n != previous + 1:
                block.append("--\n")
            previous = n
            text = line_text(text)
            line = f"{file.path}:{n}: {text}\n" if is_match else f"{file.path}-{n}- {text}\n"
            size = len(line.encode()) + sum(len(b.encode()) for b in block)
            if used + size > max_bytes:
                cut_bytes = True
                break
            out.extend(block)
            out.append(line)
            used += size
            block = []
            if is_match:
                shown += 1
                if shown >= max_matches:
                    break
    if shown < hits.total or hits.overflow:
        reason = f"output limit of {max_bytes:,} bytes" if cut_bytes else f"limit of {max_matches} matches"
        out.append(f"\n[cut at the {reason}: showing {shown} of {total} matches (path order); "
                   "narrow the pattern, or use dir_path or include to see the rest]\n")
    return "".join(out)


class SearchTextArgs(ToolArgs):
    pattern: str = Field(min_length=1, description=(
        "Regular expression to look for, e.g. 'def load_\\w+' or 'FROM\\s+raw\\.orders'."))
    dir_path: str | None = Field(None, description=(
        "Folder (or file) to search, relative to the repository root. Default: the whole repository."))
    include: GlobArg = Field(None, description=(
        "Glob of the files to search, e.g. '*.py' or 'dags/**/*.py'. A glob without '/' matches file "
        "names at any depth."))
    fixed_strings: bool | None = Field(None, description="Treat pattern as a literal string, not a regex.")
    context: int | None = Field(None, ge=0, le=MAX_CONTEXT, description=(
        f"Lines of context before and after each match (0-{MAX_CONTEXT})."))


class SearchText(Tool):
    name = "SearchText"
    kind = READ
    description = (
        "Search file contents with a regular expression (ripgrep syntax; Python `re` when ripgrep "
        "is missing) and get matching lines as `path:line: text`, ordered by path then line. "
        "Matches are per line: a pattern cannot span lines. Files ignored by .gitignore, binary "
        "files and secret-looking files (.env, keys) are skipped. Use it to find definitions, "
        "usages, table and column names, config keys. `include` narrows to files by glob "
        "(e.g. '*.sql', '*.{py,sql}', 'models/**/*.yml'); `dir_path` to a folder or a file; "
        "`fixed_strings` treats the pattern literally; `context` adds lines around each match. "
        f"At most {MAX_MATCHES} matches are shown; narrow the search when told it was cut.")
    Args = SearchTextArgs

    async def act(self, args: SearchTextArgs, ctx: ToolContext) -> Action:
        pattern = args.pattern
        fixed = bool(args.fixed_strings)
        context = args.context or 0
        if "\n" in pattern or (not fixed and _NEWLINE_ESCAPE.search(pattern)):
            raise ToolError("SearchText matches one line at a time: the pattern cannot contain a "
                            "newline. Search for one line of it, then read the file around the match.")
        start = confined_dir(ctx, args.dir_path)
        query = Query(pattern, fixed, context, start, globs_of(args.include), keep=MAX_MATCHES)
        try:
            glob_matcher(query.include)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        rg = find_rg(getattr(ctx.settings, "ripgrep", "auto"))

        async def run() -> Outcome:
            ws = ctx.workspace
            if start and not ws.exists(start):
                raise ToolError(f"{start}: no such folder or file; use ReadFolder or FindFiles to see what exists")
            engine = "ripgrep" if rg else "python"
            hits = None
            if rg is not None:
                try:
                    hits = await rg_search(rg, str(ws.root), query, SEARCH_TIMEOUT_S)
                except OSError:  # the binary cannot be started: search without it
                    engine = "python"
            if hits is None:
                hits = await asyncio.to_thread(py_search, ws, query)
            display = {"kind": "search", "pattern": pattern, "matches": hits.total,
                       "files": len(hits.files), "overflow": hits.overflow, "engine": engine}
            return Outcome(True, format_hits(hits, query), display=display)

        summary = f"search {pattern!r}" + (f" in {start}" if start else "")
        return simple_action(READ, summary, run, paths=[start or "."])
