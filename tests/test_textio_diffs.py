"""Byte-faithful text round trips, unified diffs, and applying only some hunks."""

from __future__ import annotations

import pytest

from de_agent.tools.helpers.diffs import (
    NO_NEWLINE,
    apply_hunks,
    describe_hunks,
    diff_stats,
    make_hunks,
    parse_hunks,
    unified_diff,
)
from de_agent.tools.helpers.textio import EncodingProblem, decode, encode_like, info_for_new

ROUND_TRIPS = [
    ("utf-8 LF", "a = 1\nb = 'é'\n".encode()),
    ("utf-8 CRLF", b"a = 1\r\nb = 2\r\n"),
    ("utf-8 with BOM", b"\xef\xbb\xbfname,value\r\nx,1\r\n"),
    ("latin-1", "caf\u00e9 = 1\n# na\u00efve\n".encode("latin-1")),
    ("cp1252 smart quotes read as latin-1", b"msg = \x93hi\x94\n"),
    ("no final newline", b"a\nb"),
    ("mixed endings", b"a\r\nb\nc\r\nd\r\n"),
    ("lone CR is content", b"progress\r50%\nend\n"),
    ("utf-16 with BOM", "x = 1\r\ny = 2\r\n".encode("utf-16")),
    ("empty", b""),
    ("UTF-8 BOM before invalid bytes", b"\xef\xbb\xbfok \xff\n"),
    ("UTF-16 BOM with an odd length", b"\xff\xfea\x00b"),
]


@pytest.mark.parametrize("name,data", ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_decode_then_encode_gives_the_same_bytes(name, data):
    text, info = decode(data)
    assert "\r\n" not in text
    assert encode_like(text, info) == data


def test_edits_keep_crlf_bom_and_encoding():
    text, info = decode(b"\xef\xbb\xbfa\r\nb\r\n")
    assert encode_like(text.replace("b", "b\nc"), info) == b"\xef\xbb\xbfa\r\nb\r\nc\r\n"
    text, info = decode("caf\u00e9\n".encode("latin-1"))
    assert encode_like(text + "th\u00e9\n", info) == "caf\u00e9\nth\u00e9\n".encode("latin-1")


def test_mixed_endings_keep_each_untouched_line_and_use_the_dominant_one_for_new_lines():
    text, info = decode(b"a\r\nb\nc\r\nd\r\n")
    assert info.newline == "\r\n" and info.mixed
    assert encode_like(text.replace("c\n", "c\nnew\n"), info) == b"a\r\nb\nc\r\nnew\r\nd\r\n"


def test_final_newline_convention_is_kept():
    text, info = decode(b"a\nb")
    assert info.final_newline is False
    assert encode_like("a\nb\nc\n", info) == b"a\nb\nc"
    text, info = decode(b"a\nb\n")
    assert encode_like("a\nc", info) == b"a\nc\n"
    assert encode_like("x", info_for_new("x")) == b"x"


def test_a_character_the_encoding_cannot_hold_is_refused_not_mangled():
    _text, info = decode("caf\u00e9\n".encode("latin-1"))
    with pytest.raises(EncodingProblem, match="U\\+2192"):
        encode_like("caf\u00e9 \u2192 tea\n", info)


def test_describe_mentions_what_is_kept():
    assert "CRLF" in decode(b"a\r\n")[1].describe()
    assert "latin-1" in decode(b"\xe9\n")[1].describe()
    assert decode(b"a\n")[1].describe() == ""


# --- diffs ---------------------------------------------------------------------------------

OLD = "".join(f"line {i}\n" for i in range(1, 31))
NEW = OLD.replace("line 3\n", "line three\n").replace("line 20\n", "line 20\nline 20b\n").replace("line 29\n", "")


def test_unified_diff_has_context_and_line_numbers():
    diff = unified_diff(OLD, NEW, "etl/x.py")
    assert diff.startswith("--- a/etl/x.py\n+++ b/etl/x.py\n@@ -1,6 +1,6 @@\n")
    assert "@@ -18,6 +18,7 @@" in diff
    assert " line 18\n" in diff and " line 23\n" in diff and " line 17\n" not in diff
    assert diff_stats(diff) == (2, 2)


def test_added_and_removed_files():
    added = unified_diff(None, "a\nb\n", "new.txt")
    assert added.startswith("--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n")
    removed = unified_diff("a\n", None, "old.txt")
    assert removed.startswith("--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n")
    assert unified_diff(None, "", "empty.txt") == "--- /dev/null\n+++ b/empty.txt\n"


def test_missing_final_newline_is_marked():
    diff = unified_diff("a\nb", "a\nb\n", "f")
    assert f"-b\n{NO_NEWLINE}\n+b\n" in diff


def test_parse_hunks_reads_back_what_make_hunks_wrote():
    diff = unified_diff(OLD, NEW, "x")
    parsed = parse_hunks(diff)
    made = make_hunks(OLD, NEW)
    assert [(h.old_start, h.old_len, h.new_start, h.new_len, h.lines) for h in parsed] == \
           [(h.old_start, h.old_len, h.new_start, h.new_len, h.lines) for h in made]


def test_parse_hunks_keeps_a_removed_sql_comment_line():
    diff = unified_diff("select 1\n-- old note\nfrom t\n", "select 1\nfrom t\n", "q.sql")
    hunks = parse_hunks(diff)
    assert hunks[0].lines == [" select 1", "--- old note", " from t"]


@pytest.mark.parametrize("accepted,expected_changes", [
    ([0, 1, 2], ("line three", "line 20b", "no 29")),
    ([], ()),
    ([1], ("line 20b",)),
    ([0, 2], ("line three", "no 29")),
])
def test_apply_hunks_applies_only_the_accepted_ones(accepted, expected_changes):
    result = apply_hunks(OLD, NEW, accepted)
    assert ("line three\n" in result) == ("line three" in expected_changes)
    assert ("line 20b\n" in result) == ("line 20b" in expected_changes)
    assert ("line 29\n" not in result) == ("no 29" in expected_changes)
    assert result.count("\n") == 30 + ("line 20b" in expected_changes) - ("no 29" in expected_changes)


def test_apply_hunks_rejects_unknown_hunks():
    with pytest.raises(ValueError, match="does not exist"):
        apply_hunks(OLD, NEW, [3])


def test_describe_hunks_says_what_was_and_was_not_applied():
    hunks = make_hunks(OLD, NEW)
    assert describe_hunks(hunks, None) == "all 3 hunks applied"
    words = describe_hunks(hunks, [0, 2])
    assert words.startswith("2 of 3 hunks applied: #1 (lines 1-6")
    assert "NOT applied (rejected by the user): #2 (lines 18-23, +1 -0)" in words
