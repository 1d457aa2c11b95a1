"""The pure-Python SearchText engine, used when the ripgrep binary is not available.

It walks the repository with :class:`~de_agent.tools.helpers.ignore.IgnoreTree` in path order,
reads each file through ``Workspace.read_bytes`` and applies the rules of
:mod:`de_agent.tools.helpers.search_backends`, so its results are those of the ripgrep engine:
files with a NUL byte are binary and skipped, each line is matched on its own, text is
UTF-8 with invalid bytes replaced, and counting stops past OVERFLOW_MATCHES.
"""

from __future__ import annotations

import re

from de_agent.tools.helpers.ignore import ignore_tree
from de_agent.tools.helpers.search_backends import (
    OVERFLOW_MATCHES,
    FileHits,
    Hits,
    Query,
    accept_fn,
    compile_pattern,
)
from de_agent.workspace import Workspace


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
    lines: dict[int, tuple[bool, str | bytes]] = {}
    if context:
        all_lines = text.split("\n")
        if phantom_end and all_lines:
            all_lines.pop()
        for n, _ in found:
            for k in range(max(1, n - context), min(len(all_lines), n + context) + 1):
                if k not in lines:
                    lines[k] = (False, all_lines[k - 1])
    for n, line in found:
        lines[n] = (True, line)
    hits.lines = dict(sorted(lines.items()))
    hits.matches = len(found)
    return hits


def py_search(ws: Workspace, query: Query) -> Hits:
    rx = compile_pattern(query)
    accept = accept_fn(str(ws.root), query, check_ignored=False)
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
