"""How the approval policy treats MCP tools in each mode, and how trust is remembered."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from de_agent.engine.policy import Policy
from de_agent.mcp.tools import McpTool, tool_name
from de_agent.security.extension_approvals import ExtensionApprovals
from de_agent.tools.base import MCP, Action


def _action(*, trusted: bool, read_only: bool) -> Action:
    async def run(_h):  # pragma: no cover - never run here
        raise AssertionError

    return Action(kind=MCP, summary="s", run=run, asks=not trusted, read_only=read_only, ask_reason="calls x")


@pytest.mark.parametrize("mode, trusted, read_only, verdict", [
    ("default", False, True, "ask"),
    ("default", True, False, "allow"),
    ("auto-edit", False, False, "ask"),
    ("auto-edit", True, False, "allow"),
    ("plan", True, True, "allow"),
    ("plan", False, True, "deny"),
    ("plan", True, False, "deny"),
    ("yolo", False, False, "allow"),
])
def test_mcp_verdicts_by_mode(repo, mode, trusted, read_only, verdict):
    decision = Policy(mode, repo).decide("mcp__s__t", {}, _action(trusted=trusted, read_only=read_only))
    assert decision.verdict == verdict
    if verdict == "ask":
        assert decision.always_pattern == "mcp__s__t"


def test_session_and_always_answers_trust_the_tool(repo):
    policy = Policy("default", repo)
    action = _action(trusted=False, read_only=False)
    policy.remember("mcp__s__t", {}, action, "session", "mcp__s__t")
    assert policy.decide("mcp__s__t", {"x": 1}, action).verdict == "allow"
    assert ExtensionApprovals(repo).trusted_tools() == set()
    policy.remember("mcp__s__u", {}, action, "always", "mcp__s__u")
    assert ExtensionApprovals(repo).trusted_tools() == {"mcp__s__u"}


async def test_mcp_tool_action_reflects_server_and_tool_trust(repo):
    remote = SimpleNamespace(name="list models", title=None, description="List dbt models",
                             inputSchema={"type": "object", "properties": {"q": {"type": "string"}}},
                             annotations=SimpleNamespace(readOnlyHint=True))
    manager = SimpleNamespace(trusted_tools=lambda: set())
    tool = McpTool(manager, "dbt", remote, trusted_server=False)
    assert tool.name == "mcp__dbt__list_models" == tool_name("dbt", "list models")
    assert tool.schema()["function"]["parameters"]["properties"]["q"]["type"] == "string"
    action = await tool.prepare({"q": "x"}, None)
    assert action.asks and action.read_only and action.kind == MCP
    manager.trusted_tools = lambda: {"mcp__dbt__list_models"}
    assert not (await tool.prepare({}, None)).asks
    assert not (await McpTool(SimpleNamespace(trusted_tools=set), "dbt", remote, True).prepare({}, None)).asks
