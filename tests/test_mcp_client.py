"""The MCP client against real server processes written with the SDK (stdio and HTTP)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from de_agent.mcp.client import McpManager
from de_agent.mcp.config import ServerConfigError, parse_spec
from de_agent.mcp.tools import render_result
from de_agent.security.extension_approvals import ExtensionApprovals
from de_agent.tools.base import ToolError
from tests.mcp_support import demo_table, free_port, start_http_demo, wait_status


@pytest.fixture
def managers():
    made: list[McpManager] = []

    def make(specs, root: Path, **kw) -> tuple[McpManager, list]:
        notes: list = []
        m = McpManager(specs, root, kw.pop("env_allow", []), notify=lambda t, lvl: notes.append((lvl, t)), **kw)
        made.append(m)
        return m, notes

    yield make
    for m in made:
        m.close()


async def test_stdio_server_starts_in_background_and_its_tools_run(repo, managers):
    m, notes = managers([parse_spec("demo", demo_table())], repo)
    m.start()
    assert m.servers["demo"].status == "starting"  # start() never waits for the server
    assert wait_status(m, "demo") == "ready"
    names = {t.name for t in m.tools()}
    assert {"mcp__demo__echo", "mcp__demo__add", "mcp__demo__picture"} <= names
    echo = next(t for t in m.tools() if t.name == "mcp__demo__echo")
    assert echo.read_only and echo.json_parameters()["properties"]["text"]["type"] == "string"
    assert render_result(await m.call("demo", "echo", {"text": "hi"})).output.startswith("echo: hi")
    assert '"sum": 5' in render_result(await m.call("demo", "add", {"a": 2, "b": 3})).output
    assert any("ready with 10 tool" in t for _l, t in notes)


async def test_images_links_and_errors_become_text_for_the_model(repo, managers):
    m, _ = managers([parse_spec("demo", demo_table())], repo)
    m.start()
    assert wait_status(m, "demo") == "ready"
    picture = render_result(await m.call("demo", "picture", {}))
    assert picture.ok and "[image: image/png, 70 bytes; follows in the next message]" in picture.output
    assert [part["label"] for part in picture.images] == ["image from MCP tool (PNG 1x1)"]
    assert picture.display == {"kind": "mcp", "media": [{"type": "image", "mime_type": "image/png", "bytes": 70}]}
    link = render_result(await m.call("demo", "link", {}))
    assert "[resource link: orders model file:///models/orders.sql — dbt model]" in link.output
    failed = render_result(await m.call("demo", "fail", {}))
    assert not failed.ok and "the catalog is unreachable" in failed.output


async def test_a_server_that_dies_mid_call_is_a_failure_with_its_stderr_not_a_crash(repo, managers):
    m, notes = managers([parse_spec("demo", demo_table())], repo)
    m.start()
    assert wait_status(m, "demo") == "ready"
    with pytest.raises(ToolError, match="died during the call") as err:
        await m.call("demo", "crash", {})
    assert "warehouse connection dropped" in str(err.value)
    assert m.servers["demo"].status == "failed"
    assert m.tools() == []
    warning = [t for lvl, t in notes if lvl == "warning"]
    assert warning and "warehouse connection dropped" in warning[-1]
    with pytest.raises(ToolError, match="not available"):
        await m.call("demo", "echo", {"text": "again"})


def test_a_slow_server_past_its_startup_timeout_fails_with_a_notice(repo, managers):
    m, notes = managers([parse_spec("slow", demo_table("--slow", "30", startup_timeout_s=1))], repo)
    m.start()
    assert wait_status(m, "slow") == "failed"
    assert "did not start within 1 s" in m.servers["slow"].error
    assert any("demo: starting" in t for lvl, t in notes if lvl == "warning")  # the stderr tail


def test_a_slow_server_within_its_timeout_becomes_ready_later(repo, managers):
    m, _ = managers([parse_spec("slow", demo_table("--slow", "1.5"))], repo)
    m.start()
    assert m.servers["slow"].status == "starting"
    assert wait_status(m, "slow") == "ready"


def test_a_server_that_exits_at_start_shows_its_stderr(repo, managers):
    m, notes = managers([parse_spec("bad", demo_table("--crash-on-start"))], repo)
    m.start()
    assert wait_status(m, "bad") == "failed"
    assert any("cannot read profiles.yml" in t for lvl, t in notes if lvl == "warning")
    assert "bad (stdio, user): failed" in m.listing()


def test_a_missing_program_is_a_failure(repo, managers):
    m, _ = managers([parse_spec("gone", {"command": "/nonexistent/mcp-server"})], repo)
    m.start()
    assert wait_status(m, "gone") == "failed"


async def test_streamable_http_server(repo, managers):
    port = free_port()
    proc = start_http_demo(port)
    try:
        m, _ = managers([parse_spec("web", {"url": f"http://127.0.0.1:{port}/mcp", "tools": ["echo", "add"]})], repo)
        m.start()
        assert wait_status(m, "web") == "ready"
        assert {t.name for t in m.tools()} == {"mcp__web__echo", "mcp__web__add"}  # the allow list
        assert render_result(await m.call("web", "echo", {"text": "over http"})).output.startswith("echo: over http")
    finally:
        proc.kill()
        proc.wait()


async def test_stdio_servers_get_the_cleaned_environment(repo, managers, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_PASSWORD", "hunter2hunter2")
    monkeypatch.setenv("DBT_CLOUD_TOKEN", "dbt-token-value-123")
    monkeypatch.setenv("PLAIN_SETTING", "1")
    table = demo_table(env={"DBT_TOKEN": "${DBT_CLOUD_TOKEN}", "DBT_PROFILE": "dev"})
    m, _ = managers([parse_spec("demo", table)], repo)
    m.start()
    assert wait_status(m, "demo") == "ready"
    names = render_result(await m.call("demo", "show_env", {})).output.split()
    assert "WAREHOUSE_PASSWORD" not in names and "DBT_CLOUD_TOKEN" not in names
    assert {"PLAIN_SETTING", "DBT_TOKEN", "DBT_PROFILE"} <= set(names)


def test_deny_list_hides_tools(repo, managers):
    m, _ = managers([parse_spec("demo", demo_table(deny_tools=["crash", "n*"]))], repo)
    m.start()
    assert wait_status(m, "demo") == "ready"
    names = {t.name for t in m.tools()}
    assert "mcp__demo__crash" not in names and "mcp__demo__nap" not in names and "mcp__demo__echo" in names


def test_a_repository_server_waits_for_approval_and_a_change_voids_it(repo, managers):
    table = demo_table(origin="project", trust=True)
    m, notes = managers([parse_spec("repo", table)], repo)
    assert not m.servers["repo"].spec.trust  # trust never comes from the repository
    m.start()
    assert m.servers["repo"].status == "needs approval"
    assert any("/mcp approve repo" in t for _l, t in notes)
    assert "Approved" in m.approve("repo")
    assert wait_status(m, "repo") == "ready"
    # Approved once: the same server starts by itself next time ...
    again, _ = managers([parse_spec("repo", table)], repo)
    again.start()
    assert again.servers["repo"].status == "starting"
    # ... but any change to its table needs a new approval.
    changed, _ = managers([parse_spec("repo", {**table, "args": [*table["args"], "--slow", "0"]})], repo)
    changed.start()
    assert changed.servers["repo"].status == "needs approval"


def test_disabled_servers_do_not_start(repo, managers):
    m, _ = managers([parse_spec("off", demo_table(enabled=False))], repo)
    m.start()
    assert m.servers["off"].status == "disabled" and m._loop is None


@pytest.mark.parametrize("table, message", [
    ({"command": "x", "env": {"API_KEY": "literal-secret"}}, "literal secret"),
    ({"url": "https://h/mcp", "headers": {"Authorization": "Bearer abc"}}, "literal secret"),
    ({"command": "x", "url": "http://h"}, "either command"),
    ({"url": "ftp://h"}, "http"),
    ({"command": "x", "colour": "red"}, "unknown key"),
])
def test_bad_server_tables_are_refused(table, message):
    with pytest.raises(ServerConfigError, match=message):
        parse_spec("s", table)


def test_secret_headers_from_named_variables_are_accepted():
    spec = parse_spec("s", {"url": "https://h/mcp", "headers": {"Authorization": "Bearer ${DBT_TOKEN}"}})
    assert spec.headers["Authorization"] == "Bearer ${DBT_TOKEN}"


def test_trusted_tools_persist_per_repository(repo):
    ExtensionApprovals(repo).trust_tool("mcp__demo__add")
    assert ExtensionApprovals(repo).trusted_tools() == {"mcp__demo__add"}


async def test_a_call_past_tool_timeout_is_a_clear_failure(repo, managers):
    m, _ = managers([parse_spec("demo", demo_table(tool_timeout_s=0.5))], repo)
    m.start()
    assert wait_status(m, "demo") == "ready"
    with pytest.raises(ToolError, match=r"did not answer within 0.5 s \(tool_timeout_s\)"):
        await m.call("demo", "nap", {"seconds": 5})


async def test_close_ends_the_server_processes_even_one_still_starting(repo, managers):
    m, notes = managers([parse_spec("demo", demo_table()), parse_spec("slow", demo_table("--slow", "30"))], repo)
    m.start()
    assert wait_status(m, "demo") == "ready"
    pid = int(render_result(await m.call("demo", "pid", {})).output.strip())
    assert m.servers["slow"].status == "starting"
    await asyncio.to_thread(m.close)
    assert not Path(f"/proc/{pid}").exists()
    assert m.servers["demo"].status == m.servers["slow"].status == "stopped"
    assert not any(lvl == "warning" for lvl, _t in notes)  # closing is not a failure


async def test_an_interrupted_call_leaves_the_server_usable(repo, managers):
    m, _ = managers([parse_spec("demo", demo_table())], repo)
    m.start()
    assert wait_status(m, "demo") == "ready"
    mark = repo / "napping"
    call = asyncio.ensure_future(m.call("demo", "nap", {"seconds": 5, "mark": str(mark)}))
    for _ in range(500):  # cancel once the server is inside the call
        if mark.exists():
            break
        await asyncio.sleep(0.02)
    assert mark.exists(), "the nap never began on the server"
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert m.servers["demo"].status == "ready"
    assert render_result(await m.call("demo", "echo", {"text": "still there"})).output.startswith("echo: still")


def test_an_http_server_that_is_not_listening_fails_with_a_notice(repo, managers):
    m, notes = managers([parse_spec("web", {"url": f"http://127.0.0.1:{free_port()}/mcp", "startup_timeout_s": 20})],
                        repo)
    m.start()
    assert wait_status(m, "web") == "failed"
    assert "ConnectError" in m.servers["web"].error
    assert any("MCP server 'web' failed" in t for lvl, t in notes if lvl == "warning")
