"""MCP tools inside the engine: they join the tool list when ready, ask, and are remembered."""

from __future__ import annotations

import asyncio

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.extensions import runtime
from de_agent.frontends.factory import build_engine
from de_agent.security.extension_approvals import ExtensionApprovals
from tests.mcp_support import demo_table
from tests.support.fake_llm import FakeLLM


def _engine(repo, llm, events, mode="default", **table):
    settings = Settings(model="fake/m", sandbox="none", approval_mode=mode,
                        mcp_servers={"demo": {**demo_table(**table), "origin": "user"}})
    parts = build_engine(settings, repo, events.append, llm=llm, record=False)
    return parts.engine


def _close_all():
    for manager in list(runtime._MANAGERS.values()):
        manager.close()
    runtime._MANAGERS.clear()


async def test_the_person_answers_always_and_the_tool_is_trusted_from_then_on(repo):
    events: list[P.Event] = []
    llm = FakeLLM([{"tool_calls": [{"name": "mcp__demo__add", "arguments": {"a": 1, "b": 2}}]}, {"text": "3"},
                   {"tool_calls": [{"name": "mcp__demo__add", "arguments": {"a": 2, "b": 2}}]}, {"text": "4"}])
    engine = _engine(repo, llm, events)
    try:
        task = engine.start_turn("add")
        for _ in range(600):
            asks = [e for e in events if isinstance(e, P.ApprovalRequest)]
            if asks:
                break
            await asyncio.sleep(0.05)
        assert asks[0].kind == "mcp" and asks[0].always_pattern == "mcp__demo__add"
        assert "MCP demo: add" in asks[0].summary
        engine.submit(P.ApprovalDecision(asks[0].call_id, "always"))
        await task
        assert ExtensionApprovals(repo).trusted_tools() == {"mcp__demo__add"}
        result = next(e for e in events if isinstance(e, P.ToolResult))
        assert result.ok and '"sum": 3' in result.output
        await engine.run_turn("again")
        assert len([e for e in events if isinstance(e, P.ApprovalRequest)]) == 1  # not asked again
    finally:
        _close_all()


async def test_plan_mode_runs_only_trusted_read_only_tools(repo):
    events: list[P.Event] = []
    llm = FakeLLM([{"tool_calls": [{"name": "mcp__demo__echo", "arguments": {"text": "hi"}},
                                   {"name": "mcp__demo__add", "arguments": {"a": 1, "b": 1}}]}, {"text": "ok"}])
    engine = _engine(repo, llm, events, mode="plan", trust=True)
    try:
        await engine.run_turn("look")
        results = {e.name: e for e in events if isinstance(e, P.ToolResult)}
        assert results["mcp__demo__echo"].ok and "echo: hi" in results["mcp__demo__echo"].output
        assert not results["mcp__demo__add"].ok and "plan mode runs only MCP tools" in results["mcp__demo__add"].output
        tools = {t["function"]["name"] for t in engine.tool_schemas()}
        assert {"mcp__demo__echo", "mcp__demo__add", "Skill", "ReadFile"} <= tools
    finally:
        _close_all()
