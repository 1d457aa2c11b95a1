"""The matching layers for Edit: where ``old_string`` fits a file, layer by layer.

:class:`Matcher` finds every place ``old_string`` matches at one layer (see
:mod:`edit_match` for the order and the rules); for tolerant layers it also computes the
replacement text with :mod:`edit_merge`, so each place comes with what to write there.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import threading
from dataclasses import dataclass, field

from de_agent.tools.helpers.edit_merge import (
    WS,
    IndentMap,
    ReindentError,
    Window,
    char_map,
    merge_chars,
    split_line,
)

# One character for one character, so offsets in normalised text are offsets in the original.
_NORMALISE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\u3000": " ", "\u2000": " ", "\u2001": " ", "\u2004": " ", "\u2005": " ",
    "\u2006": " ", "\u2008": " ", "\u205f": " ", "\u1680": " ",
})

_ODD = re.compile("[" + "".join(chr(c) for c in _NORMALISE) + "]")


def normalise(text: str) -> str:
    """``text`` with quotes, dashes and odd spaces made ASCII (same length; fast on big text)."""
    if text.isascii():
        return text
    return _ODD.sub(lambda m: _NORMALISE[ord(m.group())], text)


_cache = threading.local()


def file_of(text: str) -> _File:
    """The :class:`_File` of ``text``, reused while the same text object is being matched
    (one edit tries several layers and fallbacks over the same file)."""
    cached = getattr(_cache, "file", None)
    if cached is None or cached.text is not text:
        cached = _cache.file = _File(text)
    return cached


def forget_file() -> None:
    _cache.file = None


LAYERS = ("exact", "trailing whitespace", "indentation", "quote, dash and space characters", "blank lines")


@dataclass
class Place:
    start: int
    end: int
    replacement: str
    first_line: int
    last_line: int
    ignored: list[str] = field(default_factory=list)
    substring: bool = False  # matched as a substring, not as whole lines


def _split(text: str) -> tuple[list[str], bool]:
    """Lines of a snippet, and whether it ends with a line break."""
    if text.endswith("\n"):
        return text[:-1].split("\n"), True
    return text.split("\n"), False


class _File:
    """The file's lines with their offsets, and where a line with a given key is.

    Lines are found by searching the text for the key (a C-speed substring search) and
    checking the lines it lands in, so a big file costs little more than one pass.
    """

    def __init__(self, text: str):
        self.text = text
        self.lines = text.split("\n")
        if text.endswith("\n"):
            self.lines.pop()
        self.starts = [0, *itertools.accumulate(len(line) + 1 for line in self.lines)][:len(self.lines)]
        self._normalised: str | None = None

    @functools.cached_property
    def uses_tabs(self) -> bool:
        return (sum(1 for x in self.lines if x.startswith("\t"))
                > sum(1 for x in self.lines if x.startswith(" ")))

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def line_end(self, i: int) -> int:
        return self.starts[i] + len(self.lines[i])

    def key_at(self, layer: int, i: int) -> str:
        return key(layer, self.lines[i])

    def haystack(self, layer: int) -> str:
        if layer < 3:
            return self.text
        if self._normalised is None:
            self._normalised = normalise(self.text)
        return self._normalised

    def lines_with(self, layer: int, wanted: str) -> list[int]:
        """0-based numbers of the lines whose key at ``layer`` is ``wanted`` (not empty)."""
        hay = self.haystack(layer)
        out: list[int] = []
        pos = hay.find(wanted)
        while pos != -1:
            i = self.line_of(pos) - 1
            if self.key_at(layer, i) == wanted:
                out.append(i)
            pos = hay.find(wanted, self.line_end(i) + 1)
        return out


def key(layer: int, line: str) -> str:
    if layer <= 1:
        return line.rstrip(WS)
    if layer == 2:
        return line.strip(WS)
    return normalise(line.strip(WS))


def demoted(text: str, pos: int, old: str) -> bool:
    """An exact hit that starts inside a line's indentation while old_string brings its own
    indentation: really an indentation mismatch, left to the indentation layer."""
    line_start = text.rfind("\n", 0, pos) + 1
    prefix = text[line_start:pos]
    return bool(prefix) and not prefix.strip(" \t") and old[:1] in (" ", "\t")


def _find_all(text: str, needle: str) -> list[int]:
    out, pos = [], text.find(needle)
    while pos != -1:
        out.append(pos)
        pos = text.find(needle, pos + 1)
    return out


class Matcher:
    """Places ``old`` in ``text``; see the module docstring for the layers."""

    def __init__(self, text: str, old: str, new: str, file: _File | None = None):
        self._file = file
        self.text, self.old, self.new = text, old, new
        self.old_lines, self.old_nl = _split(old)
        self.new_lines, self.new_nl = _split(new)
        # Windows that matched line by line but could not be used, with the reason.
        self.near_misses: list[tuple[int, int, str]] = []

    @property
    def f(self) -> _File:
        """The file's lines, built on first use (an exact match does not need them)."""
        if self._file is None:
            self._file = file_of(self.text)
        return self._file

    def _line_of(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    # -- whole-line windows ----------------------------------------------------------------

    def _window(self, layer: int, start: int, size: int, omap: list[list[int]],
                loose: list[tuple[int, int, int, int]] | None = None) -> Place | None:
        f = self.f
        file_lines = f.lines[start:start + size]
        pairs = [(self.old_lines[k], file_lines[t]) for k, ts in enumerate(omap) for t in ts[-1:]
                 if self.old_lines[k].strip(WS)]
        parts = [(split_line(o), split_line(x)) for o, x in pairs]
        imap = IndentMap([(o[0], x[0]) for o, x in parts], f.uses_tabs, identity=layer < 2)
        lines = (start + 1, start + size)
        if not imap.consistent:
            self.near_misses.append((*lines, "the indentation of old_string's lines relative to each other "
                                             "differs from the file's"))
            return None
        qmap = char_map([(o[1], x[1]) for o, x in parts]) if layer >= 3 else {}
        old_lines = self.old_lines
        if imap.shifted and self._new_in_file_columns(omap, file_lines):
            # new_string is already at the file's columns: read old_string there too, so nothing
            # is re-indented (which would indent new_string twice).
            old_lines = list(old_lines)
            for k, ts in enumerate(omap):
                if ts and old_lines[k].strip(WS):
                    _, body, trail = split_line(old_lines[k])
                    old_lines[k] = split_line(file_lines[ts[-1]])[0] + body + trail
            imap = IndentMap([], f.uses_tabs, identity=True)
            as_written = True
        else:
            as_written = False
        window = Window(old_lines, file_lines, omap, imap, qmap, loose or [])
        try:
            merged = window.apply(self.new_lines)
        except ReindentError as exc:
            self.near_misses.append((*lines, f"new_string cannot be re-indented: {exc}"))
            return None
        if merged is None:
            self.near_misses.append((*lines, "old_string has a different number of blank lines there, and "
                                             "your change is right next to them, so where it belongs is a guess"))
            return None
        end = f.line_end(start + size - 1)
        if self.old_nl and end < len(self.text):
            end += 1
        replacement = "\n".join(merged) + ("\n" if self.new_nl else "")
        ignored = []
        if any(o[2] != x[2] for o, x in parts):
            ignored.append("trailing whitespace")
        if imap.shifted:
            ignored.append(imap.describe())
        if as_written:
            ignored.append("old_string's indentation (new_string was already at the file's columns and was "
                           "kept as written)")
        if any(o[1] != x[1] for o, x in parts):
            ignored.append("quote, dash or space characters")
        if loose:
            ignored.append("the number of blank lines")
        return Place(f.starts[start], end, replacement, start + 1, start + size, ignored)

    def _new_in_file_columns(self, omap: list[list[int]], file_lines: list[str]) -> bool:
        """Whether new_string's lines are indented like the file rather than like old_string:
        lines new_string keeps from old_string sit at the file's indentation, not old_string's
        (or, when it keeps none, its first line does)."""
        in_new: dict[str, set[str]] = {}
        for line in self.new_lines:
            indent, body, _ = split_line(line)
            if body:
                in_new.setdefault(body, set()).add(indent)
        file_votes = model_votes = 0
        first: tuple[str, str] | None = None
        for k, ts in enumerate(omap):
            old_indent, body, _ = split_line(self.old_lines[k])
            if not ts or not body:
                continue
            file_indent = split_line(file_lines[ts[-1]])[0]
            if first is None:
                first = (old_indent, file_indent)
            got = in_new.get(body)
            if old_indent == file_indent or not got or len(got) != 1:
                continue
            new_indent = next(iter(got))
            file_votes += new_indent == file_indent
            model_votes += new_indent == old_indent
        if file_votes or model_votes:
            return file_votes > 0 and model_votes == 0
        new_first = next((split_line(x)[0] for x in self.new_lines if x.strip(WS)), None)
        return first is not None and new_first is not None and first[0] != first[1] and new_first == first[1]

    def windows(self, layer: int) -> list[Place]:
        okeys = [key(layer, line) for line in self.old_lines]
        anchors = [k for k, x in enumerate(okeys) if x]
        if not anchors:
            return []
        if layer == 4:
            return self._loose_windows(okeys, anchors)
        f, size = self.f, len(okeys)
        places = []
        for pos in f.lines_with(layer, okeys[anchors[0]]):
            start = pos - anchors[0]
            if start < 0 or start + size > len(f.lines):
                continue
            if all(f.key_at(layer, start + k) == okeys[k] for k in range(size)):
                place = self._window(layer, start, size, [[k] for k in range(size)])
                if place is not None:
                    places.append(place)
        return places

    def _loose_windows(self, okeys: list[str], anchors: list[int]) -> list[Place]:
        f = self.f
        wanted = [okeys[k] for k in anchors]
        places = []
        for pos in f.lines_with(3, wanted[0]):
            hits = self._nonblank_from(pos, wanted)
            if hits is None:
                continue
            start, size = hits[0], hits[-1] - hits[0] + 1
            omap: list[list[int]] = [[] for _ in okeys]
            loose = []
            m = len(okeys)
            if anchors[0] > 0:
                loose.append((0, anchors[0], 0, anchors[0]))
            if anchors[-1] < m - 1:
                loose.append((anchors[-1], m - 1, anchors[-1] + 1, m))
            for j, k in enumerate(anchors):
                omap[k].append(hits[j] - start)
                if j + 1 == len(anchors):
                    break
                gap_old = list(range(k + 1, anchors[j + 1]))
                gap_file = list(range(hits[j] + 1 - start, hits[j + 1] - start))
                if len(gap_old) == len(gap_file):
                    for g, t in zip(gap_old, gap_file, strict=True):
                        omap[g] = [t]
                    continue
                loose.append((k, anchors[j + 1], k + 1, anchors[j + 1]))
                if gap_old:
                    omap[gap_old[0]] = gap_file
                else:
                    omap[anchors[j + 1]] = gap_file  # attached before the next line
            if not loose:
                continue
            place = self._window(4, start, size, omap, loose)
            if place is not None:
                places.append(place)
        return places

    def _nonblank_from(self, pos: int, wanted: list[str]) -> list[int] | None:
        """The file's next non-blank lines from ``pos`` when their keys are ``wanted``."""
        f, hits, i = self.f, [], pos
        for want in wanted:
            while i < len(f.lines) and not f.key_at(3, i):
                i += 1
            if i == len(f.lines) or f.key_at(3, i) != want:
                return None
            hits.append(i)
            i += 1
        return hits

    # -- substrings with normalised characters -------------------------------------------

    def normalised_substrings(self) -> list[Place]:
        needle = normalise(self.old)
        hay = self.f.haystack(3)
        places = []
        for pos in _find_all(hay, needle):
            span = self.text[pos:pos + len(self.old)]
            if span == self.old or demoted(self.text, pos, self.old):
                continue
            qmap = char_map([(self.old, span)])
            replacement = merge_chars(self.old, self.new, span, qmap)
            places.append(Place(pos, pos + len(self.old), replacement, self.f.line_of(pos),
                                self.f.line_of(max(pos, pos + len(self.old) - 1)),
                                ["quote, dash or space characters"], substring=True))
        return places

    def places(self, layer: int) -> list[Place]:
        if layer == 0:
            return [Place(p, p + len(self.old), self.new, self._line_of(p),
                          self._line_of(max(p, p + len(self.old) - 1)), substring=True)
                    for p in _find_all(self.text, self.old)]
        found = self.windows(layer)
        if layer == 3:
            subs = self.normalised_substrings()
            found = [w for w in found if not any(s.start < w.end and w.start < s.end for s in subs)] + subs
        return found
