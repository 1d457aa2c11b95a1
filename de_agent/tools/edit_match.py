"""Find where an edit's ``old_string`` is in a file, without ever guessing.

Layers, tried in order; a layer is used only when it finds exactly one place, and each
layer keeps the tolerances of the layers before it:

0. exact (a substring, so an ``old_string`` inside a longer line is fine);
1. whole lines ignoring trailing whitespace;
2. whole lines with flexible indentation (consistent offset, tabs or spaces); the new text
   is re-indented to the file's indentation;
3. whole lines or a substring, with Unicode quotes, dashes and odd spaces normalised;
4. whole lines ignoring differences in the number of blank lines.

Line endings are always tolerated: the file text arrives with ``\\n`` line breaks and
``\\r\\n`` in ``old_string``/``new_string`` is normalised first. When two places match at
the same layer the edit fails naming both; ``allow_multiple`` replaces every exact
occurrence. Tolerant matches are applied with :mod:`edit_merge`, so lines the model did
not change keep the file's exact text.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from de_agent.tools.base import ToolError
from de_agent.tools.edit_hints import (
    closest_lines,
    find_placeholder,
    line_number_prefix_hint,
    placeholder_message,
)
from de_agent.tools.edit_merge import WS, IndentMap, ReindentError, Window, char_map, merge_chars, split_line

# One character for one character, so offsets in normalised text are offsets in the original.
_NORMALISE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "\u0060": "`",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\u3000": " ",
})

LAYERS = ("exact", "trailing whitespace", "indentation", "quote, dash and space characters", "blank lines")


class MatchError(ToolError):
    """The edit could not be placed; the message says why and what to send instead."""


@dataclass
class Place:
    start: int
    end: int
    replacement: str
    first_line: int
    last_line: int
    ignored: list[str] = field(default_factory=list)
    substring: bool = False  # matched as a substring, not as whole lines


@dataclass
class EditResult:
    text: str
    count: int
    layer: int
    places: list[tuple[int, int]]  # (first, last) line, 1-based, in the original text
    ignored: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return self.layer == 0 and not self.ignored

    def note(self) -> str:
        """How the edit was placed, in words for the model."""
        where = ", ".join(_lines_word(a, b) for a, b in self.places[:10])
        if len(self.places) > 10:
            where += f" and {len(self.places) - 10} more"
        if self.count > 1:
            return f"replaced {self.count} exact occurrences ({where})"
        if not self.ignored:
            return f"exact match at {where}"
        reindented = any(i.startswith("indentation") for i in self.ignored)
        return (f"matched at {where} ignoring {_and(self.ignored)}"
                + ("; new_string was re-indented to the file's indentation" if reindented else "")
                + "; lines you did not change keep the file's exact text")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _lines_word(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first}-{last}"


def _split(text: str) -> tuple[list[str], bool]:
    """Lines of a snippet, and whether it ends with a line break."""
    if text.endswith("\n"):
        return text[:-1].split("\n"), True
    return text.split("\n"), False


class _File:
    """The file's lines with their offsets and per-layer keys."""

    def __init__(self, text: str):
        self.text = text
        self.lines = text.split("\n")
        if text.endswith("\n"):
            self.lines.pop()
        self.starts = []
        pos = 0
        for line in self.lines:
            self.starts.append(pos)
            pos += len(line) + 1
        self.uses_tabs = (sum(1 for x in self.lines if x.startswith("\t"))
                          > sum(1 for x in self.lines if x.startswith(" ")))
        self._keys: dict[int, list[str]] = {}
        self._index: dict[int, dict[str, list[int]]] = {}

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def line_end(self, i: int) -> int:
        return self.starts[i] + len(self.lines[i])

    def keys(self, layer: int) -> list[str]:
        if layer not in self._keys:
            self._keys[layer] = [key(layer, line) for line in self.lines]
        return self._keys[layer]

    def index(self, layer: int) -> dict[str, list[int]]:
        if layer not in self._index:
            idx: dict[str, list[int]] = {}
            for i, k in enumerate(self.keys(layer)):
                idx.setdefault(k, []).append(i)
            self._index[layer] = idx
        return self._index[layer]


def key(layer: int, line: str) -> str:
    if layer <= 1:
        return line.rstrip(WS)
    if layer == 2:
        return line.strip(WS)
    return line.strip(WS).translate(_NORMALISE)


def _demoted(text: str, pos: int, old: str) -> bool:
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

    def __init__(self, text: str, old: str, new: str):
        self.f = _File(text)
        self.text, self.old, self.new = text, old, new
        self.old_lines, self.old_nl = _split(old)
        self.new_lines, self.new_nl = _split(new)
        # Windows that matched line by line but could not be used, with the reason.
        self.near_misses: list[tuple[int, int, str]] = []

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
        window = Window(self.old_lines, file_lines, omap, imap, qmap, loose or [])
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
        if any(o[1] != x[1] for o, x in parts):
            ignored.append("quote, dash or space characters")
        if loose:
            ignored.append("the number of blank lines")
        return Place(f.starts[start], end, replacement, start + 1, start + size, ignored)

    def windows(self, layer: int) -> list[Place]:
        okeys = [key(layer, line) for line in self.old_lines]
        anchors = [k for k, x in enumerate(okeys) if x]
        if not anchors:
            return []
        if layer == 4:
            return self._loose_windows(okeys, anchors)
        fkeys, size = self.f.keys(layer), len(okeys)
        places = []
        for pos in self.f.index(layer).get(okeys[anchors[0]], ()):
            start = pos - anchors[0]
            if start < 0 or start + size > len(fkeys):
                continue
            if all(fkeys[start + k] == okeys[k] for k in range(size)):
                place = self._window(layer, start, size, [[k] for k in range(size)])
                if place is not None:
                    places.append(place)
        return places

    def _loose_windows(self, okeys: list[str], anchors: list[int]) -> list[Place]:
        fkeys = self.f.keys(3)
        nonblank = [i for i, x in enumerate(fkeys) if x]
        wanted = [okeys[k] for k in anchors]
        rank = {i: r for r, i in enumerate(nonblank)}
        places = []
        for pos in self.f.index(3).get(wanted[0], ()):
            r = rank[pos]
            if r + len(wanted) > len(nonblank):
                continue
            hits = nonblank[r:r + len(wanted)]
            if any(fkeys[h] != w for h, w in zip(hits, wanted, strict=True)):
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

    # -- substrings with normalised characters -------------------------------------------

    def normalised_substrings(self) -> list[Place]:
        needle = self.old.translate(_NORMALISE)
        hay = self.text.translate(_NORMALISE)
        places = []
        for pos in _find_all(hay, needle):
            span = self.text[pos:pos + len(self.old)]
            if span == self.old or _demoted(self.text, pos, self.old):
                continue
            qmap = char_map([(self.old, span)])
            replacement = merge_chars(self.old, self.new, span, qmap)
            places.append(Place(pos, pos + len(self.old), replacement, self.f.line_of(pos),
                                self.f.line_of(max(pos, pos + len(self.old) - 1)),
                                ["quote, dash or space characters"], substring=True))
        return places

    def places(self, layer: int) -> list[Place]:
        if layer == 0:
            return [Place(p, p + len(self.old), self.new, self.f.line_of(p),
                          self.f.line_of(max(p, p + len(self.old) - 1)), substring=True)
                    for p in _find_all(self.text, self.old)]
        found = self.windows(layer)
        if layer == 3:
            subs = self.normalised_substrings()
            found = [w for w in found if not any(s.start < w.end and w.start < s.end for s in subs)] + subs
        return found


def _where(places: list[Place]) -> str:
    return ", ".join(_lines_word(p.first_line, p.last_line) for p in places[:8]) + (
        f" and {len(places) - 8} more" if len(places) > 8 else "")


def _already_applied(text: str, new: str, place: Place, layer: int) -> Place | None:
    """A place where new_string already matches (at this layer or a stricter one) covering
    every line of ``place``: the file already reads like the edit's result there."""
    if not new.strip():
        return None
    matcher = Matcher(text, new, new)
    for level in range(layer + 1):
        for hit in matcher.places(level):
            if hit.first_line <= place.first_line and hit.last_line >= place.last_line:
                return hit
    return None


def apply_edit(text: str, old: str, new: str, *, allow_multiple: bool = False,
               secret: bool = False) -> EditResult:
    """``text`` with ``old`` replaced by ``new``, or a :class:`MatchError` saying why not.

    ``text`` has ``\\n`` line breaks (see :mod:`textio`). ``secret`` keeps file content out
    of error messages.
    """
    eol = "\r" in old
    old, new = old.replace("\r\n", "\n"), new.replace("\r\n", "\n")
    if not old:
        raise MatchError("old_string is empty; give the exact text to replace (use WriteFile to "
                         "write a whole file)")
    if old == new:
        raise MatchError("old_string and new_string are identical; there is nothing to change")
    placeholder = find_placeholder(new, old)
    if placeholder:
        raise MatchError(placeholder_message("new_string", *placeholder))
    matcher = Matcher(text, old, new)
    eol_note = ["line endings"] if eol else []

    exact = matcher.places(0)
    if exact and allow_multiple:
        count = text.count(old)
        spans = [(p.first_line, p.last_line) for p in exact]
        return EditResult(text.replace(old, new), count, 0, spans, eol_note)
    if len(exact) > 1:
        raise MatchError(
            f"old_string occurs {len(exact)} times ({_where(exact)}). Nothing was changed. Add "
            "surrounding lines to old_string so it matches one place only, or set allow_multiple "
            "to true to replace every occurrence.")
    if exact and not _demoted(text, exact[0].start, old):
        place = exact[0]
        _check_indent_ambiguity(text, place, old, new)
        d = new.find(old)
        if d >= 0 and place.start - d >= 0 and text.startswith(new, place.start - d):
            raise MatchError(
                f"new_string is already present at {_lines_word(place.first_line, place.last_line)} "
                "(it contains old_string, and the text around it already reads like new_string): the "
                "edit looks already applied, so it was not applied again. Do not resend it.")
        return _result(text, place, 0, eol_note)

    for layer in range(1, len(LAYERS)):
        found = matcher.places(layer)
        if len(found) > 1:
            raise MatchError(
                f"old_string is not in the file exactly, and ignoring {LAYERS[layer]} it matches "
                f"{len(found)} places ({_where(found)}). Nothing was changed; copy old_string exactly "
                "from the file (ReadFile) with enough surrounding lines to match one place.")
        if found:
            place = found[0]
            if place.substring:
                _check_indent_ambiguity(text, place, old, new)
            hit = _already_applied(text, new, place, layer)
            if hit is not None:
                raise MatchError(
                    f"new_string already matches the file at {_lines_word(hit.first_line, hit.last_line)}"
                    f" where old_string would be: the edit looks already applied (or changes only "
                    f"{LAYERS[layer]}, which matching ignored). Nothing was changed. Read the file "
                    "again before sending another edit.")
            return _result(text, place, layer, eol_note + place.ignored)
    if matcher.near_misses:
        first, last, why = matcher.near_misses[0]
        raise MatchError(
            f"old_string resembles {_lines_word(first, last)} when whitespace and blank lines are ignored, "
            f"but {why}. Nothing was changed. Copy old_string exactly from the file (ReadFile), "
            "including its blank lines and indentation.")
    raise MatchError(_not_found(text, old, new, secret))


def _check_indent_ambiguity(text: str, place: Place, old: str, new: str) -> None:
    """Refuse a one-line old_string that starts after a line's indentation when new_string has
    several lines: are new_string's other lines indented relative to old_string (which left the
    indentation out) or in the file's columns? Either reading could be meant."""
    prefix = text[text.rfind("\n", 0, place.start) + 1:place.start]
    if not prefix or prefix.strip(" \t"):
        return
    if sum(1 for x in old.split("\n") if x.strip(WS)) != 1:
        return
    if sum(1 for x in new.split("\n") if x.strip(WS)) < 2:
        return
    raise MatchError(
        f"old_string starts after the indentation of line {place.first_line}, and new_string has several "
        "lines, so it is unclear how they should be indented. Nothing was changed. Include the line's "
        "full indentation in old_string and write new_string with the file's indentation.")


def _result(text: str, place: Place, layer: int, ignored: list[str]) -> EditResult:
    new_text = text[:place.start] + place.replacement + text[place.end:]
    return EditResult(new_text, 1, layer, [(place.first_line, place.last_line)], ignored)


def _not_found(text: str, old: str, new: str, secret: bool) -> str:
    if len(new.strip()) >= 8:
        matcher = Matcher(text, new, new)
        for layer in range(len(LAYERS)):
            hits = matcher.places(layer)
            if len(hits) == 1:
                how = "" if layer == 0 else f" (ignoring {LAYERS[layer]})"
                return (f"old_string was not found, but new_string is already in the file at "
                        f"{_where(hits)}{how}: the edit looks already applied. Nothing was changed; "
                        "do not resend it.")
            if hits:
                break
    message = ("old_string was not found in the file, not even ignoring trailing whitespace, "
               "indentation, quote/dash characters or blank lines. Nothing was changed.")
    hint = "" if secret else closest_lines(text, old)
    if hint:
        message += "\n" + hint
    message += line_number_prefix_hint(old)
    return message + "\nRead the file again (ReadFile) and copy old_string exactly."

