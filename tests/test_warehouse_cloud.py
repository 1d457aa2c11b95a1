"""Cloud engines (no server here): dialect handling, estimate parsing and errors up to the driver."""

from __future__ import annotations

import pytest

from de_agent.config import load_settings
from de_agent.tools.base import ToolError
from de_agent.tools.data.sql import RunSQL
from de_agent.tools.data.warehouse.classify import classify
from de_agent.tools.data.warehouse.connections import from_config
from de_agent.tools.data.warehouse.drivers.cloud import (
    bigquery_estimate,
    snowflake_estimate,
    spark_plan_estimate,
    trino_estimate,
)
from tests.data_fixtures import context


@pytest.mark.parametrize("dialect,sql,writes", [
    ("snowflake", "SELECT SYSTEM$CANCEL_ALL_QUERIES(1)", True),
    ("snowflake", "SELECT * FROM t SAMPLE (10)", False),
    ("snowflake", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", True),
    ("bigquery", "SELECT * FROM `proj.ds.t` WHERE _PARTITIONDATE = '2024-01-01'", False),
    ("bigquery", "SELECT * FROM EXTERNAL_QUERY('conn', 'DELETE FROM x')", True),
    ("bigquery", "CREATE OR REPLACE TABLE ds.t AS SELECT 1", True),
    ("databricks", "SELECT java_method('java.lang.System', 'exit', 0)", True),
    ("databricks", "OPTIMIZE t ZORDER BY (id)", True),
    ("spark", "SELECT reflect('java.lang.Runtime', 'getRuntime')", True),
    ("trino", "SELECT approx_distinct(x) FROM hive.web.t", False),
    ("trino", "CALL system.runtime.kill_query('q1')", True),
    ("duckdb", "SELECT * FROM md_table", False),
])
def test_classification_in_each_dialect(dialect, sql, writes):
    assert classify(sql, dialect).writes is writes


def test_estimate_parsers():
    sf = snowflake_estimate('{"GlobalStats": {"partitionsTotal": 40, "partitionsAssigned": 3, '
                            '"bytesAssigned": 1048576}, "Operations": []}')
    assert sf["bytes"] == 1048576 and "3 of 40 partitions" in sf["detail"]
    bq = bigquery_estimate(2 * 1024**4)
    assert bq["bytes"] == 2 * 1024**4 and bq["cost"] == 12.5
    assert bigquery_estimate(None)["bytes"] is None
    plan = ("== Optimized Logical Plan ==\nAggregate [k], Statistics(sizeInBytes=1.5 MiB)\n"
            "+- Relation t[k] parquet, Statistics(sizeInBytes=2.0 GiB, rowCount=1.00E+7)")
    assert spark_plan_estimate(plan)["bytes"] == 2 * 1024**3
    assert spark_plan_estimate("no stats")["bytes"] is None
    io = {"inputTableColumnInfos": [{"table": {"catalog": "hive"}, "estimate": {"outputSizeInBytes": 5000}},
                                    {"estimate": {"outputSizeInBytes": 70.5}}]}
    assert trino_estimate(io)["bytes"] == 5070
    assert trino_estimate({"inputTableColumnInfos": [{"estimate": {"outputSizeInBytes": "NaN"}}]})["bytes"] is None


@pytest.mark.parametrize("table,extra", [
    ({"type": "snowflake", "account": "acme", "user": "me", "password_env": "SF_PW"}, "snowflake"),
    ({"type": "bigquery", "project": "p", "dataset": "d"}, "bigquery"),
    ({"type": "databricks", "host": "x.cloud.databricks.com", "http_path": "/sql/1", "token_env": "DBX_TOKEN"},
     "databricks"),
    ({"url": "trino://me@trino.example.com:443/hive/web"}, "trino"),
])
async def test_missing_driver_is_one_line_naming_the_extra(repo, monkeypatch, table, extra):
    monkeypatch.setenv("SF_PW", "pw-123")
    monkeypatch.setenv("DBX_TOKEN", "dapi-123")
    ctx = context(repo)
    ctx.settings.connections = {"cloud": table}
    with pytest.raises(ToolError) as err:
        await RunSQL().prepare({"sql": "SELECT 1", "connection": "cloud"}, ctx)
    message = str(err.value)
    assert f'pip install "de-agent[{extra}]"' in message and "\n" not in message
    assert "pw-123" not in message and "dapi-123" not in message


def test_url_and_secret_parsing():
    conn = from_config("t", {"url": "trino://me@trino.example.com:8443/hive?schema=web", "password_env": "T_PW"},
                       {"T_PW": "tpw-999"})
    assert conn.type == "trino" and conn.params["host"] == "trino.example.com" and conn.params["port"] == 8443
    assert conn.params["dbname"] == "hive" and conn.params["schema"] == "web"
    assert conn.secrets == {"password": "tpw-999"} and "tpw-999" not in repr(conn) and "tpw-999" not in str(conn.public())
    assert conn.scrub("login failed for tpw-999") == "login failed for ***"
    with pytest.raises(ToolError, match="holds a secret"):
        from_config("x", {"url": "snowflake://me@acme/db?token=abc"}, {})
    assert from_config("prod_dwh", {"url": "postgresql://h/db"}, {}).protected
    assert from_config("x", {"url": "md:my_db", "type": "motherduck"}, {}).type == "motherduck"


def test_repository_config_may_name_a_connection_but_not_define_one(repo, de_agent_home):
    (de_agent_home / "config.toml").write_text('[connections.wh]\nurl = "postgresql://me@db.internal/a"\n')
    (repo / ".de-agent").mkdir()
    (repo / ".de-agent" / "config.toml").write_text(
        'connection = "wh"\nmax_scan_bytes = 99999999999999\n[connections.evil]\nurl = "postgresql://x@evil.example/db"\n')
    settings = load_settings(repo, environ={})
    assert settings.connection == "wh" and list(settings.connections) == ["wh"]
    assert any("ignored [connections]" in w for w in settings.warnings)
    assert any("max_scan_bytes" in w for w in settings.warnings)  # it may only lower the limit
    assert settings.max_scan_bytes == 10 * 1024**3


def test_variables_named_by_connections_never_reach_commands(repo, de_agent_home):
    from de_agent.security.env import clean_env

    (de_agent_home / "config.toml").write_text('[connections.wh]\nurl = "postgresql://me@h/a"\n'
                                               'password_env = "WH_PW_X1"\n')
    environ = {"WH_PW_X1": "plain-looking-value", "HOME": "/root"}
    assert "WH_PW_X1" in clean_env(environ=environ)  # the name alone does not look secret ...
    load_settings(repo, environ={})
    assert "WH_PW_X1" not in clean_env(environ=environ)  # ... but the connection names it


def test_dbt_profile_rendering_targets_and_errors(repo, tmp_path):
    from de_agent.config import Settings
    from de_agent.tools.data.warehouse.connections import resolve

    (repo / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "profiles.yml").write_text(
        "shop:\n  target: \"{{ env_var('SHOP_TARGET', 'dev') }}\"\n  outputs:\n"
        "    dev:\n      type: snowflake\n      account: acme\n      user: \"{{ env_var('SF_USER') }}\"\n"
        "      password: \"{{ env_var('SF_PASSWORD') }}\"\n      warehouse: \"{{ env_var('SF_WH', 'XS') }}\"\n"
        "    prod_eu:\n      type: bigquery\n      project: acme-prod\n      dataset: marts\n")
    settings = Settings()
    env = {"DBT_PROFILES_DIR": str(folder), "SF_USER": "me", "SF_PASSWORD": "sf-pass-42"}
    conn = resolve(None, settings, repo, env)
    assert (conn.type, conn.target, conn.params["user"], conn.params["warehouse"]) == ("snowflake", "dev", "me", "XS")
    assert conn.secrets == {"password": "sf-pass-42"} and "password" not in conn.params and not conn.protected
    prod = resolve(None, settings, repo, {**env, "DBT_TARGET": "prod_eu"})
    assert prod.type == "bigquery" and prod.protected  # a prod-like target never auto-approves a write
    assert resolve("dbt:prod_eu", settings, repo, env).target == "prod_eu"
    assert resolve("prod_eu", settings, repo, env).target == "prod_eu"
    assert resolve("local", settings, repo, env) is None
    with pytest.raises(ToolError, match=r"env_var\('SF_USER'\) is not set"):
        resolve("dbt", settings, repo, {"DBT_PROFILES_DIR": str(folder)})
    assert resolve(None, settings, repo, {"DBT_PROFILES_DIR": str(folder)}) is None  # default falls back to files
    with pytest.raises(ToolError, match="no target 'qa'"):
        resolve("dbt:qa", settings, repo, env)


def test_ledger_export_replays_what_ran_and_comments_out_failures(tmp_path):
    from de_agent.tools.data.warehouse import ledger

    ledger.record("sess-abc123", {"turn": 1, "connection": "wh", "target": "dev", "engine": "postgres",
                                  "sql": "SELECT 1;", "status": "ok", "duration_s": 0.01, "rows": 1, "est_bytes": 8})
    ledger.record("sess-abc123", {"turn": 2, "connection": "wh", "target": "dev", "engine": "postgres",
                                  "sql": "SELECT pg_sleep(60)", "status": "cancelled", "duration_s": 1.5})
    with ledger.ledger_file("sess-abc123").open("a") as fh:
        fh.write('{"torn": ')  # a crash mid-line is skipped
    assert [e["status"] for e in ledger.entries("sess-abc123")] == ["ok", "cancelled"]
    assert ledger.find_session("sess-abc") == "sess-abc123" and ledger.find_session("nope") is None
    assert ledger.export_sql("sess-abc123", tmp_path / "q.sql") == 1
    text = (tmp_path / "q.sql").read_text()
    assert "\nSELECT 1;\n" in text and "-- SELECT pg_sleep(60);" in text and "cancelled" in text
    columns, rows = ledger.table("sess-abc123")
    assert columns[3] == "status" and [r[3] for r in rows] == ["ok", "cancelled"]
