"""The plain REPL with specialists: a numbered question, a specialist's approval naming it, its steps
indented under its name, /specialists, and the follow-up line."""

from __future__ import annotations

from types import SimpleNamespace

from de_agent.engine.interact import Delegation
from de_agent.engine.loop import Engine
from de_agent.engine.policy import Policy
from de_agent.specialists.catalog import load_catalog
from de_agent.tools.base import ToolContext
from de_agent.tools.registry import load_tools
from de_agent.workspace import Workspace
from tests.support.fake_llm import FakeLLM
from tests.support.plain_driver import PlainDriver

EDIT = {"file_path": "etl/load.py", "old_string": "def load(rows):\n",
        "new_string": 'def load(rows):\n    """Load rows."""\n'}


def factory_for(llm):
    def build(settings, root, sink, session_id):
        ctx = ToolContext(workspace=Workspace(root), settings=settings)
        engine = Engine(llm=llm, tools=load_tools(), ctx=ctx, policy=Policy(settings.approval_mode, root),
                        sink=sink, session_id=session_id or "plain-1",
                        delegation=Delegation(catalog=load_catalog(root)))
        return SimpleNamespace(engine=engine, sandbox_name="none", notices=[])

    return build


async def test_plain_question_child_approval_nested_steps_and_follow_up(repo):
    llm = FakeLLM([
        {"tool_calls": [{"name": "AskUser", "arguments": {
            "question": "Which function?", "options": [{"label": "count()"}, {"label": "load()"}]}}]},
        {"tool_calls": [{"name": "Handoff", "arguments": {"specialist": "analytics-engineer",
                                                           "task": "Add a docstring to load()"}}]},
        {"tool_calls": [{"name": "Edit", "arguments": EDIT}]},
        {"text": "**Found / changed** etl/load.py"},
        {"text": "Done.\n\nHandoff: @reviewer review etl/load.py"},
    ])
    async with PlainDriver(repo, llm, [], factory=factory_for(llm)) as d:
        d.send("/specialists\r")
        await d.expect(r"@reviewer \(read-only, builtin\)")
        d.send("document a function\r")
        await d.expect(r"\? de-agent asks: Which function\?")
        await d.expect(r"2\. load\(\)")
        d.send("2\r")
        await d.expect("→ load()")
        await d.expect(r"@analytics-engineer \(may edit\) Add a docstring")
        await d.expect(r"\? @analytics-engineer: Edit wants to")
        d.send("y")
        await d.expect(r"│ @analytics-engineer ⎿")
        await d.expect(r"└ @analytics-engineer completed after 2 model call\(s\) · changed etl/load.py")
        await d.expect(r"Next: @reviewer review etl/load.py")
        d.send("\x04")
        await d.exit_code()
    assert '"""Load rows."""' in (repo / "etl" / "load.py").read_text()
    assert "The person answered: load()" in llm.calls[1][-1]["content"]
