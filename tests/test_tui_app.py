"""The TUI's own behaviour without a model: panes, keys, slash commands, completion, long chats."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

from textual.command import CommandPalette

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.frontends import replies as R
from de_agent.tui.app import DeAgentApp, merge_deltas
from de_agent.tui.screens.confirm import Confirm
from de_agent.tui.widgets.chat import MAX_LIVE, NoticeEntry, ShowEarlier
from de_agent.tui.widgets.prompt import SlashSuggester
from tests.support.tui import StubHost, screen_text, settle, shows, wait_for

PLAN = [{"step": "Read the loader", "status": "completed"},
        {"step": "Fix the filter", "status": "in_progress"},
        {"step": "Run the tests", "status": "pending"}]


def make_app(**settings) -> tuple[DeAgentApp, StubHost]:
    host = StubHost()
    app = DeAgentApp(Settings(model="openai/test-model", **settings), Path("/tmp"), host=host,
                     cursor_blink=False)
    return app, host


async def started(pilot, app) -> None:
    await wait_for(pilot, lambda: app.status.session_id, what="session start")


def notices(app) -> list[str]:
    return [w.text for w in app.chat.entries if isinstance(w, NoticeEntry)]


async def command(pilot, app, line: str) -> None:
    app.prompt.value = line
    await pilot.press("enter")
    await settle(pilot)


def test_merge_deltas_joins_only_neighbouring_text():
    events = [P.AssistantDelta("a"), P.AssistantDelta("b"), P.ToolCall("c", "X", {}), P.AssistantDelta("c")]
    assert merge_deltas(events) == [P.AssistantDelta("ab"), P.ToolCall("c", "X", {}), P.AssistantDelta("c")]


async def test_quiet_waits_for_events_text_and_commands_but_not_for_the_person():
    """settle() stands on DeAgentApp.quiet(): false while anything is on its way to the screen."""
    app, host = make_app()
    replies: list[concurrent.futures.Future] = []

    def command(line: str) -> concurrent.futures.Future:
        replies.append(concurrent.futures.Future())
        return replies[-1]

    async def went_on() -> R.Reply:
        return R.Say("went on")

    host.command = command
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        await settle(pilot)
        assert app.quiet()
        host.feed(P.Notice("from the engine"))
        assert not app.quiet()  # put on the queue, not shown yet
        await settle(pilot)
        assert notices(app)[-1] == "from the engine" and app.quiet()
        app.chat.append_delta("streamed")
        assert not app.quiet()  # held for the flush timer
        await settle(pilot)
        assert app.chat.entries[-1].text == "streamed"
        app.run_slash_soon("/sessions")
        await wait_for(pilot, lambda: replies, what="the command sent")
        assert not app.quiet()  # its reply is on its way
        replies[0].set_result(R.Confirm("Go on?", "Yes", "No", went_on))
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the question")
        await settle(pilot)  # asking the person is quiet
        await pilot.press("y")
        await settle(pilot)  # the continuation ran on the engine and its reply is shown
        assert notices(app)[-1] == "went on" and app.slash.running is None


async def test_task_goes_to_the_engine_and_events_fill_the_panes():
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        await pilot.press(*"tidy the loader", "enter")
        await settle(pilot)
        assert host.turns == ["tidy the loader"] and app.status.busy
        host.feed(P.UserMessage("tidy the loader"),
                  *[P.AssistantDelta(piece) for piece in ("I will ", "**tidy** ", "it.")],
                  P.AssistantMessage("I will **tidy** it."),
                  P.ToolCall("c1", "update_plan", {"plan": PLAN}), P.Approval("c1", "approved", "policy"),
                  P.ToolResult("c1", "update_plan", True, "Plan updated (1/3 steps completed)."),
                  P.PlanUpdated(PLAN, "Small change"),
                  P.Usage(100, 20, None, 1200, 300, None),
                  P.TurnFinished("completed", 1))
        await wait_for(pilot, lambda: not app.status.busy, what="turn end")
        await settle(pilot)
        text = screen_text(app)
        assert "I will tidy it." in text
        assert "✓ update_plan 3 steps" in text
        assert "✓ Read the loader" in text and "▶ Fix the filter" in text and "○ Run the tests" in text
        assert "Small change" in text
        assert "1.5k tok" in text and "cost unknown" in text
        assert app.chat.last_answer == "I will **tidy** it."


async def test_streamed_text_reaches_the_widget_in_batches():
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        host.feed(*[P.AssistantDelta(f"w{i} ") for i in range(400)])
        await settle(pilot)
        answer = app.chat.entries[-1]
        assert answer.text == "".join(f"w{i} " for i in range(400))
        assert answer.source.strip() == answer.text.strip()


async def test_a_long_answer_is_cut_into_segments_at_blank_lines_outside_code():
    paragraphs = [f"Paragraph {i}: " + "lorem ipsum " * 30 for i in range(20)]
    paragraphs.insert(7, "```python\n" + "\n\n".join(f"x_{i} = {i}" for i in range(40)) + "\n```")
    text = "\n\n".join(paragraphs) + "\n"
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        host.feed(*[P.AssistantDelta(text[i:i + 40]) for i in range(0, len(text), 40)])
        await settle(pilot)
        host.feed(P.AssistantMessage(text))
        await settle(pilot)
        segments = [w for w in [*app.chat._earlier, *app.chat.entries] if hasattr(w, "feed")]
        assert len(segments) >= 3
        assert "".join(w.text for w in segments) == text
        assert all(w.text.count("```") % 2 == 0 for w in segments)  # no fence is cut in two
        assert app.chat.last_answer == text


async def test_tool_result_with_a_table_display_shows_a_table_when_opened():
    display = {"kind": "table", "title": "orders.parquet", "columns": ["column", "nulls"],
               "rows": [["order_id", 0], ["amount", 12]]}
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        host.feed(P.ToolCall("t1", "ProfileData", {"path": "data/orders.parquet"}),
                  P.Approval("t1", "approved", "policy"),
                  P.ToolResult("t1", "ProfileData", True, "order_id: 0 nulls\namount: 12 nulls", display))
        await settle(pilot)
        await shows(pilot, app, "✓ ProfileData data/orders.parquet")
        assert "amount" not in screen_text(app)  # closed until asked
        app.chat.tool("t1").collapsed = False
        await settle(pilot)
        text = screen_text(app)
        assert "column" in text and "nulls" in text and "amount" in text and "│" in text


async def test_ctrl_c_interrupts_then_twice_quits():
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        await pilot.press(*"long task", "enter")
        await settle(pilot)
        assert host.busy
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert host.busy is False and app.is_running
        app._last_ctrl_c -= 5  # a second press much later only warns again
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert app.is_running
        await pilot.press("ctrl+c")
        await settle(pilot)
    assert app.return_code == 0 and not app.is_running


async def test_shift_tab_cycles_the_approval_mode_in_the_status_bar():
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        seen = []
        for _ in range(4):
            await pilot.press("shift+tab")
            await settle(pilot)
            seen.append(app.status.mode)
            await shows(pilot, app, f"mode {app.status.mode}")
        assert seen == ["auto-edit", "plan", "default", "auto-edit"]  # never yolo by accident
        assert host.mode == "auto-edit"


async def test_unknown_command_gets_a_clear_message():
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        await command(pilot, app, "/frobnicate")
        assert "Unknown command /frobnicate." in notices(app)[-1]
        assert host.turns == []


async def test_help_mode_theme_copy_and_quit_commands():
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        await command(pilot, app, "/help")
        assert "/undo" in notices(app)[-1] and "Shift+Tab" in notices(app)[-1]
        await command(pilot, app, "/mode plan")
        assert app.status.mode == "plan" and host.mode == "plan"
        await command(pilot, app, "/mode sideways")
        assert "Unknown approval mode" in notices(app)[-1]
        await command(pilot, app, "/theme light")
        assert app.theme == "light"
        await command(pilot, app, "/theme neon")
        assert "Unknown theme 'neon'" in notices(app)[-1] and app.theme == "light"
        await command(pilot, app, "/copy")
        assert "No answer to copy yet." in notices(app)[-1]
        host.feed(P.AssistantMessage("SELECT 1"))
        await settle(pilot)
        await command(pilot, app, "/copy")
        assert app.clipboard == "SELECT 1"
        await command(pilot, app, "/undo")
        assert "Nothing to undo" in notices(app)[-1]
        await command(pilot, app, "/quit")
    assert not app.is_running


async def test_plan_command_and_f2_show_and_hide_the_side_panes():
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        side = app.query_one("#side")
        assert side.display
        await pilot.press("f2")
        await settle(pilot)
        assert app.screen.has_class("-hide-side") and side.region.width == 0
        host.feed(P.PlanUpdated(PLAN, ""))
        await command(pilot, app, "/plan")
        assert not app.screen.has_class("-hide-side")
        assert "[>] Fix the filter" in notices(app)[-1]


async def test_slash_completion_suggests_and_tab_accepts():
    assert await SlashSuggester().get_suggestion("/co") == "/compact"
    assert await SlashSuggester().get_suggestion("/cop") == "/copy"
    assert await SlashSuggester().get_suggestion("plain text") is None
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        await pilot.press("/", "u")
        await settle(pilot)
        await shows(pilot, app, "/undo")  # the hint line lists the matches with their help
        await pilot.press("tab")
        await settle(pilot)
        assert app.prompt.value == "/undo"


async def test_command_palette_lists_the_slash_commands_and_runs_them():
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
        await pilot.press(*"Theme: high")
        await settle(pilot)
        await shows(pilot, app, "Theme: high-contrast")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.theme == "high-contrast", what="theme switch")


async def test_long_chat_keeps_few_live_widgets_and_shows_earlier_ones_on_demand():
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        host.feed(*[P.UserMessage(f"message {i}") for i in range(300)])
        await wait_for(pilot, lambda: app.chat.entry_count >= 301, what="300 messages")
        await settle(pilot)
        live = app.chat.entries
        assert len(live) <= MAX_LIVE
        await shows(pilot, app, "message 299")
        hidden = len(app.chat._earlier)
        assert hidden + len(live) == 301
        app.chat.query_one(ShowEarlier).post_message(ShowEarlier.Pressed())
        await settle(pilot)
        assert len(app.chat._earlier) == hidden - 40
        assert app.chat.entries[0].text == f"message {hidden - 41}"


async def test_narrow_terminal_stacks_the_side_panes_below_the_chat():
    app, host = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        host.feed(P.PlanUpdated(PLAN), P.Diff("a.py", "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-a\n+b\n", "applied", "d1"))
        await settle(pilot)
        chat, plan, diff = (app.query_one(f"#{name}") for name in ("chat", "plan", "diff"))
        assert plan.region.y > chat.region.y and plan.region.y == diff.region.y
        assert chat.region.width == 80 and chat.region.height >= 8
        assert app.prompt.region.height == 3
        await pilot.press("f2")
        await settle(pilot)
        assert chat.region.height > 15


async def test_engine_start_failure_is_a_message_not_a_crash():
    app, host = make_app()
    host.failed = "de-agent could not start its engine: SandboxUnavailable: no bwrap"
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        await pilot.press(*"hello", "enter")
        await settle(pilot)
        assert host.turns == []
        assert "could not start its engine" in notices(app)[-1]
