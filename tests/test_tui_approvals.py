"""The approval modal: each key gives the decision it names, hunks can be picked one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.tools.helpers.diffs import parse_hunks
from de_agent.tui.app import DeAgentApp
from de_agent.tui.screens.approval import ApprovalScreen
from de_agent.tui.widgets.diff import split_hunks
from tests.support.tui import StubHost, screen_text, settle, shows, wait_for

TWO_HUNKS = (
    "--- a/etl/load.py\n+++ b/etl/load.py\n"
    "@@ -1,3 +1,3 @@\n def load(rows):\n-    return list(rows)\n+    return [r for r in rows if r]\n \n"
    "@@ -20,2 +20,3 @@\n def done():\n     pass\n+    return True\n"
)


def command_request(pattern: str | None = "pytest *") -> P.ApprovalRequest:
    return P.ApprovalRequest("c1", "Shell", "execute", "run the tests", command="pytest -q",
                             cwd="/work/demo-repo", sandbox="bwrap", always_pattern=pattern,
                             reason="runs a command")


def edit_request() -> P.ApprovalRequest:
    return P.ApprovalRequest("e1", "Edit", "edit", "Edit etl/load.py",
                             diffs=[{"file_path": "etl/load.py", "diff": TWO_HUNKS}], reason="changes a file")


async def ask(request: P.ApprovalRequest, size=(120, 40)):
    host = StubHost()
    app = DeAgentApp(Settings(model="openai/test-model"), Path("/tmp"), host=host, cursor_blink=False)
    return app, host


async def open_modal(pilot, app, host, request):
    await wait_for(pilot, lambda: app.status.session_id, what="session start")
    host.feed(P.ToolCall(request.call_id, request.name, {"command": request.command or ""}), request)
    await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="approval modal")
    await settle(pilot)


@pytest.mark.parametrize(("keys", "choice", "note"), [
    (["y"], "once", ""),
    (["a"], "session", ""),
    (["A"], "always", ""),
    (["n"], "deny", ""),
    (["escape"], "deny", ""),
    (["f", *"use make test", "enter"], "deny_note", "use make test"),
])
async def test_command_keys_give_their_decision(keys, choice, note):
    app, host = await ask(command_request())
    async with app.run_test(size=(120, 40)) as pilot:
        await open_modal(pilot, app, host, command_request())
        await pilot.press(*keys)
        await wait_for(pilot, lambda: host.ops, what="a decision")
        assert host.ops == [P.ApprovalDecision("c1", choice, note=note)]
        assert not isinstance(app.screen, ApprovalScreen)


async def test_command_modal_shows_command_folder_sandbox_and_pattern():
    app, host = await ask(command_request())
    async with app.run_test(size=(120, 40)) as pilot:
        await open_modal(pilot, app, host, command_request())
        text = screen_text(app)
        assert "Run this command?" in text
        assert "$ pytest -q" in text
        assert "in /work/demo-repo" in text and "sandbox bwrap" in text
        assert "always allow pytest *" in text


async def test_always_without_a_pattern_does_not_answer():
    app, host = await ask(command_request(None))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_modal(pilot, app, host, command_request(None))
        assert "always allow" not in screen_text(app)
        await pilot.press("A")
        await settle(pilot)
        assert host.ops == [] and isinstance(app.screen, ApprovalScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: host.ops, what="a decision")
        assert host.ops[0].choice == "once"


def test_hunks_are_numbered_like_the_edit_tool():
    ours = split_hunks([{"file_path": "etl/load.py", "diff": TWO_HUNKS}])
    theirs = parse_hunks(TWO_HUNKS)
    assert [h.index for h in ours] == [0, 1]
    assert [h.lines[0] for h in ours] == [h.header for h in theirs]


async def test_edit_rejecting_one_hunk_sends_only_the_other():
    app, host = await ask(edit_request())
    async with app.run_test(size=(120, 40)) as pilot:
        await open_modal(pilot, app, host, edit_request())
        text = screen_text(app)
        assert "Apply this change to etl/load.py?" in text
        assert "+    return [r for r in rows if r]" in text
        await pilot.press("space")  # the cursor starts on hunk 0: skip it
        await settle(pilot)
        await shows(pilot, app, "✗ skip")
        await pilot.press("y")
        await wait_for(pilot, lambda: host.ops, what="a decision")
        assert host.ops == [P.ApprovalDecision("e1", "once", hunks=[1])]


async def test_edit_moving_the_cursor_picks_the_second_hunk():
    app, host = await ask(edit_request())
    async with app.run_test(size=(120, 40)) as pilot:
        await open_modal(pilot, app, host, edit_request())
        await pilot.press("down", "space", "a")
        await wait_for(pilot, lambda: host.ops, what="a decision")
        assert host.ops == [P.ApprovalDecision("e1", "session", hunks=[0])]


async def test_edit_all_hunks_accepted_sends_no_hunk_list():
    app, host = await ask(edit_request())
    async with app.run_test(size=(120, 40)) as pilot:
        await open_modal(pilot, app, host, edit_request())
        await pilot.press("space", "space", "y")  # off and on again
        await wait_for(pilot, lambda: host.ops, what="a decision")
        assert host.ops == [P.ApprovalDecision("e1", "once", hunks=None)]


async def test_edit_with_every_hunk_rejected_is_a_denial_with_a_reason():
    app, host = await ask(edit_request())
    async with app.run_test(size=(120, 40)) as pilot:
        await open_modal(pilot, app, host, edit_request())
        await pilot.press("space", "down", "space", "y")
        await wait_for(pilot, lambda: host.ops, what="a decision")
        decision = host.ops[0]
        assert decision.choice == "deny_note" and not decision.approved
        assert "rejected every hunk" in decision.note


async def test_turn_ending_closes_an_open_modal_without_answering():
    app, host = await ask(command_request())
    async with app.run_test(size=(120, 40)) as pilot:
        await open_modal(pilot, app, host, command_request())
        host.feed(P.Notice("Turn interrupted; the session is consistent and can go on.", "warning"),
                  P.TurnFinished("interrupted", 1))
        await wait_for(pilot, lambda: not isinstance(app.screen, ApprovalScreen), what="modal closed")
        assert host.ops == []
        await shows(pilot, app, "Turn interrupted")
