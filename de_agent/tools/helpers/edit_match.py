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

import difflib
from dataclasses import dataclass, field

from de_agent.tools.base import ToolError
from de_agent.tools.helpers.edit_hints import (
    closest_lines,
    find_placeholder,
    line_number_prefix_hint,
    placeholder_message,
)
from de_agent.tools.helpers.edit_layers import LAYERS, Matcher, Place, demoted, forget_file
from de_agent.tools.helpers.edit_loose import looks_escaped, normal_forms, spacing_places, unescaped
from de_agent.tools.helpers.edit_merge import WS


class MatchError(ToolError):
    """The edit could not be placed; the message says why and what to send instead."""

    def __init__(self, message: str, *, not_found: bool = False):
        super().__init__(message)
        self.not_found = not_found  # found nowhere (the full explanation is written later)


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


def _where(places: list[Place]) -> str:
    return ", ".join(_lines_word(p.first_line, p.last_line) for p in places[:8]) + (
        f" and {len(places) - 8} more" if len(places) > 8 else "")


def _already_applied(text: str, new: str, place: Place, layer: int, file=None) -> Place | None:
    """A place where new_string already matches (at this layer or a stricter one) covering
    every line of ``place``: the file already reads like the edit's result there."""
    if not new.strip():
        return None
    matcher = Matcher(text, new, new, file)
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
    if old.endswith("\n") and new and not new.endswith("\n"):
        new += "\n"  # whole lines replaced: the line break after them stays
    eol_note = ["line endings"] if eol else []
    try:
        return _placed(text, old, new, allow_multiple, secret, eol_note)
    finally:
        forget_file()


def _placed(text: str, old: str, new: str, allow_multiple: bool, secret: bool,
            eol_note: list[str]) -> EditResult:
    try:
        return _apply(text, old, new, allow_multiple, eol_note)
    except MatchError as exc:
        failure = exc
    if not failure.not_found:
        raise failure  # it matched somewhere (several places, a near miss): never look elsewhere
    for form, old2, new2 in normal_forms(old, new):
        try:
            return _apply(text, old2, new2, allow_multiple, eol_note + [f"Unicode normal form ({form})"])
        except MatchError:
            pass
    if looks_escaped(old):
        try:
            result = _apply(text, unescaped(old), unescaped(new), allow_multiple, eol_note)
        except MatchError as exc:
            why = _not_found(text, old, new, secret) if exc.not_found else str(exc)
            raise MatchError(
                f"old_string holds backslash escapes (\\n, \\t, \\\", doubled backslashes) that the file "
                "does not have, and even with one level of escaping removed it cannot be placed: "
                f"{why}\nSend old_string and new_string as the plain text of the file, not escaped "
                "as in a string literal.") from None
        result.ignored.append("one level of backslash escaping (old_string and new_string were unescaped)")
        return result
    raise MatchError(_not_found(text, old, new, secret))


def _apply(text: str, old: str, new: str, allow_multiple: bool, eol_note: list[str]) -> EditResult:
    matcher = Matcher(text, old, new)
    exact = matcher.places(0)
    if exact and allow_multiple:
        return _splice(text, old, exact, 0, eol_note)
    if len(exact) > 1:
        raise MatchError(
            f"old_string occurs {len(exact)} times ({_where(exact)}). Nothing was changed. Add "
            "surrounding lines to old_string so it matches one place only, or set allow_multiple "
            "to true to replace every occurrence.")
    if exact and not demoted(text, exact[0].start, old):
        place = exact[0]
        if not _in_file_columns(text, place):
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
        if len(found) > 1 and allow_multiple:
            return _splice(text, old, found, layer, eol_note)
        if len(found) > 1:
            raise _several(LAYERS[layer], found)
        if found:
            place = found[0]
            if place.substring and not _in_file_columns(text, place):
                _check_indent_ambiguity(text, place, old, new)
            hit = _already_applied(text, new, place, layer, matcher.f)
            if hit is not None:
                raise MatchError(
                    f"new_string already matches the file at {_lines_word(hit.first_line, hit.last_line)}"
                    f" where old_string would be: the edit looks already applied (or changes only "
                    f"{LAYERS[layer]}, which matching ignored). Nothing was changed. Read the file "
                    "again before sending another edit.")
            return _result(text, place, layer, eol_note + place.ignored)
    spaced = [Place(s.start, s.end, s.replacement, matcher.f.line_of(s.start), matcher.f.line_of(s.end - 1),
                    ["how whitespace is laid out inside lines (wrapping, runs of spaces)"], substring=True)
              for s in spacing_places(text, old, new)]
    if len(spaced) > 1 and allow_multiple:
        return _splice(text, old, spaced, SPACING, eol_note)
    if len(spaced) > 1:
        raise _several("how whitespace is laid out", spaced)
    if spaced:
        return _result(text, spaced[0], SPACING, eol_note + spaced[0].ignored)
    if matcher.near_misses:
        first, last, why = matcher.near_misses[0]
        raise MatchError(
            f"old_string resembles {_lines_word(first, last)} when whitespace and blank lines are ignored, "
            f"but {why}. Nothing was changed. Copy old_string exactly from the file (ReadFile), "
            "including its blank lines and indentation.")
    raise MatchError("old_string was not found", not_found=True)


SPACING = len(LAYERS)


def _several(ignoring: str, places: list[Place]) -> MatchError:
    return MatchError(
        f"old_string is not in the file exactly, and ignoring {ignoring} it matches {len(places)} places "
        f"({_where(places)}). Nothing was changed; copy old_string exactly from the file (ReadFile) with "
        "enough surrounding lines to match one place.")


def _in_file_columns(text: str, place: Place) -> bool:
    """A match after a line's indentation whose new_string starts with that same indentation:
    new_string is written in the file's columns. Its first line then replaces the indentation
    too, instead of being put after it (which would indent it twice)."""
    line_start = text.rfind("\n", 0, place.start) + 1
    prefix = text[line_start:place.start]
    rep = place.replacement
    if (not prefix or prefix.strip(" \t") or not rep.startswith(prefix)
            or rep[len(prefix):len(prefix) + 1] in (" ", "\t")):
        return False
    place.start = line_start
    return True


def _fit_newline(text: str, place: Place) -> str:
    """The replacement, without a line break that would add a blank line: old_string stopped at
    a line's end without its break, and new_string ends with one."""
    rep = place.replacement
    if (rep.endswith("\n") and not text[place.start:place.end].endswith("\n")
            and text[place.end:place.end + 1] == "\n"):
        return rep[:-1]
    return rep


def _splice(text: str, old: str, places: list[Place], layer: int, ignored: list[str]) -> EditResult:
    """Every place replaced (allow_multiple); overlapping places are taken first come."""
    out, pos, used = [], 0, []
    for place in sorted(places, key=lambda p: p.start):
        if place.start < pos:
            continue
        out += [text[pos:place.start], _fit_newline(text, place)]
        pos = place.end
        used.append(place)
    out.append(text[pos:])
    notes = list(ignored)
    for place in used:
        notes += [i for i in place.ignored if i not in notes]
    return EditResult("".join(out), len(used), layer, [(p.first_line, p.last_line) for p in used], notes)


def _check_indent_ambiguity(text: str, place: Place, old: str, new: str) -> None:
    """Refuse a match that starts after a line's indentation when that indentation would land on
    the wrong line of new_string.

    The indentation before the match stays in the file and ends up in front of new_string's
    first line. That is right only when that line stands for old_string's first line. And
    when old_string is a single line, nothing shows whether new_string's other lines are
    indented relative to it or in the file's columns. Either way the result would be a guess.
    """
    prefix = text[text.rfind("\n", 0, place.start) + 1:place.start]
    if not prefix or prefix.strip(" \t"):
        return
    old_lines, new_lines = old.split("\n"), new.split("\n")
    if sum(1 for x in old_lines if x.strip(WS)) == 1:
        clear = sum(1 for x in new_lines if x.strip(WS)) < 2
    else:
        tag, i1, i2, j1, j2 = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes()[0]
        clear = i1 == j1 == 0 and (tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1))
    if not clear:
        raise MatchError(
            f"old_string starts after the indentation of line {place.first_line} (it leaves that "
            "indentation out), and new_string's lines do not line up with it, so how they should be "
            "indented is a guess. Nothing was changed. Include the full indentation of the first line in "
            "both old_string and new_string.")


def _result(text: str, place: Place, layer: int, ignored: list[str]) -> EditResult:
    new_text = text[:place.start] + _fit_newline(text, place) + text[place.end:]
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

