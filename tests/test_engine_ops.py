"""The closed engine: every front-end action is an op with a typed answer; errors carry kinds;
declarative tools get generated schemas, validation in the registry, summaries and their own events."""

from __future__ import annotations

import io
import json

from pydantic import Field
from rich.console import Console

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.engine.loop import Engine
from de_agent.engine.policy import Policy
from de_agent.frontends.headless import HeadlessPrinter
from de_agent.frontends.plain_render import PlainRenderer
from de_agent.llm.adapter import ContextOverflowError, LLMError, ModelConfigError, classify_error
from de_agent.tools import load_tools
from de_agent.tools.base import READ, Outcome, Tool, ToolContext, simple_action
from de_agent.tools.plan import UpdatePlan
from de_agent.tools.schema import ToolArgs
from de_agent.workspace import Workspace
from tests.support.fake_llm import FakeLLM


class RecordingLLM(FakeLLM):
    """Also keeps the tool list of every call, and can fail its configuration check."""

    def __init__(self, script, *, bad_models=()):
        super().__init__(script)
        self.tool_lists: list[list[str]] = []
        self.bad_models = set(bad_models)

    def check_config(self) -> None:
        if self.model in self.bad_models:
            raise ModelConfigError(f"unknown model {self.model!r}")

    async def complete(self, messages, tools, on_text=None):
        self.tool_lists.append([t["function"]["name"] for t in tools])
        return await super().complete(messages, tools, on_text)


class CountArgs(ToolArgs):
    table: str = Field(description="The table to count.")
    limit: int | None = Field(None, description="At most this many rows.")


class CountRows(Tool):
    name = "count_rows"
    description = "Count the rows of a table."
    Args = CountArgs
    key_arguments = ("table",)

    async def act(self, args: CountArgs, ctx: ToolContext):
        async def run() -> Outcome:
            return Outcome(True, f"{args.table}: 42 rows (limit {args.limit})")

        return simple_action(READ, f"count {args.table}", run)


def make(tmp_path, script, *, mode="default", approvals=P.Approvals.PERSON, bad_models=()):
    events: list[P.Event] = []
    llm = RecordingLLM(script, bad_models=bad_models)
    ctx = ToolContext(workspace=Workspace(tmp_path), settings=Settings())
    engine = Engine(llm=llm, tools=[UpdatePlan()], ctx=ctx, policy=Policy(mode, tmp_path, approvals),
                    sink=events.append, session_id="s1")
    return engine, llm, events


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


# -- ops with typed answers -------------------------------------------------------------------


async def test_set_model_switches_when_the_check_passes_and_keeps_the_old_one_when_it_fails(tmp_path):
    engine, llm, _ = make(tmp_path, [], bad_models={"nope/model"})
    bad = await engine.request(P.SetModel("nope/model"))
    assert not bad.ok and bad.code == P.ErrorKind.CONFIG and "Kept fake/model" in bad.message
    assert llm.model == "fake/model" and engine.model == "fake/model"
    good = await engine.request(P.SetModel("other/model"))
    assert good.ok and good.value == "other/model" and llm.model == "other/model"


async def test_set_approval_mode_sets_cycles_and_rejects(tmp_path):
    engine, _, _ = make(tmp_path, [])
    assert engine.apply(P.SetApprovalMode("plan")).value == "plan" and engine.mode == "plan"
    assert engine.apply(P.SetApprovalMode(None)).value == "default"  # cycling never reaches yolo
    assert engine.apply(P.SetApprovalMode("yolo")).value == "yolo"  # by name only
    assert engine.apply(P.SetApprovalMode(None)).value == "default"
    wrong = engine.apply(P.SetApprovalMode("reckless"))
    assert not wrong.ok and wrong.code == P.ErrorKind.INVALID_ARGUMENTS and engine.mode == "default"


async def test_ops_that_need_an_idle_engine_answer_busy_during_a_turn(tmp_path):
    engine, _, _ = make(tmp_path, [{"sleep": 30}])
    turn = engine.submit(P.UserTurn("slow"))
    while not engine.busy:
        await turn if turn.done() else None
    answer = await engine.request(P.SetModel("other/model"))
    assert not answer.ok and answer.code == P.ErrorKind.BUSY
    engine.submit(P.Interrupt())
    outcome = await turn
    assert outcome.reason == P.StopReason.INTERRUPTED


async def test_restore_refuses_what_is_not_a_snapshot(tmp_path):
    engine, _, _ = make(tmp_path, [])
    answer = engine.apply(P.RestoreSession({"session_id": "x"}))
    assert not answer.ok and answer.code == P.ErrorKind.INVALID_ARGUMENTS and engine.session_id == "s1"


async def test_compact_without_hooks_is_unavailable(tmp_path):
    engine, _, _ = make(tmp_path, [])
    answer = await engine.request(P.Compact())
    assert not answer.ok and answer.code == P.ErrorKind.UNAVAILABLE


async def test_nobody_to_ask_is_a_policy_value_that_denies(tmp_path):
    engine, _, events = make(tmp_path, [
        {"tool_calls": [{"name": "count_rows", "arguments": {"table": "t"}}]}, {"text": "ok"}],
        approvals=P.Approvals.NOBODY)

    class Asking(CountRows):
        async def act(self, args: CountArgs, ctx: ToolContext):
            action = await super().act(args, ctx)
            action.asks, action.ask_reason = True, "counting needs approval here"
            return action

    engine.register_tool(Asking())
    await engine.request(P.UserTurn("count"))
    approval = of(events, P.Approval)[0]
    assert approval.decision == "denied" and approval.by == "headless"
    result = of(events, P.ToolResult)[0]
    assert result.code == P.ErrorKind.DENIED and "nobody can approve" in result.output


# -- typed errors --------------------------------------------------------------------------------


async def test_failures_carry_their_kind_on_results_and_error_events(tmp_path):
    engine, _, events = make(tmp_path, [
        {"tool_calls": [{"name": "no_such_tool", "arguments": {}},
                        {"name": "update_plan", "arguments": "{not json"},
                        {"name": "update_plan", "arguments": {"plan": [{"step": "a", "status": "done"}]}}]},
        LLMError("the provider had an internal error")])
    outcome = await engine.request(P.UserTurn("go"))
    codes = [r.code for r in of(events, P.ToolResult)]
    assert codes == [P.ErrorKind.UNKNOWN_TOOL, P.ErrorKind.INVALID_ARGUMENTS, P.ErrorKind.INVALID_ARGUMENTS]
    assert "parameter 'plan.0.status'" in of(events, P.ToolResult)[2].output
    error = of(events, P.Error)[0]
    assert error.code == P.ErrorKind.MODEL and outcome.code == P.ErrorKind.MODEL
    assert outcome.reason == P.StopReason.ERROR and not outcome.config_error


def test_stream_json_error_events_have_a_code_and_keep_their_fields():
    out = io.StringIO()
    HeadlessPrinter("stream-json", out, io.StringIO())(P.Error("no API key", P.ErrorKind.CONFIG))
    line = json.loads(out.getvalue())
    assert line == {"type": "error", "message": "no API key", "code": "config"}


def test_llm_errors_are_subclasses_and_classification_is_typed():
    assert isinstance(LLMError("x", config=True), ModelConfigError)
    assert isinstance(LLMError("x", context_overflow=True), ContextOverflowError)
    assert LLMError("x").kind == P.ErrorKind.MODEL and not LLMError("x").config

    class Fake:
        ContextWindowExceededError = type("ContextWindowExceededError", (Exception,), {})
        AuthenticationError = type("AuthenticationError", (Exception,), {})

    retry, error = classify_error(Fake, Fake.AuthenticationError("bad key"))
    assert not retry and isinstance(error, ModelConfigError) and "rejected the API key" in str(error)
    retry, error = classify_error(Fake, Fake.ContextWindowExceededError("too long"))
    assert isinstance(error, ContextOverflowError)


# -- declarative tools ---------------------------------------------------------------------------


def test_generated_schema_says_what_the_hand_written_one_said():
    hand_written = {
        "type": "object",
        "properties": {
            "explanation": {"type": "string", "description": "Why the plan is what it is, or what changed."},
            "plan": {"type": "array", "items": {
                "type": "object",
                "properties": {"step": {"type": "string"},
                               "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]}},
                "required": ["step", "status"]}},
        },
        "required": ["plan"],
    }
    assert UpdatePlan().json_parameters() == hand_written
    optional = CountRows().json_parameters()
    assert optional["properties"]["limit"] == {"type": "integer", "description": "At most this many rows."}
    assert optional["required"] == ["table"]


async def test_a_tool_registered_at_run_time_is_seen_validated_and_summarised(tmp_path):
    engine, llm, events = make(tmp_path, [
        {"text": "before"},
        {"tool_calls": [{"name": "count_rows", "arguments": {"table": "orders", "limit": "5"}},
                        {"name": "count_rows", "arguments": {"limit": 5}}]},
        {"text": "after"}])
    await engine.request(P.UserTurn("one"))
    engine.register_tool(CountRows())
    await engine.request(P.UserTurn("two"))
    assert "count_rows" not in llm.tool_lists[0] and "count_rows" in llm.tool_lists[1]
    calls, results = of(events, P.ToolCall), of(events, P.ToolResult)
    assert calls[0].summary == "orders"
    assert results[0].ok and results[0].output == "orders: 42 rows (limit 5)"
    assert results[0].summary == "orders: 42 rows (limit 5)"
    assert not results[1].ok and results[1].code == P.ErrorKind.INVALID_ARGUMENTS
    assert "parameter 'table' is required" in results[1].output


async def test_the_plan_tool_emits_its_own_event(tmp_path):
    plan = [{"step": "read", "status": "completed"}, {"step": "fix", "status": "in_progress"}]
    engine, _, events = make(tmp_path, [{"tool_calls": [{"name": "update_plan", "arguments": {"plan": plan}}]},
                                        {"text": "ok"}])
    await engine.request(P.UserTurn("plan it"))
    assert of(events, P.PlanUpdated)[0].plan == plan and engine.ctx.state.plan == plan
    types = [e.type for e in events]
    assert types.index("plan_updated") == types.index("tool_result") + 1


def test_profile_data_calls_show_their_path_in_plain_mode():
    profile = next(t for t in load_tools() if t.name == "ProfileData")
    summary = profile.call_summary({"path": "data/orders.parquet"})
    assert summary == "data/orders.parquet"
    buffer = io.StringIO()
    renderer = PlainRenderer(Console(file=buffer, width=100, color_system=None))
    renderer(P.ToolCall("c1", "ProfileData", {"path": "data/orders.parquet"}, summary))
    assert "ProfileData  data/orders.parquet" in buffer.getvalue() and "{" not in buffer.getvalue()


def test_every_generated_schema_equals_the_hand_written_one_it_replaced():
    """tests/fixtures/tool_schemas.json holds the schemas as they were written by hand."""
    from pathlib import Path

    before = json.loads((Path(__file__).parent / "fixtures" / "tool_schemas.json").read_text())
    tools = load_tools()
    assert [t.name for t in tools if t.Args is None] == []  # every built-in tool is declarative
    assert set(before) <= {t.name for t in tools}
    for tool in (t for t in tools if t.name in before):  # tools born declarative had no hand-written one
        seen = tool.schema(None)["function"]
        # "required": [] said by hand is what a generated schema says by leaving it out.
        hand = {k: v for k, v in before[tool.name]["parameters"].items() if v != [] or k != "required"}
        assert seen["parameters"] == hand, tool.name
        assert seen["description"] == before[tool.name]["description"], tool.name
