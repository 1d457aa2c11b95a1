"""SQLLineage: statements, files, folders of SQL and dbt projects; errors stay local."""

from __future__ import annotations

import pytest

from de_agent.tools.base import READ, ToolError
from de_agent.tools.data.helpers.dbt import render_jinja
from de_agent.tools.data.lineage import SQLLineage, analyze_sql, split_statements
from tests.data_fixtures import context, write_dbt_project


async def lineage(repo, **args):
    action = await SQLLineage().prepare(args, context(repo))
    assert action.kind == READ and not action.asks
    return await action.run(None)


def test_create_table_as_reads_writes_and_columns_through_ctes():
    (stmt,) = analyze_sql("""
        create table mart.orders_enriched as
        with c as (select id, upper(name) as cname from raw.customers)
        select o.order_id, o.amount * 1.2 as gross, c.cname as customer, count(*) over () as n
        from raw.orders o join c on o.customer_id = c.id""")
    assert stmt.kind == "CREATE" and stmt.writes == ["mart.orders_enriched"]
    assert sorted(stmt.reads) == ["raw.customers", "raw.orders"]  # the CTE is not a table
    assert stmt.columns == {"order_id": ["raw.orders.order_id"], "gross": ["raw.orders.amount"],
                            "customer": ["raw.customers.name"], "n": []}


def test_insert_with_column_list_maps_positionally_and_errors_stay_local():
    results = analyze_sql("insert into mart.t (a, b) select s.x, u.y + 1 from raw.s s join raw.u u using (id);"
                          "select from where ((;"
                          "copy (select a from mart.t) to 'out.csv'")
    assert [r.kind for r in results] == ["INSERT", "", "COPY"]
    assert results[0].columns == {"a": ["raw.s.x"], "b": ["raw.u.y"]}
    assert results[1].error.startswith("could not parse")
    assert results[2].writes == ["out.csv"] and results[2].reads == ["mart.t"]


def test_split_statements_respects_quotes_and_comments():
    sql = "select ';' as a; -- not; a split\nselect 2 /* ; */; ; select 'it''s;'"
    assert [s.strip() for s in split_statements(sql)] == [
        "select ';' as a", "-- not; a split\nselect 2 /* ; */", "select 'it''s;'"]


def test_render_jinja_resolves_ref_source_and_drops_incremental_blocks():
    sql, refs, sources = render_jinja(
        "{{ config(materialized='incremental') }}{# note #}\n"
        "select * from {{ ref('stg_orders') }} join {{ ref(\"pkg\", \"dim\") }} using (id)\n"
        "join {{ source('raw', 'orders') }} using (id) where d > '{{ var(\"start\") }}'\n"
        "{% if is_incremental() %} and id > (select max(id) from {{ this }}) {% endif %}", "fct")
    assert refs == ["stg_orders", "dim"] and sources == [("raw", "orders")]
    assert "from stg_orders join dim using (id)" in sql and "join raw__orders" in sql
    assert "'start'" in sql and "fct" not in sql and "{" not in sql


async def test_statement_tool_output_and_tree_display(repo):
    out = await lineage(repo, sql="insert into dw.f select a.x from src.a a", dialect="duckdb")
    assert out.display["kind"] == "tree"
    assert out.display["root"]["children"][0]["label"] == "statement 1: INSERT"
    assert "writes\n      dw.f" in out.output and "x ← src.a.x" in out.output


async def test_duckdb_file_functions_are_tables(repo):
    out = await lineage(repo, sql="select t.a from read_parquet('data/*.parquet') t", dialect="duckdb")
    assert "READ_PARQUET('data/*.parquet')" in out.output


async def test_file_and_folder_of_sql(repo):
    (repo / "sql").mkdir()
    (repo / "sql" / "01_stage.sql").write_text("create table stage.o as select id, amt from raw.o;\n")
    (repo / "sql" / "02_mart.sql").write_text("create table mart.o as select id, amt * 2 as a2 from stage.o;\n")
    (repo / "sql" / "03_bad.sql").write_text("create table as select;\n")
    out = await lineage(repo, file_path="sql/02_mart.sql")
    assert "a2 ← stage.o.amt" in out.output
    out = await lineage(repo, dir_path="sql")
    assert out.display["edges"] == [["raw.o", "stage.o"], ["stage.o", "mart.o"]]
    assert "sql/03_bad.sql statement 1: could not parse" in out.output


async def test_dbt_project_graph(repo):
    write_dbt_project(repo)
    out = await lineage(repo, dir_path="shop")
    display = out.display
    assert display["kind"] == "tree"
    edges = {tuple(e) for e in display["edges"]}
    assert edges == {
        ("source.raw.orders", "model.stg_orders"), ("source.raw.customers", "model.stg_customers"),
        ("source.events.clicks", "model.stg_clicks"),
        ("model.stg_orders", "model.fct_orders"), ("model.stg_customers", "model.fct_orders"),
        ("seed.country_regions", "model.fct_orders"), ("model.fct_orders", "model.customer_ltv"),
        ("model.fct_orders", "model.broken"), ("missing.not_a_model", "model.uses_missing"),
    }
    nodes = {n["id"]: n for n in display["nodes"]}
    assert nodes["model.fct_orders"]["description"] == "One row per paid order."
    assert nodes["source.raw.orders"]["path"] == "shop/models/sources.yml"
    assert nodes["model.fct_orders"]["column_lineage"] == {
        "order_id": ["stg_orders.order_id"], "customer_name": ["stg_customers.customer_name"],
        "amount_eur": ["stg_orders.amount"], "region": ["country_regions.region"]}
    assert nodes["model.stg_orders"]["column_lineage"]["order_id"] == ["raw.orders.id"]
    assert nodes["model.customer_ltv"]["column_lineage"]["lifetime_value"] == ["fct_orders.amount_eur"]
    # Errors in one file are reported; the rest of the project is still analysed.
    assert any(e.startswith("shop/models/marts/broken.sql: could not parse") for e in display["errors"])
    assert any(e.startswith("shop/models/bad.yml") for e in display["errors"])
    assert "ref() to unknown models: not_a_model" in out.output
    assert "source() not declared in any .yml: events.clicks" in out.output
    assert "fct_orders <- country_regions, stg_customers, stg_orders" in out.output
    labels = [c["label"] for c in display["root"]["children"]]
    assert "source raw.orders" in labels and "seed country_regions" in labels


async def test_dbt_project_found_below_the_folder(repo):
    write_dbt_project(repo)
    out = await lineage(repo, dir_path=".")
    assert out.output.startswith("dbt project 'shop' (shop)")


async def test_arguments_and_confinement(repo, tmp_path):
    (tmp_path / "x.sql").write_text("select 1")
    for args, message in [({}, "exactly one"), ({"sql": "select 1", "file_path": "a.sql"}, "exactly one"),
                          ({"file_path": str(tmp_path / "x.sql")}, "outside the repository"),
                          ({"dir_path": ".."}, "outside the repository"),
                          ({"file_path": "etl"}, "is a folder"), ({"dir_path": "README.md"}, "not a folder"),
                          ({"sql": "select 1", "dialect": "klingon"}, "unknown dialect")]:
        with pytest.raises(ToolError, match=message):
            await SQLLineage().prepare(args, context(repo))
    action = await SQLLineage().prepare({"file_path": "missing.sql"}, context(repo))
    with pytest.raises(ToolError, match="no such file"):
        await action.run(None)
    action = await SQLLineage().prepare({"dir_path": "etl"}, context(repo))
    with pytest.raises(ToolError, match="no .sql files"):
        await action.run(None)


async def test_several_dbt_projects_ask_which_never_silently_nothing(repo):
    from tests.dbt_fixture import write_dbt_repo

    write_dbt_repo(repo)
    with pytest.raises(ToolError, match=r"2 dbt projects below warehouses: .*finance.*shop.*'project'"):
        await lineage(repo, dir_path="warehouses")
    out = await lineage(repo, dir_path="warehouses", project="finance")
    assert {tuple(e) for e in out.display["edges"]} == {("seed.ledger", "model.balances")}
    with pytest.raises(ToolError, match="no single dbt project 'nope'"):
        await lineage(repo, dir_path="warehouses", project="nope")


async def test_dbt_graph_matches_what_dbt_resolves(repo):
    from tests.dbt_fixture import SHOP, SHOP_EDGES, write_dbt_repo

    write_dbt_repo(repo)
    out = await lineage(repo, dir_path="warehouses", project="shop")
    assert out.output.startswith(f"dbt project 'shop' ({SHOP})")  # found under a folder named logs
    edges = {tuple(e) for e in out.display["edges"]}
    assert edges == SHOP_EDGES, (edges - SHOP_EDGES, SHOP_EDGES - edges)
    nodes = {n["id"]: n for n in out.display["nodes"]}
    assert nodes["model.retired"]["disabled"] and nodes["model.old_customers"]["disabled"]
    assert "Disabled (not in dbt's graph): old_customers, retired" in out.output
    assert "source.raw.refunds" not in nodes and "missing.old_customers" not in nodes
    assert nodes["exposure.weekly_dashboard"]["type"] == "exposure"
    assert "weekly_dashboard <- customer_report, order_payments  [exposure]" in out.output


async def test_dbt_column_lineage_comes_from_sql_and_yaml_only_documents(repo):
    from tests.dbt_fixture import SHOP_COLUMNS, write_dbt_repo

    write_dbt_repo(repo)
    out = await lineage(repo, dir_path="warehouses/logs/shop")
    nodes = {n["name"]: n for n in out.display["nodes"]}
    exact = 0
    total = 0
    for model, columns in SHOP_COLUMNS.items():
        for column, sources in columns.items():
            total += 1
            exact += sorted(nodes[model]["column_lineage"].get(column, ["<none>"])) == sorted(sources)
    assert exact == total, {m: nodes[m]["column_lineage"] for m in SHOP_COLUMNS}
    report = nodes["customer_report"]
    assert report["columns"] == ["customer_id", "full_name", "orders"]  # not just the documented one
    assert report["column_docs"]["customer_id"]["tests"] == ["unique", "not_null"]
    assert report["description"] == "Orders per customer."
    # columns a package macro makes are reported unknown, never given invented names
    assert nodes["pivoted"]["unknown_columns"] and list(nodes["pivoted"]["column_lineage"]) == ["order_id"]
    assert "__unknown__" not in out.output and "__jinja__" not in out.output
    assert "left out (unknown) in: pivoted" in out.output


async def test_a_fresh_dbt_manifest_gives_the_edges(repo):
    import json
    import os
    import time

    from tests.dbt_fixture import SHOP, write_dbt_repo

    write_dbt_repo(repo)
    manifest = {
        "nodes": {"model.shop.stg_orders": {"name": "stg_orders", "original_file_path": "models/x.sql"},
                  "model.shop.from_dbt": {"name": "from_dbt"}},
        "sources": {"source.shop.raw.orders": {"source_name": "raw", "name": "orders"}},
        "parent_map": {"model.shop.from_dbt": ["model.shop.stg_orders"],
                       "model.shop.stg_orders": ["source.shop.raw.orders"]},
    }
    path = repo / SHOP / "target" / "manifest.json"
    path.parent.mkdir()
    path.write_text(json.dumps(manifest))
    out = await lineage(repo, dir_path=SHOP)
    assert "Edges from dbt's own" in out.output
    assert {tuple(e) for e in out.display["edges"]} == {("model.stg_orders", "model.from_dbt"),
                                                         ("source.raw.orders", "model.stg_orders")}
    # once a project file is newer than the manifest, our own parse is used again
    later = time.time() + 10
    os.utime(repo / SHOP / "models" / "staging" / "stg_orders.sql", (later, later))
    out = await lineage(repo, dir_path=SHOP)
    assert "Edges from dbt's own" not in out.output and ("model.stg_orders", "model.from_dbt") not in {
        tuple(e) for e in out.display["edges"]}


async def test_a_dbt_project_past_the_time_limit_still_gets_its_graph(repo):
    from de_agent.tools.data.lineage import SQLLineage
    from tests.dbt_fixture import SHOP, SHOP_EDGES, write_dbt_repo

    write_dbt_repo(repo)
    action = await SQLLineage().prepare({"dir_path": SHOP}, context(repo, data_timeout_s=1e-9))
    out = await action.run(None)
    assert "Column lineage stopped at the 1e-09 s limit; not analysed:" in out.output
    assert {tuple(e) for e in out.display["edges"]} == SHOP_EDGES


def test_render_fallback_ignores_refs_outside_jinja():
    sql, refs, sources = render_jinja("-- reads ref('old') and source('a', 'b')\nselect 1 from {{ ref ('new') }}", "m")
    assert refs == ["new"] and sources == []


async def test_when_dbt_is_installed_the_output_offers_dbt_parse(repo, tmp_path, monkeypatch):
    from tests.dbt_fixture import FINANCE, write_dbt_repo

    write_dbt_repo(repo)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    out = await lineage(repo, dir_path=FINANCE)
    assert "dbt parse" not in out.output  # no dbt on PATH
    (bin_dir / "dbt").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "dbt").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    out = await lineage(repo, dir_path=FINANCE)
    assert f"`dbt parse --project-dir {FINANCE}` (Shell, asks first)" in out.output


def test_dbt_cross_database_macros_and_filters_render_sql_lineage_can_follow():
    from de_agent.tools.data.helpers.dbt_jinja import Renderer

    rendered = Renderer({"flag": "true"}, [], "p").render(
        "select {{ dbt.date_trunc('day', 'created_at') }} as d, cast(x as {{ dbt.type_string() }}) as s, "
        "{{ dbt.safe_cast('amount', api.Column.translate_type('string')) }} as a, "
        "{{ dbt.some_new_macro('y') }} as u {% if var('flag') | as_bool %}, 1 as f{% endif %} from {{ ref('m') }}",
        "this")
    (stmt,) = analyze_sql(rendered.sql)
    assert stmt.columns["d"] == ["m.created_at"] and stmt.columns["s"] == ["m.x"]
    assert stmt.columns["a"] == ["m.amount"] and "f" in stmt.columns
    assert rendered.refs == [("m", None)]


async def test_a_partly_documented_source_does_not_spoil_the_models_columns(repo):
    from tests.data_fixtures import write_tree

    write_tree(repo, {
        "p/dbt_project.yml": "name: p\n",
        "p/models/sources.yml": "sources:\n  - name: raw\n    tables:\n      - name: orders\n        columns: [{name: id}]\n",
        "p/models/stg.sql": "select id as order_id, 1 as one from {{ source('raw', 'orders') }}\n",
        "p/models/mart.sql": "select order_id, one, r.extra from {{ ref('stg') }} s "
                             "join {{ source('raw', 'orders') }} r on r.id = s.order_id\n",
    })
    out = await lineage(repo, dir_path="p")
    nodes = {n["name"]: n for n in out.display["nodes"]}
    assert nodes["mart"]["column_lineage"] == {"order_id": ["stg.order_id"], "one": ["stg.one"],
                                                "extra": ["raw.orders.extra"]}
