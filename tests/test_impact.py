"""Blast radius of SQL and dbt model edits: checked against lineage written by hand for the small project."""

from __future__ import annotations

import asyncio

import pytest

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.engine.loop import Engine
from de_agent.engine.policy import Policy
from de_agent.tools.base import ToolContext
from de_agent.tools.data.helpers.dbt import build_graph
from de_agent.tools.data.helpers.impact import compute_impact, impact_lines, project_of
from de_agent.tools.edit import Edit, WriteFile
from de_agent.workspace import Workspace
from tests.impact_fixture import LINEAGE, write_project
from tests.impact_fixture import P as PROJECT
from tests.support.fake_llm import FakeLLM

ORDERS = f"{PROJECT}/models/orders.sql"


@pytest.fixture
def project(tmp_path):
    write_project(tmp_path, with_data=False)
    return Workspace(tmp_path)


def _orders(ws: Workspace) -> str:
    return ws.read_bytes(ORDERS).decode()


def by_name(impact):
    return {d["name"]: d for d in impact["downstream"]}


def test_graph_lineage_matches_the_hand_computed_lineage(project):
    graph = build_graph(project, project_of(project, ORDERS), "duckdb")
    for model, columns in LINEAGE.items():
        node = graph.nodes[f"model.{model}"]
        assert {c: sorted(s) for c, s in node.lineage.items()} == {c: sorted(s) for c, s in columns.items()}, model


def test_removed_column_reaches_select_star_and_its_semantic_model_and_metric(project):
    new = _orders(project).replace(", o.status\n", "\n")
    impact = compute_impact(project, ORDERS, new)
    assert impact["columns"]["removed"] == ["status"]
    assert impact["columns"]["added"] == [] and impact["columns"]["renamed"] == []
    down = by_name(impact)
    # By hand: orders.status feeds orders_enriched.status (select *) only; the semantic model reads
    # orders_enriched and the metric reads the semantic model; customer_report never reads status.
    assert set(down) == {"orders_enriched", "orders_sm", "total_revenue_cents"}
    assert down["orders_enriched"]["columns"] == ["status"] and down["orders_enriched"]["select_star"]
    assert down["orders_sm"]["type"] == "semantic_model" and down["total_revenue_cents"]["type"] == "metric"
    assert any("orders_enriched reads status of orders" in b for b in impact["breaks"])


def test_rename_and_retype_are_told_apart_from_remove_and_add(project):
    new = _orders(project).replace("c.name as customer_name", "c.name as client_name").replace(
        "o.amount,", "cast(o.amount as double) as amount,")
    impact = compute_impact(project, ORDERS, new)
    cols = impact["columns"]
    assert cols["renamed"] == [{"from": "customer_name", "to": "client_name"}]
    assert cols["removed"] == [] and cols["added"] == []
    assert cols["retyped"] == [{"column": "amount", "from": "(as before)", "to": "DOUBLE"}]
    down = by_name(impact)
    # By hand: amount feeds customer_report.revenue and orders_enriched.amount/amount_cents;
    # customer_name feeds orders_enriched.customer_name; the exposure reads customer_report.
    assert down["customer_report"]["columns"] == ["revenue"]
    assert down["orders_enriched"]["columns"] == ["amount", "amount_cents", "customer_name"]
    assert down["revenue_dashboard"]["type"] == "exposure"
    assert "status_counts" not in down
    assert "not_null test on customer_report.revenue reads an affected column" in impact["breaks"]


def test_removing_a_unique_tested_column_is_a_break(project):
    new = _orders(project).replace("select o.order_id, ", "select ")
    impact = compute_impact(project, ORDERS, new)
    assert "unique test on orders.order_id: the column is removed" in impact["breaks"]
    assert "not_null test on orders.order_id: the column is removed" in impact["breaks"]


def test_a_join_that_changes_the_grain_is_reported_with_the_unique_tests_at_risk(project):
    new = _orders(project).replace("join {{ ref('stg_customers') }} c on c.customer_id = o.customer_id",
                                   "join {{ ref('stg_customers') }} c on c.name is not null")
    impact = compute_impact(project, ORDERS, new)
    assert impact["columns"]["removed"] == [] and "joins changed" in impact["grain"]
    assert any(b.startswith("unique test on orders.order_id may fail") for b in impact["breaks"])
    assert "unique test on customer_report.customer_id reads an affected column" in impact["breaks"]
    assert {"customer_report", "orders_enriched", "revenue_dashboard"} <= set(by_name(impact))


def test_an_unchanged_output_has_no_downstream(project):
    impact = compute_impact(project, ORDERS, _orders(project) + "-- a comment\n")
    assert impact["downstream"] == [] and impact["breaks"] == []
    assert impact["headline"].startswith("orders: output columns unchanged")


def test_plain_sql_file_gets_its_columns_compared(project):
    (project.root / "report.sql").write_text("create table r as select a, b from 'x.csv'")
    impact = compute_impact(project, "report.sql", "create table r as select a, upper(a) as c from 'x.csv'")
    assert impact["kind"] == "sql"
    assert impact["columns"]["removed"] == ["b"] and impact["columns"]["added"] == ["c"]
    assert compute_impact(project, "notes.md", "x") is None


def test_broken_sql_reports_an_error_not_a_crash(project):
    impact = compute_impact(project, ORDERS, "select from where (")
    assert impact.get("error") and impact_lines(impact)[0].startswith("Blast radius: blast radius unavailable")


def _engine(ws, script, headless):
    events: list[P.Event] = []
    ctx = ToolContext(workspace=ws, settings=Settings())
    engine = Engine(llm=FakeLLM(script), tools=[Edit(), WriteFile()], ctx=ctx,
                    policy=Policy("default", ws.root, P.Approvals.NOBODY if headless else P.Approvals.PERSON),
                    sink=events.append, session_id="s1")
    return engine, events


async def test_the_approval_comes_at_once_and_the_diff_event_fills_in_with_the_impact(project):
    edit = {"file_path": ORDERS, "old_string": ", o.status\n", "new_string": "\n"}
    engine, events = _engine(project, [{"tool_calls": [{"id": "e1", "name": "Edit", "arguments": edit}]},
                                       {"text": "done"}], headless=False)
    asked = asyncio.Event()

    def sink(event):
        events.append(event)
        if isinstance(event, P.ApprovalRequest):
            asked.set()
        if isinstance(event, P.Diff) and event.impact is not None:
            asyncio.get_running_loop().call_soon(engine.submit, P.ApprovalDecision("e1", "once"))

    engine.sink = sink
    await engine.run_turn("drop status")
    kinds = [(e.type, getattr(e, "impact", None) is not None) for e in events if e.type in ("diff", "approval_request")]
    # proposed diff, the approval request, then the same diff with its impact, then the applied diff.
    assert kinds[:3] == [("diff", False), ("approval_request", False), ("diff", True)]
    filled = [e for e in events if isinstance(e, P.Diff) and e.impact][0]
    assert filled.call_id == "e1" and filled.stage == "proposed"
    assert filled.impact["columns"]["removed"] == ["status"]
    assert "status" not in _orders(project)


async def test_headless_stream_carries_the_impact_before_the_denial(project):
    edit = {"file_path": ORDERS, "old_string": ", o.status\n", "new_string": "\n"}
    engine, events = _engine(project, [{"tool_calls": [{"id": "e1", "name": "Edit", "arguments": edit}]},
                                       {"text": "done"}], headless=True)
    await engine.run_turn("drop status")
    order = [e.type for e in events if e.type in ("diff", "approval")]
    assert order == ["diff", "diff", "approval"]
    wire = [e.to_dict() for e in events if isinstance(e, P.Diff)][1]
    assert wire["impact"]["model"] == "orders" and "orders_enriched" in {d["name"] for d in wire["impact"]["downstream"]}
    assert "status" in _orders(project)  # denied headless: nothing written


async def test_reading_a_model_builds_its_project_graph_ahead_of_the_edit(project):
    from de_agent.tools.data.helpers import impact
    from de_agent.tools.fs_read import ReadFile

    impact._CACHE.clear()
    events: list[P.Event] = []
    engine = Engine(llm=FakeLLM([{"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": ORDERS}}]},
                                 {"text": "read"}]),
                    tools=[ReadFile()], ctx=ToolContext(workspace=project, settings=Settings()),
                    policy=Policy("default", project.root, P.Approvals.NOBODY), sink=events.append, session_id="s1")
    await engine.run_turn("read orders")
    await asyncio.gather(*engine.calls.background)
    assert any(key.endswith("\0jaffle") for key in impact._CACHE)


def test_a_new_filter_changes_the_rows_every_downstream_node_sees(project):
    new = _orders(project) + "where o.status <> 'refunded'\n"
    impact = compute_impact(project, ORDERS, new)
    assert impact["rows"] == "WHERE (none) -> o.status <> 'refunded'" and impact["grain"] is None
    assert {"customer_report", "orders_enriched", "revenue_dashboard", "orders_sm"} <= set(by_name(impact))
    assert not any(b.startswith("unique test on orders") for b in impact["breaks"])


def test_headless_text_output_prints_the_blast_radius_on_stderr(project):
    import io

    from de_agent.frontends.headless import HeadlessPrinter

    impact = compute_impact(project, ORDERS, _orders(project).replace(", o.status\n", "\n"))
    out, err = io.StringIO(), io.StringIO()
    printer = HeadlessPrinter("text", out, err)
    printer(P.Diff(ORDERS, "diff", "proposed", "e1", impact))
    assert out.getvalue() == ""
    assert "Blast radius: orders: 1 removed" in err.getvalue() and "model orders_enriched (status)" in err.getvalue()
