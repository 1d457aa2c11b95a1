"""Spark in local mode over Parquet tables: one shared in-process session, one run through the worker."""

from __future__ import annotations

import shutil

import pytest

from de_agent.tools.base import EXECUTE
from de_agent.tools.data.sql import RunSQL
from de_agent.tools.data.warehouse import ledger
from tests.data_fixtures import context
from tests.support.engines import require_engine

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("spark")]  # one JVM, started once


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    import duckdb

    folder = tmp_path_factory.mktemp("lake")
    duckdb.sql(f"COPY (SELECT range AS id, 'k' || (range % 7) AS kind, range * 1.5 AS amount FROM range(20000)) "
               f"TO '{folder}/events.parquet' (FORMAT parquet)")
    return folder


@pytest.fixture(scope="module")
def spark(lake):
    if shutil.which("java") is None:
        require_engine("Java (for Spark)")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        require_engine("pyspark (pip install -e '.[test,spark]')")
    from de_agent.tools.data.warehouse.drivers.spark import SparkDriver

    driver = SparkDriver({"params": {"parquet_dir": str(lake)}}, 120, read_only=True)
    driver.open()
    yield driver
    driver.spark.stop()


def test_spark_parser_refuses_commands_before_they_run(spark):
    assert spark.check_read("SELECT kind, count(*) FROM events GROUP BY kind") is None
    assert "InsertIntoStatement" in spark.check_read("INSERT INTO events SELECT * FROM events")
    assert "not a query" in spark.check_read("CREATE TABLE x AS SELECT 1")
    assert spark.check_read("DROP TABLE events")


def test_spark_estimate_browse_and_profile_push_down(spark):
    est = spark.estimate("SELECT kind, count(*) FROM events GROUP BY kind")
    assert est["bytes"] > 10_000
    assert spark.estimate("INSERT INTO events SELECT * FROM events")["bytes"] is None  # never run to estimate
    result = spark.run("SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind", 3)
    assert result["rows"] == [["k0", 2858], ["k1", 2857], ["k2", 2857]] and not result["exact"]
    assert spark.list_tables(None, "ev*")["rows"] == [["", "events", "temporary view"]]
    desc = spark.describe("events")
    assert [c[0] for c in desc["columns"]] == ["id", "kind", "amount"] and desc["bytes"] > 0
    profile = spark.profile("events", 0)
    kind = {c["name"]: c for c in profile["columns"]}["kind"]
    assert profile["rows"] == 20000 and kind["distinct"] == 7 and kind["top"][0][1] in (2857, 2858)


async def test_a_write_asks_without_starting_spark(repo, lake):
    ctx = context(repo)
    ctx.settings.connections = {"lake": {"url": "spark://local", "parquet_dir": str(lake)}}
    write = await RunSQL().prepare({"sql": "INSERT INTO events SELECT * FROM events", "connection": "lake"}, ctx)
    assert write.kind == EXECUTE and write.asks and "no estimate for commands" in write.summary


def test_cancel_stops_the_spark_job(spark):
    import threading
    import time

    box: dict = {}

    def work() -> None:
        try:
            box["result"] = spark.run("SELECT count(*) FROM range(10000000000000)", 5)
        except Exception as exc:  # noqa: BLE001 - the assertion below reads it
            box["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    tracker = spark.spark.sparkContext.statusTracker()
    for _ in range(600):
        if tracker.getJobIdsForGroup("de-agent") and tracker.getActiveJobsIds():
            break
        time.sleep(0.1)
    else:
        pytest.fail("the Spark job never started")
    spark.cancel()
    thread.join(120)
    assert not thread.is_alive() and "result" not in box
    assert "cancelled on the cluster" in str(box["error"])
    assert not tracker.getActiveJobsIds()


def test_end_to_end_through_the_real_command(repo, de_agent_home, lake, spark):
    from tests.support.cli import run_cli, stream_events
    from tests.support.openai_server import ScriptedServer, tool_messages

    (de_agent_home / "config.toml").write_text(f'[connections.lake]\nurl = "spark://local"\nparquet_dir = "{lake}"\n')
    script = [
        {"tool_calls": [{"name": "RunSQL", "arguments": {"connection": "lake", "sql":
                        "SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind LIMIT 2"}}]},
        {"tool_calls": [{"name": "RunSQL", "arguments": {"connection": "lake", "sql":
                        "INSERT INTO events SELECT * FROM events"}}]},
        {"text": "k0 and k1."},
    ]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "kinds", "--output-format", "stream-json", server=server,
                       timeout=300)
    assert proc.returncode == 0, proc.stderr
    approvals = [e["decision"] for e in stream_events(proc.stdout) if e["type"] == "approval"]
    assert approvals == ["approved", "denied"]  # headless: the write was not run
    results = tool_messages(server.requests[2])
    assert "k0" in results[0]["content"] and "2858" in results[0]["content"]
    assert "estimate: scans" in results[0]["content"]
    session_id = stream_events(proc.stdout)[0]["session_id"]
    [entry] = ledger.entries(session_id)  # the denied write never ran, so it is not in the ledger
    assert entry["engine"] == "spark" and entry["status"] == "ok" and entry["est_bytes"] > 0
