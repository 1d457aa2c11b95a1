"""DataDiff on a real PostgreSQL server (tests/support/engines.py): scratch builds, server-side hashes."""

from __future__ import annotations

import json
import subprocess

import pytest

from de_agent.engine.policy import Policy
from de_agent.tools.base import EXECUTE, ToolError
from de_agent.tools.data.datadiff import DataDiff, diff_change
from de_agent.tools.data.warehouse import ledger
from tests.data_fixtures import context
from tests.support.engines import PASSWORD, PASSWORD_ENV

BEFORE = "SELECT id, name, email, country FROM customers"
# Known differences: 10 keys removed (4991..5000), 1 added (9001), 49 emails changed (ids 100..4900 step 100).
AFTER = ("SELECT id, name, CASE WHEN id % 100 = 0 THEN upper(email) ELSE email END AS email, country "
         "FROM customers WHERE id <= 4990 UNION ALL SELECT 9001, 'New', 'new.person@example.com', 'NL'")
SCRATCH = "de_agent_scratch_sess_diff_1"


@pytest.fixture
def wh(repo, postgres_server, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    ctx = context(repo)
    ctx.settings.connections = {"wh": {"url": postgres_server.url(), "password_env": PASSWORD_ENV}}
    ctx.state.session_id, ctx.state.turn_index = "sess-diff-1", 2
    return ctx


def admin(pg):
    import psycopg

    return psycopg.connect(pg.dsn(), autocommit=True)


def server_state(pg) -> dict:
    """Every schema and relation outside the catalogs, with row counts of the seeded tables."""
    with admin(pg) as conn:
        schemas = [r[0] for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema' "
            "ORDER BY 1").fetchall()]
        rels = conn.execute("SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON "
                            "n.oid = c.relnamespace WHERE n.nspname NOT LIKE 'pg_%' AND n.nspname <> "
                            "'information_schema' ORDER BY 1, 2").fetchall()
        counts = {t: conn.execute(f"SELECT count(*), md5(string_agg(x::text, '' ORDER BY x::text)) FROM {t} x")
                  .fetchone() for t in ("customers", "orders", "staging.stg_events", "scratch")}
    return {"schemas": schemas, "relations": rels, "counts": counts}


async def test_known_differences_are_found_on_the_server_and_nothing_is_kept(wh, postgres_server):
    before_state = server_state(postgres_server)
    action = await DataDiff().prepare({"sql_before": BEFORE, "sql_after": AFTER, "key": ["id"],
                                       "connection": "wh"}, wh)
    assert action.kind == EXECUTE and action.asks and not action.force_ask
    assert f"creates schema {SCRATCH}" in action.summary and "CREATE TABLE AS" in action.summary
    assert "estimate: scans ≈" in action.summary and "rolled back" in action.summary
    assert Policy("default", wh.workspace.root).decide("DataDiff", {}, action).verdict == "ask"
    assert Policy("yolo", wh.workspace.root).decide("DataDiff", {}, action).verdict == "allow"
    out = await action.run(None)
    assert out.ok, out.output
    d = out.display
    assert d["headline"] == ("query on wh [postgres]: 5,000 -> 4,991 rows, 1 key added, 10 removed, "
                             "email changed in 49 rows")
    assert d["keys_added"] == 1 and d["keys_removed"] == 10 and d["key_examples"]["added"] == [[9001]]
    assert d["key_examples"]["removed"] == [[4991], [4992], [4993]]
    assert 0 < d["segments_differing"] < d["segments"] == 4096
    assert d["changed"]["email"]["rows"] == 49 and [e["key"] for e in d["changed"]["email"]["examples"]] == \
        [[100], [200], [300]]
    assert "user100@example.com" not in out.output and "USER100@EXAMPLE.COM" not in out.output  # masked
    assert "new.person@example.com" not in str(d)
    assert "built in a schema de_agent_scratch_sess_diff_1 on the server (rolled back" in out.output
    # The person's schemas were never written, and the scratch schema is gone.
    assert server_state(postgres_server) == before_state
    entries = ledger.entries("sess-diff-1")
    sqls = [e["sql"] for e in entries]
    assert all(e["kind"] == "datadiff" and e["status"] == "ok" and e["connection"] == "wh" for e in entries)
    assert sqls[0] == f'CREATE SCHEMA "{SCRATCH}"'
    assert any(s.startswith(f'CREATE TABLE "{SCRATCH}".after_ AS SELECT * FROM ({AFTER})') for s in sqls)
    assert any("md5(string_agg(h" in s for s in sqls)
    assert PASSWORD not in ledger.ledger_file("sess-diff-1").read_text()


async def test_identical_outputs_differ_in_no_segment_and_a_sample_keeps_the_same_keys(wh):
    action = await DataDiff().prepare({"sql_before": BEFORE, "sql_after": BEFORE + " ORDER BY id DESC",
                                       "key": ["id"], "connection": "wh"}, wh)
    d = (await action.run(None)).display
    assert d["segments_differing"] == 0 and d["changed"] == {} and d["rows_before"] == d["rows_after"] == 5000
    action = await DataDiff().prepare({"sql_before": BEFORE, "sql_after": AFTER, "key": ["id"], "sample": 20,
                                       "connection": "wh"}, wh)
    assert "on a 20% sample of keys" in action.summary
    d = (await action.run(None)).display
    assert 700 < d["rows_before"] < 1300 and d["headline"].endswith("(sample 20%)")
    assert d["keys_removed"] <= 10 and d["changed"].get("email", {"rows": 0})["rows"] <= 49


async def test_without_a_key_rows_compare_as_multisets_with_shifts(wh):
    join = "FROM orders o JOIN customers c ON c.id = o.customer_id"
    action = await DataDiff().prepare({
        "sql_before": f"SELECT country, amount {join}", "connection": "wh",
        "sql_after": f"SELECT country::varchar(2) AS country, (amount * 2)::numeric(10,2) AS amount {join} "
                     "WHERE status <> 'open'"}, wh)
    d = (await action.run(None)).display
    assert d["rows_before"] == 20000 and d["rows_after"] == 20000 - 6667
    assert d["rows_only_before"] > 0 and d["rows_only_after"] > 0
    assert d["retyped"] == [{"column": "country", "from": "text", "to": "character varying(2)"}]
    [shift] = [s for s in d["shifts"] if s["column"] == "amount"]
    assert shift["mean_after"] > shift["mean_before"]


@pytest.mark.parametrize("bad", ["DELETE FROM customers", "SELECT 1; DROP TABLE customers",
                                 "CREATE TABLE public.stolen AS SELECT * FROM customers",
                                 "SELECT id, pg_terminate_backend(1) FROM customers",
                                 "SELECT 1) q; DROP TABLE customers; --"])
async def test_writes_and_several_statements_are_refused_before_anything_runs(wh, bad):
    with pytest.raises(ToolError, match="sql_after must be one SELECT"):
        await DataDiff().prepare({"sql_before": BEFORE, "sql_after": bad, "connection": "wh"}, wh)
    assert ledger.entries("sess-diff-1") == []


async def test_a_failing_build_rolls_the_scratch_schema_back_and_is_in_the_ledger(wh, postgres_server):
    before_state = server_state(postgres_server)
    # EXPLAIN plans it; the division by zero only happens while building "after".
    action = await DataDiff().prepare({"sql_before": "SELECT id FROM customers",
                                       "sql_after": "SELECT id, 1 / (id - 2500) AS x FROM customers",
                                       "key": ["id"], "connection": "wh"}, wh)
    with pytest.raises(ToolError, match="division by zero.*rolled back"):
        await action.run(None)
    assert server_state(postgres_server) == before_state
    [entry] = ledger.entries("sess-diff-1")
    assert entry["status"] == "error" and entry["kind"] == "datadiff" and SCRATCH in entry["sql"]


async def test_the_cost_gate_asks_in_every_mode_but_yolo_and_protected_connections_always(wh, postgres_server):
    wh.settings.connections["wh"]["max_scan_bytes"] = 1000
    action = await DataDiff().prepare({"sql_before": BEFORE, "sql_after": AFTER, "key": ["id"],
                                       "connection": "wh"}, wh)
    assert action.ask_reason.startswith("cost gate: the engine estimates this scans")
    assert Policy("auto-edit", wh.workspace.root).decide("DataDiff", {}, action).verdict == "ask"
    assert Policy("yolo", wh.workspace.root).decide("DataDiff", {}, action).verdict == "allow"
    wh.settings.connections["wh"]["protected"] = True
    action = await DataDiff().prepare({"sql_before": BEFORE, "sql_after": AFTER, "key": ["id"],
                                       "connection": "wh"}, wh)
    assert action.force_ask and Policy("yolo", wh.workspace.root).decide("DataDiff", {}, action).verdict == "ask"


async def test_other_engines_say_they_are_not_supported_yet(wh):
    wh.settings.connections["sf"] = {"type": "snowflake", "account": "a", "user": "u"}
    with pytest.raises(ToolError, match="DataDiff is not supported on snowflake yet"):
        await DataDiff().prepare({"sql_before": BEFORE, "sql_after": AFTER, "connection": "sf"}, wh)


DBT = {
    "shop/dbt_project.yml": "name: shop\nversion: '1.0'\nprofile: shop\nmodel-paths: ['models']\n",
    "shop/models/sources.yml": ("version: 2\nsources:\n  - name: app\n    schema: public\n    tables:\n"
                                "      - name: customers\n"),
    "shop/models/stg_customers.sql": "select id as customer_id, email, country from {{ source('app', 'customers') }}\n",
    "shop/models/country_counts.sql": ("select country, count(*) as n\nfrom {{ ref('stg_customers') }}\n"
                                       "group by country\n"),
    "shop/models/schema.yml": ("version: 2\nmodels:\n  - name: country_counts\n    columns:\n"
                               "      - name: country\n        data_tests: [unique]\n"),
}


async def test_a_dbt_model_on_a_postgres_target_builds_against_the_target_schema(repo, postgres_server, monkeypatch,
                                                                                 tmp_path):
    with admin(postgres_server) as conn:  # what `dbt run` left in the target schema
        conn.execute("DROP SCHEMA IF EXISTS dbt_dev CASCADE; CREATE SCHEMA dbt_dev; CREATE TABLE "
                     "dbt_dev.stg_customers AS SELECT id AS customer_id, email, country FROM customers")
    for rel, text in DBT.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "shop"],
                   check=True)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    pg = postgres_server
    (profiles / "profiles.yml").write_text(
        f"shop:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: {pg.host}\n"
        f"      port: {pg.port}\n      user: {pg.user}\n      password: \"{{{{ env_var('{PASSWORD_ENV}') }}}}\"\n"
        f"      dbname: {pg.dbname}\n      schema: dbt_dev\n")
    monkeypatch.setenv("DBT_PROFILES_DIR", str(profiles))
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    (repo / "shop/models/country_counts.sql").write_text(
        "select country, count(*) as n\nfrom {{ ref('stg_customers') }}\nwhere country <> 'US'\ngroup by country\n")
    ctx = context(repo)
    ctx.state.session_id = "sess-dbt"
    try:
        before_state = server_state(pg)
        action = await DataDiff().prepare({"model": "country_counts"}, ctx)
        assert "creates schema de_agent_scratch_sess_dbt" in action.summary and "[postgres]" in action.summary
        out = await action.run(None)
        assert out.display["headline"].startswith("country_counts on ") and \
            "4 -> 3 rows, 0 keys added, 1 removed, no value changed" in out.display["headline"]
        assert out.display["key"] == ["country"] and out.display["key_examples"]["removed"] == [["US"]]
        assert server_state(pg) == before_state
        # The approval's "diff the data first" on a proposed edit builds on the target too...
        proposed = "select country, count(*) as n\nfrom {{ ref('stg_customers') }}\ngroup by country\nhaving count(*) > 1\n"
        text, display = await diff_change(ctx, "shop/models/country_counts.sql", proposed)
        assert "estimate: scans" in text and "rolled back, nothing kept" in text
        assert display["headline"].startswith("country_counts on ") and "1 key added" in display["headline"]
        assert server_state(pg) == before_state
        # ...except where DataDiff would ask anyway: past the cost gate (or a protected connection).
        ctx.settings.max_scan_bytes = 1
        with pytest.raises(ToolError, match="not built from the approval: cost gate"):
            await diff_change(ctx, "shop/models/country_counts.sql", proposed)
    finally:
        with admin(pg) as conn:
            conn.execute("DROP SCHEMA dbt_dev CASCADE")


def test_end_to_end_through_the_real_command(repo, de_agent_home, postgres_server):
    """Headless: the default mode cannot ask, so the build is denied; yolo builds, diffs and keeps nothing."""
    from tests.support.cli import cli_env, run_cli, stream_events
    from tests.support.openai_server import ScriptedServer, tool_messages

    (de_agent_home / "config.toml").write_text(
        f'[connections.wh]\nurl = "{postgres_server.url()}"\npassword_env = "{PASSWORD_ENV}"\n')
    call = {"name": "DataDiff", "arguments": {"sql_before": BEFORE, "sql_after": AFTER, "key": ["id"],
                                              "connection": "wh"}}
    env = cli_env(de_agent_home, **{PASSWORD_ENV: PASSWORD})
    before_state = server_state(postgres_server)
    for mode, decision in (("default", "denied"), ("yolo", "approved")):
        script = [{"tool_calls": [call]}, {"text": "done"}]
        with ScriptedServer(script) as server:
            proc = run_cli(repo, de_agent_home, "-p", "diff it", "--output-format", "stream-json",
                           "--approval-mode", mode, server=server, env=env)
        assert proc.returncode == 0, proc.stderr
        events = stream_events(proc.stdout)
        [result] = tool_messages(server.requests[1])
        if mode == "default":
            assert [e["decision"] for e in events if e["type"] == "approval"] == [decision]
            assert "Data diff" not in result["content"]
        else:
            assert ("Data diff query on wh [postgres]: 5,000 -> 4,991 rows, 1 key added, 10 removed, email changed "
                    "in 49 rows") in result["content"]
            assert "user100@example.com" not in proc.stdout and PASSWORD not in proc.stdout
            assert PASSWORD not in json.dumps(server.requests)
        assert server_state(postgres_server) == before_state


async def test_a_cancelled_build_is_stopped_on_the_server_and_rolled_back(wh, postgres_server):
    import asyncio

    before_state = server_state(postgres_server)
    action = await DataDiff().prepare({"sql_before": "SELECT id FROM customers",
                                       "sql_after": "SELECT id, (pg_sleep(0.02) IS NULL) AS s FROM customers",
                                       "key": ["id"], "connection": "wh"}, wh)
    task = asyncio.create_task(action.run(None))
    with admin(postgres_server) as conn:  # wait until the slow build runs on the server
        for _ in range(300):
            if conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'de-agent' AND "
                            "query LIKE 'CREATE TABLE%after_ AS%pg_sleep%'").fetchone()[0]:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the build never started")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with admin(postgres_server) as conn:  # the statement is gone from the server
        for _ in range(200):
            if not conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'de-agent'"
                                ).fetchone()[0]:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the build still runs on the server")
    assert server_state(postgres_server) == before_state
    [entry] = ledger.entries("sess-diff-1")
    assert entry["status"] == "cancelled" and SCRATCH in entry["sql"]
