"""``@path`` attachments and ``!command`` in the engine: confinement, .gitignore, the policy
and the sandbox hold exactly as for the model's own reads and Shell calls."""

from __future__ import annotations

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.engine.mentions import attach_mentions, repository_paths, strip_attachments
from de_agent.frontends.factory import build_engine
from de_agent.workspace import Workspace
from tests.support.fake_llm import FakeLLM


def test_a_mentioned_file_is_attached_and_others_are_left_as_typed(repo):
    (repo / ".gitignore").write_text("secret_dir/\n")
    (repo / "secret_dir").mkdir()
    (repo / "secret_dir" / "k.txt").write_text("hidden")
    (repo / ".env").write_text("OPENAI_API_KEY=sk-live")
    (repo.parent / "outside.txt").write_text("outside")
    text = ("fix @etl/load.py and mail me@example.org, see @pytest.fixture, "
            "@secret_dir/k.txt @.env @../outside.txt")
    found = attach_mentions(Workspace(repo), text)
    assert found.attached == ["etl/load.py"]
    assert '<attached_file path="etl/load.py">\ndef load(rows):\n    return list(rows)\n' in found.text
    assert "hidden" not in found.text and "sk-live" not in found.text and "outside" not in found.text.split("\n\n", 1)[1]
    assert any("ignored by .gitignore" in p for p in found.problems)
    assert any("secrets file" in p for p in found.problems)
    assert strip_attachments(found.text) == text
    paths = repository_paths(repo)
    assert "etl/load.py" in paths and not any(p.startswith("secret_dir/") for p in paths)


async def test_the_model_gets_the_attachment_and_the_screen_the_message_as_typed(repo):
    events: list[P.Event] = []
    llm = FakeLLM([{"text": "looked"}])
    engine = build_engine(Settings(sandbox="none"), repo, events.append, llm=llm).engine
    await engine.start_turn("what does @etl/load.py do?")
    sent = llm.calls[0][-1]["content"]
    assert sent.startswith("what does @etl/load.py do?\n\n<attached_file") and "return list(rows)" in sent
    assert [e.text for e in events if isinstance(e, P.UserMessage)] == ["what does @etl/load.py do?"]
    assert "Attached etl/load.py." in [e.message for e in events if isinstance(e, P.Notice)]


async def run(repo, command: str, mode: str = "default"):
    events: list[P.Event] = []
    engine = build_engine(Settings(sandbox="none", approval_mode=mode), repo, events.append, llm=FakeLLM([])).engine
    await engine.submit(P.RunCommand(command))
    return engine, events


async def test_a_bang_command_runs_like_a_shell_call_and_the_model_hears_of_it(repo):
    engine, events = await run(repo, "echo from-the-person > made.txt; cat made.txt")
    assert (repo / "made.txt").read_text() == "from-the-person\n"
    kinds = [e.type for e in events]
    assert kinds.index("tool_call") < kinds.index("approval") < kinds.index("tool_output") < kinds.index("tool_result")
    approval = next(e for e in events if isinstance(e, P.Approval))
    assert approval.decision == "approved" and approval.reason == "typed by you"
    result = next(e for e in events if isinstance(e, P.ToolResult))
    assert result.ok and "from-the-person" in result.output and kinds[-1] == "turn_finished"
    note = engine.messages[-1]["content"]
    assert note.startswith("[de-agent] The user ran this command themselves: `echo from-the-person")


async def test_a_bang_command_meets_the_deny_list_and_plan_mode(repo):
    engine, events = await run(repo, "rm -rf /")
    approval = next(e for e in events if isinstance(e, P.Approval))
    assert approval.decision == "denied" and approval.by == "policy" and "refused in every mode" in approval.reason
    assert not any(isinstance(e, P.ToolOutput) for e in events)
    engine, events = await run(repo, "touch planned.txt", mode="plan")
    assert not (repo / "planned.txt").exists()
    assert next(e for e in events if isinstance(e, P.Approval)).decision == "denied"
