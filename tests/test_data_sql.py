"""RunSQL: classification, results, database files, and DuckDB confined to the repository."""

from __future__ import annotations

import os

import pytest

from de_agent.tools.base import EXECUTE, READ, ToolError
from de_agent.tools.data.helpers.client import call_worker
from de_agent.tools.data.sql import RunSQL, classify
from tests.data_fixtures import context, write_duckdb, write_orders_csv, write_sqlite


async def prepare(repo, sql, settings=None, **args):
    return await RunSQL().prepare({"sql": sql, **args}, context(repo, **(settings or {})))


async def run(repo, sql, **args):
    action = await prepare(repo, sql, **args)
    return action, await action.run(None)


async def test_read_query_on_a_repository_file(repo):
    write_orders_csv(repo)
    action, out = await run(repo, "SELECT status, count(*) AS n FROM 'data/orders.csv' "
                                  "WHERE status IS NOT NULL GROUP BY status ORDER BY n DESC, status")
    assert action.kind == READ and not action.asks
    assert out.ok and out.output.startswith("3 rows in ")
    assert out.display["kind"] == "table"
    assert out.display["columns"] == ["status", "n"]
    assert out.display["rows"] == [["paid", "2"], ["new", "1"], ["refunded", "1"]]
    assert "3 rows in" in out.display["note"]


async def test_results_are_bounded_with_the_true_row_count(repo):
    _, out = await run(repo, "SELECT range AS i FROM range(250)", max_rows=10)
    assert out.output.startswith("250 rows in ")
    assert "showing the first 10" in out.output
    assert len(out.display["rows"]) == 10
    with pytest.raises(ToolError, match="max_rows"):
        await prepare(repo, "SELECT 1", max_rows=5000)


@pytest.mark.parametrize("sql", [
    "CREATE TABLE t AS SELECT 1",
    "INSERT INTO t VALUES (1)",
    "UPDATE t SET a = 1",
    "DELETE FROM t",
    "COPY (SELECT 1) TO 'out.csv'",
    "ATTACH 'other.duckdb'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET threads = 1",
    "PRAGMA memory_limit = '1GB'",
    "SELECT 1 INTO t2",
    "SELECT 1; DROP TABLE t",
    "EXPLAIN ANALYZE INSERT INTO t VALUES (1)",
    "CALL pragma_version()",
])
async def test_statements_that_write_ask_like_a_command(repo, sql):
    action = await prepare(repo, sql)
    assert action.kind == EXECUTE
    assert action.asks is True and action.ask_reason
    assert action.command is None  # not a shell command: the policy must not parse it as one


@pytest.mark.parametrize("sql", [
    "SELECT 1", "FROM range(3)", "WITH a AS (SELECT 1 AS x) SELECT * FROM a", "SELECT 1 UNION ALL SELECT 2",
    "DESCRIBE SELECT 1", "SUMMARIZE SELECT 1 AS x", "SHOW TABLES", "EXPLAIN SELECT 1", "PRAGMA table_info('t')",
])
def test_reads_are_classified_as_reads(sql):
    verdict = classify(sql)
    assert not verdict.writes, verdict.reasons


async def test_approved_writes_run_in_memory_and_inside_the_repository_only(repo):
    action, out = await run(repo, "CREATE TABLE t AS SELECT 42 AS x; SELECT x * 2 AS y FROM t")
    assert action.asks and out.display["rows"] == [["84"]]
    action, out = await run(repo, "COPY (SELECT 1 AS a) TO 'one.csv' (HEADER)")
    assert action.asks and out.ok
    assert (repo / "one.csv").read_text().splitlines() == ["a", "1"]
    action = await prepare(repo, "COPY (SELECT 1 AS a) TO '/tmp/de-agent-escape.csv'")
    with pytest.raises(ToolError, match="Permission"):
        await action.run(None)
    assert not os.path.exists("/tmp/de-agent-escape.csv")


async def test_the_worker_refuses_a_write_that_was_not_approved(repo):
    # Defence in depth: even if classification were fooled, DuckDB's own parser is checked.
    with pytest.raises(ToolError, match="not approved"):
        await call_worker(repo, {"op": "sql", "sql": "COPY (SELECT 1) TO 'sneaky.csv'", "allow_write": False}, 30)
    assert not (repo / "sneaky.csv").exists()


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM read_csv('../outside/secret.csv')",
    "SELECT * FROM read_csv('{outside}/secret.csv')",
    "SELECT * FROM read_csv('data/link.csv')",
    "SELECT * FROM read_csv('data/*.csv')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_csv('https://example.com/x.csv')",
    "SELECT * FROM read_parquet('s3://bucket/x.parquet')",
])
async def test_reading_outside_the_repository_is_refused(repo, tmp_path, sql):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("token\nTOPSECRET\n")
    (repo / "data").mkdir()
    os.symlink(outside / "secret.csv", repo / "data" / "link.csv")
    with pytest.raises(ToolError) as err:  # refused before it runs, or by DuckDB's lockdown
        action = await prepare(repo, sql.format(outside=outside))
        assert action.kind == READ
        await action.run(None)
    assert "TOPSECRET" not in str(err.value)
    assert any(word in str(err.value) for word in ("Permission", "disabled", "not", "No files", "outside"))


async def test_a_symlink_out_of_the_repository_is_refused_with_the_reason(repo, tmp_path):
    (tmp_path / "secret.csv").write_text("token\nTOPSECRET\n")
    (repo / "data").mkdir()
    os.symlink(tmp_path / "secret.csv", repo / "data" / "link.csv")
    with pytest.raises(ToolError, match=r"data/link.csv \(a symlink\) resolves to .*outside the repository"):
        await prepare(repo, "SELECT * FROM read_csv('data/link.csv')")


@pytest.mark.parametrize(("sql", "message"), [
    ("selec * frm nowhere", "syntax error at or near \"selec\""),
    ("SELECT 'unterminated", "unterminated string literal"),
])
async def test_sql_that_does_not_parse_returns_the_parser_error_and_never_asks(repo, sql, message):
    with pytest.raises(ToolError, match="DuckDB cannot parse the SQL") as err:
        await prepare(repo, sql)
    assert message in str(err.value)


async def test_pivot_and_unpivot_are_reads(repo):
    sql = ("WITH t AS (SELECT * FROM (VALUES ('a', 2020, 1), ('a', 2021, 2), ('b', 2020, 3)) v(city, yr, n)) "
           "PIVOT t ON yr USING sum(n) ORDER BY city")
    action, out = await run(repo, sql)
    assert action.kind == READ and not action.asks
    assert out.display["columns"] == ["city", "2020", "2021"]
    assert out.display["rows"][0] == ["a", "1", "2"]
    action = await prepare(repo, "UNPIVOT (SELECT 1 AS jan, 2 AS feb) ON jan, feb INTO NAME month VALUE n")
    assert action.kind == READ and not action.asks


async def test_large_results_are_counted_exactly_when_cheap_and_say_so_when_not(repo):
    _, out = await run(repo, "SELECT range AS i, range * 2 AS j FROM range(10000000)", max_rows=5)
    assert out.output.startswith("10,000,000 rows in ")
    assert "showing the first 5 rows of 10,000,000 (max_rows=5)" in out.output
    _, out = await run(repo, "SELECT a.range AS x FROM range(100000000) a, range(1000000) b", max_rows=5)
    assert out.output.startswith("more than 5 rows (not counted: counting took over 1 s)")
    assert "showing the first 5 rows of more" in out.output


async def test_one_truncation_rule_for_rows_columns_and_bytes(repo):
    _, out = await run(repo, "SELECT range AS i, repeat('x', 50) AS pad, repeat('y', 50) AS pad2 FROM range(1000)",
                       max_rows=1000)
    notes = [line for line in out.output.splitlines() if line.startswith("[")]
    assert len(notes) == 1 and "showing the first" in notes[0] and "output limit" in notes[0]
    shown = int(notes[0].split("showing the first ")[1].split(" ")[0])
    assert 100 < shown < 1000
    assert len([ln for ln in out.output.splitlines()[1:] if ln[:1].isdigit()]) == shown
    assert "cut:" not in out.output  # bound_text never had to cut as well
    wide = ", ".join(f"range + {i} AS c{i}" for i in range(300))
    _, out = await run(repo, f"SELECT {wide} FROM range(5)")
    assert out.output.startswith("5 rows in ")
    assert "showing the first 60 of 300 columns" in out.output and "one block per row" in out.output
    assert out.output.count("-[ row ") == 5
    assert max(len(line) for line in out.output.splitlines()) < 300


@pytest.mark.parametrize("sql", [
    "INSTALL httpfs", "LOAD httpfs", "LOAD '/tmp/evil.duckdb_extension'", "SET enable_external_access = true",
    "SET allowed_directories = ['/']", "RESET lock_configuration", "SET autoload_known_extensions = true",
])
async def test_extensions_and_configuration_stay_locked_even_when_approved(repo, sql):
    action = await prepare(repo, sql)
    assert action.asks
    with pytest.raises(ToolError):
        await action.run(None)


async def test_duckdb_database_is_read_only(repo):
    write_duckdb(repo)
    action, out = await run(repo, "SELECT count(*) AS n FROM dim_customer", database="db/warehouse.duckdb")
    assert action.paths == ["db/warehouse.duckdb"] and out.display["rows"] == [["5"]]
    action = await prepare(repo, "INSERT INTO dim_customer VALUES (9, 'x')", database="db/warehouse.duckdb")
    assert action.asks
    with pytest.raises(ToolError, match="read-only"):
        await action.run(None)


async def test_sqlite_database_is_read_only_and_cannot_attach(repo):
    write_sqlite(repo)
    _, out = await run(repo, "SELECT name, score FROM users ORDER BY id", database="db/app.sqlite")
    assert out.display["rows"] == [["ann", "3.5"], ["bo", None], ["cy", "9.0"]]
    action = await prepare(repo, "DELETE FROM users", database="db/app.sqlite")
    assert action.asks
    with pytest.raises(ToolError, match="readonly"):
        await action.run(None)
    with pytest.raises(ToolError, match="/etc/passwd resolves to /etc/passwd, outside the repository"):
        await prepare(repo, "ATTACH '/etc/passwd' AS p", database="db/app.sqlite")
    action = await prepare(repo, "ATTACH 'db/app.sqlite' AS p", database="db/app.sqlite")
    with pytest.raises(ToolError, match="not authorized"):
        await action.run(None)


async def test_database_argument_is_confined_and_checked(repo, tmp_path):
    other = write_sqlite(tmp_path, "elsewhere.sqlite")
    with pytest.raises(ToolError, match="outside the repository"):
        await prepare(repo, "SELECT 1", database=str(other))
    with pytest.raises(ToolError, match="not a DuckDB or SQLite"):
        await prepare(repo, "SELECT 1", database="README.md")
    with pytest.raises(ToolError, match="no such database"):
        await prepare(repo, "SELECT 1", database="db/missing.duckdb")


async def test_a_query_past_the_time_limit_is_stopped(repo):
    action = await prepare(repo, "SELECT count(*) FROM range(1000000000000) a", settings={"data_timeout_s": 1.0})
    with pytest.raises(ToolError, match="time limit"):
        await action.run(None)


async def test_sql_errors_are_results_the_model_reads(repo):
    action = await prepare(repo, "SELECT * FROM no_such_table")
    with pytest.raises(ToolError, match="no_such_table"):
        await action.run(None)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_text('.env')",
    "SELECT * FROM read_csv('config/.env.local')",
    "SELECT * FROM read_text('**')",
    "SELECT * FROM read_text('config/*')",
    "SELECT * FROM read_text('data/innocent.csv')",  # a symlink to the .env file
    "SELECT * FROM \"deploy/server.pem\"",
])
async def test_sql_naming_secret_files_asks_first(repo, sql):
    (repo / "config").mkdir()
    (repo / ".env").write_text("API_TOKEN=abc\n")
    (repo / "config" / ".env.local").write_text("X=1\n")
    (repo / "data").mkdir()
    os.symlink(repo / ".env", repo / "data" / "innocent.csv")
    action = await prepare(repo, sql)
    assert action.kind == READ and action.secret_read


async def test_plain_globs_and_data_files_do_not_count_as_secrets(repo):
    write_orders_csv(repo)
    (repo / ".env").write_text("API_TOKEN=abc\n")
    for sql in ("SELECT * FROM 'data/*.csv'", "SELECT * FROM read_csv('data/orders.csv')", "SELECT 'x*'"):
        action = await prepare(repo, sql)
        assert not action.secret_read, sql


async def test_duckdb_runs_locked_down(repo):
    _, out = await run(repo, "SELECT current_setting('autoload_known_extensions') AS autoload, "
                             "current_setting('autoinstall_known_extensions') AS autoinstall, "
                             "current_setting('enable_external_access') AS external, "
                             "current_setting('lock_configuration') AS locked, "
                             "current_setting('allowed_directories') AS dirs")
    assert out.display["rows"][0][:4] == ["False", "False", "False", "True"]
    # DuckDB adds its own temp folder (the worker's private, empty, deleted afterwards) to the list.
    dirs = out.display["rows"][0][4].strip("[]").replace("'", "").split(", ")
    assert f"{repo}/" in dirs
    assert all(d == f"{repo}/" or "/de-agent-duckdb-" in d for d in dirs)


@pytest.mark.parametrize("module", ["duckdb", "json", "tempfile"])
async def test_python_files_in_the_repository_do_not_run_in_the_worker(repo, module):
    # The worker runs in the repository folder: a module there must not shadow a real one.
    (repo / f"{module}.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_name('pwned').write_text('x')\nraise SystemExit(3)\n")
    _, out = await run(repo, "SELECT 42 AS answer")
    assert out.display["rows"] == [["42"]]
    assert not (repo / "pwned").exists()
