"""Layered matching of Edit's old_string: each layer, and the traps that must never apply wrongly."""

from __future__ import annotations

import pytest

from de_agent.tools.helpers.edit_hints import find_placeholder
from de_agent.tools.helpers.edit_match import MatchError, apply_edit

PY = (
    "def load(rows):\n"
    "    if rows:\n"
    "        return list(rows)\n"
    "    return []\n"
    "\n"
    "\n"
    "def save(rows):\n"
    "    return len(rows)\n"
)

# (name, file text, old_string, new_string, expected file text, words expected in the note)
APPLIED = [
    ("exact", PY, "return len(rows)", "return len(list(rows))",
     PY.replace("return len(rows)", "return len(list(rows))"), ["exact"]),
    ("exact inside a longer line", "    total = price * qty + tax\n", "price * qty", "price * quantity",
     "    total = price * quantity + tax\n", ["exact"]),
    ("trailing whitespace in the file", "a = 1   \nb = 2\t\nc = 3\n", "a = 1\nb = 2\n", "a = 1\nb = 20\n",
     "a = 1   \nb = 20\t\nc = 3\n", ["trailing whitespace"]),
    ("trailing whitespace in old_string", "a = 1\nb = 2\nc = 3\n", "a = 1  \nb = 2  \n",
     "a = 1  \nb = 2  \nb2 = 4  \n", "a = 1\nb = 2\nb2 = 4\nc = 3\n", ["trailing whitespace"]),
    ("indentation shifted left", PY, "if rows:\n    return list(rows)\n",
     "if rows:\n    log(rows)\n    return list(rows)\n",
     PY.replace("        return list(rows)\n", "        log(rows)\n        return list(rows)\n"),
     ["indentation", "4 columns more", "re-indented"]),
    ("indentation shifted right", PY, "      if rows:\n          return list(rows)",
     "      if rows:\n          return tuple(rows)",
     PY.replace("return list(rows)", "return tuple(rows)"), ["indentation"]),
    ("spaces in old_string, tabs in the file", "def f():\n\tif x:\n\t\treturn 1\n\treturn 2\n",
     "    if x:\n        return 1\n", "    if x:\n        y = 1\n        return y\n",
     "def f():\n\tif x:\n\t\ty = 1\n\t\treturn y\n\treturn 2\n", ["tabs"]),
    ("tabs in old_string, spaces in the file", PY, "\tif rows:\n\t\treturn list(rows)",
     "\tif rows:\n\t\treturn set(rows)", PY.replace("list(rows)", "set(rows)"), ["indentation"]),
    ("two-space steps where the file has four", PY, "  if rows:\n    return list(rows)\n  return []\n",
     "  if rows:\n    rows = sorted(rows)\n    return list(rows)\n  return []\n",
     PY.replace("        return list(rows)\n", "        rows = sorted(rows)\n        return list(rows)\n"),
     ["indentation width"]),
    ("curly quotes in the file", "msg = “hello”\nn = 1\n", 'msg = "hello"\nn = 1\n', 'msg = "hello"\nn = 2\n',
     "msg = “hello”\nn = 2\n", ["quote"]),
    ("changed line keeps the file's quotes", "msg = ‘hi’ + name\n", "msg = 'hi' + name\n",
     "msg = 'hi' + full_name\n", "msg = ‘hi’ + full_name\n", ["quote"]),
    ("curly quotes in old_string, straight in the file", 'x = "a"\ny = 1\n', "x = “a”\ny = 1\n",
     "x = “a”\nz = “b”\ny = 1\n", 'x = "a"\nz = "b"\ny = 1\n', ["quote"]),
    ("dash and non-breaking space", "# range 1–3\u00a0items\nx = 1\n", "# range 1-3 items\nx = 1\n",
     "# range 1-3 items\nx = 2\n", "# range 1–3\u00a0items\nx = 2\n", ["quote, dash"]),
    ("quotes inside a longer line", "    print(“a”, sep=“”)\n", 'print("a"', 'print("b"',
     "    print(“b”, sep=“”)\n", ["quote"]),
    ("CRLF in old_string", PY, "def save(rows):\r\n    return len(rows)\r\n",
     "def save(rows):\r\n    return len(rows) + 1\r\n", PY.replace("len(rows)\n", "len(rows) + 1\n"),
     ["line endings"]),
    ("a blank line missing", PY, "    return []\n\ndef save(rows):\n    return len(rows)\n",
     "    return []\n\ndef save(rows):\n    return len(rows) * 2\n",
     PY.replace("len(rows)\n", "len(rows) * 2\n"), ["blank lines"]),
    ("a blank line extra", "a = 1\nb = 2\nc = 3\n", "a = 1\n\nb = 2\nc = 3\n", "a = 1\n\nb = 2\nc = 30\n",
     "a = 1\nb = 2\nc = 30\n", ["blank lines"]),
    ("indentation and trailing spaces at once", PY, "if rows:   \n    return list(rows)  \n",
     "if rows:   \n    return sorted(rows)  \n", PY.replace("list(rows)", "sorted(rows)"),
     ["indentation", "trailing whitespace"]),
    ("file without a final newline", "a = 1\nb = 2", "b = 2\n", "b = 3\n", "a = 1\nb = 3\n", ["exact"]),
    ("first line's indentation left out, the rest as in the file", PY,
     "if rows:\n        return list(rows)\n", "if rows:\n        return tuple(rows)\n",
     PY.replace("list(rows)", "tuple(rows)"), ["exact"]),
]


@pytest.mark.parametrize("name,text,old,new,expected,words", APPLIED, ids=[c[0] for c in APPLIED])
def test_layer_applies(name, text, old, new, expected, words):
    result = apply_edit(text, old, new)
    assert result.text == expected
    note = result.note()
    for word in words:
        assert word in note, note


# (name, file text, old_string, new_string, words the refusal must contain)
REFUSED = [
    ("two equal places", "a = 1\nb = 2\na = 1\n", "a = 1", "a = 2", ["2 times", "line 1", "line 3"]),
    ("two places ignoring indentation", "def f():\n\tx = 1\n\ndef g():\n\t\tx = 1\n", "    x = 1\n",
     "    x = 2\n", ["ignoring indentation", "line 2", "line 5"]),
    ("two places ignoring trailing whitespace", "x = 1 \ny = 2\nx = 1\t\n", "x = 1  \n", "x = 3\n",
     ["ignoring trailing whitespace", "line 1", "line 3"]),
    ("two places ignoring quotes", "a = “x”\nb = ‘x’\na = ”x“\n", 'a = "x"\n', 'a = "y"\n',
     ["ignoring quote", "line 1", "line 3"]),
    ("partial indentation hit with a second place", "        return None\n    return None\n",
     "      return None\n", "      return 0\n", ["ignoring indentation", "line 1", "line 2"]),
    ("inside a longer line is not a whole-line match", "result = compute(x)  # cached\n",
     "compute(x)\n", "compute(y)\n", ["not found"]),
    ("fragment with wrong indentation", "    result = compute(x)\n", "  compute(x)", "  compute(y)",
     ["not found"]),
    ("relative indentation differs", PY, "if rows:\nreturn list(rows)\n", "if rows:\nreturn None\n",
     ["relative", "lines 2-3"]),
    ("new lines after an unindented one-line old_string", PY, "return []\n", "log()\nreturn []\n",
     ["indentation of line 4", "a guess"]),
    ("first line's indentation left out and that line deleted", PY,
     "if rows:\n        return list(rows)\n", "        return list(rows)\n", ["indentation of line 2", "a guess"]),
    ("change next to a blank line the model missed", "a = 1\n\nb = 2\n", "a = 1\nb = 2\n",
     "a = 1\nx = 0\nb = 2\n", ["blank lines", "guess"]),
    ("nothing similar", PY, "completely unrelated text", "x", ["not found"]),
    ("identical strings", PY, "return []", "return []", ["identical"]),
    ("empty old_string", PY, "", "x", ["empty"]),
]


@pytest.mark.parametrize("name,text,old,new,words", REFUSED, ids=[c[0] for c in REFUSED])
def test_layer_refuses(name, text, old, new, words):
    with pytest.raises(MatchError) as err:
        apply_edit(text, old, new)
    message = str(err.value)
    assert "Nothing was changed" in message or "nothing to change" in message or "empty" in message
    for word in words:
        assert word in message, message


def test_closest_lines_are_shown_with_numbers_and_differences():
    with pytest.raises(MatchError) as err:
        apply_edit(PY, "def save(rows):\n    return count(rows)\n", "def save(rows):\n    return 0\n")
    message = str(err.value)
    assert "closest lines are 7-8" in message
    assert "     8\t    return len(rows)" in message
    assert "line 8: text differs: the file has 'return len(rows)'" in message


def test_closest_lines_name_an_indentation_difference():
    with pytest.raises(MatchError) as err:
        apply_edit(PY, "def save(rows):\n  return len(rowz)\n", "x")
    assert "line 8: text differs (and indentation: file 4 columns, old_string 2)" in str(err.value)


def test_secret_files_show_no_content_in_failures():
    with pytest.raises(MatchError) as err:
        apply_edit("API_KEY=abc123\n", "API_KEY=abc124\n", "API_KEY=x\n", secret=True)
    assert "abc123" not in str(err.value)


def test_line_numbers_copied_into_old_string_get_a_hint():
    with pytest.raises(MatchError) as err:
        apply_edit(PY, "     7\tdef save(rows):\n     8\t    return len(rows)\n", "x")
    assert "line number" in str(err.value)


# --- already applied -----------------------------------------------------------------------

def test_already_applied_exact_insertion_is_not_applied_twice():
    text = "a = 1\nb = 2\nc = 3\n"
    with pytest.raises(MatchError, match="already applied"):
        apply_edit(text, "a = 1\n", "a = 1\nb = 2\n")


def test_already_applied_when_old_string_is_gone():
    text = apply_edit(PY, "return len(rows)", "return len(rows) + 1").text
    with pytest.raises(MatchError, match="already applied"):
        apply_edit(text, "return len(rows)\n", "return len(rows) + 1\n")


def test_already_applied_when_the_change_is_only_what_matching_ignores():
    with pytest.raises(MatchError, match="already applied"):
        apply_edit("x = 1\n", "x = 1   \n", "x = 1\n")


def test_a_deletion_near_a_match_is_not_mistaken_for_already_applied():
    result = apply_edit(PY, "if rows:\n    return list(rows)\nreturn []\n", "if rows:\n    return list(rows)\n")
    assert "    return []\n" not in result.text


# --- allow_multiple ------------------------------------------------------------------------

def test_allow_multiple_replaces_every_exact_occurrence_and_counts_them():
    result = apply_edit("a = 1\nb = a\na = 1\n", "a = 1", "a = 2", allow_multiple=True)
    assert result.text == "a = 2\nb = a\na = 2\n"
    assert result.count == 2
    assert "2 exact occurrences" in result.note()


def test_allow_multiple_with_one_tolerant_match_replaces_that_one():
    result = apply_edit(PY, "  return len(rows)\n", "  return 0\n", allow_multiple=True)
    assert result.count == 1
    assert "        return 0" not in result.text and "    return 0\n" in result.text


# --- placeholders --------------------------------------------------------------------------

@pytest.mark.parametrize("placeholder", [
    "    // ... rest of code ...", "    # existing code here", "    ... (unchanged)", "    # ...",
    "-- ... other columns unchanged ...", "[... rest of file ...]", "    # rest of the function unchanged",
])
def test_placeholder_elision_is_refused(placeholder):
    with pytest.raises(MatchError, match="placeholder"):
        apply_edit(PY, "def save(rows):\n    return len(rows)\n",
                   f"def save(rows):\n{placeholder}\n    return 0\n")


def test_placeholder_allowed_when_old_string_has_it_too():
    text = "def f():\n    # ... existing code ...\n    return 1\n"
    result = apply_edit(text, "    # ... existing code ...\n    return 1\n", "    # ... existing code ...\n    return 2\n")
    assert result.text.endswith("return 2\n")


@pytest.mark.parametrize("line", ["    ...", "def stub(): ...", "# skip existing rows", "# existing tests",
                                  "x = [1, 2, ...]", "...     return other", "# the rest of the pipeline runs nightly at 3am"])
def test_ordinary_code_is_not_a_placeholder(line):
    assert find_placeholder(line + "\n") is None


# --- the file's text is kept where the model did not change it --------------------------

def test_unchanged_lines_keep_the_files_exact_text_in_a_tolerant_match():
    text = "def f():\n    x = “a”   \n    y = 2\n"
    result = apply_edit(text, 'x = "a"\ny = 2\n', 'x = "a"\ny = 3\n')
    assert result.text == "def f():\n    x = “a”   \n    y = 3\n"


def test_new_lines_at_a_new_depth_follow_the_files_indentation_unit():
    text = "def f():\n\tif a:\n\t\tpass\n"
    result = apply_edit(text, "    if a:\n        pass\n", "    if a:\n        if b:\n            pass\n")
    assert result.text == "def f():\n\tif a:\n\t\tif b:\n\t\t\tpass\n"
