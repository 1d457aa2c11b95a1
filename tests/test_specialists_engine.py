"""AskUser and Handoff in the engine, with an in-process fake model and the real tools."""

from __future__ import annotations

import asyncio
import json

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.engine.interact import Delegation
from de_agent.engine.loop import Engine
from de_agent.engine.policy import Policy
from de_agent.sessions.store import SessionRecorder
from de_agent.specialists.catalog import load_catalog
from de_agent.tools.base import ToolContext
from de_agent.tools.registry import load_tools
from de_agent.workspace import Workspace
from tests.support.fake_llm import FakeLLM

REVIEW = {"specialist": "reviewer", "task": "review etl/load.py"}


def make(repo, script, *, headless=False, mode="default", llm=None, max_depth=1, record=False):
    events: list[P.Event] = []
    ctx = ToolContext(workspace=Workspace(repo), settings=Settings())
    llm = llm or FakeLLM(script)
    recorders: list[SessionRecorder] = []

    def make_recorder(child_id, parent_id, name, call_id):
        rec = SessionRecorder(child_id, repo, "fake/model", parent=parent_id,
                              extra_meta={"specialist": name, "handoff_call_id": call_id})
        recorders.append(rec)
        return rec

    delegation = Delegation(catalog=load_catalog(repo), make_recorder=make_recorder, max_depth=max_depth)
    engine = Engine(llm=llm, tools=load_tools(), ctx=ctx,
                    policy=Policy(mode, repo, P.Approvals.NOBODY if headless else P.Approvals.PERSON),
                    sink=events.append, session_id="parent1", delegation=delegation,
                    recorder=SessionRecorder("parent1", repo, "fake/model") if record else None)
    return engine, llm, events, recorders


def of(events, kind):
    return [e for e in events if e.type == kind]


def tool_names(call_tools):
    return sorted(t["function"]["name"] for t in call_tools)


async def test_ask_user_waits_for_the_answer_and_records_it(repo):
    script = [{"tool_calls": [{"name": "AskUser", "arguments": {
        "question": "Which table?", "options": [{"label": "orders"}, {"label": "customers"}]}}]},
              {"text": "ok"}]
    engine, llm, events, _ = make(repo, script, record=True)
    task = engine.submit(P.UserTurn("dedupe the table"))
    while not of(events, "question"):
        await asyncio.sleep(0.01)
    question = of(events, "question")[0]
    assert question.question == "Which table?" and [o["label"] for o in question.options] == ["orders", "customers"]
    engine.submit(P.AnswerQuestion(question.call_id, "orders"))
    outcome = await task
    assert outcome.reason == "completed"
    result = of(events, "tool_result")[0]
    assert result.ok and "The person answered: orders" in result.output
    assert result.display["answer"] == "orders"
    assert any(m.get("role") == "tool" and "orders" in m["content"] for m in llm.calls[1])
    # The question and the answer are in the session file (the answer as the tool result).
    records = [json.loads(line) for line in engine.recorder.path.read_text().splitlines()]
    kinds = [r["event"]["type"] for r in records if r["kind"] == "event"]
    assert "question" in kinds
    assert any(r["kind"] == "message" and r["message"].get("content") == "The person answered: orders"
               for r in records)


async def test_ask_user_headless_tells_the_model_to_state_its_assumption(repo):
    script = [{"tool_calls": [{"name": "AskUser", "arguments": {"question": "Drop the old table?"}}]},
              {"text": "Assuming we keep it."}]
    engine, llm, events, _ = make(repo, script, headless=True)
    outcome = await engine.request(P.UserTurn("migrate"))
    assert outcome.reason == "completed"
    assert of(events, "question")[0].question == "Drop the old table?"
    assert "state the assumption" in of(events, "tool_result")[0].output.lower()


async def test_handoff_runs_a_read_only_child_with_its_own_tools_and_context(repo):
    script = [{"tool_calls": [{"name": "Handoff", "arguments": REVIEW}]},
              {"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "etl/load.py"}}]},  # child
              {"text": "**Found / changed** nothing wrong.\n**Evidence** read etl/load.py\n**Open risks** none"},
              {"text": "The reviewer found nothing wrong."}]
    engine, llm, events, _ = make(repo, script, record=True)
    outcome = await engine.request(P.UserTurn("review my change"))
    assert outcome.reason == "completed" and outcome.text == "The reviewer found nothing wrong."
    started, finished = of(events, "handoff_started")[0], of(events, "handoff_finished")[0]
    assert started.specialist == finished.specialist == "reviewer" and started.read_only
    assert started.call_id == finished.call_id == of(events, "tool_call")[0].call_id
    child_calls = [e for e in events if e.specialist == "reviewer" and e.type == "tool_call"]
    assert [e.name for e in child_calls] == ["ReadFile"] and child_calls[0].handoff_id == started.call_id
    # The child had its own context (system prompt + task) and only its allowed tools.
    child_messages = llm.calls[1]
    assert child_messages[0]["role"] == "system" and "@reviewer" in child_messages[0]["content"]
    assert child_messages[1] == {"role": "user", "content": "Task: review etl/load.py"}
    assert "review my change" not in json.dumps(child_messages)
    parent_result = [e for e in of(events, "tool_result") if not e.specialist][0]
    assert "Found / changed" in parent_result.output and "@reviewer finished" in parent_result.output
    # The parent's usage includes the child's model calls (4 calls of 10+5 tokens).
    assert engine.usage.prompt_tokens == 40


async def test_child_tools_are_its_allow_list_and_it_cannot_hand_off_deeper(repo):
    seen: list[list[str]] = []

    class Recording(FakeLLM):
        async def complete(self, messages, tools, on_text=None):
            seen.append(tool_names(tools))
            return await super().complete(messages, tools, on_text)

    llm = Recording([{"tool_calls": [{"name": "Handoff", "arguments": {"specialist": "analytics-engineer",
                                                                        "task": "add a test"}}]},
                     {"text": "report"}, {"text": "done"}])
    engine, _, events, _ = make(repo, [], llm=llm)
    await engine.request(P.UserTurn("go"))
    assert "Handoff" in seen[0] and "AskUser" in seen[0]
    assert "Handoff" not in seen[1] and "Edit" in seen[1] and "LocalShell" not in seen[1]


async def test_child_edit_asks_naming_the_specialist_and_the_answer_is_honoured(repo):
    edit = {"file_path": "etl/load.py", "old_string": "def load(rows):\n",
            "new_string": 'def load(rows):\n    """Load rows."""\n'}
    script = [{"tool_calls": [{"name": "Handoff", "arguments": {"specialist": "analytics-engineer",
                                                                 "task": "document load"}}]},
              {"tool_calls": [{"name": "Edit", "arguments": edit}]},
              {"text": "**Found / changed** etl/load.py"}, {"text": "done"}]
    engine, llm, events, _ = make(repo, script)
    task = engine.submit(P.UserTurn("document etl/load.py"))
    while not of(events, "approval_request"):
        await asyncio.sleep(0.01)
    request = of(events, "approval_request")[0]
    assert request.specialist == "analytics-engineer" and request.name == "Edit"
    engine.submit(P.ApprovalDecision(request.call_id, "once"))
    await task
    assert '"""Load rows."""' in (repo / "etl" / "load.py").read_text()
    finished = of(events, "handoff_finished")[0]
    assert finished.changed_files == ["etl/load.py"] and finished.stop_reason == "completed"


async def test_child_edit_denied_by_the_person_is_not_applied(repo):
    before = (repo / "etl" / "load.py").read_text()
    edit = {"file_path": "etl/load.py", "old_string": "def load(rows):\n", "new_string": "def load(r):\n"}
    script = [{"tool_calls": [{"name": "Handoff", "arguments": {"specialist": "analytics-engineer",
                                                                 "task": "rename"}}]},
              {"tool_calls": [{"name": "Edit", "arguments": edit}]}, {"text": "denied"}, {"text": "done"}]
    engine, _, events, _ = make(repo, script)
    task = engine.submit(P.UserTurn("rename"))
    while not of(events, "approval_request"):
        await asyncio.sleep(0.01)
    engine.submit(P.ApprovalDecision(of(events, "approval_request")[0].call_id, "deny"))
    await task
    assert (repo / "etl" / "load.py").read_text() == before
    assert [e.decision for e in of(events, "approval") if e.specialist] == ["denied"]


class Rendezvous(FakeLLM):
    """Children's first model calls wait until both have arrived: only parallel runs get past it."""

    def __init__(self, script):
        super().__init__(script)
        self.arrived = 0
        self.both = asyncio.Event()

    async def complete(self, messages, tools, on_text=None):
        if messages and "specialist of de-agent" in str(messages[0].get("content")):
            self.arrived += 1
            if self.arrived == 2:
                self.both.set()
            await asyncio.wait_for(self.both.wait(), 20)  # sequential runs never get both: TimeoutError
            return await super().complete(messages, tools, on_text)
        return await super().complete(messages, tools, on_text)


async def test_two_read_only_specialists_run_at_the_same_time(repo):
    llm = Rendezvous([{"tool_calls": [
        {"name": "Handoff", "arguments": REVIEW},
        {"name": "Handoff", "arguments": {"specialist": "reviewer", "task": "review etl/__init__.py"}}]},
        {"text": "report A"}, {"text": "report B"}, {"text": "both reviewed"}])
    engine, _, events, _ = make(repo, [], llm=llm)
    outcome = await engine.request(P.UserTurn("review twice"))
    assert outcome.text == "both reviewed"
    assert len(of(events, "handoff_finished")) == 2
    assert all(e.stop_reason == "completed" for e in of(events, "handoff_finished"))
    # Results come back in call order, each with its own report.
    results = [e for e in of(events, "tool_result") if not e.specialist]
    assert [r.call_id for r in results] == [c.call_id for c in of(events, "tool_call") if not c.specialist]


async def test_interrupt_during_a_child_stops_it_cleanly(repo):
    script = [{"tool_calls": [{"name": "Handoff", "arguments": REVIEW}]}, {"sleep": 30, "text": "never"}]
    engine, llm, events, recorders = make(repo, script, record=True)
    task = engine.submit(P.UserTurn("review"))
    while len(llm.calls) < 2:
        await asyncio.sleep(0.01)
    engine.submit(P.Interrupt())
    outcome = await asyncio.wait_for(task, 20)
    assert outcome.reason == "interrupted"
    finished = of(events, "handoff_finished")[0]
    assert finished.stop_reason == "interrupted"
    parent_result = [e for e in of(events, "tool_result") if not e.specialist][0]
    assert not parent_result.ok and parent_result.code == "interrupted"
    # The child's transcript ends its turn; the parent's history answers every call.
    child_file = recorders[0].path.read_text().splitlines()
    assert json.loads(child_file[-1])["kind"] == "turn_end"
    assert json.loads(child_file[-1])["reason"] == "interrupted"
    assert engine.messages[-1]["role"] == "tool"
    assert not engine.busy


async def test_at_name_in_the_prompt_hands_off_directly(repo):
    script = [{"text": "**Found / changed** fine"}]
    engine, llm, events, _ = make(repo, script)
    outcome = await engine.request(P.UserTurn("@reviewer look at etl/load.py"))
    assert len(llm.calls) == 1  # only the child's model call
    assert llm.calls[0][1]["content"] == "Task: look at etl/load.py"
    assert of(events, "handoff_started")[0].specialist == "reviewer"
    assert "fine" in outcome.text


async def test_final_answer_names_the_follow_up_handoff(repo):
    script = [{"text": "Model added.\n\nHandoff: @data-quality add not_null tests on orders.id"}]
    engine, _, events, _ = make(repo, script)
    outcome = await engine.request(P.UserTurn("add the orders model"))
    assert outcome.handoff == {"specialist": "data-quality", "task": "add not_null tests on orders.id"}
    assert of(events, "turn_finished")[0].handoff == outcome.handoff


async def test_unknown_specialist_is_a_result_the_model_reads(repo):
    script = [{"tool_calls": [{"name": "Handoff", "arguments": {"specialist": "wizard", "task": "x"}}]},
              {"text": "ok"}]
    engine, _, events, _ = make(repo, script)
    await engine.request(P.UserTurn("go"))
    result = of(events, "tool_result")[0]
    assert not result.ok and "unknown specialist 'wizard'" in result.output and "reviewer" in result.output


async def test_depth_zero_refuses_handoff(repo):
    script = [{"tool_calls": [{"name": "Handoff", "arguments": REVIEW}]}, {"text": "ok"}]
    engine, _, events, _ = make(repo, script, max_depth=0)
    await engine.request(P.UserTurn("go"))
    result = of(events, "tool_result")[0]
    assert not result.ok and "Cannot hand off further" in result.output
    assert not of(events, "handoff_started")


async def test_a_specialist_hands_off_further_only_within_the_depth(repo, de_agent_home):
    folder = de_agent_home / "specialists"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lead.md").write_text("---\nname: lead\ndescription: delegates reviews\n"
                                    "tools: [ReadFile, Handoff]\n---\nYou delegate.\n")
    script = [{"tool_calls": [{"name": "Handoff", "arguments": {"specialist": "lead", "task": "get a review"}}]},
              {"tool_calls": [{"name": "Handoff", "arguments": REVIEW}]},  # the lead, at depth 1
              {"text": "**Found / changed** fine"},  # the reviewer, at depth 2
              {"text": "the reviewer says fine"},  # the lead's report
              {"text": "all good"}]
    seen: list[list[str]] = []

    class Recording(FakeLLM):
        async def complete(self, messages, tools, on_text=None):
            seen.append(tool_names(tools))
            return await super().complete(messages, tools, on_text)

    engine, llm, events, _ = make(repo, [], max_depth=2, llm=Recording(script))
    outcome = await engine.request(P.UserTurn("review via the lead"))
    assert outcome.text == "all good"
    started = of(events, "handoff_started")
    assert [(e.specialist, e.depth) for e in started] == [("lead", 1), ("reviewer", 2)]
    reviewer_steps = [e for e in events if e.specialist == "reviewer" and e.type == "assistant_message"]
    assert reviewer_steps and reviewer_steps[0].handoff_id == started[1].call_id
    # The lead (depth 1 of 2) was offered Handoff; at the last level nobody is.
    assert "Handoff" in seen[1] and seen[1] == ["Handoff", "ReadFile"]
    assert "Handoff" not in seen[2]


async def test_specialists_that_edit_run_one_at_a_time(repo):
    task = {"specialist": "analytics-engineer", "task": "add a model"}
    script = [{"tool_calls": [{"name": "Handoff", "arguments": task}, {"name": "Handoff", "arguments": task},
                              {"name": "Handoff", "arguments": REVIEW}]},
              {"text": "first"}, {"text": "second"}, {"text": "review"}, {"text": "done"}]
    engine, llm, events, _ = make(repo, script)
    await engine.request(P.UserTurn("two models"))
    order = [(e.type, e.call_id) for e in events if e.type.startswith("handoff_")]
    assert [kind for kind, _ in order] == ["handoff_started", "handoff_finished"] * 3
    assert [call for _, call in order][::2] == [call for _, call in order][1::2]
