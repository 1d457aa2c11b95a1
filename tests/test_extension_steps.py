"""The engine's extension component (engine.extensions): hook verdicts carry the ``blocked``
code, MCP tools enter and leave the tool registry, and custom commands register at run time
and come back from the controller as a request to send."""

from __future__ import annotations

from pathlib import Path

import pytest

from de_agent import protocol as P
from de_agent.config import Settings, load_settings
from de_agent.engine.loop import Engine
from de_agent.engine.policy import Policy
from de_agent.extensions.hooks import HookResult
from de_agent.frontends import replies as R
from de_agent.frontends import slash
from de_agent.frontends.controller import Controller
from de_agent.frontends.factory import build_engine
from de_agent.tools.base import MCP, READ, Action, Outcome, Tool, ToolContext
from de_agent.workspace import Workspace
from tests.support.fake_llm import FakeLLM


class Echo(Tool):
    name = "Echo"
    kind = READ
    parameters = {"type": "object", "properties": {"text": {"type": "string"}}}

    async def prepare(self, args, ctx):
        async def run(_h):
            return Outcome(True, f"echo {args.get('text', '')}")

        return Action(READ, "echo", run)


class Blocker:
    """A hook runner that blocks one event (the real one runs scripts; see test_hooks)."""

    def __init__(self, event: str):
        self.event = event
        self.seen: list[tuple[str, dict]] = []

    def active(self, event, tool_name):
        return [event]

    async def run(self, event, payload, tool_name):
        self.seen.append((event, payload))
        if event == self.event:
            return HookResult(blocked=True, reason=f"no {event} today")
        return HookResult(context=[f"{event} says hi"] if event == "PostToolUse" else [])


class RemoteTool(Tool):
    kind = MCP

    def __init__(self, name: str):
        self.name = name
        self.parameters = {"type": "object", "properties": {}}


class FakeManager:
    def __init__(self):
        self.version = 1
        self.ready = [RemoteTool("mcp__demo__a"), RemoteTool("mcp__demo__b")]

    def starting(self):
        return []

    def tools(self):
        return list(self.ready)


def engine_for(tmp_path: Path, script, events):
    ctx = ToolContext(workspace=Workspace(tmp_path), settings=Settings())
    return Engine(llm=FakeLLM(script), tools=[Echo()], ctx=ctx, policy=Policy("default", tmp_path),
                  sink=events.append, session_id="s1")


async def test_a_pre_tool_use_block_is_a_failed_result_with_the_blocked_code(tmp_path):
    events: list[P.Event] = []
    engine = engine_for(tmp_path, [{"tool_calls": [{"name": "Echo", "arguments": {"text": "x"}}]},
                                   {"text": "ok"}], events)
    engine.extensions.attach(hooks=Blocker("PreToolUse"))
    await engine.run_turn("go")
    result = next(e for e in events if isinstance(e, P.ToolResult))
    assert not result.ok and result.code == P.ErrorKind.BLOCKED
    assert "Blocked by a PreToolUse hook: no PreToolUse today" in result.output


async def test_post_tool_use_context_reaches_the_model_with_the_result(tmp_path):
    events: list[P.Event] = []
    engine = engine_for(tmp_path, [{"tool_calls": [{"name": "Echo", "arguments": {"text": "x"}}]},
                                   {"text": "ok"}], events)
    hooks = Blocker("none")
    engine.extensions.attach(hooks=hooks)
    await engine.run_turn("go")
    result = next(e for e in events if isinstance(e, P.ToolResult))
    assert result.ok and result.output.endswith("[hook context] PostToolUse says hi")
    post = next(p for e, p in hooks.seen if e == "PostToolUse")
    assert post["tool_input"] == {"text": "x"} and post["session_id"] == "s1"


async def test_a_blocked_prompt_ends_the_turn_with_a_blocked_error_and_no_model_call(tmp_path):
    events: list[P.Event] = []
    engine = engine_for(tmp_path, [{"text": "never"}], events)
    engine.extensions.attach(hooks=Blocker("UserPromptSubmit"))
    outcome = await engine.run_turn("go")
    assert outcome.reason == P.StopReason.ERROR and outcome.code == P.ErrorKind.BLOCKED
    error = next(e for e in events if isinstance(e, P.Error))
    assert error.code == P.ErrorKind.BLOCKED and "no UserPromptSubmit today" in error.message
    assert engine.llm.calls == []


def test_mcp_tools_join_and_leave_through_the_registry(tmp_path):
    engine = engine_for(tmp_path, [], [])
    manager = FakeManager()
    engine.extensions.attach(mcp=manager)
    names = [s["function"]["name"] for s in engine.tool_schemas()]
    assert names == ["Echo", "mcp__demo__a", "mcp__demo__b"]
    manager.ready, manager.version = [RemoteTool("mcp__demo__b")], 2  # server a stopped
    assert engine.tools.names() == ["Echo", "mcp__demo__a", "mcp__demo__b"]  # nothing until the next call
    assert [s["function"]["name"] for s in engine.tool_schemas()] == ["Echo", "mcp__demo__b"]
    assert engine.tools.get("mcp__demo__a") is None


@pytest.fixture
def no_custom():
    yield
    slash.set_custom([])


def test_custom_commands_register_and_unregister_at_run_time(no_custom):
    command = slash.SlashCommand("ship", "ship it", prompt="Ship $ARGUMENTS", source="x.md")
    assert slash.register(command) is None
    assert slash.completions("/sh") == ["/ship"] and "/ship" in slash.help_text()
    assert "hidden by a built-in" in (slash.register(slash.SlashCommand("help", "h", prompt="p")) or "")
    assert slash.BY_NAME["help"].prompt is None
    assert slash.unregister("ship") is command and slash.unregister("help") is None
    with pytest.raises(slash.UnknownCommand):
        slash.parse("/ship")
    assert slash.parse("/help") is not None


class Host:
    def __init__(self):
        self.events: list[P.Event] = []

    def on_event(self, event):
        self.events.append(event)

    def replay(self, events):
        pass


async def test_the_controller_answers_a_custom_command_with_its_prompt(repo, de_agent_home, no_custom):
    (de_agent_home / "commands").mkdir()
    (de_agent_home / "commands" / "tidy.md").write_text("---\ndescription: tidy\n---\nTidy $ARGUMENTS.\n")
    host = Host()

    def factory(settings, root, sink, session_id):
        return build_engine(settings, root, sink, session_id=session_id, llm=FakeLLM([]), record=False)

    controller = Controller(Settings(model="fake/m", sandbox="none"), repo, host, factory=factory)
    controller.start()
    try:
        assert await controller.command("/tidy stg_orders") == R.SendPrompt("Tidy stg_orders.", "tidy")
        reply = await controller.command("/commands")
        assert isinstance(reply, R.Say) and "/tidy" in reply.text and "tidy (user)" in reply.text
        reply = await controller.command("/mcp")
        assert isinstance(reply, R.Say) and "No MCP servers configured" in reply.text
        reply = await controller.command("/hooks bogus")
        assert reply == R.Say("Usage: /hooks, or /hooks approve.")
    finally:
        controller.close()


def test_a_repository_may_declare_servers_and_hooks_but_never_trust_them(repo, de_agent_home):
    (repo / ".de-agent").mkdir()
    (repo / ".de-agent" / "config.toml").write_text(
        '[mcp_servers.dbt]\ncommand = "dbt-mcp"\ntrust = true\n\n[[hooks.Stop]]\ncommand = "true"\n')
    settings = load_settings(repo, {"model": "fake/m"})
    assert settings.mcp_servers["dbt"]["origin"] == "project"
    assert settings.hooks["Stop"][0]["origin"] == "project"
    from de_agent.mcp.config import parse_spec

    assert parse_spec("dbt", settings.mcp_servers["dbt"]).trust is False  # only the person trusts


def test_a_broken_extension_table_in_a_repository_is_a_warning(repo, de_agent_home):
    (repo / ".de-agent").mkdir()
    (repo / ".de-agent" / "config.toml").write_text('mcp_servers = "nope"\nmax_turns = 7\n')
    settings = load_settings(repo, {"model": "fake/m"})
    assert settings.mcp_servers == {} and settings.max_turns == 50
    assert any("mcp_servers must be tables" in w for w in settings.warnings)
