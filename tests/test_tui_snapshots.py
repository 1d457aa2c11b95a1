"""SVG snapshots of the TUI (pytest-textual-snapshot). Update with ``pytest --snapshot-update``.

Deterministic by construction: a fixed terminal size, a stand-in host with a fixed session
id and working folder, a frozen clock for the elapsed time, the cursor not blinking, and Textual pinned.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.tui.app import DeAgentApp
from de_agent.tui.screens.approval import ApprovalScreen
from tests.support.tui import StubHost, settle, wait_for

PLAN = [{"step": "Read etl/load.py and its tests", "status": "completed"},
        {"step": "Filter out empty rows in load()", "status": "in_progress"},
        {"step": "Run the test suite", "status": "pending"},
        {"step": "Summarise the change", "status": "pending"}]
DIFF = ("--- a/etl/load.py\n+++ b/etl/load.py\n"
        "@@ -1,2 +1,2 @@\n def load(rows):\n-    return list(rows)\n+    return [r for r in rows if r]\n"
        "@@ -9,3 +9,4 @@\n def count(rows):\n-    return len(rows)\n+    kept = load(rows)\n+    return len(kept)\n")
ANSWER = ("I read the loader. Empty rows slip through `load()`, so I will:\n\n"
          "1. filter them in `load()`\n2. keep `count()` consistent\n\nThe change is small")


def app_with(host: StubHost, theme: str = "dark") -> DeAgentApp:
    settings = Settings(model="openai/test-model", theme=theme)
    return DeAgentApp(settings, Path("/work/demo-repo"), host=host, cursor_blink=False)


def mid_task_events() -> list[P.Event]:
    return [
        P.UserMessage("Empty rows break the nightly load; fix etl/load.py and run the tests."),
        P.ToolCall("c1", "ReadFile", {"file_path": "etl/load.py"}),
        P.Approval("c1", "approved", "policy"),
        P.ToolResult("c1", "ReadFile", True, "def load(rows):\n    return list(rows)\n"),
        P.ToolCall("c2", "update_plan", {"plan": PLAN}),
        P.Approval("c2", "approved", "policy"),
        P.ToolResult("c2", "update_plan", True, "Plan updated (1/4 steps completed)."),
        P.PlanUpdated(PLAN, "The loader keeps empty rows; filter them where they enter."),
        *[P.AssistantDelta(ANSWER[i:i + 9]) for i in range(0, len(ANSWER), 9)],
        P.Usage(1830, 214, 0.0041, 5210, 640, 0.0123),
        P.ToolCall("c3", "Edit", {"file_path": "etl/load.py", "old_string": "…", "new_string": "…"}),
        P.Diff("etl/load.py", DIFF, "proposed", "c3"),
    ]


def command_request() -> P.ApprovalRequest:
    return P.ApprovalRequest("c9", "Shell", "execute", "Run the test suite", command="pytest -q tests/etl",
                             cwd="/work/demo-repo", sandbox="bwrap", always_pattern="pytest *",
                             reason="runs a command")


def edit_request() -> P.ApprovalRequest:
    return P.ApprovalRequest("c3", "Edit", "edit", "Edit etl/load.py",
                             diffs=[{"file_path": "etl/load.py", "diff": DIFF}], reason="changes a file")


def feeding(host: StubHost, events: list[P.Event], *, busy: bool = True, modal: bool = False):
    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: app.status.session_id, what="session start")
        if busy:
            app.status.frozen_clock = 12.0  # no spinning, a fixed elapsed time
            app.status.busy = True
        host.feed(*events)
        if modal:
            await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="approval modal")
        await settle(pilot)

    return run_before


def test_main_screen_mid_task(snap_compare):
    host = StubHost()
    assert snap_compare(app_with(host), terminal_size=(120, 36), run_before=feeding(host, mid_task_events()))


def test_approval_modal_for_a_command(snap_compare):
    host = StubHost()
    events = [*mid_task_events()[:8], P.ToolCall("c9", "Shell", {"command": "pytest -q tests/etl"}),
              command_request()]
    assert snap_compare(app_with(host), terminal_size=(120, 36),
                        run_before=feeding(host, events, modal=True))


def test_approval_modal_for_an_edit_with_a_skipped_hunk(snap_compare):
    host = StubHost()
    events = [*mid_task_events(), edit_request()]
    assert snap_compare(app_with(host), terminal_size=(120, 36), press=["down", "space"],
                        run_before=feeding(host, events, modal=True))


def test_plan_pane_with_mixed_statuses(snap_compare):
    host = StubHost()
    events = [P.PlanUpdated(PLAN, "The loader keeps empty rows; filter them where they enter.")]
    assert snap_compare(app_with(host), terminal_size=(100, 30), run_before=feeding(host, events, busy=False))


@pytest.mark.parametrize("theme", ["dark", "light", "high-contrast"])
def test_each_theme(snap_compare, theme):
    host = StubHost()
    assert snap_compare(app_with(host, theme), terminal_size=(120, 36),
                        run_before=feeding(host, mid_task_events()))


@pytest.mark.parametrize("theme", ["dark", "light", "high-contrast"])
def test_narrow_80x24(snap_compare, theme):
    host = StubHost()
    assert snap_compare(app_with(host, theme), terminal_size=(80, 24), run_before=feeding(host, mid_task_events()))


def test_80x24_with_empty_side_panes_gives_the_chat_the_room(snap_compare):
    host = StubHost()
    events = [P.UserMessage("What does etl/load.py do?"), P.AssistantMessage("It loads rows.")]
    assert snap_compare(app_with(host), terminal_size=(80, 24), run_before=feeding(host, events, busy=False))


def test_result_viewer_with_a_wide_table(snap_compare):
    host = StubHost()
    display = {"kind": "table", "title": "orders", "columns": [f"column_{i}" for i in range(10)],
               "rows": [[f"r{r}c{c}" for c in range(10)] for r in range(40)]}
    events = [P.ToolCall("q1", "RunSQL", {"sql": "select * from orders"}), P.Approval("q1", "approved", "policy"),
              P.ToolResult("q1", "RunSQL", True, "40 rows", display)]
    assert snap_compare(app_with(host), terminal_size=(100, 30), press=["ctrl+o"],
                        run_before=feeding(host, events, busy=False))


def test_a_running_command_with_live_output(snap_compare):
    host = StubHost()
    events = [P.UserMessage("Run the tests"), P.ToolCall("s1", "Shell", {"command": "pytest -q tests/etl"}),
              P.Approval("s1", "approved", "user", "once"),
              *[P.ToolOutput("s1", f"tests/etl/test_load.py::test_case_{i} PASSED\n") for i in range(12)]]
    assert snap_compare(app_with(host), terminal_size=(100, 30), run_before=feeding(host, events))
