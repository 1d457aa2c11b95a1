"""DataDiff on seeded data with known differences (the small dbt-duckdb project of impact_fixture)."""

from __future__ import annotations

import subprocess

import pytest

from de_agent.config import Settings
from de_agent.tools.base import ToolContext, ToolError
from de_agent.tools.data.datadiff import DataDiff
from de_agent.workspace import Workspace
from tests.impact_fixture import P as PROJECT
from tests.impact_fixture import write_project

ORDERS = f"{PROJECT}/models/orders.sql"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    write_project(tmp_path)
    monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp_path / PROJECT))  # the person's profiles.yml
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "project"], check=True)
    return tmp_path


async def diff(root, **args):
    ctx = ToolContext(workspace=Workspace(root), settings=Settings())
    action = await DataDiff().prepare(args, ctx)
    return await action.run(None)


async def test_model_edit_with_known_differences(repo):
    path = repo / ORDERS
    # Known: order 3 dropped, order 7's amount +1; nothing else changes.
    path.write_text(path.read_text().replace(
        "o.amount,", "case when o.order_id = 7 then o.amount + 1 else o.amount end as amount,")
        + "where o.order_id <> 3\n")
    warehouse = (repo / PROJECT / "warehouse.duckdb").read_bytes()
    out = await diff(repo, model="orders")
    d = out.display
    assert (d["rows_before"], d["rows_after"]) == (1000, 999)
    assert d["key"] == ["order_id"]  # the unique-tested column from schema.yml
    assert (d["keys_added"], d["keys_removed"]) == (0, 1)
    assert d["key_examples"]["removed"] == [[3]]
    assert list(d["changed"]) == ["amount"] and d["changed"]["amount"]["rows"] == 1
    assert d["changed"]["amount"]["examples"][0]["key"] == [7]
    assert d["headline"] == "orders: 1,000 -> 999 rows, 0 keys added, 1 removed, amount changed in 1 rows"
    assert 1 <= d["segments_differing"] <= 2
    # The person's target is only read.
    assert (repo / PROJECT / "warehouse.duckdb").read_bytes() == warehouse


async def test_identical_outputs_compare_by_segment_checksums_only(repo):
    path = repo / ORDERS
    path.write_text(path.read_text() + "-- same rows\n")
    d = (await diff(repo, model="orders")).display
    assert d["segments_differing"] == 0 and d["changed"] == {} and d["keys_removed"] == 0


async def test_personal_values_in_examples_are_masked(repo):
    out = await diff(repo, sql_before="select 1 as id, 'ann.smith@example.com' as email",
                     sql_after="select 1 as id, 'bob.jones@example.com' as email", key=["id"])
    assert "ann.smith@example.com" not in out.output and "bob.jones" not in out.output
    assert out.display["changed"]["email"]["rows"] == 1


async def test_personal_keys_are_masked_in_key_examples(repo):
    before = "select * from (values ('ann.smith@example.com', 1), ('bob.jones@example.com', 2)) t(email, n)"
    after = "select * from (values ('ann.smith@example.com', 5), ('carl.berg@example.com', 2)) t(email, n)"
    out = await diff(repo, sql_before=before, sql_after=after, key=["email"])
    d = out.display
    assert (d["keys_added"], d["keys_removed"], d["changed"]["n"]["rows"]) == (1, 1, 1)
    for name in ("ann.smith", "bob.jones", "carl.berg"):
        assert name not in out.output and name not in str(d)


async def test_without_a_key_rows_are_compared_as_multisets_and_shifts_are_reported(repo):
    out = await diff(repo, sql_before="select * from range(10) t(x)",
                     sql_after="select case when x = 0 then null else x end as x from range(10) t(x) where x < 9")
    d = out.display
    assert (d["rows_only_before"], d["rows_only_after"]) == (2, 1)
    assert d["shifts"][0]["column"] == "x" and (d["shifts"][0]["nulls_before"], d["shifts"][0]["nulls_after"]) == (0, 1)


async def test_a_sample_compares_a_fixed_share_of_keys(repo):
    d = (await diff(repo, sql_before="select range as id from range(10000)",
                    sql_after="select range as id from range(10000)", key=["id"], sample=10)).display
    assert 500 < d["rows_before"] < 1500 and d["rows_before"] == d["rows_after"]
    assert d["keys_added"] == d["keys_removed"] == 0 and d["headline"].endswith("(sample 10%)")
    with pytest.raises(ToolError, match="a sample needs a key"):
        await diff(repo, sql_before="select 1 as a", sql_after="select 1 as a", sample=10)


@pytest.mark.parametrize("bad", ["create table x as select 1", "select 1; select 2", "copy (select 1) to 'x.csv'"])
async def test_writes_and_several_statements_are_refused(repo, bad):
    with pytest.raises(ToolError):
        await diff(repo, sql_before=bad, sql_after="select 1")


async def test_unchanged_model_and_missing_key_say_what_to_do(repo):
    with pytest.raises(ToolError, match="unchanged since the last commit"):
        await diff(repo, model="orders")
    with pytest.raises(ToolError, match="key column"):
        await diff(repo, sql_before="select 1 as a", sql_after="select 2 as a", key=["id"])


def _engine(root, script, tools):
    from de_agent import protocol as P
    from de_agent.engine.loop import Engine
    from de_agent.engine.policy import Policy
    from tests.support.fake_llm import FakeLLM

    events: list = []
    ctx = ToolContext(workspace=Workspace(root), settings=Settings())
    engine = Engine(llm=FakeLLM(script), tools=tools, ctx=ctx, policy=Policy("default", root, P.Approvals.PERSON),
                    sink=events.append, session_id="s1")
    return engine, events


async def test_diff_the_data_first_from_the_approval_then_approve(repo):
    import asyncio

    from de_agent import protocol as P
    from de_agent.tools.edit import Edit

    edit = {"file_path": ORDERS, "old_string": "join {{ ref('stg_customers') }} c on c.customer_id = o.customer_id",
            "new_string": "join {{ ref('stg_customers') }} c on c.customer_id = o.customer_id\nwhere o.order_id > 10"}
    engine, events = _engine(repo, [{"tool_calls": [{"id": "e1", "name": "Edit", "arguments": edit}]},
                                    {"text": "Filtered the first ten orders out."}], [Edit()])
    requests = []

    def sink(event):
        events.append(event)
        if isinstance(event, P.ApprovalRequest):
            requests.append(event)
            choice = "data_diff" if len(requests) == 1 else "once"
            asyncio.get_running_loop().call_soon(engine.submit, P.ApprovalDecision(event.call_id, choice))

    engine.sink = sink
    outcome = await engine.run_turn("drop the first ten orders")
    assert len(requests) == 2 and requests[0].can_diff_data and not requests[0].data_diff
    headline = "orders: 1,000 -> 990 rows, 0 keys added, 10 removed, no value changed"
    assert headline in requests[1].data_diff
    assert "where o.order_id > 10" in (repo / ORDERS).read_text()  # approved after the diff
    # The closing summary carries the headline as its verification.
    assert f"Verification (DataDiff e1): {headline}" in outcome.text


async def test_a_data_diff_links_the_plan_step_it_verifies(repo):
    from de_agent.tools.plan import UpdatePlan

    path = repo / ORDERS
    path.write_text(path.read_text() + "where o.order_id <> 3\n")
    plan = {"plan": [{"step": "drop order 3", "status": "completed"},
                     {"step": "verify the data", "status": "in_progress"}]}
    engine, events = _engine(repo, [{"tool_calls": [{"id": "p1", "name": "update_plan", "arguments": plan}]},
                                    {"tool_calls": [{"id": "d1", "name": "DataDiff", "arguments": {"model": "orders"}}]},
                                    {"text": "Done: orders: 1,000 -> 999 rows, 0 keys added, 1 removed, no value changed"}],
                             [UpdatePlan(), DataDiff()])
    outcome = await engine.run_turn("drop order 3 and check")
    step = engine.ctx.state.plan[1]
    assert step["verified_by"] == "d1" and step["verification"].startswith("orders: 1,000 -> 999 rows")
    assert "Verification" not in outcome.text  # the model quoted the headline itself


async def test_the_approval_data_diff_on_a_sample(repo):
    import asyncio

    from de_agent import protocol as P
    from de_agent.tools.edit import Edit

    edit = {"file_path": ORDERS, "old_string": "o.amount,", "new_string": "o.amount * 2 as amount,"}
    engine, events = _engine(repo, [{"tool_calls": [{"id": "e1", "name": "Edit", "arguments": edit}]},
                                    {"text": "doubled"}], [Edit()])
    requests = []

    def sink(event):
        events.append(event)
        if isinstance(event, P.ApprovalRequest):
            requests.append(event)
            decision = (P.ApprovalDecision(event.call_id, "data_diff", sample=20) if len(requests) == 1
                        else P.ApprovalDecision(event.call_id, "deny"))
            asyncio.get_running_loop().call_soon(engine.submit, decision)

    engine.sink = sink
    await engine.run_turn("double the amounts")
    first = requests[1].data_diff.splitlines()[0]
    rows = int(first.split(": ")[1].split(" -> ")[0].replace(",", ""))
    assert 100 < rows < 300 and first.endswith("(sample 20%)")  # about a fifth of the 1,000 orders
    assert f"amount changed in {rows:,} rows" in first
    assert "o.amount * 2" not in (repo / ORDERS).read_text()  # denied after the diff


async def test_model_diffs_find_their_target_like_the_connections_do(repo, monkeypatch, tmp_path):
    path = repo / ORDERS
    path.write_text(path.read_text() + "where o.order_id <> 3\n")
    monkeypatch.delenv("DBT_PROFILES_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.dbt: the repository's copy is not used
    with pytest.raises(ToolError, match="no dbt target"):
        await diff(repo, model="orders")
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text("jaffle:\n  target: prod\n  outputs:\n    prod:\n      type: postgres\n"
                                           "      host: 127.0.0.1\n      port: 1\n      user: u\n      dbname: d\n")
    monkeypatch.setenv("DBT_PROFILES_DIR", str(profiles))
    # A PostgreSQL target is built on (tests/test_datadiff_warehouse.py); nothing listens on this one's port.
    with pytest.raises(ToolError, match="cannot connect to PostgreSQL"):
        await diff(repo, model="orders")
    (profiles / "profiles.yml").write_text("jaffle:\n  target: prod\n  outputs:\n    prod:\n      type: snowflake\n"
                                           "      account: a\n      user: u\n      database: d\n")
    with pytest.raises(ToolError, match="DataDiff is not supported on snowflake yet"):
        await diff(repo, model="orders")
