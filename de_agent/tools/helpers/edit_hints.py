"""What to tell the model when an edit cannot be applied as sent.

- :func:`find_placeholder`: a line of new text that stands for code left out
  (``// ... rest of code ...``, ``# existing code here``, ``... (unchanged)``). Applying such
  an edit literally would delete that code, so it is refused.
- :func:`closest_lines`: when ``old_string`` matches nowhere, the file's lines that come
  closest (with line numbers) and, line by line, what differs.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import re

from de_agent.tools.helpers.edit_merge import WS, split_line

_COMMENT = r"(?:#+|//+|/\*+|\*+|--+|<!--|;+|%+|\{/\*|rem\b|')"
_ELLIPSIS = r"(?:\.{3,}|…)"
_WHAT = (r"(?:code|file|function|method|class|module|implementation|body|logic|script|query|"
         r"config(?:uration)?|contents?|lines?|imports?|tests?|fields?|columns?|keys?|methods|"
         r"functions|settings|steps?|sections?|definitions?|properties|cases?|statements?|blocks?|"
         r"components?|models?|schemas?|templates?|handlers?)")
_QUALIFIER = (r"(?:here|unchanged|omitted|elided|goes here|continues|as (?:is|before)|"
              r"(?:remains?|stays?|is|are)(?: the same| unchanged| as (?:is|before))?)")
# A comment that is nothing but one of these stands for code left out.
_WHOLE = [
    rf"(?:the )?(?:rest|remainder) of (?:the |this |your )?(?:\w+ )?{_WHAT}(?: \w+){{0,4}}",
    rf"(?:all )?(?:the )?(?:existing|previous|original|same|unchanged) code(?: {_QUALIFIER})?",
    rf"(?:all )?(?:the )?(?:existing|previous|original|other|remaining|same) {_WHAT} {_QUALIFIER}",
    rf"(?:your |the )?(?:code|implementation|body|contents?|logic) {_QUALIFIER}",
    r"(?:same as|as) (?:before|above|original|previously)",
    r"(?:unchanged|omitted|truncated|snip(?:ped)?|elided)",
    r"(?:keep|leave) (?:the )?(?:rest|existing(?: \w+)?|everything else)(?: \w+){0,4}",
    r"no (?:other )?changes?(?: (?:here|below|above|needed|to (?:the )?\w+))?",
]
_WHOLE_RE = re.compile("|".join(f"(?:{p})" for p in _WHOLE), re.IGNORECASE)
# With an ellipsis, a word like these is enough: "... existing imports ...", "// ...snip".
_WORD_RE = re.compile(r"\b(?:rest|remaining|remainder|existing|unchanged|same|omitted|elided|previous|"
                      r"original|other|snip|truncated|more|etc|code)\b", re.IGNORECASE)
_COMMENT_RE = re.compile(rf"^{_COMMENT}\s*(.*?)\s*(?:\*/|-->|\*/\}})?$", re.IGNORECASE)
_ELLIPSIS_RE = re.compile(_ELLIPSIS)


def _core(text: str) -> str:
    return _ELLIPSIS_RE.sub(" ", text).strip(" \t()[]<>{}:;,.-").strip()


def _is_placeholder(inner: str, commented: bool) -> bool:
    inner = inner.strip()
    has_ellipsis = bool(_ELLIPSIS_RE.search(inner))
    core = " ".join(_core(inner).split())
    if not core:
        return commented and has_ellipsis  # "# ...", "// …"
    if len(core.split()) > 10:
        return False
    if _WHOLE_RE.fullmatch(core):
        return commented or has_ellipsis or inner[:1] in "[<("
    # Otherwise an ellipsis with a telling word; without a comment marker the text must also be
    # wrapped ("... rest ...", "[... more ...]"), so doctest lines like "...     x = other" pass.
    wrapped = bool(_ELLIPSIS_RE.search(inner.rstrip(")]>}")[-3:])) or inner[:1] in "[<("
    return has_ellipsis and (commented or wrapped) and bool(_WORD_RE.search(core))


def _placeholder_text(line: str) -> str | None:
    """``line`` stripped when it is a placeholder for left-out code, else None."""
    text = line.strip()
    if not text:
        return None
    comment = _COMMENT_RE.match(text)
    if comment and _is_placeholder(comment.group(1), True):
        return text
    # Without a comment marker: "... (unchanged)", "[... rest of file ...]", "<existing code>";
    # a bare "..." is Python's Ellipsis and stays allowed.
    if not comment and (text[:1] in "[<(" or _ELLIPSIS_RE.match(text)) and _is_placeholder(text, False):
        return text
    return None


def find_placeholder(new_text: str, old_text: str = "") -> tuple[int, str] | None:
    """(1-based line in ``new_text``, the line) of the first elision placeholder that
    ``old_text`` does not contain too; None when there is none."""
    present = {line.strip() for line in old_text.splitlines()}
    for number, line in enumerate(new_text.splitlines(), 1):
        found = _placeholder_text(line)
        if found and found not in present:
            return number, found
    return None


def placeholder_message(where: str, number: int, line: str) -> str:
    return (f"{where} line {number} ({line!r}) looks like a placeholder for code that was left out. "
            "The text is written literally, so the code it stands for would be deleted. Nothing was "
            "changed. Write the full text out, or make a smaller edit whose old_string covers only the "
            "lines that change.")


# --- closest lines -----------------------------------------------------------------------

def _key(line: str) -> str:
    return " ".join(line.split())


_WORD = re.compile(r"\w{3,}")


BIG = 1_000_000


class _LazyKeys:
    """``_key`` of a big file's lines, computed only for the lines looked at."""

    def __init__(self, lines: list[str]):
        self.lines = lines

    def __getitem__(self, item: slice) -> list[str]:
        return [_key(line) for line in self.lines[item]]


def _big_candidate_starts(text: str, file_lines: list[str], old_lines: list[str]) -> list[int]:
    """For a big file: window starts where a line of old_string appears as a substring."""
    offsets = [0, *itertools.accumulate(len(line) + 1 for line in file_lines)]
    votes: dict[int, int] = {}
    for k, line in enumerate(old_lines):
        body = line.strip()
        if len(body) < 4:
            continue
        pos, seen = text.find(body), 0
        while pos != -1 and seen < 200:
            i = bisect.bisect_right(offsets, pos) - 1
            votes[i - k] = votes.get(i - k, 0) + 1
            pos, seen = text.find(body, pos + 1), seen + 1
    return sorted(votes, key=lambda s: -votes[s])[:8]


def _candidate_starts(file_keys: list[str], old_keys: list[str]) -> list[int]:
    """Window starts worth scoring: where lines of old_string appear exactly, else where lines
    share the most uncommon words with them (cheap on big files, unlike pairwise ratios)."""
    where: dict[str, list[int]] = {}
    for i, key in enumerate(file_keys):
        if key:
            where.setdefault(key, []).append(i)
    votes: dict[int, float] = {}
    for k, key in enumerate(old_keys):
        for i in where.get(key, ())[:200]:
            votes[i - k] = votes.get(i - k, 0) + 1
    if not votes:
        words: dict[str, list[int]] = {}
        for i, key in enumerate(file_keys):
            for word in set(_WORD.findall(key)):
                words.setdefault(word, []).append(i)
        for k, key in enumerate(old_keys):
            for word in set(_WORD.findall(key)):
                hits = words.get(word, ())
                if 0 < len(hits) <= 200:
                    for i in hits:
                        votes[i - k] = votes.get(i - k, 0) + 1 / len(hits)
    return sorted(votes, key=lambda s: -votes[s])[:8]


def _what_differs(old_line: str, file_line: str) -> str:
    oi, ob, ot = split_line(old_line)
    fi, fb, ft = split_line(file_line)
    if ob == fb and oi != fi:
        if "\t" in fi and "\t" not in oi:
            return "indentation differs (the file uses tabs)"
        if "\t" in oi and "\t" not in fi:
            return "indentation differs (the file uses spaces)"
        return f"indentation differs (file: {len(fi)} columns, old_string: {len(oi)})"
    if ob == fb:
        return "trailing whitespace differs"
    also = f" (and indentation: file {len(fi)} columns, old_string {len(oi)})" if oi != fi else ""
    if _key(ob) == _key(fb):
        return "spacing inside the line differs" + also
    return f"text differs{also}: the file has {fb[:80]!r}"


def _differences(old_lines: list[str], file_lines: list[str], start: int, end: int) -> list[str]:
    window = file_lines[start:end]
    matcher = difflib.SequenceMatcher(None, [_key(x) for x in old_lines], [_key(x) for x in window],
                                      autojunk=False)
    notes = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        at = start + j1 + 1
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for t in range(i2 - i1):
                if old_lines[i1 + t] != window[j1 + t]:
                    notes.append(f"line {at + t}: {_what_differs(old_lines[i1 + t], window[j1 + t])}")
        elif tag == "delete":
            blank = all(not x.strip(WS) for x in old_lines[i1:i2])
            what = "blank line(s)" if blank else "line(s) that are not in the file here"
            notes.append(f"old_string has {i2 - i1} extra {what} before line {at}")
        elif tag == "insert":
            blank = all(not x.strip(WS) for x in window[j1:j2])
            what = "blank line(s)" if blank else "line(s)"
            notes.append(f"the file has {j2 - j1} {what} at line {at} that old_string lacks")
        else:
            notes.append(f"lines {at}-{start + j2} differ")
    return notes


def closest_lines(text: str, old: str, max_shown: int = 30) -> str:
    """The closest window of ``text`` to ``old``, numbered, with what differs; '' when none is close."""
    file_lines = text.split("\n")
    if text.endswith("\n"):
        file_lines.pop()
    old_lines = old[:-1].split("\n") if old.endswith("\n") else old.split("\n")
    if not file_lines or not any(line.strip(WS) for line in old_lines):
        return ""
    old_keys = [_key(line) for line in old_lines]
    file_keys: _LazyKeys | list[str]
    if len(text) > BIG:
        file_keys = _LazyKeys(file_lines)
        starts = _big_candidate_starts(text, file_lines, old_lines)
    else:
        keys = [_key(line) for line in file_lines]
        file_keys, starts = keys, _candidate_starts(keys, old_keys)
    size = len(old_lines)
    target = "\n".join(old_keys)
    best, best_ratio = None, 0.0
    for start in starts:
        start = max(0, min(start, len(file_lines) - size)) if len(file_lines) >= size else 0
        ratio = difflib.SequenceMatcher(None, target, "\n".join(file_keys[start:start + size]),
                                        autojunk=False).ratio()
        if ratio > best_ratio:
            best, best_ratio = start, ratio
    if best is None or best_ratio < 0.4:
        return ""
    end = min(best + size, len(file_lines))
    shown_end = min(end, best + max_shown)
    numbered = "\n".join(f"{n + 1:>6}\t{file_lines[n]}" for n in range(best, shown_end))
    if shown_end < end:
        numbered += f"\n       ({end - shown_end} more lines)"
    notes = _differences(old_lines, file_lines, best, end)
    listed = "; ".join(notes[:6]) + (f"; and {len(notes) - 6} more" if len(notes) > 6 else "")
    where = f"line is {end}" if end == best + 1 else f"lines are {best + 1}-{end}"
    return (f"The closest {where} ({round(best_ratio * 100)}% similar):\n{numbered}\n"
            + (f"Differences: {listed}." if listed else ""))


def line_number_prefix_hint(old: str) -> str:
    """A hint when old_string seems to carry line numbers copied from a numbered listing."""
    lines = [line for line in old.split("\n") if line.strip()]
    if lines and all(re.match(r"^\s*\d+(?:\t|: |\s*\| |→)", line) for line in lines):
        return " old_string seems to start each line with a line number; leave the numbers out."
    return ""
