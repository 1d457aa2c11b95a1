"""Specialist files: the shipped set, the person's and the repository's layers, and parsing."""

from __future__ import annotations

import pytest

from de_agent import protocol as P
from de_agent.frontends.plain_questions import answer_from
from de_agent.specialists.catalog import (
    WRITE_TOOLS,
    SpecialistFileError,
    follow_up,
    load_catalog,
    parse_direct,
    parse_specialist,
)
from de_agent.tools.registry import load_tools

SHIPPED = {"analytics-engineer", "data-quality", "orchestration", "streaming", "privacy-governance",
           "sql-performance", "reviewer"}


def test_shipped_specialists_load_and_name_only_real_tools(tmp_path):
    catalog = load_catalog(None, user_dir=tmp_path / "none")
    assert set(catalog.names()) == SHIPPED and not catalog.warnings
    real = {t.name for t in load_tools()}
    for spec in catalog.specialists.values():
        assert set(spec.tools) <= real, spec.name
        assert spec.description and spec.prompt and spec.source == "builtin"
    reviewer = catalog.get("@reviewer")
    assert reviewer is not None and reviewer.read_only and not set(reviewer.tools) & WRITE_TOOLS
    assert not catalog.get("analytics-engineer").read_only


def test_user_specialists_override_and_bad_files_are_reported(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    (user / "reviewer.md").write_text("---\nname: reviewer\ndescription: mine\ntools: [ReadFile, Shell]\n"
                                      "model: openai/gpt-4o-mini\nmax_turns: 3\n---\nMy reviewer.\n")
    (user / "broken.md").write_text("no front matter here")
    catalog = load_catalog(None, user_dir=user)
    mine = catalog.get("reviewer")
    assert mine.tools == ("ReadFile", "Shell") and mine.model == "openai/gpt-4o-mini" and mine.max_turns == 3
    assert mine.source == "user" and not mine.read_only
    assert any("broken.md" in w and "front matter" in w for w in catalog.warnings)


def test_repository_specialist_is_narrowed_and_its_extra_keys_ignored(tmp_path):
    root = tmp_path / "repo"
    folder = root / ".de-agent" / "specialists"
    folder.mkdir(parents=True)
    (folder / "orchestration.md").write_text(
        "---\nname: orchestration\ndescription: ours\ntools: [ReadFile, Edit, LocalShell, WebFetch]\n"
        "approval_mode: yolo\n---\nbody\n")
    catalog = load_catalog(root, user_dir=tmp_path / "none")
    spec = catalog.get("orchestration")
    assert spec.tools == ("ReadFile", "Edit") and spec.untrusted
    assert any("approval_mode" in w for w in catalog.warnings)
    assert any("LocalShell" in w and "WebFetch" in w for w in catalog.warnings)


@pytest.mark.parametrize("text, why", [
    ("---\nname: Bad Name\ndescription: d\ntools: [ReadFile]\n---\n", "name"),
    ("---\nname: ok\ntools: [ReadFile]\n---\n", "description"),
    ("---\nname: ok\ndescription: d\ntools: []\n---\n", "tools"),
    ("---\nname: ok\ndescription: d\ntools: [ReadFile]\nmax_turns: 0\n---\n", "max_turns"),
    ("---\nname: [\n---\n", "YAML"),
])
def test_invalid_specialist_files_say_why(text, why):
    with pytest.raises(SpecialistFileError, match=why):
        parse_specialist(text)


def test_at_name_and_follow_up_lines_only_match_known_specialists(tmp_path):
    catalog = load_catalog(None, user_dir=tmp_path / "none")
    spec, task = parse_direct("@reviewer check the diff\nplease", catalog)
    assert spec.name == "reviewer" and task == "check the diff\nplease"
    assert parse_direct("@nobody do it", catalog) is None and parse_direct("email me@x.com", catalog) is None
    assert follow_up("Done.\n**Handoff:** @sql-performance — cluster orders by day", catalog) == {
        "specialist": "sql-performance", "task": "cluster orders by day"}
    assert follow_up("Done.\nHandoff: @ghost do it", catalog) is None
    assert follow_up("Done. Nothing left.", catalog) is None


def test_plain_answer_maps_numbers_to_option_labels():
    q = P.Question("c1", "Which?", [{"label": "orders"}, {"label": "customers"}], multiple=True)
    assert answer_from("2", q) == "customers"
    assert answer_from("1, 2", q) == "orders, customers"
    assert answer_from("the staging one", q) == "the staging one"
    assert answer_from("  ", q) is None
    single = P.Question("c2", "Which?", [{"label": "a"}, {"label": "b"}])
    assert answer_from("2,1", single) == "b"


def test_child_events_carry_the_specialist_on_the_wire_and_main_ones_do_not():
    child = P.ToolCall("c1", "ReadFile", {}, specialist="reviewer", handoff_id="h1")
    assert child.to_dict()["specialist"] == "reviewer" and child.to_dict()["handoff_id"] == "h1"
    assert "specialist" not in P.ToolCall("c1", "ReadFile", {}).to_dict()
    assert P.event_from_dict(child.to_dict()) == child
    assert {"question", "handoff_started", "handoff_finished"} <= P.PUBLIC_STREAM_TYPES
