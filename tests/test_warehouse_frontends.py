"""/queries in plain mode and the TUI, on the real engine, after a RunSQL on the test PostgreSQL server."""

from __future__ import annotations

from de_agent.config import Settings
from de_agent.tools.data.sql import RunSQL
from de_agent.tui.app import DeAgentApp
from tests.support.engines import PASSWORD, PASSWORD_ENV
from tests.support.fake_llm import FakeLLM
from tests.support.openai_server import ScriptedServer
from tests.support.plain_driver import PlainDriver
from tests.support.tui import wait_for

QUERY = "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status"


def connections(pg) -> dict:
    return {"wh": {"url": pg.url(), "password_env": PASSWORD_ENV}}


async def test_plain_queries_lists_the_ledger(repo, postgres_server, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    settings = Settings(model="fake/model", connection="wh")
    settings.connections = connections(postgres_server)
    llm = FakeLLM([{"tool_calls": [{"name": "RunSQL", "arguments": {"sql": QUERY}}]}, {"text": "three statuses"}])
    async with PlainDriver(repo, llm, [RunSQL()], settings=settings) as d:
        d.send("/queries\r")
        await d.expect("No warehouse queries in this session yet.")
        d.send("count by status\r")
        await d.expect("three statuses")
        d.send("/queries\r")
        shown = await d.expect(r"--export-queries test-session")
        shown += await d.expect(r"GROUP BY status")
    assert "wh" in shown and "ok" in shown and PASSWORD not in d.output


async def test_tui_queries_and_result_table(repo, postgres_server, monkeypatch):
    from de_agent.tui.widgets.chat import NoticeEntry

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    with ScriptedServer([{"tool_calls": [{"name": "RunSQL", "arguments": {"sql": QUERY, "connection": "wh"}}]},
                         {"text": "done"}]) as server:
        settings = Settings(model="openai/test-model", api_base=server.url, sandbox="none", max_retries=0,
                            request_timeout_s=10, approval_mode="default")
        settings.connections = connections(postgres_server)
        app = DeAgentApp(settings, repo, cursor_blink=False)
        async with app.run_test(size=(140, 40)) as pilot:
            await wait_for(pilot, lambda: app.host.engine is not None, what="engine", timeout=15)
            app.prompt.value = "count by status"
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.turns_finished >= 1, what="turn", timeout=60)
            app.prompt.value = "/queries"
            await pilot.press("enter")
            await wait_for(pilot, lambda: any("GROUP BY status" in w.text for w in app.chat.entries
                                              if isinstance(w, NoticeEntry)), what="/queries", timeout=15)
    assert "refunded" in str(server.requests[1]["messages"][-1]["content"])
