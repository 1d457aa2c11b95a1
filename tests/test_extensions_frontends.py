"""/mcp, /hooks, /skills and custom commands in the TUI (pilot) and the plain REPL."""

from __future__ import annotations

import pytest

from de_agent.config import Settings
from de_agent.frontends import slash
from de_agent.frontends.factory import build_engine
from de_agent.security.extension_approvals import ExtensionApprovals
from de_agent.tui.app import DeAgentApp
from de_agent.tui.palette import DeAgentCommands
from de_agent.tui.widgets.chat import NoticeEntry
from tests.mcp_support import demo_table
from tests.support.fake_llm import FakeLLM
from tests.support.openai_server import ScriptedServer
from tests.support.plain_driver import PlainDriver
from tests.support.tui import settle, wait_for

REVIEW = """---
description: Review a dbt model against the team checklist
argument-hint: MODEL
---
Review the dbt model $ARGUMENTS with the dbt-model-review skill.
"""


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    yield
    slash.set_custom([])


@pytest.fixture
def commands_repo(repo):
    folder = repo / ".de-agent" / "commands"
    (folder / "dbt").mkdir(parents=True)
    (folder / "review.md").write_text(REVIEW)
    (folder / "dbt" / "freshness.md").write_text("Check source freshness for every source.\n")
    ExtensionApprovals(repo).approve_folder("commands", folder)  # the person approved them once
    return repo


def _settings(server, **kw) -> Settings:
    return Settings(model="openai/test-model", api_base=server.url, sandbox="none", max_retries=0,
                    request_timeout_s=10, **kw)


def _notices(app) -> list[str]:
    return [w.text for w in app.chat.entries if isinstance(w, NoticeEntry)]


async def _type(pilot, app, line: str) -> None:
    await wait_for(pilot, lambda: app.host.engine is not None and not app.slash.running, what="idle", timeout=20)
    app.prompt.value = line
    await pilot.press("enter")


async def test_tui_mcp_lists_servers_and_the_first_frame_does_not_wait(repo):
    servers = {"demo": {**demo_table(), "origin": "user"},
               "slow": {**demo_table("--slow", "3"), "origin": "user"}}
    with ScriptedServer([]) as server:
        app = DeAgentApp(_settings(server, mcp_servers=servers), repo, cursor_blink=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.first_frame_at is not None, what="first frame")
            await wait_for(pilot, lambda: app.host.engine is not None, what="engine", timeout=20)
            manager = app.host.engine.extensions.mcp
            assert manager.servers["slow"].status == "starting"  # drawn while it still starts
            await wait_for(pilot, lambda: manager.servers["demo"].status == "ready", what="demo", timeout=30)
            await _type(pilot, app, "/mcp")
            await wait_for(pilot, lambda: any("MCP servers:" in n for n in _notices(app)), what="/mcp")
            shown = next(n for n in _notices(app) if "MCP servers:" in n)
            assert "demo (stdio, user): ready" in shown and "- echo [read-only]: Repeat the text." in shown
            assert "slow (stdio, user):" in shown


async def test_tui_custom_commands_complete_help_palette_and_send(commands_repo):
    with ScriptedServer([{"text": "Reviewed."}]) as server:
        app = DeAgentApp(_settings(server), commands_repo, cursor_blink=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.host.engine is not None, what="engine", timeout=20)
            assert slash.completions("/rev") == ["/review"]
            assert "/dbt:freshness" in slash.completions("/dbt")
            labels = [label for label, _h, _r in DeAgentCommands(app.screen)._actions()]
            assert "/review MODEL" in labels and "/dbt:freshness" in labels
            await _type(pilot, app, "/help")
            await wait_for(pilot, lambda: any("Custom commands:" in n for n in _notices(app)), what="help")
            help_text = next(n for n in _notices(app) if "Custom commands:" in n)
            assert "/review MODEL" in help_text and "Review a dbt model against the team checklist" in help_text
            await _type(pilot, app, "/review fct_orders")
            await wait_for(pilot, lambda: app.turns_finished == 1, what="turn", timeout=20)
            await settle(pilot)
        sent = [m for m in server.requests[0]["messages"] if m["role"] == "user"][-1]["content"]
        system = server.requests[0]["messages"][0]["content"]
    assert sent == "Review the dbt model fct_orders with the dbt-model-review skill."
    assert "- dbt-model-review:" in system and "- safe-backfill:" in system


async def test_tui_hooks_and_skills_commands(repo):
    (repo / ".de-agent").mkdir()
    (repo / ".de-agent" / "config.toml").write_text('[[hooks.Stop]]\ncommand = "true"\n')
    from de_agent.config import load_settings

    with ScriptedServer([]) as server:
        settings = load_settings(repo, {"model": "openai/test-model", "api_base": server.url, "sandbox": "none"})
        app = DeAgentApp(settings, repo, cursor_blink=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await _type(pilot, app, "/hooks")
            await wait_for(pilot, lambda: any(n.startswith("Hooks:") for n in _notices(app)), what="/hooks")
            assert any("NOT approved" in n for n in _notices(app))
            await _type(pilot, app, "/hooks approve")
            await wait_for(pilot, lambda: any("Approved this repository's 1 hook" in n for n in _notices(app)),
                           what="approve")
            await _type(pilot, app, "/skills")
            await wait_for(pilot, lambda: any(n.startswith("Skills:") for n in _notices(app)), what="/skills")
            assert any("incremental-models (built-in)" in n for n in _notices(app))


async def test_plain_custom_command_and_mcp(commands_repo):
    fake = FakeLLM([{"text": "Done."}])

    def factory(settings, root, sink, session_id):
        return build_engine(settings, root, sink, session_id=session_id, llm=fake, record=False)

    settings = Settings(model="fake/model", sandbox="none")
    async with PlainDriver(commands_repo, fake, [], settings=settings, factory=factory) as d:
        d.send("/mcp\r")
        await d.expect("No MCP servers configured")
        d.send("/help\r")
        await d.expect("Custom commands:")
        d.send("/review dim_customers\r")
        await d.expect("Done.")
        d.send("/quit\r")
        assert await d.exit_code() == 0
    assert fake.calls[0][-1]["content"] == "Review the dbt model dim_customers with the dbt-model-review skill."


async def test_plain_repository_commands_wait_for_approval(repo):
    folder = repo / ".de-agent" / "commands"
    folder.mkdir(parents=True)
    (folder / "review.md").write_text(REVIEW)
    fake = FakeLLM([{"text": "Done."}])

    def factory(settings, root, sink, session_id):
        return build_engine(settings, root, sink, session_id=session_id, llm=fake, record=False)

    async with PlainDriver(repo, fake, [], settings=Settings(model="fake/model", sandbox="none"),
                           factory=factory) as d:
        d.send("/review x\r")
        await d.expect(r"Unknown command /review")
        d.send("/commands\r")
        await d.expect(r"Not approved \(this repository\): review\. /commands approve enables them\.")
        d.send("/commands approve\r")
        await d.expect("Approved this repository's custom commands.")
        d.send("/review fct_x\r")
        await d.expect("Done.")
        d.send("/quit\r")
        assert await d.exit_code() == 0
    assert fake.calls[0][-1]["content"] == "Review the dbt model fct_x with the dbt-model-review skill."
