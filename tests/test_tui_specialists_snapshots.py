"""SVG snapshots of specialists in the TUI: a nested handoff block with its steps and its plan under its
name, and the AskUser modal. Update with ``pytest --snapshot-update``; deterministic as in
tests/test_tui_snapshots.py (fixed size, stand-in host, no clock, no cursor blink)."""

from __future__ import annotations

from de_agent import protocol as P
from de_agent.tui.screens.question import QuestionScreen
from tests.support.tui import StubHost, settle, wait_for
from tests.test_tui_snapshots import app_with

CHILD = {"specialist": "analytics-engineer", "handoff_id": "h1"}


def handoff_events() -> list[P.Event]:
    plan = [{"step": "Read the staging model", "status": "completed"},
            {"step": "Add not_null and unique tests", "status": "in_progress"}]
    return [
        P.UserMessage("Add tests to the orders model, then have it reviewed."),
        P.ToolCall("h1", "Handoff", {"specialist": "analytics-engineer", "task": "Add tests to models/orders.sql"},
                   "@analytics-engineer: Add tests to models/orders.sql"),
        P.Approval("h1", "approved", "policy"),
        P.HandoffStarted("h1", task="Add tests to models/orders.sql", session_id="s.analytics-engineer.1",
                         specialist="analytics-engineer"),
        P.ToolCall("c1", "ReadFile", {"file_path": "models/orders.sql"}, "models/orders.sql", **CHILD),
        P.ToolResult("c1", "ReadFile", True, "select ...", **CHILD),
        P.PlanUpdated(plan, **CHILD),
        P.AssistantMessage("The key is order_id; I will add not_null and unique on it.", **CHILD),
        P.ToolCall("c2", "Edit", {"file_path": "models/schema.yml"}, "models/schema.yml", **CHILD),
    ]


def test_nested_handoff_block_and_its_plan(snap_compare):
    host = StubHost()

    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: app.status.session_id, what="session start")
        app.status.frozen_clock = 12.0  # no spinning, a fixed elapsed time
        app.status.busy = True
        host.feed(*handoff_events())
        await wait_for(pilot, lambda: app.chat.handoff_count() == 1, what="handoff block")
        await settle(pilot)

    assert snap_compare(app_with(host), terminal_size=(120, 36), run_before=run_before)


def test_question_modal(snap_compare):
    host = StubHost()

    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: app.status.session_id, what="session start")
        app.status.frozen_clock = 12.0  # no spinning, a fixed elapsed time
        host.feed(P.Question("q1", "Which environment should the backfill run against?",
                             [{"label": "dev", "description": "the sandbox warehouse"},
                              {"label": "prod", "description": "the real tables"}]))
        await wait_for(pilot, lambda: isinstance(app.screen, QuestionScreen), what="question modal")
        await settle(pilot)

    assert snap_compare(app_with(host), terminal_size=(100, 30), run_before=run_before)
