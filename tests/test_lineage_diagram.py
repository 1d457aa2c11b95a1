"""SQLLineage diagrams: Graphviz SVG/PNG when `dot` is installed, Mermaid text otherwise;
writing the file is an edit that the policy asks about."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from de_agent.engine.policy import Policy
from de_agent.tools.base import EDIT, ToolError
from de_agent.tools.data.helpers import diagram
from de_agent.tools.data.lineage import SQLLineage
from tests.data_fixtures import context, write_dbt_project
from tests.support.cli import cli_env, run_cli, stream_events
from tests.support.openai_server import ScriptedServer

SQL = "create table mart.orders as select o.id, c.name from raw.orders o join raw.customers c on o.cid = c.id"


async def prepared(repo, **args):
    action = await SQLLineage().prepare(args, context(repo))
    assert action.kind == EDIT
    assert Policy("default", repo).decide("SQLLineage", args, action).verdict == "ask"
    return action


async def test_dbt_graph_as_svg_with_graphviz(repo):
    assert diagram.find_dot(), "Graphviz dot must be installed for this test (.ci/run installs graphviz)"
    write_dbt_project(repo)
    action = await prepared(repo, dir_path="shop", format="svg", output_path="docs/lineage.svg")
    assert action.changes[0].file_path == "docs/lineage.svg"
    assert "Lineage diagram (svg) to be written" in action.changes[0].diff
    assert not (repo / "docs" / "lineage.svg").exists()  # nothing written before approval
    outcome = await action.run(None)
    assert outcome.ok and outcome.changed == ["docs/lineage.svg"]
    svg = (repo / "docs" / "lineage.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for name in ("stg_orders", "fct_orders", "customer_ltv", "orders (source)"):
        assert name in svg
    assert svg.count('class="edge"') == 9
    path, diff = outcome.applied_diffs[0]
    assert path == "docs/lineage.svg" and "+<svg" in diff
    assert "Diagram: wrote docs/lineage.svg (svg," in outcome.output


async def test_statement_as_png(repo):
    action = await prepared(repo, sql=SQL, format="png", output_path="lineage.png")
    outcome = await action.run(None)
    image = Image.open(io.BytesIO((repo / "lineage.png").read_bytes()))
    assert image.format == "PNG" and image.width > 50
    assert "Binary file lineage.png added: PNG image" in outcome.applied_diffs[0][1]


async def test_without_dot_svg_falls_back_to_mermaid_text(repo, monkeypatch):
    monkeypatch.setattr(diagram, "find_dot", lambda: None)
    action = await prepared(repo, sql=SQL, format="svg", output_path="docs/orders.svg")
    assert action.changes[0].file_path == "docs/orders.mmd"
    outcome = await action.run(None)
    text = (repo / "docs" / "orders.mmd").read_text()
    assert not (repo / "docs" / "orders.svg").exists()
    assert text.splitlines()[1] == "flowchart LR"
    ids = {line.split("[")[0].strip(): line.split('"')[1] for line in text.splitlines() if '["' in line}
    edges = {(ids[a], ids[b]) for a, _, b in (line.split() for line in text.splitlines() if "-->" in line)}
    assert edges == {("raw.orders", "mart.orders"), ("raw.customers", "mart.orders")}
    assert "Graphviz `dot` is not installed" in outcome.output


async def test_mermaid_for_a_query_without_target(repo):
    action = await prepared(repo, sql="select * from raw.orders", format="mermaid", output_path="q.mmd")
    await action.run(None)
    text = (repo / "q.mmd").read_text()
    assert '["raw.orders"]' in text and '["SQL query 1"]' in text and "-->" in text


@pytest.mark.parametrize("args, message", [
    ({"sql": SQL, "format": "svg"}, "needs output_path"),
    ({"sql": SQL, "format": "jpeg", "output_path": "x.jpeg"}, "format must be one of"),
    ({"sql": SQL, "format": "mermaid", "output_path": "../outside.mmd"}, "outside the repository"),
])
async def test_bad_diagram_arguments_are_refused(repo, args, message):
    with pytest.raises((ToolError, PermissionError), match=message):
        await SQLLineage().prepare(args, context(repo))


async def test_without_format_it_stays_a_read(repo):
    action = await SQLLineage().prepare({"sql": SQL}, context(repo))
    assert action.kind == "read" and not action.changes


@pytest.mark.e2e
def test_headless_diagram_asks_denied_in_default_written_in_auto_edit(repo, de_agent_home):
    call = {"name": "SQLLineage", "arguments": {"sql": SQL, "format": "mermaid", "output_path": "docs/l.mmd"}}
    with ScriptedServer([{"tool_calls": [call]}, {"text": "Needs approval."}]) as server:
        proc = run_cli(repo, de_agent_home, "-p", "draw the lineage", "--output-format", "stream-json",
                       server=server, env=cli_env(de_agent_home))
    assert proc.returncode == 0, proc.stderr
    approval = [e for e in stream_events(proc.stdout) if e["type"] == "approval"][0]
    assert approval["decision"] == "denied" and not (repo / "docs" / "l.mmd").exists()
    with ScriptedServer([{"tool_calls": [call]}, {"text": "Drawn."}]) as server:
        proc = run_cli(repo, de_agent_home, "-p", "draw the lineage", "--output-format", "stream-json",
                       "--approval-mode", "auto-edit", server=server, env=cli_env(de_agent_home))
    assert proc.returncode == 0, proc.stderr
    assert "flowchart LR" in (repo / "docs" / "l.mmd").read_text()
    diffs = [e for e in stream_events(proc.stdout) if e["type"] == "diff" and e["stage"] == "applied"]
    assert diffs[0]["file_path"] == "docs/l.mmd" and "+flowchart LR" in diffs[0]["diff"]
