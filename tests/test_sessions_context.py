"""Project instructions (AGENTS.md) and saved memory in the system prompt; the SaveMemory tool."""

from __future__ import annotations

import os

from de_agent import paths
from de_agent.config import Settings
from de_agent.frontends.factory import build_engine
from de_agent.sessions import context
from de_agent.tools.base import ToolContext, ToolError
from de_agent.tools.memory import SaveMemory
from de_agent.workspace import Workspace


def test_agents_files_root_first_down_to_cwd_only(repo):
    (repo / "AGENTS.md").write_text("Use ruff.\n")
    (repo / "etl" / "AGENTS.md").write_text("ETL code uses pandas 2.\n")
    (repo / "docs").mkdir()
    (repo / "docs" / "AGENTS.md").write_text("Docs rules.\n")
    section = context.project_sections(repo, repo / "etl")[0]
    assert section.index("Use ruff.") < section.index("ETL code uses pandas 2.")
    assert "## AGENTS.md" in section and "## etl/AGENTS.md" in section
    assert "Docs rules." not in section
    # from the root only the root file
    assert "ETL code" not in context.project_sections(repo, repo)[0]
    # a working folder outside the repository reads only the root's file
    assert "Use ruff." in context.project_sections(repo, repo.parent)[0]


def test_engine_started_in_a_subfolder_reads_its_agents_file(repo, monkeypatch):
    (repo / "AGENTS.md").write_text("Use ruff.\n")
    (repo / "etl" / "AGENTS.md").write_text("ETL code uses pandas 2.\n")
    monkeypatch.chdir(repo / "etl")  # every front end builds its engine without naming cwd
    prompt = build_engine(Settings(model="openai/test-model"), repo, lambda e: None,
                          record=False).engine.system_prompt
    assert "Use ruff." in prompt and "ETL code uses pandas 2." in prompt


def test_agents_text_is_capped_and_the_cap_is_stated(repo):
    (repo / "AGENTS.md").write_text("x" * (context.AGENTS_CAP + 500))
    (repo / "etl" / "AGENTS.md").write_text("never seen")
    section = context.project_sections(repo, repo / "etl")[0]
    assert section.count("x") >= context.AGENTS_CAP - 10
    assert "capped at 24,000 characters" in section
    assert "Not loaded: etl/AGENTS.md" in section and "never seen" not in section


def test_agents_symlink_out_of_the_repository_is_not_read(repo, tmp_path):
    secret = tmp_path / "outside.md"
    secret.write_text("SECRET OUTSIDE")
    os.symlink(secret, repo / "AGENTS.md")
    assert context.project_sections(repo, repo) == []


def test_no_agents_and_no_memory_means_no_sections(repo):
    assert context.project_sections(repo, repo) == []


async def test_save_memory_project_and_global_then_loaded_in_later_sessions(repo, tmp_path):
    tool = SaveMemory()
    ctx = ToolContext(workspace=Workspace(repo), settings=Settings())
    action = await tool.prepare({"fact": "Tests run with  `make test`."}, ctx)
    assert not context.memory_file(repo).exists()  # nothing happens before the policy allows it
    out = await action.run(None)
    assert out.ok and "Remembered for this repository" in out.output
    again = await (await tool.prepare({"fact": "Tests run with `make test`."}, ctx)).run(None)
    assert "Already remembered" in again.output
    await (await tool.prepare({"fact": "I prefer polars.", "scope": "global"}, ctx)).run(None)
    project_file = paths.memory_dir() / "projects" / f"{paths.repo_key(repo)}.md"
    assert project_file.read_text().count("make test") == 1
    assert "I prefer polars." in (paths.memory_dir() / "global.md").read_text()

    other = tmp_path / "other"
    other.mkdir()
    assert "I prefer polars." in context.project_sections(other, other)[0]
    assert "make test" not in context.project_sections(other, other)[0]

    parts = build_engine(Settings(model="openai/test-model"), repo, lambda e: None, record=False)
    prompt = parts.engine.system_prompt
    assert "# Saved memory" in prompt and "Tests run with `make test`." in prompt and "I prefer polars." in prompt
    assert "SaveMemory" in [t.name for t in parts.engine.tools]
    shown = context.show_memory(repo)
    assert "make test" in shown and "polars" in shown and str(project_file) in shown


async def test_save_memory_rejects_bad_input_and_its_description_restricts_use(repo):
    tool = SaveMemory()
    ctx = ToolContext(workspace=Workspace(repo), settings=Settings())
    for args, message in (({}, "'fact' is required"), ({"fact": "   "}, "blank"),
                          ({"fact": "x" * 2000}, "keep it under"), ({"fact": "a", "scope": "team"}, "scope")):
        try:
            await tool.prepare(args, ctx)
        except ToolError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"accepted {args}")
    assert "ONLY when the person explicitly asks" in tool.description
    assert tool.kind == "memory"


def test_memory_cap_keeps_the_newest_facts_and_says_so(repo):
    for i in range(600):
        context.append_fact(repo, f"fact number {i:04d} " + "y" * 20)
    section = context.project_sections(repo, repo)[0]
    assert "fact number 0599" in section and "fact number 0000" not in section
    assert "older fact(s) not loaded" in section and len(section) < context.MEMORY_CAP + 500


def test_show_memory_when_empty(repo):
    assert "nothing saved" in context.show_memory(repo)
