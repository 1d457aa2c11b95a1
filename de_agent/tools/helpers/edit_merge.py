"""Carry a model's edit over to the file's own text when the match was not exact.

When ``old_string`` matched a window of lines only by tolerating differences (trailing
whitespace, indentation, quote characters, blank lines), replacing the window with
``new_string`` verbatim would spread the model's mistakes into the file. Instead the
model's change (old -> new, line by line) is applied to the file's lines: lines the model
did not change are kept exactly as they are in the file; changed lines keep the file's
characters where the model only copied them, and new lines are re-indented to the file's
indentation (tabs or spaces, with the same offset the model was off by).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

WS = " \t\r\f\v"
TAB_SIZES = (4, 8, 2, 3)
_WIDTH_RATIOS = {Fraction(a, b) for a in (2, 3, 4, 8) for b in (2, 3, 4, 8)}


class ReindentError(ValueError):
    """A new line cannot be placed at the file's indentation (it would need negative indent)."""


def split_line(line: str) -> tuple[str, str, str]:
    """(indentation, body, trailing whitespace); a blank line is all indentation."""
    body = line.strip(WS)
    if not body:
        return line, "", ""
    start = len(line) - len(line.lstrip(WS))
    end = len(line.rstrip(WS))
    return line[:start], line[start:end], line[end:]


def width(indent: str, tab: int) -> int:
    col = 0
    for ch in indent:
        col = col + tab - col % tab if ch == "\t" else col + 1
    return col


class IndentMap:
    """Maps the model's indentation to the file's, learnt from pairs of matched lines.

    Consistent when, for one tab size, file column = scale * model column + offset on every
    pair: a block indented 2 columns too little, written with 2-space steps where the file
    uses 4, or with spaces where the file has tabs, is consistent; a block whose relative
    indentation differs is not.
    """

    def __init__(self, pairs: list[tuple[str, str]], file_uses_tabs: bool = False, identity: bool = False):
        self.identity = identity
        self.known: dict[str, str] = {}
        for model, file in pairs:
            self.known.setdefault(model, file)
        self.tab: int | None = 4
        self.scale = Fraction(1)
        self.delta = Fraction(0)
        if not identity:
            self.tab = None
            for tab in TAB_SIZES:
                fit = _fit({(width(m, tab), width(f, tab)) for m, f in pairs})
                if fit is not None:
                    self.tab, (self.scale, self.delta) = tab, fit
                    break
        evidence = [f for _, f in pairs if f]
        self.tabs = any("\t" in f for f in evidence) if evidence else file_uses_tabs

    @property
    def consistent(self) -> bool:
        return self.tab is not None

    @property
    def shifted(self) -> bool:
        return any(m != f for m, f in self.known.items())

    def __call__(self, model_indent: str) -> str:
        if self.identity:
            return model_indent
        if model_indent in self.known:
            return self.known[model_indent]
        tab = self.tab or 4
        exact = self.scale * width(model_indent, tab) + self.delta
        if exact < 0 or exact.denominator != 1:
            raise ReindentError(f"a line indented {width(model_indent, tab)} columns has no place in the "
                                "file's indentation")
        col = int(exact)
        return "\t" * (col // tab) + " " * (col % tab) if self.tabs else " " * col

    def describe(self) -> str:
        if not self.shifted:
            return "indentation"
        if self.tabs and not any("\t" in m for m in self.known):
            return "indentation (the file indents with tabs)"
        if not self.tabs and any("\t" in m for m in self.known):
            return "indentation (the file indents with spaces)"
        if self.scale != 1:
            return "indentation (the file uses a different indentation width)"
        if self.delta:
            more = "more" if self.delta > 0 else "less"
            return f"indentation (the file is indented {abs(self.delta)} columns {more})"
        return "indentation"


def _fit(points: set[tuple[int, int]]) -> tuple[Fraction, Fraction] | None:
    """(scale, offset) with file = scale * model + offset for every (model, file) point."""
    by_model: dict[int, int] = {}
    for m, f in points:
        if by_model.setdefault(m, f) != f:
            return None
    if not by_model:
        return Fraction(1), Fraction(0)
    ms = sorted(by_model)
    if len(ms) == 1:
        return Fraction(1), Fraction(by_model[ms[0]] - ms[0])
    scale = Fraction(by_model[ms[-1]] - by_model[ms[0]], ms[-1] - ms[0])
    offset = by_model[ms[0]] - scale * ms[0]
    # A shift (scale 1) or another indentation width (no shift); mixtures are not mistakes
    # models make, and accepting them would bless blocks whose structure differs.
    if not (scale == 1 or (offset == 0 and scale in _WIDTH_RATIOS)):
        return None
    if any(scale * m + offset != f for m, f in by_model.items()):
        return None
    return scale, offset


def char_map(pairs: list[tuple[str, str]]) -> dict[int, str]:
    """Characters the model consistently wrote instead of the file's ASCII ones (e.g. ” for ")."""
    seen: dict[str, set[str]] = {}
    for model, file in pairs:
        if len(model) != len(file):
            continue
        for a, b in zip(model, file, strict=True):
            if a != b:
                seen.setdefault(a, set()).add(b)
    out: dict[int, str] = {}
    for a, targets in seen.items():
        if len(targets) == 1:
            target = next(iter(targets))
            if target.isascii():
                out[ord(a)] = target
    return out


def merge_chars(model_old: str, model_new: str, file: str, qmap: dict[int, str]) -> str:
    """``model_new`` with the file's characters wherever the model only copied ``model_old``.

    ``model_old`` and ``file`` have the same length and differ only in characters that were
    normalised for matching (quotes, dashes, odd spaces), so positions correspond.
    """
    if len(model_old) != len(file):
        return model_new.translate(qmap)
    out = []
    matcher = difflib.SequenceMatcher(None, model_old, model_new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        out.append(file[i1:i2] if tag == "equal" else model_new[j1:j2].translate(qmap))
    return "".join(out)


@dataclass
class Window:
    """A matched window: the model's old lines, the file's lines, and which file lines each
    old line stands for (one line normally; none or several around differing blank lines)."""

    old: list[str]
    file: list[str]
    omap: list[list[int]]
    imap: IndentMap
    qmap: dict[int, str] = field(default_factory=dict)
    # Gaps of blank lines whose size differs between model and file: the old lines bounding
    # them (first, last) and the boundaries where an insertion would be a guess (lo, hi).
    loose_gaps: list[tuple[int, int, int, int]] = field(default_factory=list)

    @cached_property
    def strip_trailing(self) -> bool:
        """The model added trailing whitespace the file does not have: do not copy it into new lines."""
        for k, targets in enumerate(self.omap):
            for f in targets[-1:]:
                if split_line(self.old[k])[2] and not split_line(self.file[f])[2]:
                    return True
        return False

    def _blank_line(self, model: str) -> str:
        if self.strip_trailing or not any(line and not line.strip(WS) for line in self.file):
            return ""
        return model

    def render_new(self, model: str) -> str:
        indent, body, trail = split_line(model)
        if not body:
            return self._blank_line(model)
        return self.imap(indent) + body.translate(self.qmap) + ("" if self.strip_trailing else trail)

    def merge_line(self, model_old: str, model_new: str, file: str) -> str:
        oi, ob, ot = split_line(model_old)
        ni, nb, nt = split_line(model_new)
        fi, fb, ft = split_line(file)
        if not nb:
            return self._blank_line(model_new)
        indent = fi if ni == oi else self.imap(ni)
        body = merge_chars(ob, nb, fb, self.qmap)
        trail = ft if nt == ot else ("" if self.strip_trailing else nt)
        return indent + body + trail

    def apply(self, new: list[str]) -> list[str] | None:
        """The file's window with the model's change applied, or None when the change is at a
        blank-line gap whose size the model got wrong (where the new lines go is then a guess)."""
        matcher = difflib.SequenceMatcher(None, self.old, new, autojunk=False)
        ops = matcher.get_opcodes()
        if self.loose_gaps and not self._gaps_clear(ops):
            return None
        out: list[str] = []
        for tag, i1, i2, j1, j2 in ops:
            if tag == "equal":
                for k in range(i1, i2):
                    out += [self.file[f] for f in self.omap[k]]
                continue
            if i1 < i2 and self.old[i1].strip(WS):
                out += [self.file[f] for f in self.omap[i1][:-1]]  # blank lines the file has before it
            if tag == "replace" and i2 - i1 == j2 - j1:
                for t in range(i2 - i1):
                    k = i1 + t
                    targets = self.omap[k]
                    if targets and self.old[k].strip(WS):
                        if t:
                            out += [self.file[f] for f in targets[:-1]]
                        out.append(self.merge_line(self.old[k], new[j1 + t], self.file[targets[-1]]))
                    else:
                        out.append(self.render_new(new[j1 + t]))
            else:
                out += [self.render_new(line) for line in new[j1:j2]]
        return out

    def _gaps_clear(self, ops: Sequence[tuple[str, int, int, int, int]]) -> bool:
        """Each loose gap's blank lines unchanged, nothing inserted inside it, and no single
        change spanning it (then which side of the change the blank lines belong to is clear)."""
        block = [0] * len(self.old)
        equal = [False] * len(self.old)
        inserts = set()
        for n, (tag, i1, i2, _j1, _j2) in enumerate(ops):
            for k in range(i1, i2):
                block[k], equal[k] = n, tag == "equal"
            if tag == "insert":
                inserts.add(i1)
        for first, last, lo, hi in self.loose_gaps:
            for k in range(first, last + 1):
                if not self.old[k].strip(WS) and not equal[k]:
                    return False
            if any(lo <= b <= hi for b in inserts):
                return False
            if (self.old[first].strip(WS) and self.old[last].strip(WS) and block[first] == block[last]
                    and not equal[first]):
                return False
        return True
