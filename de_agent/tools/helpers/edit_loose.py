"""Last-resort ways to place an Edit's ``old_string``, tried only when every layer of
:mod:`edit_layers` found nothing.

- :func:`spacing_places`: the same text with whitespace laid out differently *inside* it:
  a call wrapped over two lines in the file and written on one line in ``old_string`` (or
  the reverse), or runs of several spaces where the model wrote one. Identifiers are never
  split or joined, and where both sides break the line the indentation after the break must
  agree (an indentation difference is the indentation layer's business, and a block whose
  shape differs is refused). The model's change is carried over character by character, so
  the file keeps its own wrapping and spacing wherever the model did not change the text.
- :func:`unescaped`: ``old_string`` written with one level of escaping too many (``\\"``,
  ``\\n``, ``\\t``, doubled backslashes) where the file holds the plain text.
- :func:`normal_forms`: the same text in another Unicode normal form (``e`` + combining
  accent where the file has ``é``, or the reverse).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_ESCAPE = re.compile(r"\\([nrt\"'`\\])")
_ESCAPED = {"n": "\n", "r": "\r", "t": "\t"}


def unescaped(text: str) -> str:
    """``text`` with one level of backslash escaping removed (only the escapes models overdo)."""
    return _ESCAPE.sub(lambda m: _ESCAPED.get(m.group(1), m.group(1)), text)


def looks_escaped(text: str) -> bool:
    return unescaped(text) != text


def normal_forms(old: str, new: str) -> list[tuple[str, str, str]]:
    """(form, old, new) for each Unicode normal form that changes ``old``."""
    out = []
    for form in ("NFC", "NFD"):
        other = unicodedata.normalize(form, old)
        if other != old:
            out.append((form, other, unicodedata.normalize(form, new)))
    return out


@dataclass
class Spaced:
    """A place found ignoring how whitespace is laid out: file offsets and the text to write."""

    start: int
    end: int
    replacement: str


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _runs(text: str) -> tuple[list[str], list[str]]:
    """(non-space pieces, the whitespace runs before each piece and after the last)."""
    parts = re.split(r"(\s+)", text)
    return parts[0::2], parts[1::2]


def _chars(text: str) -> list[tuple[int, str]]:
    return [(i, ch) for i, ch in enumerate(text) if not ch.isspace()]


def _gaps_agree(old: str, span: str) -> list[int] | None:
    """Offsets in ``span`` of each non-space character of ``old`` when the two differ only in
    acceptable whitespace, else None."""
    a, b = _chars(old), _chars(span)
    if [c for _, c in a] != [c for _, c in b]:
        return None
    for k in range(1, len(a)):
        gap_old = old[a[k - 1][0] + 1:a[k][0]]
        gap_file = span[b[k - 1][0] + 1:b[k][0]]
        if gap_old == gap_file:
            continue
        if _is_word(a[k - 1][1]) and _is_word(a[k][1]) and bool(gap_old) != bool(gap_file):
            return None  # would split or join a word
        if gap_old.count("\n") + gap_file.count("\n") > 1 and ("\n" not in gap_old or "\n" not in gap_file):
            return None  # a wrap is one line break, not blank lines
        if "\n" in gap_old and "\n" in gap_file:
            same_breaks = gap_old.count("\n") == gap_file.count("\n")
            if not same_breaks or gap_old.rsplit("\n", 1)[1] != gap_file.rsplit("\n", 1)[1]:
                return None
    return [i for i, _ in b]


def spacing_places(text: str, old: str, new: str) -> list[Spaced]:
    """Every place where ``old`` matches ``text`` ignoring the layout of whitespace inside it."""
    core = old.strip()
    lead, trail = old[:len(old) - len(old.lstrip())], old[len(old.rstrip()):]
    if not core or not new.startswith(lead) or not new.endswith(trail) or len(new) < len(lead) + len(trail):
        return []
    new_core = new[len(lead):len(new) - len(trail)]
    pattern = r"\s*".join(re.escape(ch) for ch in core if not ch.isspace())
    places = []
    for match in re.finditer(pattern, text):
        start, end = match.span()
        line_start = text.rfind("\n", 0, start) + 1
        if lead and text[line_start:start].strip():
            continue  # old_string starts a line; this is in the middle of one
        if "\n" in trail:
            line_end = text.find("\n", end)
            if text[end:len(text) if line_end < 0 else line_end].strip():
                continue  # old_string ends a line; this is not a line's end
        span = text[start:end]
        if span == core:
            continue
        offsets = _gaps_agree(core, span)
        if offsets is None:
            continue
        replacement = _carry_over(core, new_core, span, offsets)
        places.append(Spaced(start, end, replacement))
    return places


def _carry_over(old: str, new: str, span: str, offsets: list[int]) -> str:
    """``span`` (the file's text) with the change from ``old`` to ``new`` applied, keeping the
    file's whitespace wherever the model did not change the text around it."""
    at = {i: offsets[k] for k, i in enumerate(i for i, ch in enumerate(old) if not ch.isspace())}
    limit = min(len(old), len(new))
    p = 0
    while p < limit and old[p] == new[p]:
        p += 1
    s = 0
    while s < limit - p and old[len(old) - 1 - s] == new[len(new) - 1 - s]:
        s += 1
    q_old, q_new = len(old) - s, len(new) - s
    if p < len(old) and not old[p].isspace():
        file_from, new_from = at[p], p  # the file's whitespace before the change stays
    else:  # the change touches a whitespace run: the model's run replaces the file's
        while p > 0 and old[p - 1].isspace():
            p -= 1
        file_from, new_from = (at[p - 1] + 1 if p else 0), p
    if q_old > 0 and not old[q_old - 1].isspace():
        file_to, new_to = at[q_old - 1] + 1, q_new
    else:
        r = q_old
        while r < len(old) and old[r].isspace():
            r += 1
        file_to, new_to = (at[r] if r < len(old) else len(span)), q_new + (r - q_old)
    return span[:file_from] + new[new_from:new_to] + span[max(file_to, file_from):]
