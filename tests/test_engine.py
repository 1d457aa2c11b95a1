"""Engine loop unit tests with an in-process fake model."""

from __future__ import annotations

import asyncio

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.engine.loop import Engine
from de_agent.engine.policy import Policy
from de_agent.llm.adapter import LLMError
from de_agent.tools.base import EDIT, READ, Action, Outcome, Tool, ToolContext, ToolError
from de_agent.tools.plan import UpdatePlan
from de_agent.workspace import Workspace
from tests.support.fake_llm import FakeLLM


class Echo(Tool):
    name = "Echo"
    kind = READ
    parameters = {"type": "object", "properties": {"text": {"type": "string"}}}

    async def prepare(self, args, ctx):
        if "text" not in args:
            raise ToolError("parameter 'text' is required")

        async def run(_h):
            return Outcome(True, f"echo: {args['text']}")

        return Action(READ, "echo", run)


class Touch(Tool):
    """An edit-kind tool that records whether it ran."""

    name = "Touch"
    kind = EDIT
    parameters = {"type": "object", "properties": {}}

    def __init__(self):
        self.ran = 0

    async def prepare(self, args, ctx):
        async def run(_h):
            self.ran += 1
            return Outcome(True, "touched")

        return Action(EDIT, "touch", run)


class Slow(Tool):
    """Runs until interrupted; ``started`` is set once it runs (tests wait on it, never on a clock)."""

    name = "Slow"
    kind = READ
    parameters = {"type": "object", "properties": {}}

    def __init__(self):
        self.started = asyncio.Event()

    async def prepare(self, args, ctx):
        async def run(_h):
            self.started.set()
            await asyncio.sleep(30)
            return Outcome(True, "never")

        return Action(READ, "slow", run)


def make_engine(tmp_path, script, *, tools=None, mode="default", headless=True, max_turns=50):
    events: list[P.Event] = []
    ctx = ToolContext(workspace=Workspace(tmp_path), settings=Settings())
    llm = FakeLLM(script)
    engine = Engine(llm=llm, tools=tools or [Echo(), UpdatePlan()], ctx=ctx, policy=Policy(mode, tmp_path, P.Approvals.NOBODY if headless else P.Approvals.PERSON),
                    sink=events.append, max_turns=max_turns, session_id="s1")
    return engine, llm, events


def types(events):
    return [e.type for e in events]


async def test_answer_without_tools_finishes_turn(tmp_path):
    engine, llm, events = make_engine(tmp_path, [{"text": "Hello there"}])
    out = await engine.run_turn("hi")
    assert out.reason == "completed" and out.text == "Hello there"
    assert "".join(e.text for e in events if isinstance(e, P.AssistantDelta)) == "Hello there"
    assert types(events)[-1] == "turn_finished"
    assert llm.calls[0][-1] == {"role": "user", "content": "hi"}


async def test_several_tool_calls_in_one_reply_are_all_answered(tmp_path):
    engine, llm, events = make_engine(tmp_path, [
        {"tool_calls": [{"name": "Echo", "arguments": {"text": "a"}},
                        {"name": "Echo", "arguments": {"text": "b"}},
                        {"name": "Nope", "arguments": {}}]},
        {"text": "all done"},
    ])
    out = await engine.run_turn("go")
    assert out.reason == "completed"
    tool_msgs = [m for m in llm.calls[1] if m["role"] == "tool"]
    assert [m["content"] for m in tool_msgs[:2]] == ["echo: a", "echo: b"]
    assert "Unknown tool 'Nope'" in tool_msgs[2]["content"]
    assert len(tool_msgs) == 3


async def test_bad_json_arguments_become_a_readable_error(tmp_path):
    engine, llm, events = make_engine(tmp_path, [
        {"tool_calls": [{"name": "Echo", "arguments": '{"text": '}]}, {"text": "ok"}])
    await engine.run_turn("go")
    tool_msgs = [m for m in llm.calls[1] if m["role"] == "tool"]
    assert "not valid JSON" in tool_msgs[0]["content"]


async def test_tool_error_is_a_result_not_a_crash(tmp_path):
    engine, llm, events = make_engine(tmp_path, [{"tool_calls": [{"name": "Echo", "arguments": {}}]},
                                                 {"text": "ok"}])
    out = await engine.run_turn("go")
    assert out.reason == "completed"
    result = [e for e in events if isinstance(e, P.ToolResult)][0]
    assert not result.ok and "parameter 'text' is required" in result.output


async def test_max_turns_stops_a_runaway_loop(tmp_path):
    script = [{"tool_calls": [{"name": "Echo", "arguments": {"text": str(i)}}]} for i in range(10)]
    engine, llm, events = make_engine(tmp_path, script, max_turns=3)
    out = await engine.run_turn("loop")
    assert out.reason == "max_turns" and len(llm.calls) == 3
    assert any(isinstance(e, P.Error) and "limit of 3" in e.message for e in events)


async def test_four_identical_calls_stop_the_turn(tmp_path):
    script = [{"tool_calls": [{"name": "Echo", "arguments": {"text": "same"}}]} for _ in range(10)]
    engine, llm, events = make_engine(tmp_path, script)
    out = await engine.run_turn("loop")
    assert out.reason == "repeated_calls"
    assert len(llm.calls) == 4
    assert any(isinstance(e, P.Error) and "4 times in a row" in e.message for e in events)
    # every call the model made still has a result
    calls = [tc["id"] for m in engine.messages if m["role"] == "assistant" for tc in m.get("tool_calls", [])]
    answered = [m["tool_call_id"] for m in engine.messages if m["role"] == "tool"]
    assert calls == answered
    # and every result in the event stream follows its call
    shown = [e.call_id for e in events if isinstance(e, P.ToolCall)]
    assert shown == [e.call_id for e in events if isinstance(e, P.ToolResult)] == calls


async def test_headless_denies_what_would_be_asked_and_model_is_told(tmp_path):
    touch = Touch()
    engine, llm, events = make_engine(tmp_path, [{"tool_calls": [{"name": "Touch", "arguments": {}}]},
                                                 {"text": "could not"}], tools=[touch])
    await engine.run_turn("edit")
    assert touch.ran == 0
    approval = [e for e in events if isinstance(e, P.Approval)][0]
    assert (approval.decision, approval.by) == ("denied", "headless")
    assert "running headless" in [m for m in llm.calls[1] if m["role"] == "tool"][0]["content"]


async def test_auto_edit_mode_applies_edits_without_asking(tmp_path):
    touch = Touch()
    engine, llm, events = make_engine(tmp_path, [{"tool_calls": [{"name": "Touch", "arguments": {}}]}],
                                      tools=[touch], mode="auto-edit")
    await engine.run_turn("edit")
    assert touch.ran == 1
    assert [e.by for e in events if isinstance(e, P.Approval)] == ["policy"]


async def test_plan_mode_refuses_edits(tmp_path):
    touch = Touch()
    engine, llm, events = make_engine(tmp_path, [{"tool_calls": [{"name": "Touch", "arguments": {}}]}],
                                      tools=[touch], mode="plan")
    await engine.run_turn("edit")
    assert touch.ran == 0
    assert "plan mode is read-only" in [e for e in events if isinstance(e, P.ToolResult)][0].output


async def test_interactive_approval_waits_for_decision(tmp_path):
    touch = Touch()
    engine, llm, events = make_engine(tmp_path, [{"tool_calls": [{"name": "Touch", "arguments": {}}]},
                                                 {"tool_calls": [{"name": "Touch", "arguments": {}}]},
                                                 {"text": "ok"}], tools=[touch], headless=False)

    def answer(event):
        events.append(event)
        if isinstance(event, P.ApprovalRequest):
            choice = "once" if touch.ran == 0 else "deny_note"
            asyncio.get_running_loop().call_soon(
                engine.submit, P.ApprovalDecision(event.call_id, choice, note="not that file"))

    engine.sink = answer
    await engine.run_turn("edit twice")
    assert touch.ran == 1
    assert "not that file" in [m for m in llm.calls[2] if m["role"] == "tool"][-1]["content"]


async def test_approve_for_session_is_remembered(tmp_path):
    touch = Touch()
    engine, llm, events = make_engine(tmp_path, [{"tool_calls": [{"name": "Touch", "arguments": {}}]},
                                                 {"tool_calls": [{"name": "Touch", "arguments": {"x": 1}}]},
                                                 {"text": "ok"}], tools=[touch], headless=False)
    asked = []

    def answer(event):
        events.append(event)
        if isinstance(event, P.ApprovalRequest):
            asked.append(event)
            asyncio.get_running_loop().call_soon(engine.submit, P.ApprovalDecision(event.call_id, "session"))

    engine.sink = answer
    await engine.run_turn("edit twice")
    assert touch.ran == 2 and len(asked) == 1


async def test_interrupt_cancels_tool_and_keeps_history_valid(tmp_path):
    engine, llm, events = make_engine(tmp_path, [{"tool_calls": [{"name": "Slow", "arguments": {}},
                                                                 {"name": "Echo", "arguments": {"text": "x"}}]},
                                                 {"text": "after"}], tools=[slow := Slow(), Echo()])
    task = engine.start_turn("slow")
    await asyncio.wait_for(slow.started.wait(), 5)
    assert engine.interrupt()
    out = await asyncio.wait_for(task, 5)
    assert out.reason == "interrupted"
    calls = [tc["id"] for m in engine.messages if m["role"] == "assistant" for tc in m.get("tool_calls", [])]
    answered = [m["tool_call_id"] for m in engine.messages if m["role"] == "tool"]
    assert sorted(calls) == sorted(answered)
    # the session goes on
    out2 = await engine.run_turn("again")
    assert out2.reason == "completed" and out2.text == "after"


async def test_model_error_becomes_error_event(tmp_path):
    engine, llm, events = make_engine(tmp_path, [LLMError("rate limited (gave up after 5 attempts)")])
    out = await engine.run_turn("hi")
    assert out.reason == "error"
    assert [e.message for e in events if isinstance(e, P.Error)] == ["rate limited (gave up after 5 attempts)"]


async def test_plan_update_emits_plan_event(tmp_path):
    plan = [{"step": "read", "status": "completed"}, {"step": "fix", "status": "in_progress"}]
    engine, llm, events = make_engine(tmp_path, [{"tool_calls": [{"name": "update_plan",
                                                                 "arguments": {"plan": plan}}]}, {"text": "ok"}])
    await engine.run_turn("plan")
    updates = [e for e in events if isinstance(e, P.PlanUpdated)]
    assert updates and updates[0].plan == plan


async def test_usage_is_summed_and_unknown_cost_is_none(tmp_path):
    engine, llm, events = make_engine(tmp_path, [{"tool_calls": [{"name": "Echo", "arguments": {"text": "a"}}],
                                                  "cost": 0.5}, {"text": "ok"}])
    await engine.run_turn("x")
    usage = [e for e in events if isinstance(e, P.Usage)]
    assert usage[0].cost == 0.5 and usage[1].cost is None
    assert usage[1].session_prompt_tokens == 20 and usage[1].session_cost is None


def test_events_are_json_serialisable_and_round_trip():
    import json

    ev = P.ToolResult("c1", "ReadFile", True, "x", {"kind": "table"})
    data = json.loads(json.dumps(ev.to_dict()))
    assert data["type"] == "tool_result"
    assert P.event_from_dict(data) == ev


async def test_secret_values_are_redacted_from_events(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-1234567890-secret")
    engine, llm, events = make_engine(tmp_path, [
        {"text": "token is tok-1234567890-secret",
         "tool_calls": [{"name": "Echo", "arguments": {"text": "tok-1234567890-secret"}}]}, {"text": "ok"}])
    await engine.run_turn("x")
    dumped = repr([e.to_dict() for e in events if not isinstance(e, P.AssistantDelta)])
    assert "tok-1234567890-secret" not in dumped and "[REDACTED]" in dumped


async def test_interrupt_while_the_turn_checkpoint_is_written_still_finishes_the_turn(tmp_path):
    import threading

    class SlowCheckpoints:
        def __init__(self):
            self.started, self.release, self.ended = threading.Event(), threading.Event(), False

        def begin_turn(self, turn):
            return "pre"

        def record_changes(self, turn, paths):
            pass

        def end_turn(self, turn):
            self.started.set()
            self.release.wait(5)
            self.ended = True
            return []

    touch, checkpoints = Touch(), SlowCheckpoints()
    engine, llm, events = make_engine(tmp_path, [{"tool_calls": [{"name": "Touch", "arguments": {}}]},
                                                 {"text": "done"}], tools=[touch], mode="auto-edit")
    engine.checkpoints = checkpoints
    task = engine.start_turn("edit")
    await asyncio.to_thread(checkpoints.started.wait, 5)
    assert engine.interrupt()  # Ctrl+C just as the model finished: the snapshot is being written
    checkpoints.release.set()
    out = await asyncio.wait_for(task, 5)  # an outcome, not a CancelledError
    assert out.text == "done" and checkpoints.ended
    assert types(events)[-1] == "turn_finished"


async def test_secrets_with_quotes_or_backslashes_are_redacted_from_events_and_session(tmp_path, monkeypatch):
    from de_agent.sessions.store import SessionRecorder

    secret = 'hunter"2\\pass-word-9876'  # JSON escapes both characters
    ends_in_backslash = "abcdefgh12\\"  # redacting its JSON text left a lone backslash: a crash
    monkeypatch.setenv("MY_DB_PASSWORD", secret)
    monkeypatch.setenv("MY_API_TOKEN", ends_in_backslash)
    engine, llm, events = make_engine(tmp_path, [
        {"tool_calls": [{"name": "Echo", "arguments": {"text": secret}},
                        {"name": "Echo", "arguments": {"text": ends_in_backslash}}]}, {"text": "ok"}])
    engine.switch_session("s1", SessionRecorder("s1", tmp_path, "fake/model", directory=tmp_path / "sessions"))
    await engine.run_turn("x")
    engine.recorder.close()
    calls = [e for e in events if isinstance(e, P.ToolCall)]
    assert [c.arguments for c in calls] == [{"text": "[REDACTED]"}] * 2
    saved = (tmp_path / "sessions" / "s1.jsonl").read_text()
    assert "hunter" not in saved and "abcdefgh12" not in saved and "[REDACTED]" in saved


async def test_interrupt_answers_calls_whose_ids_repeat_an_earlier_reply(tmp_path):
    # Providers that send no call ids get positional ones (call_0, call_1) in every reply.
    engine, llm, events = make_engine(tmp_path, [
        {"tool_calls": [{"id": "call_0", "name": "Echo", "arguments": {"text": "a"}},
                        {"id": "call_1", "name": "Echo", "arguments": {"text": "b"}}]},
        {"tool_calls": [{"id": "call_0", "name": "Slow", "arguments": {}},
                        {"id": "call_1", "name": "Echo", "arguments": {"text": "c"}}]},
        {"text": "after"}], tools=[slow := Slow(), Echo()])
    task = engine.start_turn("go")
    await asyncio.wait_for(slow.started.wait(), 5)
    assert engine.interrupt()
    await asyncio.wait_for(task, 5)
    last = max(i for i, m in enumerate(engine.messages) if m["role"] == "assistant")
    answered = [m["tool_call_id"] for m in engine.messages[last + 1:] if m["role"] == "tool"]
    assert answered == ["call_0", "call_1"]  # the provider rejects a call without its result


async def test_an_empty_reply_does_not_poison_the_history(tmp_path):
    # Providers reject an assistant message with neither content nor tool calls (Mistral: "must
    # have either content or tool_calls"), which would fail every later request of the session.
    engine, llm, events = make_engine(tmp_path, [{"text": ""}, {"text": "fine"}])
    await engine.run_turn("one")
    out = await engine.run_turn("two")
    assert out.text == "fine"
    assert not [m for m in llm.calls[1] if m["role"] == "assistant" and not m.get("content")
                and not m.get("tool_calls")]


async def test_ops_start_turns_and_busy_engine_refuses_a_second(tmp_path):
    engine, llm, events = make_engine(tmp_path, [{"text": "one", "sleep": 0.2}, {"text": "two"}])
    task = engine.submit(P.UserTurn("first"))
    assert task is not None and engine.submit(P.UserTurn("second")) is None
    out = await task
    assert out.text == "one"
    assert any(isinstance(e, P.Notice) and "already running" in e.message for e in events)
    assert (await engine.submit(P.UserTurn("third"))).text == "two"


async def test_undo_op_without_checkpoints_says_so(tmp_path):
    engine, llm, events = make_engine(tmp_path, [])
    result = await engine.submit(P.Undo())
    assert not result.ok and result.code == P.ErrorKind.UNAVAILABLE
    assert "Checkpoints are off" in result.message


async def test_session_write_failure_is_reported_once_and_turn_goes_on(tmp_path):
    class FullDisk:
        def record_event(self, *args):
            raise OSError(28, "No space left on device")

        record_message = begin_turn = end_turn = record_event

    engine, llm, events = make_engine(tmp_path, [{"tool_calls": [{"name": "Echo", "arguments": {"text": "a"}}]},
                                                 {"text": "fine"}])
    engine.switch_session("s1", FullDisk())
    out = await engine.run_turn("x")
    assert out.reason == "completed" and out.text == "fine"
    warnings = [e for e in events if isinstance(e, P.Notice) and "cannot be written" in e.message]
    assert len(warnings) == 1 and "No space left" in warnings[0].message


async def test_a_failing_budget_hook_does_not_end_the_turn(tmp_path):
    class Broken:
        async def before_model_call(self, engine):
            raise RuntimeError("tokenizer exploded")

        async def on_context_overflow(self, engine):
            return False

    engine, llm, events = make_engine(tmp_path, [{"text": "still here"}])
    engine.hooks = Broken()
    out = await engine.run_turn("x")
    assert out.reason == "completed" and out.text == "still here"
    assert any(isinstance(e, P.Notice) and "tokenizer exploded" in e.message for e in events)


async def test_compact_op_is_refused_while_a_turn_runs(tmp_path):
    engine, llm, events = make_engine(tmp_path, [{"text": "slow", "sleep": 0.2}])
    task = engine.submit(P.UserTurn("go"))
    assert engine.submit(P.Compact()) is None
    await task
    assert any(isinstance(e, P.Notice) and "compact after it ends" in e.message for e in events)
