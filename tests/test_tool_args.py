"""The ten tools converted last to declared arguments: bad arguments are refused by the registry
as invalid_arguments in clear words, null counts as not sent, and each tool says a call and its
result in one line of its own."""

from __future__ import annotations

import pytest

from de_agent.protocol import ErrorKind
from de_agent.tools import load_tools
from de_agent.tools.base import ToolError
from de_agent.tools.registry import ToolRegistry
from tests.data_fixtures import context, write_orders_csv


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry(load_tools())


async def call(registry: ToolRegistry, repo, name: str, arguments: dict):
    """Validate, prepare and run one call as the engine does; (outcome, result summary)."""
    action = await registry.prepare(registry.get(name), arguments, context(repo))
    outcome = await action.run(None)
    return outcome, registry.result_summary(name, outcome.ok, outcome.output, outcome.display)


@pytest.mark.parametrize(("name", "arguments", "message"), [
    ("Shell", {}, "parameter 'command' is required"),
    ("Shell", {"command": "   "}, "parameter 'command' must not be blank"),
    ("Shell", {"command": "ls", "timeout_s": "soon"}, "parameter 'timeout_s' must be of type float"),
    ("LocalShell", {"command": "ls\x00rm"}, "parameter 'command' contains a NUL byte"),
    ("Edit", {"file_path": "a.txt", "old_string": "x"}, "parameter 'new_string' is required"),
    ("Edit", {"file_path": "", "old_string": "x", "new_string": "y"}, "parameter 'file_path' must not be empty"),
    ("Edit", {"file_path": "a", "old_string": "x", "new_string": "y", "allow_multiple": "sometimes"},
     "parameter 'allow_multiple' must be true or false"),
    ("WriteFile", {"file_path": "a.txt", "content": 3}, "parameter 'content' must be of type str"),
    ("ProfileData", {"path": "data/orders.csv", "sample_rows": 99},
     "parameter 'sample_rows' must be between 0 and 50"),
    ("ProfileData", {"path": "data/orders.csv", "header": "yes"}, "parameter 'header' must be true or false"),
    ("RunSQL", {"sql": "select 1", "max_rows": 0}, "parameter 'max_rows' must be between 1 and 1000"),
    ("RunSQL", {"sql": ""}, "parameter 'sql' must not be empty"),
    ("SQLLineage", {}, "give exactly one of 'sql', 'file_path' or 'dir_path'"),
    ("SQLLineage", {"sql": "select 1", "project": "shop"}, "'project' goes with 'dir_path'"),
    ("SQLLineage", {"sql": "select 1", "dialect": "klingon"}, "unknown dialect 'klingon'; try duckdb, snowflake, bigquery, postgres, spark, redshift, tsql"),
    ("ScanPII", {"path": "data/orders.csv", "columns": "email"}, "parameter 'columns' must be of type list"),
    ("ListTables", {}, "parameter 'connection' is required"),
    ("DescribeTable", {"connection": ""}, "parameter 'table' is required"),
    ("DataDiff", {"model": "orders", "sample": 100},
     "parameter 'sample' must be a percent between 1 and 99 (leave it out for a full comparison)"),
    ("DataDiff", {"sql_before": "select 1"}, "give 'model', or both 'sql_before' and 'sql_after'"),
    ("Skill", {"name": ""}, "parameter 'name' must not be empty"),
])
async def test_bad_arguments_are_refused_once_in_the_registry_in_clear_words(registry, repo, name, arguments,
                                                                             message):
    with pytest.raises(ToolError) as caught:
        await registry.prepare(registry.get(name), arguments, context(repo))
    assert caught.value.kind == ErrorKind.INVALID_ARGUMENTS
    assert str(caught.value) == message


async def test_an_argument_sent_as_null_takes_its_default(registry, repo):
    write_orders_csv(repo)
    outcome, _ = await call(registry, repo, "RunSQL", {"sql": "select count(*) as n from 'data/orders.csv'",
                                                       "max_rows": None, "database": None, "connection": None})
    assert outcome.ok and outcome.display["rows"] == [["5"]]
    (repo / "a.txt").write_text("x x\n")
    with pytest.raises(ToolError, match="occurs 2 times"):  # allow_multiple: null is false, its default
        await registry.prepare(registry.get("Edit"), {"file_path": "a.txt", "old_string": "x", "new_string": "y",
                                                      "allow_multiple": None}, context(repo))
    with pytest.raises(ToolError, match="parameter 'command' is required"):
        await registry.prepare(registry.get("Shell"), {"command": None}, context(repo))


@pytest.mark.parametrize(("name", "arguments", "summary"), [
    ("Shell", {"command": "pytest  -q\n tests", "description": "run the tests"}, "pytest -q tests"),
    ("LocalShell", {"command": "dbt run -s orders", "description": "needs the warehouse"},
     "on the host: dbt run -s orders"),
    ("Edit", {"file_path": "models/orders.sql", "old_string": "a", "new_string": "b"}, "models/orders.sql"),
    ("WriteFile", {"file_path": "models/new.sql", "content": "select 1"}, "models/new.sql"),
    ("RunSQL", {"sql": "select *\nfrom orders", "database": "shop.duckdb"}, "select * …  [shop.duckdb]"),
    ("RunSQL", {"sql": "select 1", "connection": "prod"}, "select 1  [prod]"),
    ("SQLLineage", {"dir_path": "dbt", "project": "shop"}, "dbt"),
    ("SQLLineage", {"sql": "insert into t\nselect a from s"}, "insert into t …"),
    ("ProfileData", {"path": "data/orders.csv", "sample_rows": 3}, "data/orders.csv"),
    ("ProfileData", {"table": "fct_orders", "connection": "prod"}, "fct_orders"),
    ("ScanPII", {"path": "exports/users.csv", "columns": ["email"]}, "exports/users.csv"),
    ("ListTables", {"connection": "prod", "schema": "analytics", "pattern": "stg_*"}, "analytics.stg_* on prod"),
    ("ListTables", {"connection": ""}, "tables on the default connection"),
    ("DescribeTable", {"connection": "prod", "table": "analytics.orders"}, "analytics.orders on prod"),
    ("DataDiff", {"model": "orders", "key": ["order_id"]}, "orders"),
    ("Skill", {"name": "dbt-testing"}, "dbt-testing"),
    ("Skill", {"name": "dbt-testing", "file": "checklist.md"}, "dbt-testing/checklist.md"),
])
def test_each_tool_says_its_call_in_one_line(registry, name, arguments, summary):
    assert registry.call_summary(name, arguments) == summary


async def test_each_tool_says_its_result_in_one_line(registry, repo):
    write_orders_csv(repo)
    _, summary = await call(registry, repo, "WriteFile", {"file_path": "notes.txt", "content": "a\nb\n"})
    assert summary == "Created notes.txt (2 lines)."
    _, summary = await call(registry, repo, "Edit", {"file_path": "notes.txt", "old_string": "a", "new_string": "c"})
    assert summary == "Edited notes.txt (+1 -1): exact match at line 1."
    outcome, summary = await call(registry, repo, "WriteFile", {"file_path": "notes.txt", "content": "c\nb\n"})
    assert summary == "notes.txt already has exactly this content; nothing was written."
    _, summary = await call(registry, repo, "Shell", {"command": "echo hi"})
    assert summary.startswith("exit 0 · ") and summary.endswith(" s")
    _, summary = await call(registry, repo, "Shell", {"command": "exit 3"})
    assert summary.startswith("exit 3 · ")
    _, summary = await call(registry, repo, "ProfileData", {"path": "data/orders.csv"})
    assert summary.startswith("csv, 1 file, 5 rows, 6 columns")
    _, summary = await call(registry, repo, "ScanPII", {"path": "data/orders.csv"})
    assert summary.startswith("sampled 5 of 5 rows, 6 columns;") and "email" in summary
    _, summary = await call(registry, repo, "SQLLineage", {"sql": "insert into t select a, b from s join u on s.id = u.id"})
    assert summary == "1 statement · writes t · reads s, u"
    _, summary = await call(registry, repo, "RunSQL", {"sql": "select status, count(*) from 'data/orders.csv' group by 1"})
    assert summary == "4 rows × 2 columns"


def test_a_command_whose_output_was_cut_says_so(registry):
    display = {"kind": "shell", "exit_code": 0, "timed_out": False, "truncated": True, "duration_s": 2.0}
    assert registry.result_summary("Shell", True, "Exit code: 0\n...", display) == "exit 0 · 2.0 s · output cut"
    display = {"kind": "shell", "command": "rm -rf /", "refused": "deletes the root"}
    refused = "Refused in every approval mode: deletes the root. Do not retry it."
    assert registry.result_summary("LocalShell", False, refused, display) == refused


def test_a_failed_data_call_is_summed_up_by_its_error(registry):
    assert registry.result_summary("ProfileData", False, "data/x.csv: no such file\nmore", None) == \
        "data/x.csv: no such file"
    assert registry.result_summary("DescribeTable", False, "no table 'x'", None) == "no table 'x'"


async def test_a_tool_with_a_ready_made_schema_gets_it_shown_as_is_and_its_arguments_unparsed(repo):
    """The path MCP tools take: ``parameters`` is the server's JSON schema, ``prepare`` gets the dict."""
    from de_agent.tools.base import READ, Outcome, Tool, simple_action

    server_schema = {"type": "object", "properties": {"q": {"type": "string", "title": "Q", "default": "x"}},
                     "required": ["q"], "additionalProperties": False}
    seen: list[object] = []

    class Remote(Tool):
        name = "remote_search"
        description = "A server's tool."

        def __init__(self) -> None:
            self.parameters = server_schema

        async def prepare(self, args, ctx):
            seen.append(args)

            async def run() -> Outcome:
                return Outcome(True, "done")

            return simple_action(READ, "search", run)

    registry = ToolRegistry([Remote()])
    assert registry.schemas()[0]["function"]["parameters"] == server_schema  # titles, defaults kept: not ours
    await registry.prepare(registry.get("remote_search"), {"q": 3, "extra": None}, context(repo))
    assert seen == [{"q": 3, "extra": None}]


def test_datadiff_key_columns_may_come_as_one_comma_separated_string():
    from de_agent.tools.data.datadiff import DataDiffArgs

    assert DataDiffArgs.model_validate({"model": "m", "key": "order_id, line_no"}).key == ["order_id", "line_no"]
    assert DataDiffArgs.model_validate({"model": "m", "key": None}).key == []


def test_datadiff_is_summed_up_by_its_headline(registry):
    display = {"kind": "datadiff", "headline": "orders: 2 rows added, amount changed in 3 rows"}
    assert registry.result_summary("DataDiff", True, "long report\n...", display) == display["headline"]
    assert registry.result_summary("DataDiff", False, "no dbt model 'x'\nmore", None) == "no dbt model 'x' …"
