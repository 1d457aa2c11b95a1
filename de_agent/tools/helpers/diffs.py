"""Unified diffs for edits: make them, read them back as hunks, apply only some hunks.

Hunks are numbered from 0 in the order they appear in the diff; that index is what a front
end sends back (``ApprovalDecision.hunks``) to apply only part of a change. The same
(old, new) texts always give the same hunks, so the diff shown before approval and the
hunks applied after it agree.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

CONTEXT = 3
NO_NEWLINE = "\\ No newline at end of file"
_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class Hunk:
    """One hunk; starts are 1-based as in the header (0 for an empty side)."""

    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: list[str] = field(default_factory=list)  # ' ', '-', '+' prefixed, or NO_NEWLINE

    @property
    def header(self) -> str:
        return f"@@ -{_range(self.old_start, self.old_len)} +{_range(self.new_start, self.new_len)} @@"

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.startswith("+"))

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.startswith("-"))

    def where(self) -> str:
        """Where the hunk sits in the old file, for people and models: 'lines 10-14'."""
        first = max(self.old_start, 1)
        last = self.old_start + self.old_len - 1
        return f"line {first}" if last <= first else f"lines {first}-{last}"

    # 0-based half-open ranges of the hunk (context included) in the old and new lines.
    @property
    def old_range(self) -> tuple[int, int]:
        start = self.old_start - 1 if self.old_len else self.old_start
        return start, start + self.old_len

    @property
    def new_range(self) -> tuple[int, int]:
        start = self.new_start - 1 if self.new_len else self.new_start
        return start, start + self.new_len


def _range(start: int, length: int) -> str:
    return str(start) if length == 1 else f"{start},{length}"


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) if text else []


def _body(prefix: str, line: str) -> list[str]:
    if line.endswith("\n"):
        return [prefix + line[:-1]]
    return [prefix + line, NO_NEWLINE]


def make_hunks(old_text: str, new_text: str, context: int = CONTEXT) -> list[Hunk]:
    """The hunks of the unified diff from ``old_text`` to ``new_text``."""
    hunks: list[Hunk] = []
    for a, b, lo, group in _grouped_opcodes(old_text, new_text, context):
        if len(group) == 1 and group[0][0] == "equal":
            continue
        i1, i2 = group[0][1], group[-1][2]
        j1, j2 = group[0][3], group[-1][4]
        hunk = Hunk(i1 + lo + 1 if i2 > i1 else i1 + lo, i2 - i1, j1 + lo + 1 if j2 > j1 else j1 + lo, j2 - j1)
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                for line in a[a1:a2]:
                    hunk.lines += _body(" ", line)
                continue
            for line in a[a1:a2]:
                hunk.lines += _body("-", line)
            for line in b[b1:b2]:
                hunk.lines += _body("+", line)
        hunks.append(hunk)
    return hunks


_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")  # str.splitlines breaks there too
_BLOCK = 1 << 16


def _same_head(a: str, b: str) -> int:
    """Length of the common prefix of ``a`` and ``b`` (block-wise, so big texts compare in C)."""
    n, i = min(len(a), len(b)), 0
    while i < n and a[i:i + _BLOCK] == b[i:i + _BLOCK]:
        i += _BLOCK
    if i >= n:
        return n
    lo, hi = i, min(i + _BLOCK, n)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[i:mid] == b[i:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _same_tail(a: str, b: str, limit: int) -> int:
    """Length of the common suffix of ``a`` and ``b``, at most ``limit``."""
    n, i, k = min(len(a), len(b), limit), 0, 0
    while i < n:
        k = min(_BLOCK, n - i)
        if a[len(a) - i - k:len(a) - i] != b[len(b) - i - k:len(b) - i]:
            break
        i += k
    else:
        return n
    lo, hi = i, i + k - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid:len(a) - i] == b[len(b) - mid:len(b) - i]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _trimmed(old_text: str, new_text: str, context: int) -> tuple[int, list[str], list[str]] | None:
    """(lines skipped at the start, old lines, new lines) around the changed region of two texts
    with plain ``\\n`` line breaks, keeping ``context`` equal lines on each side; None when the
    texts hold other characters ``str.splitlines`` breaks at (then the whole texts are split)."""
    if _OTHER_BREAKS.search(old_text) or _OTHER_BREAKS.search(new_text):
        return None
    start = old_text.rfind("\n", 0, _same_head(old_text, new_text)) + 1  # first differing line
    room = min(len(old_text), len(new_text)) - start
    tail = _same_tail(old_text, new_text, room)
    end_a, end_b = len(old_text) - tail, len(new_text) - tail
    if (end_a > start and old_text[end_a - 1] != "\n") or (end_b > start and new_text[end_b - 1] != "\n"):
        # The common tail starts inside a line: take that whole line into the region.
        nxt = old_text.find("\n", end_a)
        step = (nxt + 1 if nxt != -1 else len(old_text)) - end_a
        end_a, end_b = end_a + step, end_b + step
    for _ in range(context):
        if start:
            start = old_text.rfind("\n", 0, start - 1) + 1
        if end_a < len(old_text):
            nxt = old_text.find("\n", end_a)
            step = (nxt + 1 if nxt != -1 else len(old_text)) - end_a
            end_a, end_b = end_a + step, end_b + step
    return old_text.count("\n", 0, start), _lines(old_text[start:end_a]), _lines(new_text[start:end_b])


def _grouped_opcodes(old_text: str, new_text: str, context: int):
    """difflib's grouped opcodes, computed only over the lines that differ (plus the context
    around them): an edit of a big file costs the size of the change, not of the file."""
    trimmed = _trimmed(old_text, new_text, context)
    if trimmed is None:
        lo, a, b = 0, _lines(old_text), _lines(new_text)
    else:
        lo, a, b = trimmed
    # Past a few thousand differing lines (a change repeated all over a big file), difflib's
    # exhaustive search is quadratic; its heuristic for popular lines keeps it fast.
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=len(a) + len(b) > 20000)
    for group in matcher.get_grouped_opcodes(context):
        yield a, b, lo, group


def format_diff(hunks: list[Hunk], path: str, *, old_exists: bool = True, new_exists: bool = True) -> str:
    if not hunks:
        return ""
    out = ["--- " + (f"a/{path}" if old_exists else "/dev/null"),
           "+++ " + (f"b/{path}" if new_exists else "/dev/null")]
    for hunk in hunks:
        out.append(hunk.header)
        out.extend(hunk.lines)
    return "\n".join(out) + "\n"


def unified_diff(old_text: str | None, new_text: str | None, path: str, context: int = CONTEXT,
                 hunks: list[Hunk] | None = None) -> str:
    """A unified diff; ``None`` for a side that does not exist (added or removed file).
    ``hunks``: the hunks of (old_text, new_text) when already made."""
    if hunks is None:
        hunks = make_hunks(old_text or "", new_text or "", context)
    if not hunks and (old_text is None) != (new_text is None):
        # An empty file added or removed still deserves a header.
        return "--- " + ("/dev/null" if old_text is None else f"a/{path}") + "\n+++ " + (
            "/dev/null" if new_text is None else f"b/{path}") + "\n"
    return format_diff(hunks, path, old_exists=old_text is not None, new_exists=new_text is not None)


def parse_hunks(diff: str) -> list[Hunk]:
    """The hunks of a unified diff text (headers and anything before the first hunk skipped)."""
    hunks: list[Hunk] = []
    current: Hunk | None = None
    for line in diff.splitlines():
        match = _HEADER.match(line)
        if match:
            old_len = int(match.group(2)) if match.group(2) is not None else 1
            new_len = int(match.group(4)) if match.group(4) is not None else 1
            current = Hunk(int(match.group(1)), old_len, int(match.group(3)), new_len)
            hunks.append(current)
        elif current is not None and (line[:1] in (" ", "-", "+") or line == NO_NEWLINE):
            if line.startswith(("--- ", "+++ ")) and _complete(current):
                current = None  # the next file's header
                continue
            current.lines.append(line)
        elif current is not None and line == "":
            current.lines.append(" ")  # some tools strip the space of an empty context line
    return hunks


def _complete(hunk: Hunk) -> bool:
    old = sum(1 for line in hunk.lines if line[:1] in (" ", "-"))
    new = sum(1 for line in hunk.lines if line[:1] in (" ", "+"))
    return old >= hunk.old_len and new >= hunk.new_len


def diff_stats(diff: str) -> tuple[int, int]:
    """(lines added, lines removed) of a unified diff."""
    hunks = parse_hunks(diff)
    return sum(h.added for h in hunks), sum(h.removed for h in hunks)


def _check_accepted(accepted: list[int], count: int) -> set[int]:
    chosen = set()
    for index in accepted:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
            raise ValueError(f"hunk {index!r} does not exist (the diff has {count} hunks, numbered from 0)")
        chosen.add(index)
    return chosen


def apply_hunks(old_text: str, new_text: str, accepted: list[int], context: int = CONTEXT,
                hunks: list[Hunk] | None = None) -> str:
    """``old_text`` with only the ``accepted`` hunks (0-based) of its diff to ``new_text`` applied
    (``hunks``: that diff's hunks when already made)."""
    if hunks is None:
        hunks = make_hunks(old_text, new_text, context)
    chosen = _check_accepted(accepted, len(hunks))
    a, b = _lines(old_text), _lines(new_text)
    out: list[str] = []
    pos = 0
    for index, hunk in enumerate(hunks):
        a1, a2 = hunk.old_range
        b1, b2 = hunk.new_range
        out += a[pos:a1]
        out += b[b1:b2] if index in chosen else a[a1:a2]
        pos = a2
    out += a[pos:]
    return "".join(out)


def describe_hunks(hunks: list[Hunk], accepted: list[int] | None) -> str:
    """Which hunks were applied, in words a model can act on (hunks numbered from 1 here)."""
    if accepted is None or set(accepted) >= set(range(len(hunks))):
        return f"all {len(hunks)} hunk{'s' if len(hunks) != 1 else ''} applied"
    chosen = _check_accepted(accepted, len(hunks))

    def items(indices: list[int]) -> str:
        return "; ".join(f"#{i + 1} ({hunks[i].where()}, +{hunks[i].added} -{hunks[i].removed})"
                         for i in indices)

    taken = [i for i in range(len(hunks)) if i in chosen]
    left = [i for i in range(len(hunks)) if i not in chosen]
    if not taken:
        return f"none of the {len(hunks)} hunks applied (the user rejected {items(left)})"
    return (f"{len(taken)} of {len(hunks)} hunks applied: {items(taken)}; NOT applied (rejected by "
            f"the user): {items(left)}")
