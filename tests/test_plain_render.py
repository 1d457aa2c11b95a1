"""Plain-mode rendering of engine events: streaming window, tool lines, displays, usage, replay."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from de_agent import protocol as P
from de_agent.frontends import plain_render
from de_agent.frontends.plain_render import MarkdownStream, PlainRenderer, call_summary, format_cost

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def console(terminal: bool = False, height: int = 25) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=80, height=height, force_terminal=terminal,
                   color_system="standard" if terminal else None), buffer


async def test_a_long_answer_keeps_only_a_small_live_window(monkeypatch):
    monkeypatch.setattr(plain_render, "STREAM_REFRESH_S", 0.0)
    con, buffer = console(terminal=True, height=10)
    stream = MarkdownStream(con)
    heights = []
    for i in range(1, 31):
        stream.add(f"line {i} of the answer\n\n")
        heights.append(stream.live_height)
    assert max(heights) <= stream.window() == 6
    assert stream.committed >= 30 * 2 - 1 - 6  # everything above the window is printed for good
    stream.finish()
    plain = ANSI.sub("", buffer.getvalue())
    # a line is repainted only while it is in the live window, never after it was committed
    assert 1 <= plain.count("line 1 of the answer") <= stream.window()
    assert plain.rindex("line 29 of the answer") < plain.rindex("line 30 of the answer")


def test_without_a_terminal_the_answer_is_printed_once_at_the_end():
    con, buffer = console()
    renderer = PlainRenderer(con)
    for piece in ("Some ", "`code` and ", "**bold**"):
        renderer(P.AssistantDelta(piece))
    assert buffer.getvalue() == ""
    renderer(P.AssistantMessage("Some `code` and **bold**"))
    assert buffer.getvalue().strip() == "Some code and bold"
    assert renderer.last_answer == "Some `code` and **bold**"


def test_tool_call_and_result_are_one_line_each_with_a_command_output_tail():
    con, buffer = console()
    renderer = PlainRenderer(con)
    renderer(P.ToolCall("c1", "Shell", {"command": "pytest -q", "description": "run tests"}))
    output = "\n".join(f"out {i}" for i in range(1, 21))
    renderer(P.ToolResult("c1", "Shell", True, "Exit code: 0\n" + output,
                          {"kind": "shell", "command": "pytest -q", "exit_code": 0, "output": output}))
    renderer(P.ToolResult("c2", "ReadFile", False, "ReadFile failed: no such file\nmore", None))
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("● Shell  pytest -q")
    assert lines[1] == "  ⎿ exit 0"
    assert "… 12 earlier lines" in lines[2] and lines[-2].strip() == "out 20"
    assert lines[-1] == "  ✗ ReadFile failed: no such file …"


def test_display_tables_use_the_shared_renderer():
    pytest.importorskip("de_agent.frontends.render")
    con, buffer = console()
    renderer = PlainRenderer(con)
    renderer(P.ToolResult("c1", "RunSQL", True, "2 rows", {
        "kind": "table", "title": "orders", "columns": ["id", "total"], "rows": [[1, 9.5], [2, None]]}))
    shown = buffer.getvalue()
    assert "orders" in shown and "9.5" in shown and "NULL" in shown


def test_applied_diff_is_shown_unless_the_approval_showed_it():
    con, buffer = console()
    renderer = PlainRenderer(con)
    diff = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"
    renderer(P.Diff("x.py", diff, "applied", "auto"))
    renderer.show_request(P.ApprovalRequest("asked", "Edit", "edit", "edit x.py (+1 -1)",
                                            diffs=[{"file_path": "x.py", "diff": diff}]))
    renderer(P.Diff("x.py", diff, "applied", "asked"))
    assert buffer.getvalue().count("+a = 2") == 2  # once auto-applied, once in the approval


def test_usage_line_per_turn_with_known_and_unknown_cost():
    con, buffer = console()
    renderer = PlainRenderer(con)
    renderer(P.UserMessage("hi"))
    renderer(P.Usage(1200, 30, 0.0123, 1200, 30, 0.0123))
    renderer(P.TurnFinished("completed", 1))
    renderer(P.UserMessage("again"))
    renderer(P.Usage(10, 5, None, 1210, 35, None))
    renderer(P.TurnFinished("completed", 1))
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "turn: 1,200 in, 30 out, $0.0123 · session: 1,230 tokens, $0.0123"
    assert lines[1] == "turn: 10 in, 5 out, cost unknown · session: 1,245 tokens, cost unknown"
    assert format_cost(3.5) == "$3.50"


def test_replay_of_a_resumed_session_shows_its_end_and_plan():
    con, buffer = console()
    renderer = PlainRenderer(con)
    events = []
    for i in range(8):
        events += [P.UserMessage(f"question {i}"), P.AssistantMessage(f"answer {i}")]
    events.append(P.PlanUpdated([{"step": "ship it", "status": "pending"}]))
    renderer.replay(events, keep=4)
    shown = buffer.getvalue()
    assert "12 older messages not shown" in shown
    assert "question 5" not in shown and "› question 6" in shown and "answer 7" in shown
    assert "[ ] ship it" in shown and renderer.last_answer == "answer 7"


def test_call_summary_prefers_the_telling_argument():
    assert call_summary("", {"file_path": "etl/load.py", "start_line": 3}) == "etl/load.py"
    assert call_summary("", {"a": 1}) == '{"a": 1}'
    assert call_summary("", {"command": "x" * 50}, width=10) == "xxxxxxxxx…"


def test_fact_displays_print_a_summary_line_never_raw_json():
    con, buffer = console()
    renderer = PlainRenderer(con)
    renderer(P.ToolResult("c1", "ReadFolder", True, "etl/\nREADME.md",
                          {"kind": "folder", "path": ".", "dirs": 1, "files": 2, "ignored": 0}))
    renderer(P.ToolResult("c2", "ReadFile", True, "     1\tx = 1\n",
                          {"kind": "read", "path": "x.py", "bytes": 6, "lines": 1}))
    renderer(P.ToolResult("c3", "SaveMemory", True, "Saved.",
                          {"kind": "memory", "fact": "uses duckdb", "scope": "project", "path": "/m.md"}))
    renderer(P.ToolResult("c4", "ReadFile", False, "logo.png is a binary file (2.0 KB); not shown.",
                          {"kind": "read", "path": "logo.png", "bytes": 2048, "binary": True}))
    shown = buffer.getvalue()
    assert "{" not in shown and '"kind"' not in shown
    assert shown.splitlines() == ["  ⎿ 1 folder, 2 files", "  ⎿ 1 line · 6 bytes", "  ⎿ saved to project memory",
                                  "  ⎿ binary file (2.0 KB), contents not shown"]


def test_a_writing_runsql_approval_prints_the_sql():
    con, buffer = console()
    renderer = PlainRenderer(con)
    sql = "CREATE TABLE answers AS SELECT 42 AS answer"
    renderer(P.ToolCall("q1", "RunSQL", {"sql": sql}))
    renderer.show_request(P.ApprovalRequest("q1", "RunSQL", "execute", "run SQL that writes",
                                            reason="SQL that writes or changes state: statement 1: CREATE"))
    assert sql in buffer.getvalue()

