"""Warehouse connections against a real PostgreSQL server started by the tests (tests/support/engines.py)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from de_agent.engine.policy import Policy
from de_agent.tools.base import EXECUTE, READ, ToolError
from de_agent.tools.data.profile import ProfileData
from de_agent.tools.data.sql import RunSQL
from de_agent.tools.data.warehouse import ledger
from de_agent.tools.data.warehouse.client import call_warehouse
from de_agent.tools.data.warehouse.connections import resolve
from de_agent.tools.data.warehouse.tools import DescribeTable, ListTables
from tests.data_fixtures import context
from tests.support.cli import cli_env, run_cli, stream_events
from tests.support.engines import PASSWORD, PASSWORD_ENV
from tests.support.openai_server import ScriptedServer, tool_messages


@pytest.fixture
def wh(repo, postgres_server, monkeypatch):
    """A tool context whose user config has [connections.wh] on the test server."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    ctx = context(repo)
    ctx.settings.connections = {"wh": {"url": postgres_server.url(), "password_env": PASSWORD_ENV},
                                "prod_wh": {"url": postgres_server.url(), "password_env": PASSWORD_ENV}}
    ctx.state.session_id, ctx.state.turn_index = "sess-test-1", 3
    return ctx


async def sql(ctx, text, **args):
    action = await RunSQL().prepare({"sql": text, "connection": "wh", **args}, ctx)
    return action, await action.run(None)


def admin(pg):
    import psycopg

    return psycopg.connect(pg.dsn(), autocommit=True)


async def test_read_query_runs_on_the_server_with_estimate_and_ledger(wh, postgres_server):
    action, out = await sql(wh, "SELECT country, count(*) AS n FROM customers GROUP BY 1 ORDER BY 1")
    assert action.kind == READ and not action.asks
    assert "estimate: scans ≈" in action.summary
    assert out.ok and "On wh [postgres]; estimate: scans" in out.output
    assert out.display["rows"] == [["DE", "1250"], ["FR", "1250"], ["NL", "1250"], ["US", "1250"]]
    [entry] = ledger.entries("sess-test-1")
    assert entry["connection"] == "wh" and entry["engine"] == "postgres" and entry["status"] == "ok"
    assert entry["turn"] == 3 and entry["rows"] == 4 and entry["est_bytes"] > 0
    assert PASSWORD not in ledger.ledger_file("sess-test-1").read_text()


async def test_results_are_bounded_and_personal_data_masked(wh):
    _, out = await sql(wh, "SELECT id, email FROM customers ORDER BY id", max_rows=3)
    assert "more than 3 rows" in out.output and len(out.display["rows"]) == 3
    assert "user1@example.com" not in out.output and "@" in out.output


@pytest.mark.parametrize("text", [
    "WITH gone AS (DELETE FROM scratch RETURNING *) SELECT * FROM gone",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT lo_import('/etc/passwd')",
    "SELECT * FROM dblink('dbname=x', 'DELETE FROM t') AS t(a int)",
    "SELECT 1; COMMIT; INSERT INTO scratch VALUES (1)",
    "SELECT * FROM customers FOR UPDATE",
])
async def test_writes_smuggled_into_reads_ask_showing_the_sql(wh, text):
    action = await RunSQL().prepare({"sql": text, "connection": "wh"}, wh)
    assert action.kind == EXECUTE and action.asks
    assert text in action.summary  # the approval shows the SQL
    assert Policy("default", wh.workspace.root).decide("RunSQL", {}, action).verdict == "ask"


async def test_server_read_only_transaction_is_the_second_line(wh, postgres_server):
    with admin(postgres_server) as conn:
        conn.execute("CREATE OR REPLACE FUNCTION bump() RETURNS int LANGUAGE sql AS "
                     "'INSERT INTO scratch VALUES (1) RETURNING n'")
    # sqlglot cannot know bump() writes: the call is prepared as a read ...
    action = await RunSQL().prepare({"sql": "SELECT bump()", "connection": "wh"}, wh)
    assert action.kind == READ and not action.asks
    # ... and the server refuses it inside the read-only transaction.
    with pytest.raises(ToolError, match="read-only transaction"):
        await action.run(None)
    conn_spec = resolve("wh", wh.settings, wh.workspace.root)
    with pytest.raises(ToolError, match="read-only transaction"):
        await call_warehouse(wh.workspace.root, conn_spec, {"action": "sql", "sql": "INSERT INTO scratch VALUES (2)",
                                                            "allow_write": False}, 30)
    with admin(postgres_server) as conn:
        assert conn.execute("SELECT count(*) FROM scratch").fetchone()[0] == 0
    assert ledger.entries("sess-test-1")[-1]["status"] == "error"


async def test_an_approved_write_commits(wh, postgres_server):
    action, out = await sql(wh, "INSERT INTO scratch VALUES (41), (42)")
    assert action.kind == EXECUTE and out.ok
    with admin(postgres_server) as conn:
        assert conn.execute("SELECT count(*) FROM scratch WHERE n IN (41, 42)").fetchone()[0] == 2
        conn.execute("DELETE FROM scratch")


async def test_protected_connection_asks_for_writes_in_every_mode(wh):
    action = await RunSQL().prepare({"sql": "DELETE FROM scratch", "connection": "prod_wh"}, wh)
    assert action.force_ask and "protected" in action.ask_reason
    for mode in ("default", "auto-edit", "yolo"):
        policy = Policy(mode, wh.workspace.root)
        policy.session_tools.add("RunSQL")
        assert policy.decide("RunSQL", {}, action).verdict == "ask", mode
    read = await RunSQL().prepare({"sql": "SELECT 1", "connection": "prod_wh"}, wh)
    assert not read.force_ask and Policy("default", wh.workspace.root).decide("RunSQL", {}, read).verdict == "allow"


async def test_cost_gate_asks_beyond_max_scan_bytes_except_in_yolo(wh):
    wh.settings.max_scan_bytes = 1000
    action = await RunSQL().prepare({"sql": "SELECT * FROM orders", "connection": "wh"}, wh)
    assert action.kind == READ and action.asks and "max_scan_bytes" in action.ask_reason
    assert "estimate: scans ≈" in action.summary and "SELECT * FROM orders" in action.summary
    for mode, verdict in (("default", "ask"), ("auto-edit", "ask"), ("plan", "ask"), ("yolo", "allow")):
        assert Policy(mode, wh.workspace.root).decide("RunSQL", {}, action).verdict == verdict, mode
    small = await RunSQL().prepare({"sql": "SELECT 1", "connection": "wh"}, wh)
    assert not small.asks


async def test_session_budget_counts_what_already_ran(wh):
    wh.settings.session_scan_budget_bytes = 500_000
    first = await RunSQL().prepare({"sql": "SELECT count(*) FROM customers", "connection": "wh"}, wh)
    assert not first.asks
    await first.run(None)
    second = await RunSQL().prepare({"sql": "SELECT count(*) FROM customers", "connection": "wh"}, wh)
    assert second.asks and "session budget" in second.ask_reason


async def test_the_budget_of_a_resumed_session_counts_what_ran_before_it_was_resumed(wh):
    from de_agent.tools.base import SessionState

    wh.settings.session_scan_budget_bytes = 500_000
    first = await RunSQL().prepare({"sql": "SELECT count(*) FROM customers", "connection": "wh"}, wh)
    await first.run(None)
    spent = wh.state.scan_bytes_spent
    assert spent > 0
    wh.state = SessionState(session_id="sess-test-1")  # a new engine resuming the session: nothing in memory
    again = await RunSQL().prepare({"sql": "SELECT count(*) FROM customers", "connection": "wh"}, wh)
    assert again.asks and "session budget" in again.ask_reason and wh.state.scan_bytes_spent == spent
    wh.state = SessionState(session_id="sess-compacted", scan_bytes_spent=spent)  # compaction carries it over
    later = await RunSQL().prepare({"sql": "SELECT count(*) FROM customers", "connection": "wh"}, wh)
    assert later.asks and wh.state.scan_bytes_spent == spent


async def test_interrupt_cancels_the_query_on_the_server(wh, postgres_server):
    action = await RunSQL().prepare({"sql": "SELECT pg_sleep(60)", "connection": "wh"}, wh)
    task = asyncio.create_task(action.run(None))
    with admin(postgres_server) as conn:
        for _ in range(100):
            await asyncio.sleep(0.1)
            if conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'de-agent' "
                            "AND state = 'active' AND pid <> pg_backend_pid()").fetchone()[0]:
                break
        else:
            pytest.fail("the query never started on the server")
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 20
        for _ in range(50):
            active = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'de-agent' "
                                  "AND state = 'active' AND pid <> pg_backend_pid()").fetchone()[0]
            if not active:
                break
            await asyncio.sleep(0.1)
        assert active == 0
    assert ledger.entries("sess-test-1")[-1]["status"] == "cancelled"


async def test_time_limit_stops_the_query_on_the_server(wh, postgres_server):
    wh.settings.data_timeout_s = 2
    action = await RunSQL().prepare({"sql": "SELECT pg_sleep(30)", "connection": "wh"}, wh)
    with pytest.raises(ToolError, match="cancel"):
        await action.run(None)
    with admin(postgres_server) as conn:
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'de-agent' "
                            "AND state = 'active' AND pid <> pg_backend_pid()").fetchone()[0] == 0


async def test_list_and_describe_tables(wh):
    out = await (await ListTables().prepare({"connection": "wh", "pattern": "stg_*"}, wh)).run(None)
    assert out.display["rows"] == [["staging", "stg_events", "table", "100", out.display["rows"][0][4]]]
    everything = await (await ListTables().prepare({"connection": "wh", "schema": "public"}, wh)).run(None)
    assert [r[1] for r in everything.display["rows"]] == ["customers", "orders", "scratch"]
    desc = await (await DescribeTable().prepare({"connection": "wh", "table": "public.orders"}, wh)).run(None)
    assert "partitioned by RANGE (day)" in desc.output and "rows≈20,000" in desc.output
    assert desc.display["rows"][2] == ["amount", "numeric(10,2)", "YES"]
    with pytest.raises(ToolError, match="no table"):
        await (await DescribeTable().prepare({"connection": "wh", "table": "nope"}, wh)).run(None)


async def test_profile_is_computed_on_the_engine(wh):
    action = await ProfileData().prepare({"table": "customers", "connection": "wh", "sample_rows": 2}, wh)
    out = await action.run(None)
    assert "5,000 rows, 5 columns (computed on the engine" in out.output
    table = out.display["items"][0]
    by_name = {r[0]: r for r in table["rows"]}
    assert by_name["country"][4] == "4" and "US (1,250)" in by_name["country"][7]
    assert by_name["email"][5] != "user1@example.com" and "***" in by_name["email"][5]
    assert len(out.display["items"][1]["rows"]) == 2
    assert "estimate: scans ≈" in action.summary and not action.asks
    wh.settings.max_scan_bytes = 1000  # the profile is priced like a full scan of the table
    gated = await ProfileData().prepare({"table": "customers", "connection": "wh"}, wh)
    assert gated.asks and "max_scan_bytes" in gated.ask_reason
    with pytest.raises(ToolError, match="not a table name"):
        await ProfileData().prepare({"table": "a.b.c.d", "connection": "wh"}, wh)


async def test_dbt_profile_is_the_default_connection(repo, postgres_server, monkeypatch, tmp_path):
    (repo / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    profiles = tmp_path / "dbt"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(
        "shop:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: 127.0.0.1\n"
        "      port: \"{{ env_var('SHOP_PG_PORT') | as_number }}\"\n      user: de_admin\n"
        "      password: \"{{ env_var('SHOP_PG_PASSWORD') }}\"\n      dbname: analytics\n"
        "      schema: \"{{ env_var('SHOP_SCHEMA', 'staging') }}\"\n"
        "    prod:\n      type: postgres\n      host: db.example.com\n      user: x\n      dbname: y\n")
    monkeypatch.setenv("DBT_PROFILES_DIR", str(profiles))
    monkeypatch.setenv("SHOP_PG_PORT", str(postgres_server.port))
    monkeypatch.setenv("SHOP_PG_PASSWORD", PASSWORD)
    ctx = context(repo)
    action = await RunSQL().prepare({"sql": "SELECT count(*) AS n FROM stg_events"}, ctx)  # schema from the profile
    out = await action.run(None)
    assert "shop (target dev) [postgres]" in out.output and out.display["rows"] == [["100"]]
    prod = resolve("dbt:prod", ctx.settings, repo)
    assert prod.protected and prod.target == "prod"
    # A repository copy of profiles.yml is not used unless DBT_PROFILES_DIR points at it.
    monkeypatch.delenv("DBT_PROFILES_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))
    (repo / "profiles.yml").write_text((profiles / "profiles.yml").read_text())
    assert resolve(None, ctx.settings, repo) is None


async def test_credentials_only_from_named_environment_variables(repo, monkeypatch):
    ctx = context(repo)
    ctx.settings.connections = {"a": {"url": "postgresql://u:hunter2@h/db"}, "b": {"url": "postgresql://u@h/db",
                                "password": "hunter2"}, "c": {"url": "postgresql://u@h/db", "password_env": "NOPE_X"},
                                "d": {"type": "snowflake", "account": "acme"}}
    for name, message in (("a", "holds a password"), ("b", "must not be written"), ("c", "NOPE_X")):
        with pytest.raises(ToolError, match=message):
            await RunSQL().prepare({"sql": "SELECT 1", "connection": name}, ctx)
    with pytest.raises(ToolError, match=r'pip install "de-agent\[snowflake\]"'):
        await RunSQL().prepare({"sql": "SELECT 1", "connection": "d"}, ctx)
    with pytest.raises(ToolError, match="unknown connection 'zzz'"):
        await ListTables().prepare({"connection": "zzz"}, ctx)


def test_end_to_end_through_the_real_command(repo, de_agent_home, postgres_server):
    (de_agent_home / "config.toml").write_text(
        f'[connections.wh]\nurl = "{postgres_server.url()}"\npassword_env = "{PASSWORD_ENV}"\n')
    (repo / ".de-agent").mkdir()
    (repo / ".de-agent" / "config.toml").write_text('connection = "wh"\n')
    script = [
        {"tool_calls": [{"name": "ListTables", "arguments": {"connection": "", "schema": "public"}}]},
        {"tool_calls": [{"name": "RunSQL", "arguments": {"sql": "SELECT count(*) AS n FROM orders"}}]},
        {"tool_calls": [{"name": "RunSQL", "arguments": {"sql": "WITH d AS (DELETE FROM orders RETURNING 1) "
                                                                "SELECT count(*) FROM d"}}]},
        {"text": "There are 20000 orders."},
    ]
    env = cli_env(de_agent_home, **{PASSWORD_ENV: PASSWORD})
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "count orders", "--output-format", "stream-json",
                       server=server, env=env)
    assert proc.returncode == 0, proc.stderr
    events = stream_events(proc.stdout)
    results = tool_messages(server.requests[3])
    assert "customers" in results[0]["content"] and "20000" in results[1]["content"]
    approvals = [e for e in events if e["type"] == "approval"]
    assert [a["decision"] for a in approvals] == ["approved", "approved", "denied"]
    session_id = events[0]["session_id"]
    # The password never reached the model, the events or the session file.
    assert PASSWORD not in json.dumps(server.requests) and PASSWORD not in proc.stdout
    for f in (de_agent_home / "sessions").rglob("*.jsonl"):
        assert PASSWORD not in f.read_text()
    # The ledger has both statements that ran; export writes a replayable file.
    export = run_cli(repo, de_agent_home, "--export-queries", session_id[:8], env=env)
    assert export.returncode == 0, export.stderr
    text = (repo / f"queries-{session_id}.sql").read_text()
    assert "SELECT count(*) AS n FROM orders;" in text and "DELETE" not in text
    assert PASSWORD not in text
