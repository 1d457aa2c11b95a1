"""Context budget: trimming old tool outputs, automatic and on-demand compaction, overflow retry."""

from __future__ import annotations

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.engine.loop import Engine
from de_agent.engine.policy import Policy
from de_agent.sessions.budget import ContextBudget, trim_tool_outputs
from de_agent.sessions.compact import compact, render_transcript
from de_agent.sessions.reader import list_sessions, load_session
from de_agent.sessions.store import SessionRecorder
from de_agent.tools.base import READ, Action, Outcome, Tool, ToolContext
from de_agent.tools.plan import UpdatePlan
from de_agent.workspace import Workspace
from tests.support.fake_llm import FakeLLM, overflow
from tests.test_engine import Echo

PLAN = [{"step": "profile the data", "status": "completed"}, {"step": "fix the join", "status": "in_progress"}]


def make_engine(root, script, window=2000):
    events: list[P.Event] = []
    ctx = ToolContext(workspace=Workspace(root), settings=Settings(context_window=window))
    engine = Engine(llm=FakeLLM(script), tools=[Echo(), UpdatePlan(), Big()], ctx=ctx, policy=Policy("default", root, P.Approvals.NOBODY),
                    sink=events.append, session_id="20260101-000000-parent",
                    recorder=SessionRecorder("20260101-000000-parent", root, "fake/model"), hooks=ContextBudget())
    return engine, events


class Big(Tool):
    """Returns ``size`` characters of output (about size/4 tokens in these tests)."""

    name = "Big"
    kind = READ
    parameters = {"type": "object", "properties": {"size": {"type": "integer"}}}

    async def prepare(self, args, ctx):
        async def run(_h):
            return Outcome(True, f"out{args['size']}:" + "z" * args["size"])

        return Action(READ, "big", run)


def echo(n, size):
    return {"name": "Big", "arguments": {"size": size + n}}


def test_trim_keeps_head_and_tail_and_spares_unseen_results():
    messages = [{"role": "user", "content": "go"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "a", "function": {"name": "X"}}]},
                {"role": "tool", "tool_call_id": "a", "content": "HEAD" + "m" * 10_000 + "TAIL"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "b", "function": {"name": "X"}}]},
                {"role": "tool", "tool_call_id": "b", "content": "n" * 10_000}]
    assert trim_tool_outputs(messages) == 1
    old = messages[2]["content"]
    assert old.startswith("HEAD") and old.endswith("TAIL") and "de-agent trimmed" in old and len(old) < 3000
    assert messages[4]["content"] == "n" * 10_000  # the model has not read it yet
    assert trim_tool_outputs(messages) == 0  # never trimmed twice


async def test_old_huge_output_is_trimmed_before_compacting(repo):
    # window 4000 tokens, compaction at 3200; outputs count about 4 characters per token here
    engine, events = make_engine(repo, [{"tool_calls": [echo(1, 8000)]}, {"text": "read it"},
                                        {"tool_calls": [echo(2, 6000)]}, {"text": "ok"}], window=4000)
    await engine.run_turn("read the big thing")
    await engine.run_turn("next")
    assert any(isinstance(e, P.Notice) and "Trimmed 1 long earlier tool output" in e.message for e in events)
    sent = engine.llm.calls[-1]
    assert "de-agent trimmed" in [m for m in sent if m["role"] == "tool"][0]["content"]
    assert len([m for m in sent if m["role"] == "tool"][1]["content"]) > 6000  # not read yet: whole
    assert engine.session_id == "20260101-000000-parent"  # no compaction was needed
    # the file keeps the whole output
    assert len(load_session(engine.recorder.path).messages[2]["content"]) > 8000


async def test_auto_compaction_at_80_percent_carries_plan_and_links_parent(repo):
    engine, events = make_engine(repo, [
        {"tool_calls": [{"name": "update_plan", "arguments": {"plan": PLAN}}, echo(1, 2500), echo(2, 2500)]},
        {"text": "Found the bad join in etl/load.py."},
        {"text": "SUMMARY: the join in etl/load.py drops rows; next, fix it."},  # the summarisation call
        {"text": "Fixed."},
    ])
    await engine.run_turn("why are rows missing")  # about 1,500 tokens: under 80% of 2,000
    assert engine.session_id == "20260101-000000-parent"
    parent_path = engine.recorder.path
    engine.messages[-1]["content"] += " " + "q" * 1200  # the conversation grows past 1,600 tokens
    await engine.run_turn("fix it then")
    summarise_call, after = engine.llm.calls[2], engine.llm.calls[3]
    assert "Summarise" in summarise_call[0]["content"] or "summarising" in summarise_call[0]["content"]
    assert "why are rows missing" in summarise_call[1]["content"]
    assert engine.session_id != "20260101-000000-parent"
    told = after[-1]["content"]
    assert after[-1]["role"] == "user" and "compacted" in told
    assert "SUMMARY: the join in etl/load.py drops rows" in told
    assert "- [completed] profile the data\n- [in_progress] fix the join" in told
    assert "## Request in progress\nfix it then" in told
    assert len(after) == 1  # the earlier messages were replaced
    notice = [e.message for e in events if isinstance(e, P.Notice) and "Context compacted" in e.message]
    assert notice and "parent 20260101-000000-parent" in notice[0]
    engine.recorder.close()
    child = load_session(engine.recorder.path)
    assert child.meta["parent"] == "20260101-000000-parent" and child.meta["plan"] == PLAN
    assert child.plan == PLAN and child.turns == 1 and child.open_turn is None
    assert child.messages[0]["content"] == told and child.messages[-1]["content"] == "Fixed."
    parent = load_session(parent_path)
    assert any("continues as" in e.get("message", "") for e in parent.events)
    assert parent.open_turn is None
    infos, _ = list_sessions(repo)
    assert infos[0].id == engine.session_id and infos[0].parent == "20260101-000000-parent"


async def test_context_overflow_error_compacts_and_retries_once(repo):
    engine, events = make_engine(repo, [
        {"tool_calls": [echo(1, 10)]}, {"text": "first done"},
        overflow(), {"text": "short summary"}, {"text": "answered after compaction"},
    ], window=1_000_000)
    await engine.run_turn("one")
    out = await engine.run_turn("two")
    assert out.reason == "completed" and out.text == "answered after compaction"
    assert "short summary" in engine.llm.calls[-1][0]["content"]
    assert not any(isinstance(e, P.Error) for e in events)


async def test_overflow_twice_is_an_error_not_a_crash(repo):
    engine, events = make_engine(repo, [{"text": "hi"}, overflow(), {"text": "sum"}, overflow()],
                                 window=1_000_000)
    await engine.run_turn("one")
    out = await engine.run_turn("two")
    assert out.reason == "error"
    assert any(isinstance(e, P.Error) and "context" in e.message for e in events)


async def test_manual_compact_with_instructions_and_failed_summary_fallback(repo):
    from de_agent.llm.adapter import LLMError

    engine, events = make_engine(repo, [{"text": "answer one"}, {"text": "the summary"}, {"text": "after"},
                                        LLMError("provider down")], window=1_000_000)
    await engine.run_turn("first request")
    assert await compact(engine, "focus on the SQL")
    assert "focus on the SQL" in engine.llm.calls[1][1]["content"]
    assert "Request in progress" not in engine.messages[0]["content"]
    await engine.run_turn("second request")
    assert engine.llm.calls[2][0]["content"].count("the summary") == 1
    assert await compact(engine)
    assert "could not write a summary" in engine.messages[0]["content"]
    assert "- Request: second request" in engine.messages[0]["content"]
    assert any(isinstance(e, P.Notice) and e.level == "warning" and "provider down" in e.message for e in events)


async def test_nothing_to_compact(repo):
    engine, events = make_engine(repo, [])
    assert not await compact(engine)
    assert "Nothing to compact" in events[-1].message


def test_transcript_keeps_first_request_and_newest_messages():
    messages = [{"role": "user", "content": "FIRST"}] + [
        {"role": "assistant", "content": f"answer {i} " + "w" * 100} for i in range(100)]
    text = render_transcript(messages, 2000)
    assert text.startswith("PERSON: FIRST") and "answer 99" in text and "answer 0 " not in text
    assert "earlier messages omitted" in text and len(text) < 2300


async def test_compaction_whose_new_file_cannot_be_written_says_so(repo, monkeypatch):
    engine, events = make_engine(repo, [{"text": "answer one"}, {"text": "the summary"}, {"text": "after"}],
                                 window=1_000_000)
    await engine.run_turn("first request")

    def full_disk(self, title):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SessionRecorder, "open", full_disk)
    assert await compact(engine)
    assert engine.recorder is None
    assert any(isinstance(e, P.Notice) and "no longer saved" in e.message and "No space left" in e.message
               for e in events)
    out = await engine.run_turn("second request")  # the conversation goes on
    assert out.text == "after"
