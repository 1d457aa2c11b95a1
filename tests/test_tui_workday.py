"""Issue 15 in the TUI (no model): what a person keeps open all day must show the work,
keep focus on the prompt and say exactly what happened. Each test names the fault it guards."""

from __future__ import annotations

from types import SimpleNamespace

from de_agent import protocol as P
from de_agent.llm.adapter import LLMError
from de_agent.tui.screens.approval import ApprovalScreen
from tests.support.tui import screen_text, settle, wait_for
from tests.test_tui_app import command, make_app, notices, started

CREATE = "CREATE TABLE answers AS\nSELECT 42 AS answer, 'forty-two' AS spelled"


async def test_a_writing_runsql_approval_shows_the_sql_itself():
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        host.feed(P.ToolCall("q1", "RunSQL", {"sql": CREATE, "path": "warehouse.duckdb"}),
                  P.ApprovalRequest("q1", "RunSQL", "execute", "run SQL that writes on warehouse.duckdb",
                                    reason="SQL that writes or changes state: statement 1: CREATE writes"))
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="approval")
        await settle(pilot)
        text = screen_text(app)
        assert "CREATE TABLE answers AS" in text
        assert "SELECT 42 AS answer, 'forty-two' AS spelled" in text


class RefusingLLM:
    def __init__(self) -> None:
        self.model = "openai/test-model"

    def check_config(self) -> None:
        if self.model != "openai/test-model":
            raise LLMError(f"unknown model {self.model!r}: use a litellm model name", config=True)


async def test_an_unknown_model_is_reported_and_not_switched_to():
    app, host = make_app()
    host.engine.llm = RefusingLLM()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        await command(pilot, app, "/model gpt-99-ultra")
        await wait_for(pilot, lambda: any("gpt-99-ultra" in n for n in notices(app)), what="notice")
        assert host.engine.llm.model == "openai/test-model"
        assert app.status.model == "openai/test-model" and app.settings.model == "openai/test-model"
        assert "gpt-99-ultra" not in str(app.status.render())
        assert any("Kept openai/test-model" in n for n in notices(app))


async def test_every_collapsed_tool_call_says_what_came_back():
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        host.feed(P.ToolCall("f1", "FindFiles", {"pattern": "**/*.sql"}),
                  P.ToolResult("f1", "FindFiles", True, "models/a.sql\n...",
                               {"kind": "files", "pattern": "**/*.sql", "count": 7981}),
                  P.ToolCall("f2", "ReadFolder", {"dir_path": "."}),
                  P.ToolResult("f2", "ReadFolder", True, "a/\nb.txt",
                               {"kind": "folder", "path": ".", "dirs": 1, "files": 1, "ignored": 0}),
                  P.ToolCall("f3", "SearchText", {"pattern": "orders"}),
                  P.ToolResult("f3", "SearchText", True, "x.sql:1: orders",
                               {"kind": "search", "pattern": "orders", "matches": 12, "files": 3}))
        await settle(pilot)
        text = screen_text(app)
        assert "FindFiles **/*.sql" in text and "⎿ 7,981 files" in text
        assert "⎿ 1 folder, 1 file" in text
        assert "⎿ 12 matches in 3 files" in text


async def test_an_expanded_edit_shows_a_diff_not_escaped_json():
    edit = {"file_path": "etl/load.py", "old_string": "def load(rows):\n    return list(rows)\n",
            "new_string": "def load(rows):\n    return [r for r in rows if r]\n"}
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        host.feed(P.ToolCall("e1", "Edit", edit))
        await settle(pilot)
        app.chat.tool("e1").collapsed = False
        await settle(pilot)
        text = screen_text(app)
        assert "-    return list(rows)" in text and "+    return [r for r in rows if r]" in text
        assert "\\n" not in text and '"old_string"' not in text


async def test_a_binary_file_read_is_not_a_red_failure():
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        host.feed(P.ToolCall("b1", "ReadFile", {"file_path": "logo.png"}),
                  P.ToolResult("b1", "ReadFile", False, "logo.png is a binary file (2.0 KB); its contents are "
                               "not shown.", {"kind": "read", "path": "logo.png", "bytes": 2048, "binary": True}))
        await settle(pilot)
        block = app.chat.tool("b1")
        assert block.state == "info" and not block.has_class("-failed")
        assert "binary file (2.0 KB), contents not shown" in screen_text(app)


async def test_a_partial_hunk_approval_says_which_hunks_were_applied():
    from tests.test_tui_approvals import edit_request, open_modal

    app, host = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot, app)
        host.feed(P.ToolCall("e1", "Edit", {"file_path": "etl/load.py", "old_string": "a", "new_string": "b"}))
        await open_modal(pilot, app, host, edit_request())
        await pilot.press("space", "y")
        await wait_for(pilot, lambda: host.ops, what="a decision")
        host.feed(P.Approval("e1", "approved", "user", "once"))
        await settle(pilot)
        text = screen_text(app)
        assert "approved (applying hunk 2 of 2; skipping hunk 1)" in text
        assert "approved (once)" not in text


async def test_focus_stays_with_the_prompt_and_the_chat_scrolls_from_it():
    app, host = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        for i in range(40):
            host.feed(P.UserMessage(f"message {i}"), P.AssistantMessage(f"answer {i}"))
        host.feed(P.ToolCall("t1", "ReadFile", {"file_path": "x.py"}))
        await settle(pilot)
        assert app.chat.max_scroll_y > 20 and app.chat.scroll_y == app.chat.max_scroll_y
        await pilot.press("tab")  # on an empty prompt: focus stays
        assert app.focused is app.prompt
        bottom = app.chat.scroll_y
        await pilot.press("pageup")
        await settle(pilot)
        assert app.focused is app.prompt and app.chat.scroll_y < bottom
        after_page = app.chat.scroll_y
        await pilot.press("shift+up")
        await settle(pilot)
        assert app.chat.scroll_y == after_page - 1
        await pilot.press("pagedown", "pagedown", "pagedown")
        await settle(pilot)
        assert app.chat.scroll_y == app.chat.max_scroll_y
        # focus somewhere else (a tool block's title): typing still reaches the prompt ...
        app.chat.tool("t1").query_one("CollapsibleTitle").focus()
        await settle(pilot)
        await pilot.press("h", "i")
        assert app.focused is app.prompt and app.prompt.value == "hi"
        # ... and Esc always comes back to it
        app.chat.tool("t1").query_one("CollapsibleTitle").focus()
        await settle(pilot)
        await pilot.press("escape")
        assert app.focused is app.prompt


async def test_the_diff_pane_shows_an_undone_change_as_undone():
    diff = "--- a/etl/load.py\n+++ b/etl/load.py\n@@ -1 +1 @@\n-a\n+b\n"
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        host.feed(P.Diff("etl/load.py", diff, "applied", "e1"))
        await settle(pilot)
        assert "applied" in app.diff_pane.query_one(".diff-file").render().plain
        host.feed(P.Notice("Undid turn 1: restored etl/load.py."), P.Diff("etl/load.py", "", "undone", "undo"))
        await settle(pilot)
        shown = "\n".join(w.render().plain for w in app.diff_pane.query(".diff-file"))
        assert "etl/load.py  undone" in shown and "applied" not in shown


async def test_yolo_needs_an_explicit_confirmation():
    from de_agent.tui.screens.confirm import Confirm

    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        for _ in range(6):
            await pilot.press("shift+tab")
        assert host.mode != "yolo"
        await command(pilot, app, "/mode yolo")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the yolo question")
        assert "Turn on yolo mode?" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: any("stays" in n for n in notices(app)), what="kept")
        assert host.mode != "yolo"
        await command(pilot, app, "/mode yolo")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the yolo question")
        await pilot.press("y")
        await wait_for(pilot, lambda: host.mode == "yolo", what="yolo on")
        assert app.status.mode == "yolo"


async def test_a_running_command_shows_a_spinner_the_time_and_its_live_output():
    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        app.prompt.value = "run the tests"
        await pilot.press("enter")
        host.feed(P.ToolCall("s1", "Shell", {"command": "pytest -q"}), P.Approval("s1", "approved", "user", "once"),
                  *[P.ToolOutput("s1", f"test line {i}\n") for i in range(1, 21)])
        await settle(pilot)
        text = screen_text(app)
        assert "│ test line 20" in text and "│ test line 13" in text and "test line 12" not in text
        status = str(app.status.render())
        assert "Shell pytest -q" in status and "^C stops" in status
        assert any(frame in status for frame in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏") and "0s" in status
        host.feed(P.ToolResult("s1", "Shell", True, "Exit code: 0\n...",
                               {"kind": "shell", "command": "pytest -q", "exit_code": 0, "duration_s": 2.5,
                                "output": "..."}))
        await settle(pilot)
        text = screen_text(app)
        assert "test line 20" not in text and "⎿ exit 0 · 2.5 s" in text


async def test_small_screens_give_empty_side_panes_to_the_chat():
    app, host = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        side, plan, diff = (app.query_one(f"#{name}") for name in ("side", "plan", "diff"))
        assert not side.display and app.chat.region.height >= 16  # both panes empty: all room to the chat
        host.feed(P.PlanUpdated([{"step": "Fix the loader", "status": "in_progress"}]))
        await settle(pilot)
        assert side.display and plan.display and not diff.display
        assert plan.region.width == 80  # the only pane takes the whole width
        await pilot.press("f2")  # hide ...
        await settle(pilot)
        assert not side.display
        await pilot.press("f2")  # ... and show, empty ones included
        await settle(pilot)
        assert side.display and plan.display and diff.display
    app, host = make_app()
    async with app.run_test(size=(120, 40)) as pilot:  # big enough: the panes stay, empty or not
        await started(pilot, app)
        assert app.query_one("#side").display and app.query_one("#diff").display


async def test_token_and_cost_counters_go_on_after_a_resume(repo):
    from de_agent.config import Settings
    from de_agent.frontends.factory import build_engine
    from de_agent.sessions.resume import resume_file
    from de_agent.tui.app import DeAgentApp
    from de_agent.tui.host import EngineHost
    from tests.support.fake_llm import FakeLLM

    settings = Settings(model="openai/test-model", sandbox="none")
    first = build_engine(settings, repo, lambda e: None, llm=FakeLLM([{"text": "hi", "cost": 0.0123}])).engine
    await first.start_turn("hello")
    first.recorder.close()
    host = EngineHost(settings, repo, resume=resume_file(first.recorder.path), llm=FakeLLM([]), check_config=False)
    app = DeAgentApp(settings, repo, host=host, cursor_blink=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.status.session_id == first.session_id, what="resumed", timeout=15)
        await wait_for(pilot, lambda: app.status.tokens == 15, what="restored counters")
        assert app.status.cost == 0.0123 and "$0.0123" in str(app.status.render())


def test_one_cost_format_on_every_screen():
    from de_agent.frontends.plain_render import format_cost as plain_cost
    from de_agent.sessions.cli import format_cost
    from de_agent.tui.widgets.status import cost_text

    for cost in (None, 0.0041, 3.5):
        assert plain_cost(cost) == cost_text(cost) == format_cost(cost)
    assert format_cost(None) == "cost unknown"


WIDE = {"kind": "table", "title": "orders", "columns": [f"column_{i}" for i in range(12)],
        "rows": [[f"r{r}c{c}" for c in range(12)] for r in range(300)]}


async def test_a_wide_table_fits_the_chat_and_opens_whole_in_the_viewer_with_search():
    from textual.widgets import DataTable

    from de_agent.tui.screens.viewer import ResultViewer

    app, host = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        host.feed(P.ToolCall("q1", "RunSQL", {"sql": "select * from orders"}),
                  P.ToolResult("q1", "RunSQL", True, "300 rows", WIDE))
        await settle(pilot)
        app.chat.tool("q1").collapsed = False
        await settle(pilot)
        app.chat.release_anchor()
        app.chat.scroll_to_widget(app.chat.tool("q1").query_one(".tool-result"), top=True, animate=False)
        await settle(pilot)
        text = screen_text(app)
        assert "column_0" in text and "column_4" in text and "column_11" not in text
        assert "column…" not in text  # whole headers: nothing squeezed to a stub
        app.chat.scroll_end(animate=False)
        await settle(pilot)
        assert "more columns: press v (or Ctrl+O) for the full table" in screen_text(app)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultViewer), what="the viewer")
        viewer = app.screen
        table = viewer.query_one(DataTable)
        assert table.row_count == 300 and len(table.columns) == 12
        await pilot.press("slash")
        await pilot.press(*"r250c11", "enter")
        await settle(pilot)
        assert viewer.match == (250, 11) and table.cursor_coordinate == (250, 11)
        assert "match 1 of 1" in screen_text(app)
        await pilot.press("escape", "escape")  # the search box, then the viewer
        await wait_for(pilot, lambda: not isinstance(app.screen, ResultViewer), what="closed")


async def test_v_on_a_focused_call_opens_its_text_result_with_search():
    from textual.widgets import TextArea

    from de_agent.tui.screens.viewer import ResultViewer

    output = "\n".join(f"line {i}: {'needle' if i in (40, 90) else 'hay'}" for i in range(1, 121))
    app, host = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        host.feed(P.ToolCall("r1", "ReadFile", {"file_path": "big.txt"}),
                  P.ToolResult("r1", "ReadFile", True, output, {"kind": "read", "path": "big.txt", "bytes": 99}))
        await settle(pilot)
        app.chat.tool("r1").query_one("CollapsibleTitle").focus()
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultViewer), what="the viewer")
        assert app.prompt.value == ""  # v opened the viewer, it was not typed
        area = app.screen.query_one(TextArea)
        assert area.text == output
        await pilot.press("ctrl+f", *"needle", "enter")
        await settle(pilot)
        assert app.screen.match == (39, 9)
        await pilot.press("enter")  # the box still has focus: Enter is the next match
        await settle(pilot)
        assert app.screen.match == (89, 9) and area.selected_text == "needle"


async def test_at_completes_repository_paths_and_bang_runs_a_command(repo):
    from pathlib import Path

    from de_agent.config import Settings
    from de_agent.tui.app import DeAgentApp
    from tests.support.tui import StubHost

    host = StubHost()
    app = DeAgentApp(Settings(model="openai/test-model"), Path(repo), host=host, cursor_blink=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        await pilot.press(*"fix @etl/lo")
        await wait_for(pilot, lambda: "@etl/load.py" in screen_text(app), what="the path hint")
        await wait_for(pilot, lambda: app.prompt._suggestion == "fix @etl/load.py", what="the suggestion")
        await pilot.press("tab")
        assert app.prompt.value == "fix @etl/load.py" and app.focused is app.prompt
        app.prompt.value = "!ls -la etl"
        await pilot.press("enter")
        await settle(pilot)
        assert host.ops == [P.RunCommand("ls -la etl")] and host.turns == []
        assert app.status.busy


async def test_high_contrast_draws_notices_and_done_steps_at_full_contrast_even_after_a_switch():
    app, host = make_app(theme="dark")
    async with app.run_test(size=(120, 36)) as pilot:
        await started(pilot, app)
        host.feed(P.Notice("a notice worth reading"),
                  P.PlanUpdated([{"step": "Read the loader", "status": "completed"}]))
        await settle(pilot)
        await command(pilot, app, "/theme high-contrast")
        await settle(pilot)
        cells = [seg for strip in app.screen._compositor.render_strips() for seg in strip]
        notice = [s for s in cells if "a notice worth reading" in s.text]
        done = [s for s in cells if "Read the loader" in s.text]
        assert notice and done
        for seg in notice + done:
            assert not seg.style.dim and not seg.style.strike
            assert seg.style.color.get_truecolor().hex.upper() in ("#FFFFFF", "#00FF00")


async def test_light_paints_every_cell_with_its_own_colours_at_start_and_after_a_switch():
    from tests.test_tui_snapshots import mid_task_events

    def unthemed(app) -> list[str]:
        bad = []
        for strip in app.screen._compositor.render_strips():
            for seg in strip:
                st = seg.style
                if seg.text.strip() and (st is None or st.bgcolor is None or st.bgcolor.is_default
                                         or st.color is None or st.color.is_default):
                    bad.append(seg.text)
        return bad

    for start, switch in (("light", None), ("dark", "light")):
        app, host = make_app(theme=start)
        async with app.run_test(size=(120, 36)) as pilot:
            await started(pilot, app)
            host.feed(*mid_task_events(), P.Notice("a notice"),
                      P.ToolResult("t9", "RunSQL", True, "1 row", {"kind": "table", "columns": ["a"], "rows": [[1]]}))
            await settle(pilot)
            if switch:
                await command(pilot, app, f"/theme {switch}")
                await settle(pilot)
            assert app.theme == "light" and unthemed(app) == []
            background = app.screen.styles.background.hex.upper()
            assert background == "#F6F8FA"


async def test_help_and_sessions_read_well_in_a_narrow_chat(monkeypatch):

    app, host = make_app()
    async with app.run_test(size=(80, 30)) as pilot:
        await started(pilot, app)
        await command(pilot, app, "/help")
        await settle(pilot)
        app.chat.release_anchor()
        app.chat.scroll_to_widget(app.chat.entries[-1], top=True, animate=False)
        await settle(pilot)
        text = screen_text(app)
        # every command's help starts on its own line, aligned after the name column, never
        # broken in the middle of the name; wrapped help continues under the help column
        rows = [line for line in text.splitlines() if "/compact [INSTRUCTIONS]" in line]
        assert rows and "summarise" in rows[0]
        assert "/rewind" in text
        infos = [SimpleNamespace(id=f"20250101-12000{i}-abc12{i}", title=f"fix the loader number {i}", turns=i,
                                 model="openai/gpt-4o", usage={"prompt_tokens": 1000, "completion_tokens": 20,
                                                               "cost": None}, parent=None, updated=0) for i in range(3)]
        monkeypatch.setattr("de_agent.sessions.reader.list_sessions", lambda root: (infos, []))
        await command(pilot, app, "/sessions")
        await settle(pilot)
        app.chat.scroll_end(animate=False)
        await settle(pilot)
        text = screen_text(app)
        ids = [line for line in text.splitlines() if "20250101-120001-abc121" in line]
        assert ids and "fix the loader number 1" in ids[0]  # id and title on one line
        lines = text.splitlines()
        row = lines.index(ids[0])
        title_column = ids[0].index("fix the loader number 1")
        assert lines[row + 1].index("1 turn · openai/gpt-4o · 1.0k tokens") == title_column  # hanging indent
        assert "1 turns" not in text


async def test_the_status_bar_says_the_engine_is_starting_until_it_is_ready():
    app, host = make_app()
    host.start = lambda: None  # the engine is slow to come up
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert "starting the engine…" in str(app.status.render())
        host.feed(P.SessionStarted(host.session_id, host.model, host.cwd, host.mode, host.sandbox_name))
        await started(pilot, app)
        await settle(pilot)
        assert "starting" not in str(app.status.render())
