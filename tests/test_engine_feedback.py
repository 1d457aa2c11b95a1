"""What the engine tells people and the model while work goes on: live command output and
the wording of a denial with a note."""

from __future__ import annotations

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.frontends.factory import build_engine
from tests.support.fake_llm import FakeLLM


async def test_a_running_command_streams_its_output_before_the_result(repo):
    events: list[P.Event] = []
    script = [{"tool_calls": [{"name": "Shell", "arguments": {"command": "for i in 1 2 3; do echo step$i; sleep 0.1; done"}}]},
              {"text": "ran"}]
    settings = Settings(approval_mode="yolo", sandbox="none")
    engine = build_engine(settings, repo, events.append, approvals=P.Approvals.NOBODY, llm=FakeLLM(script)).engine
    await engine.start_turn("run it")
    live = [e for e in events if isinstance(e, P.ToolOutput)]
    result = next(i for i, e in enumerate(events) if isinstance(e, P.ToolResult))
    assert live and all(events.index(e) < result for e in live)
    assert "".join(e.text for e in live) == "step1\nstep2\nstep3\n"
    engine.recorder.close()
    assert "tool_output" not in engine.recorder.path.read_text()  # live output is never recorded


async def test_a_denial_note_is_a_sentence_of_its_own(repo):
    events: list[P.Event] = []
    llm = FakeLLM([{"tool_calls": [{"name": "Shell", "arguments": {"command": "touch x"}}]}, {"text": "ok"}])
    engine = build_engine(Settings(sandbox="none"), repo, events.append, llm=llm).engine

    def answer(event: P.Event) -> None:
        events.append(event)
        if isinstance(event, P.ApprovalRequest):
            engine.submit(P.ApprovalDecision(event.call_id, "deny_note", note="use duckdb instead"))

    engine.sink = answer
    await engine.start_turn("make x")
    told = [m["content"] for m in llm.calls[1] if m["role"] == "tool"][0]
    assert "The user said: use duckdb instead. Do not repeat it" in told
