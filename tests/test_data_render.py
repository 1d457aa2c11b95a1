"""Tool displays rendered with rich (plain mode and TUI chat), and the tools' lazy imports."""

from __future__ import annotations

import subprocess
import sys

from rich.console import Console

from de_agent.frontends.render import render_display
from de_agent.tools import BUILTIN, load_tools

DATA_TOOLS = {"ProfileData", "RunSQL", "SQLLineage", "ScanPII", "WebFetch", "GoogleSearch"}


def text_of(display: dict, width: int = 100) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(render_display(display))
    return console.export_text()


def test_table_with_nulls_title_and_note():
    out = text_of({"kind": "table", "title": "RunSQL: select", "columns": ["a", "b"],
                   "rows": [["1", None], ["2", "x"]], "note": "2 rows in 3 ms"})
    assert "RunSQL: select" in out and "2 rows in 3 ms" in out
    assert "NULL" in out and "x" in out


def test_tree_is_indented():
    out = text_of({"kind": "tree", "title": "lineage", "root": {"label": "root", "children": [
        {"label": "child", "children": [{"label": "grandchild"}]}]}})
    lines = [line for line in out.splitlines() if line.strip()]
    root, child, grand = (next(i for i, line in enumerate(lines) if w in line)
                          for w in ("root", "child", "grandchild"))
    indent = [len(lines[i]) - len(lines[i].lstrip(" │├└─")) for i in (root, child, grand)]
    assert indent[0] < indent[1] < indent[2]


def test_plan_text_group_and_unknown_kinds():
    out = text_of({"kind": "group", "items": [
        {"kind": "plan", "plan": [{"step": "profile", "status": "completed"},
                                  {"step": "write model", "status": "in_progress"}]},
        {"kind": "text", "title": "WebFetch x", "text": "hello page"},
    ]})
    assert "[x] profile" in out and "[>] write model" in out and "hello page" in out
    # kinds that are facts about a result, not views (folder, read, mystery...) have no renderable:
    # front ends show their one-line summary instead of raw JSON
    assert render_display({"kind": "mystery", "value": 1}) is None
    assert render_display({"kind": "folder", "path": ".", "dirs": 1, "files": 2}) is None


def test_tools_are_registered_and_import_heavy_libraries_lazily():
    names = {tool.name for tool in load_tools()}
    assert DATA_TOOLS <= names
    modules = [m for m, _ in BUILTIN if m.startswith(("de_agent.tools.data", "de_agent.tools.web"))]
    code = ("import sys, importlib\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "import de_agent.frontends.render\n"
            "bad = [m for m in ('duckdb', 'sqlglot', 'httpx', 'yaml', 'textual') if m in sys.modules]\n"
            "print(bad)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


async def test_policy_runs_reads_and_asks_for_writes_and_network(repo):
    from de_agent.engine.policy import Policy
    from de_agent.tools.data.sql import RunSQL
    from de_agent.tools.web import WebFetch
    from tests.data_fixtures import context

    ctx = context(repo)
    read = await RunSQL().prepare({"sql": "SELECT 1"}, ctx)
    write = await RunSQL().prepare({"sql": "CREATE TABLE t AS SELECT 1"}, ctx)
    fetch = await WebFetch().prepare({"url": "https://example.com/"}, ctx)
    default, plan = Policy("default", repo), Policy("plan", repo)
    assert default.decide("RunSQL", {}, read).verdict == "allow"
    assert plan.decide("RunSQL", {}, read).verdict == "allow"
    decision = default.decide("RunSQL", {}, write)
    assert decision.verdict == "ask" and "CREATE" in decision.reason
    assert plan.decide("RunSQL", {}, write).verdict == "deny"
    assert default.decide("WebFetch", {}, fetch).verdict == "ask"
    assert Policy("yolo", repo).decide("WebFetch", {}, fetch).verdict == "allow"
