"""End to end: the de-agent command on a dbt-duckdb project with the local model server: the
edit's diff event carries its blast radius, DataDiff verifies it, the answer carries the headline."""

from __future__ import annotations

from tests.conftest import git
from tests.impact_fixture import P as PROJECT
from tests.impact_fixture import write_project
from tests.support.cli import cli_env, run_cli, stream_events
from tests.support.openai_server import ScriptedServer, tool_messages

ORDERS = f"{PROJECT}/models/orders.sql"


def test_edit_with_blast_radius_then_data_diff_verification(repo, de_agent_home):
    write_project(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "dbt project")
    edit = {"file_path": ORDERS, "old_string": ", o.status\n", "new_string": "\n"}
    script = [
        {"tool_calls": [{"name": "update_plan", "arguments": {"plan": [
            {"step": "drop status from orders", "status": "completed"},
            {"step": "verify the data", "status": "in_progress"}]}},
            {"name": "Edit", "arguments": edit}]},
        {"tool_calls": [{"name": "DataDiff", "arguments": {"model": "orders"}}]},
        {"text": "Dropped status from orders."},
    ]
    env = cli_env(de_agent_home, DBT_PROFILES_DIR=str(repo / PROJECT))
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "drop status from orders", "--output-format", "stream-json",
                       "--approval-mode", "auto-edit", server=server, env=env)
    assert proc.returncode == 0, proc.stderr
    events = stream_events(proc.stdout)
    impacts = [e for e in events if e["type"] == "diff" and e.get("impact")]
    assert len(impacts) == 1 and impacts[0]["stage"] == "proposed"
    impact = impacts[0]["impact"]
    assert impact["columns"]["removed"] == ["status"]
    assert {d["name"] for d in impact["downstream"]} == {"orders_enriched", "orders_sm", "total_revenue_cents"}
    # The blast radius comes before the edit is applied.
    kinds = [(e["type"], e.get("stage"), bool(e.get("impact"))) for e in events if e["type"] == "diff"]
    assert kinds.index(("diff", "proposed", True)) < kinds.index(("diff", "applied", False))
    diff_result = tool_messages(server.requests[2])[-1]["content"]
    assert "orders: 1,000 -> 1,000 rows" in diff_result and "columns removed: status" in diff_result
    headline = "orders: 1,000 -> 1,000 rows, 0 keys added, 0 removed, no value changed"
    assert events[-1]["type"] == "result" and "Verification (DataDiff" in events[-1]["text"]
    assert headline in events[-1]["text"]
    plans = [e for e in events if e["type"] == "plan_updated"]
    assert plans[-1]["plan"][1]["verification"] == headline
