"""The edit classes of issue 13: each one applied right (or refused with the right words)."""

from __future__ import annotations

import asyncio

import pytest

from de_agent.config import Settings
from de_agent.tools.base import ToolContext
from de_agent.tools.edit import Edit
from de_agent.tools.helpers.diffs import make_hunks
from de_agent.tools.helpers.edit_match import MatchError, apply_edit
from de_agent.tools.helpers.textio import decode, encode_like
from de_agent.workspace import Workspace

CLS = "class A:\n    def f(self):\n        return 1\n"

# (name, file, old, new, expected file, words in the note)
CASES = [
    ("new_string already at the file's columns, old_string not", CLS, "def f(self):\n    return 1\n",
     "    def f(self):\n        return 2\n", CLS.replace("return 1", "return 2"), ["already at the file's columns"]),
    ("one line after the indentation, new_string at the file's columns", CLS, "return 1\n",
     "        return 2\n", CLS.replace("return 1", "return 2"), ["exact"]),
    ("one line, new_string at the file's columns with a line added", CLS, "return 1\n",
     "        x = 2\n        return x\n", CLS.replace("        return 1\n", "        x = 2\n        return x\n"),
     ["exact"]),
    ("old_string starts with a blank line, new_string at the file's columns",
     "class A:\n    a = 1\n\n    b = 2\n", "\nb = 2\n", "\n    b = 3\n", "class A:\n    a = 1\n\n    b = 3\n",
     ["already at the file's columns"]),
    ("old_string ends with a newline, new_string does not", "a = 1\nb = 2\nc = 3\n", "b = 2\n", "b = 3",
     "a = 1\nb = 3\nc = 3\n", ["exact"]),
    ("new_string ends with a newline, old_string does not", "a = 1\nb = 2\nc = 3\n", "b = 2", "b = 3\n",
     "a = 1\nb = 3\nc = 3\n", ["exact"]),
    ("a line break kept inside a line", "x = f(a)\n", "f(a)", "f(\n    a)", "x = f(\n    a)\n", ["exact"]),
    ("escaped quotes", 'print("hi")\nx = 1\n', 'print(\\"hi\\")', 'print(\\"bye\\")',
     'print("bye")\nx = 1\n', ["escaping"]),
    ("escaped newlines and tabs", "a = 1\n\tb = 2\n", "a = 1\\n\\tb = 2", "a = 1\\n\\tb = 3",
     "a = 1\n\tb = 3\n", ["escaping"]),
    ("doubled backslashes", 'p = "a\\\\b"\n', 'p = \\"a\\\\\\\\b\\"', 'p = \\"a\\\\\\\\c\\"',
     'p = "a\\\\c"\n', ["escaping"]),
    ("a call wrapped in the file, on one line in old_string", "x = foo(a, b,\n        c)\n",
     "x = foo(a, b, c)", "x = foo(a, b, d)", "x = foo(a, b,\n        d)\n", ["laid out"]),
    ("a call on one line in the file, wrapped in old_string", "x = foo(a, b)\ny = 1\n",
     "x = foo(a,\n    b)", "x = foo(a,\n    c)", "x = foo(a, c)\ny = 1\n", ["laid out"]),
    ("runs of spaces inside a line", "x  =   1\ny = 2\n", "x = 1", "x = 5", "x  =   5\ny = 2\n", ["laid out"]),
    ("Unicode spaces in the file", "a\u2004=\u20051\u2006+\u20082\u205f\n", "a = 1 + 2 ", "a = 1 + 3 ",
     "a\u2004=\u20051\u2006+\u20083\u205f\n", ["space characters"]),
    ("combining accent in old_string, composed in the file", 'name = "caf\u00e9"\n', 'name = "cafe\u0301"',
     'name = "cafe\u0301s"', 'name = "caf\u00e9s"\n', ["normal form"]),
    ("composed in old_string, combining accent in the file", 'name = "cafe\u0301"\n', 'name = "caf\u00e9"',
     'name = "caf\u00e9s"', 'name = "cafe\u0301s"\n', ["normal form"]),
]


@pytest.mark.parametrize("name,text,old,new,expected,words", CASES, ids=[c[0] for c in CASES])
def test_class_applies(name, text, old, new, expected, words):
    result = apply_edit(text, old, new)
    assert result.text == expected
    for word in words:
        assert word in result.note(), result.note()


# (name, file, old, new, words in the refusal)
REFUSALS = [
    ("escaped and still not there", 'print("hi")\n', 'print(\\"ho\\")', 'print(\\"bye\\")',
     ["backslash escapes", "not escaped"]),
    ("wrapped text that would join two words", "return x\n", "returnx", "return y", ["not found"]),
    ("wrapped text whose indentation after the break differs", "def f():\n    x = g(a,\n          b)\n",
     "x = g(a,\n   c)", "x = g(a,\n   d)", ["not found"]),
    ("two places ignoring the layout of whitespace", "x  = 1\ny = 0\nx =  1\n", "x = 1", "x = 2",
     ["laid out", "2 places"]),
    ("blank lines where old_string has a space", "x = f(a,\n\n\n      b)\n", "x = f(a, b)", "x = f(a, c)",
     ["not found"]),
    ("escaped text whose plain form is in two places", 'a = "x"\nb = 1\na = "x"\n', 'a = \\"x\\"',
     'a = \\"y\\"', ["backslash escapes", "2 times"]),
    ("a line's end in old_string is not a line's end in the file", "f(a,  b)  # note\n", "f(a, b)\n",
     "f(a, c)\n", ["not found"]),
]


@pytest.mark.parametrize("name,text,old,new,words", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_class_refuses(name, text, old, new, words):
    with pytest.raises(MatchError) as err:
        apply_edit(text, old, new)
    for word in words:
        assert word in str(err.value), str(err.value)


def test_allow_multiple_replaces_tolerant_places_when_none_is_exact():
    text = "def f():\n\tx = 1\n\ndef g():\n\t\tx = 1\n"
    result = apply_edit(text, "    x = 1\n", "    x = 2\n", allow_multiple=True)
    assert result.text == "def f():\n\tx = 2\n\ndef g():\n\t\tx = 2\n"
    assert result.count == 2


def test_allow_multiple_over_whitespace_layout():
    result = apply_edit("x  = 1\ny = 0\nx =  1\n", "x = 1", "x = 2", allow_multiple=True)
    assert result.text == "x  = 2\ny = 0\nx =  2\n"
    assert result.count == 2


def test_new_string_indented_relative_to_old_string_is_still_reindented():
    # The model's own frame: unchanged lines keep old_string's indentation, so new lines follow it.
    result = apply_edit(CLS, "def f(self):\n    return 1\n", "def f(self):\n    x = 1\n    return x\n")
    assert result.text == "class A:\n    def f(self):\n        x = 1\n        return x\n"


def test_cp1251_text_is_decoded_as_cyrillic_and_written_back_in_cp1251():
    data = "# Привет, мир\nname = 'Пётр'\n".encode("cp1251")
    text, info = decode(data)
    assert "Привет" in text and info.encoding == "cp1251"
    changed = apply_edit(text, "name = 'Пётр'", "name = 'Иван'").text
    assert encode_like(changed, info) == "# Привет, мир\nname = 'Иван'\n".encode("cp1251")


def test_latin1_western_text_stays_latin1():
    data = "# café crème brûlée à la carte\nx = 1\n".encode("latin-1")
    text, info = decode(data)
    assert info.encoding == "latin-1" and "crème" in text


def test_diff_of_a_big_file_covers_only_the_change():
    lines = [f"line {i} = {i % 7}\n" for i in range(200_000)] + ["}\n", "\n"] * 50_000
    old = "".join(lines)
    new = old.replace("line 100000 = 5\n", "line 100000 = 6\n")
    hunks = make_hunks(old, new)
    assert len(hunks) == 1
    assert hunks[0].old_start == 99_998 and hunks[0].lines[3] == "-line 100000 = 5"


def test_edit_of_a_ten_megabyte_file_finishes(tmp_path):
    # No timing assertion (speed is in benchmarks/bench_edits.py); a quadratic diff would run
    # into the test timeout.
    body = "".join(f"    value_{i} = compute({i}, 'x')\n" + ("\n" if i % 5 == 0 else "") for i in range(300_000))
    text = "def build():\n" + body
    (tmp_path / "big.py").write_text(text)
    ctx = ToolContext(Workspace(tmp_path), Settings())

    async def run():
        action = await Edit().prepare({"file_path": "big.py", "old_string": "  value_150000 = compute(150000, 'x')",
                                       "new_string": "  value_150000 = compute(150000, 'y')"}, ctx)
        return await action.run(None)

    outcome = asyncio.run(run())
    assert outcome.ok, outcome.output
    assert (tmp_path / "big.py").read_text() == text.replace("compute(150000, 'x')", "compute(150000, 'y')")
    assert "+1 -1" in outcome.output


def test_read_file_shows_cp1251_text_as_cyrillic():
    from de_agent.tools.fs_read import decode_text

    text, note = decode_text("-- Отчёт по продажам\nSELECT 1;\n".encode("cp1251"))
    assert text.startswith("-- Отчёт") and "cp1251" in note


def _patched(old: str, hunks) -> str:
    """Apply hunks by their text alone, checking every context and removed line."""
    from de_agent.tools.helpers.diffs import NO_NEWLINE

    old_lines = old.splitlines(keepends=True)
    out, pos = [], 0
    for hunk in hunks:
        start = hunk.old_range[0]
        out += old_lines[pos:start]
        pos = start
        previous = ""
        for line in hunk.lines:
            if line == NO_NEWLINE:
                if previous == "+":  # the added line is the last one, without a newline
                    out[-1] = out[-1][:-1]
                continue
            previous = line[0]
            if line[0] in " -":
                assert old_lines[pos].rstrip("\n") == line[1:]
                pos += 1
                if line[0] == " ":
                    out.append(old_lines[pos - 1])
            else:
                out.append(line[1:] + "\n")
    out += old_lines[pos:]
    return "".join(out)


def test_trimmed_diffs_patch_old_into_new_for_random_edits():
    import random

    rng = random.Random(13)
    for _ in range(1500):
        lines = [rng.choice(["a", "b", "c", "", "x y"]) + "\n" for _ in range(rng.randint(0, 14))]
        old = "".join(lines)[:-1] if lines and rng.random() < 0.2 else "".join(lines)
        new = list(old)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randint(0, len(new))
            if rng.random() < 0.5:
                new.insert(pos, rng.choice("ab\nz"))
            elif new:
                del new[min(pos, len(new) - 1)]
        new = "".join(new)
        hunks = make_hunks(old, new)
        assert _patched(old, hunks) == new, (old, new)


def test_no_fallback_when_old_string_matches_several_places_as_written():
    # The file holds the escaped text twice and the plain text once: unescaping must not be
    # used to pick the one plain place.
    text = 's = "a = \\"x\\""\nt = "a = \\"x\\""\na = "x"\n'
    with pytest.raises(MatchError, match="2 times"):
        apply_edit(text, 'a = \\"x\\"', 'a = \\"y\\"')
