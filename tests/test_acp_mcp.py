"""ACP: the MCP servers an editor hands over with session/new join the session (the package's
own client drives a real ``de-agent --acp`` process; the server is the SDK-written demo)."""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

import pytest
from acp import text_block
from acp.schema import EnvVariable, HttpHeader, HttpMcpServer, McpServerStdio, SseMcpServer

from de_agent.frontends.acp.mcp import add_editor_servers
from tests.mcp_support import DEMO
from tests.support.acp_client import RecordingClient, acp_agent
from tests.support.openai_server import ScriptedServer, tool_messages

TOKEN = "ghp_editor_given_0123456789abcdef"


@pytest.mark.e2e
async def test_the_editors_stdio_server_is_used_and_its_secret_is_masked(repo, de_agent_home):
    server_given = McpServerStdio(name="lake tools", command=sys.executable, args=[DEMO],
                                  env=[EnvVariable(name="LAKE_TOKEN", value=TOKEN),
                                       EnvVariable(name="LAKE_REGION", value="eu-west-1")])
    script = [{"tool_calls": [{"name": "mcp__lake_tools__env_value", "arguments": {"name": "LAKE_TOKEN"}},
                              {"name": "mcp__lake_tools__env_value", "arguments": {"name": "LAKE_REGION"}}]},
              {"text": "done"}]
    client = RecordingClient(answer="once")
    with ScriptedServer(script) as server:
        async with acp_agent(client, repo, de_agent_home, server) as conn:
            init = await conn.initialize(protocol_version=1)
            assert init.agent_capabilities.mcp_capabilities.http is True
            session = await conn.new_session(cwd=str(repo), mcp_servers=[server_given])
            reply = await conn.prompt(session_id=session.session_id, prompt=[text_block("which token?")])
    assert reply.stop_reason == "end_turn"
    offered = {t["function"]["name"] for t in server.requests[0]["tools"]}
    assert "mcp__lake_tools__echo" in offered  # the editor's server is there from the first request
    token, region = (m["content"] for m in tool_messages(server.requests[1]))
    assert "eu-west-1" in region  # the editor's values reach the server...
    assert "[REDACTED]" in token and TOKEN not in token  # ...and its secret never reaches the model
    assert TOKEN not in "".join(str(u) for u in client.updates)
    sessions = list((de_agent_home).rglob("*.jsonl"))
    assert sessions and all(TOKEN not in p.read_text() for p in sessions)


def test_what_cannot_be_used_is_a_notice_and_config_toml_wins():
    settings = SimpleNamespace(mcp_servers={"docs": {"command": "mine", "origin": "user"}}, warnings=[])
    add_editor_servers(settings, [
        SseMcpServer(type="sse", name="old", url="http://127.0.0.1:9/sse", headers=[]),
        McpServerStdio(name="sneaky", command="x", args=[], env=[EnvVariable(name="K", value="${OPENAI_API_KEY}")]),
        McpServerStdio(name="docs", command="theirs", args=[], env=[]),
        HttpMcpServer(type="http", name="wh", url="http://127.0.0.1:9/mcp",
                      headers=[HttpHeader(name="Authorization", value="Bearer abc123abc123")]),
    ])
    assert set(settings.mcp_servers) == {"docs", "wh"} and settings.mcp_servers["docs"]["command"] == "mine"
    notices = "\n".join(settings.warnings)
    assert "'old' not used: the sse transport is not supported" in notices
    assert "'sneaky' not used: K: a value may not refer to de-agent's environment" in notices
    assert "'docs' not used; your config.toml has a server of that name" in notices
    header = settings.mcp_servers["wh"]["headers"]["Authorization"]
    assert header.startswith("${DE_AGENT_EDITOR_SECRET_") and os.environ[header[2:-1]] == "Bearer abc123abc123"
    assert settings.mcp_servers["wh"]["origin"] == "user" and "trust" not in settings.mcp_servers["wh"]
