"""Blast radius on the generated 250-model dbt project, against the generator's own column lineage."""

from __future__ import annotations

import pytest

from benchmarks.gen_dbt import generate
from de_agent.tools.data.helpers.impact import compute_impact
from de_agent.workspace import Workspace


def expected_downstream(lineage: dict[str, dict[str, list[str]]], model: str, column: str) -> set[str]:
    """Models with an output column computed (transitively) from model.column: the generator's lineage."""
    hit = {f"{model}.{column}"}
    models: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, columns in lineage.items():
            for out, sources in columns.items():
                if f"{name}.{out}" not in hit and hit & set(sources):
                    hit.add(f"{name}.{out}")
                    models.add(name)
                    changed = True
    return models


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("dbt250")
    _, lineage = generate(root, 250)
    return Workspace(root), lineage


@pytest.mark.parametrize(("model", "column"), [("stg_8", "amount"), ("stg_8", "method"), ("stg_56", "amount"),
                                               ("stg_5", "amount"), ("stg_0", "amount")])
def test_removing_a_column_reaches_exactly_the_models_the_generator_says(project, model, column):
    ws, lineage = project
    rel = f"models/staging/{model}.sql"
    new = (ws.root / rel).read_text().replace(f"    {column},\n", "")
    impact = compute_impact(ws, rel, new)
    assert impact["columns"]["removed"] == [column]
    got = {d["name"] for d in impact["downstream"] if d["type"] == "model"}
    expected = expected_downstream(lineage, model, column)
    assert got == expected and (expected or model == "stg_0")


def test_removing_a_join_key_also_names_the_models_that_join_on_it(project):
    ws, lineage = project
    rel = "models/staging/stg_8.sql"
    impact = compute_impact(ws, rel, (ws.root / rel).read_text().replace("    key_a,\n", ""))
    got = {d["name"] for d in impact["downstream"] if d["type"] == "model"}
    expected = expected_downstream(lineage, "stg_8", "key_a")
    assert expected < got  # the lineage of output columns, plus the joins on key_a
    for extra in got - expected:
        sql = (ws.root / next(d["path"] for d in impact["downstream"] if d["name"] == extra)).read_text()
        assert "ref('stg_8')" in sql and ".key_a" in sql


def test_a_focused_graph_gives_the_same_blast_radius_as_the_whole_graph(project):
    from de_agent.tools.data.helpers import impact
    from de_agent.tools.data.helpers.impact import closure

    ws, _ = project
    edits = {}
    for model in ("stg_8", "stg_56"):
        rel = f"models/staging/{model}.sql"
        edits[rel] = (ws.root / rel).read_text().replace("    amount,\n", "")
    impact._CACHE.clear()
    focused = {rel: compute_impact(ws, rel, new) for rel, new in edits.items()}
    graph = next(iter(impact._CACHE.values()))[1]
    # Only what the two edits need was analysed, and the cache grew with the second one.
    assert graph.analysed is not None and len(graph.analysed) < len(graph.nodes)
    assert all(closure(graph, rel) <= graph.analysed for rel in edits)
    impact._CACHE.clear()
    impact.project_graph(ws, impact.project_of(ws, "models/staging/stg_8.sql"))  # the whole graph
    for rel, new in edits.items():
        whole = compute_impact(ws, rel, new)
        assert {k: v for k, v in whole.items() if k != "elapsed_s"} == \
            {k: v for k, v in focused[rel].items() if k != "elapsed_s"}
