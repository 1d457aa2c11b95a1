"""Blast radius of a proposed SQL or dbt model edit, before it is approved.

For a model of a dbt project: the model's output columns before and after the edit (added,
removed, renamed, retyped, redefined), every downstream model, snapshot, exposure, metric
and semantic model that reads an affected column (column lineage of ``dbt.build_graph``,
through ``select *``), and the tests and grain that break. The project's graph is built
once and kept while its files are unchanged, so an edit only re-analyses the edited model.
A plain SQL file gets its output columns compared. Nothing here runs SQL.
"""

from __future__ import annotations

import threading
import time
from pathlib import PurePosixPath
from typing import Any

from de_agent.tools.data.helpers.dbt_project import Project, load_project, project_files
from de_agent.tools.data.helpers.impact_sql import compare_columns, grain_change, query_shape, rows_change
from de_agent.workspace import ConfinementError, Workspace

_CACHE: dict[str, tuple[tuple, Any]] = {}
_LOCK = threading.Lock()
DOWNSTREAM_TYPES = ("model", "snapshot", "exposure", "metric", "semantic_model", "saved_query")


def project_of(ws: Workspace, rel: str) -> Project | None:
    """The dbt project whose folder holds rel (the nearest dbt_project.yml above it)."""
    for parent in PurePosixPath(rel).parents:
        try:
            file = ws.resolve(str(parent / "dbt_project.yml"))
        except ConfinementError:
            return None
        if file.is_file():
            return load_project(ws, file)
    return None


def _stamp(ws: Workspace, project: Project) -> tuple:
    folders = project.model_paths + project.seed_paths + project.snapshot_paths + project.macro_paths
    files = project_files(ws, project, folders, (".sql", ".py", ".yml", ".yaml", ".csv"))
    files.append(f"{project.root}/dbt_project.yml")
    out = []
    for rel in files:
        try:
            st = ws.stat(rel)
            out.append((rel, st.st_mtime_ns, st.st_size))
        except OSError:
            continue
    return tuple(out)


def project_graph(ws: Workspace, project: Project, dialect: str = "duckdb", focus: str | None = None,
                  lineage: bool = True) -> Any:
    """The project's graph, rebuilt only when a project file changed.

    With ``focus`` (a model file) only the column lineage that file's blast radius needs is
    computed (its upstream and downstream nodes); the cache grows as other files are edited.
    ``lineage=False``: any graph of the current files will do (refs, docs, the renderer).
    """
    from de_agent.tools.data.helpers.dbt import build_graph
    from de_agent.tools.data.sql import quiet_sqlglot

    key = f"{ws.root}\0{project.root}"
    stamp = _stamp(ws, project)
    with _LOCK:
        cached = _CACHE.get(key)
        done: set[str] = set()
        if cached and cached[0] == stamp:
            graph = cached[1]
            if not lineage or graph.analysed is None or (focus and closure(graph, focus) <= graph.analysed):
                return graph
            done = set(graph.analysed)
        if not lineage and focus is None:
            pick: Any = lambda g: set()  # noqa: E731 - edges and docs only
        else:
            pick = None if focus is None else (lambda g: closure(g, focus) | done)
        with quiet_sqlglot():
            graph = build_graph(ws, project, dialect, focus=pick)
        _CACHE[key] = (stamp, graph)
        return graph


def closure(g: Any, path: str) -> set[str]:
    """The node at path with everything upstream (its columns) and downstream (who reads it)."""
    start = [n.id for n in g.nodes.values() if n.path == path]
    ups: dict[str, list[str]] = {}
    downs: dict[str, list[str]] = {}
    for u, d in g.edges:
        ups.setdefault(d, []).append(u)
        downs.setdefault(u, []).append(d)
    found = set(start)
    for links in (ups, downs):
        todo = list(start)
        while todo:
            for nxt in links.get(todo.pop(), []):
                if nxt not in found:
                    found.add(nxt)
                    todo.append(nxt)
    return found



def warm(ws: Workspace, rel: str) -> None:
    """Build the graph of the dbt project holding rel ahead of an edit (when the model reads the file)."""
    project = project_of(ws, rel)
    if project is not None and _in_model_paths(project, rel):
        project_graph(ws, project, focus=rel)


def _schemas(graph: Any, dialect: str) -> tuple[Any, Any]:
    from sqlglot.schema import MappingSchema

    schema = MappingSchema(dialect=dialect, normalize=False)
    trusted = MappingSchema(dialect=dialect, normalize=False)
    for alias, node_id in graph.alias.items():
        node = graph.nodes.get(node_id)
        if node and node.columns:
            cols = {c: "UNKNOWN" for c in node.columns}
            schema.add_table(alias, cols, dialect=dialect)
            if node.type != "source":
                trusted.add_table(alias, cols, dialect=dialect)
    return schema, trusted


def _downstream(graph: Any, start: str, affected: set[str]) -> tuple[list[dict], dict[str, set[str]]]:
    """Nodes below start that read an affected column (column level), and the columns hit per node."""
    import re

    children: dict[str, list[str]] = {}
    for up, down in graph.edges:
        children.setdefault(up, []).append(down)
    hit: dict[str, set[str]] = {start: set(affected)}
    found: list[dict] = []
    queue = [start]
    seen = {start}
    while queue:
        up_id = queue.pop(0)
        up = graph.nodes[up_id]
        refs = {f"{up.name}.{c}" for c in hit.get(up_id, ())}
        for down_id in sorted(children.get(up_id, [])):
            down = graph.nodes[down_id]
            if down.type not in DOWNSTREAM_TYPES or down.disabled:
                continue
            if down.type in ("exposure", "metric", "semantic_model", "saved_query"):
                # These declare the models they read, not columns: any hit on what they read counts.
                if down_id not in seen:
                    seen.add(down_id)
                    hit[down_id] = set()
                    found.append({"id": down_id, "type": down.type, "name": down.name, "path": down.path,
                                  "columns": [], "reads": sorted(hit.get(up_id, ())), "via": up.name})
                    queue.append(down_id)
                continue
            cols = {c for c, srcs in down.lineage.items() if refs & set(srcs)}
            sql = graph.sql.get(down_id, "")
            used_elsewhere = _columns_used(sql, {c for c in hit.get(up_id, ()) if re.search(rf"\b{re.escape(c)}\b", sql)},
                                           {a for a, n in graph.alias.items() if n == up_id})
            if not cols and not used_elsewhere:
                continue
            reads = sorted({r.split(".")[-1] for c in cols for r in down.lineage[c] if r in refs} | used_elsewhere)
            entry = next((f for f in found if f["id"] == down_id), None)
            if entry is None:
                found.append({"id": down_id, "type": down.type, "name": down.name, "path": down.path,
                              "columns": sorted(cols), "reads": reads, "via": up.name,
                              "select_star": "*" in sql})
            else:
                entry["columns"] = sorted(set(entry["columns"]) | cols)
                entry["reads"] = sorted(set(entry["reads"]) | set(reads))
            before = hit.get(down_id, set())
            hit[down_id] = before | cols
            if down_id not in seen or not cols <= before:
                seen.add(down_id)
                queue.append(down_id)
    return found, hit


def _columns_used(sql: str, names: set[str], up_aliases: set[str]) -> set[str]:
    """Which of names the SQL uses from the upstream table (anywhere: joins, filters), through CTE aliases."""
    if not names:
        return set()
    import sqlglot
    from sqlglot import exp

    from de_agent.tools.data.sql import quiet_sqlglot

    try:
        with quiet_sqlglot():
            tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return names  # cannot tell: assume it is used
    ctes = {c.alias_or_name.lower(): c.this for c in tree.find_all(exp.CTE)}

    def reaches(table: str, depth: int = 0) -> bool:
        if table in up_aliases:
            return True
        body = ctes.get(table)
        if body is None or depth > 10:
            return False
        return any(reaches(t.name.lower(), depth + 1) for t in body.find_all(exp.Table))

    aliases = {t.alias_or_name.lower(): t.name.lower() for t in tree.find_all(exp.Table)}
    reads_up = any(reaches(t) for t in aliases.values())
    used = set()
    for column in tree.find_all(exp.Column):
        if column.name not in names:
            continue
        qualifier = column.table.lower()
        if (not qualifier and reads_up) or (qualifier and reaches(aliases.get(qualifier, qualifier))):
            used.add(column.name)
    return used


def _tests(node: Any) -> dict[str, list[str]]:
    return {c: [t for t in (doc.get("tests") or []) if t] for c, doc in (node.docs or {}).items()}


def model_impact(ws: Workspace, project: Project, rel: str, new_text: str, dialect: str = "duckdb") -> dict[str, Any]:
    """The blast radius of replacing the model file rel with new_text."""
    from de_agent.tools.data.helpers.dbt_jinja import render_jinja
    from de_agent.tools.data.lineage import analyze_sql
    from de_agent.tools.data.sql import quiet_sqlglot

    graph = project_graph(ws, project, dialect, focus=rel)
    node = next((n for n in graph.nodes.values() if n.path == rel and n.type in ("model", "snapshot")), None)
    if node is None:
        return {"kind": "dbt", "file_path": rel, "error": f"{rel} is not a model of dbt project {project.name}"}
    try:
        new_sql = graph.renderer.render(new_text, node.name.split(" ")[0]).sql
    except Exception:  # noqa: BLE001 - Jinja we cannot render: the same pattern fallback as the graph
        new_sql = render_jinja(new_text, node.name.split(" ")[0])[0]
    old_sql = graph.sql.get(node.id, "")
    with quiet_sqlglot():
        results = analyze_sql(new_sql, dialect, _schemas(graph, dialect))
    main = next((r for r in reversed(results) if r.columns), None)
    if main is None:
        why = next((r.error for r in results if r.error), "no SELECT found")
        return {"kind": "dbt", "file_path": rel, "model": node.name, "error": f"the edited SQL: {why}"}
    from de_agent.tools.data.helpers.dbt import _node_column

    after_cols = {c: [_node_column(graph, s) for s in srcs] for c, srcs in main.columns.items()}
    before_cols = dict(node.lineage) or {c: [] for c in node.columns}
    shape_b, shape_a = query_shape(old_sql, dialect), query_shape(new_sql, dialect)
    columns = compare_columns(before_cols, after_cols, shape_b, shape_a)
    grain = grain_change(shape_b["grain"], shape_a["grain"])
    rows = rows_change(shape_b, shape_a)
    affected = set(columns["removed"]) | {r["from"] for r in columns["renamed"]} | \
        {r["column"] for r in columns["retyped"]} | set(columns["redefined"])
    if grain or rows:
        affected |= set(before_cols)  # other rows: every column downstream sees other values
    downstream, hit = _downstream(graph, node.id, affected) if affected else ([], {})
    breaks = _breaks(graph, node, columns, grain, downstream, hit)
    return {"kind": "dbt", "file_path": rel, "project": project.name, "model": node.name,
            "columns_before": list(before_cols), "columns_after": list(after_cols), "columns": columns,
            "grain": grain, "rows": rows, "downstream": downstream, "breaks": breaks}


def _breaks(graph: Any, node: Any, columns: dict, grain: str | None, downstream: list[dict],
            hit: dict[str, set[str]]) -> list[str]:
    out = []
    gone = {c: "removed" for c in columns["removed"]} | {r["from"]: f"renamed to {r['to']}" for r in columns["renamed"]}
    for column, tests in _tests(node).items():
        for test in tests:
            if column in gone:
                out.append(f"{test} test on {node.name}.{column}: the column is {gone[column]}")
            elif grain and test == "unique":
                out.append(f"unique test on {node.name}.{column} may fail: the grain changed ({grain})")
    for item in downstream:
        down = graph.nodes[item["id"]]
        missing = [c for c in item["reads"] if c in gone and item["via"] == node.name]
        if missing:
            out.append(f"{item['type'].replace('_', ' ')} {down.name} reads {', '.join(missing)} of {node.name}, "
                       "which the edit removes or renames")
        for column, tests in _tests(down).items():
            if column in hit.get(item["id"], set()):
                out.extend(f"{t} test on {down.name}.{column} reads an affected column" for t in tests)
    return out


def sql_file_impact(rel: str, old_text: str, new_text: str, dialect: str = "duckdb") -> dict[str, Any]:
    """A plain SQL file: its last statement's output columns, before and after."""
    from de_agent.tools.data.lineage import analyze_sql
    from de_agent.tools.data.sql import quiet_sqlglot

    with quiet_sqlglot():
        before = next((r for r in reversed(analyze_sql(old_text, dialect)) if r.columns), None)
        after = next((r for r in reversed(analyze_sql(new_text, dialect)) if r.columns), None)
    b, a = (before.columns if before else {}), (after.columns if after else {})
    shape_b, shape_a = query_shape(old_text, dialect), query_shape(new_text, dialect)
    return {"kind": "sql", "file_path": rel, "columns_before": list(b), "columns_after": list(a),
            "columns": compare_columns(b, a, shape_b, shape_a),
            "grain": grain_change(shape_b["grain"], shape_a["grain"]), "rows": rows_change(shape_b, shape_a),
            "downstream": [], "breaks": [],
            "writes": lineage.writes if (lineage := after or before) is not None else []}


def _in_model_paths(project: Project, rel: str) -> bool:
    try:
        first = PurePosixPath(rel).relative_to(PurePosixPath(project.root)).parts[0]
    except (ValueError, IndexError):
        return False
    return any(PurePosixPath(p).parts[:1] == (first,) for p in project.model_paths + project.snapshot_paths)


def touches_sql(rel: str) -> bool:
    return rel.lower().endswith(".sql")


def compute_impact(ws: Workspace, rel: str, new_text: str) -> dict[str, Any] | None:
    """The blast radius of writing new_text to rel, or None when rel is not SQL."""
    if not touches_sql(rel):
        return None
    started = time.perf_counter()
    try:
        old_text = ws.read_bytes(rel, limit=2_000_000).decode("utf-8", "replace")
    except (FileNotFoundError, OSError):
        old_text = ""
    project = project_of(ws, rel)
    if project is not None and _in_model_paths(project, rel):
        result = model_impact(ws, project, rel, new_text)
    else:
        result = sql_file_impact(rel, old_text, new_text)
    result["elapsed_s"] = round(time.perf_counter() - started, 3)
    result["headline"] = headline(result)
    return result


def headline(impact: dict[str, Any]) -> str:
    if impact.get("error"):
        return f"blast radius unavailable: {impact['error']}"
    c = impact["columns"]
    parts = [f"{len(c[k])} {k}" for k in ("added", "removed", "renamed", "retyped", "redefined") if c[k]]
    what = impact.get("model") or impact["file_path"]
    text = f"{what}: " + (", ".join(parts) if parts else "output columns unchanged")
    if impact.get("grain"):
        text += "; grain changed"
    if impact.get("rows"):
        text += "; rows filtered differently"
    if impact.get("kind") == "dbt":
        n = len(impact["downstream"])
        text += f"; {n} downstream node{'s' if n != 1 else ''} read affected columns"
    if impact.get("breaks"):
        text += f"; {len(impact['breaks'])} test/contract break{'s' if len(impact['breaks']) != 1 else ''}"
    return text


def impact_lines(impact: dict[str, Any]) -> list[str]:
    """The blast radius as short lines (plain, headless text, TUI)."""
    lines = [f"Blast radius: {impact.get('headline') or headline(impact)}"]
    if impact.get("error"):
        return lines
    c = impact["columns"]
    for key in ("added", "removed", "redefined"):
        if c[key]:
            lines.append(f"  columns {key}: {', '.join(c[key])}")
    if c["renamed"]:
        lines.append("  columns renamed: " + ", ".join(f"{r['from']} -> {r['to']}" for r in c["renamed"]))
    if c["retyped"]:
        lines.append("  columns retyped: " + ", ".join(f"{r['column']} {r['from']} -> {r['to']}" for r in c["retyped"]))
    if impact.get("grain"):
        lines.append(f"  grain: {impact['grain']}")
    if impact.get("rows"):
        lines.append(f"  rows: {impact['rows']}")
    for item in impact.get("downstream", []):
        cols = f" ({', '.join(item['columns'])})" if item.get("columns") else ""
        reads = f" reads {', '.join(item['reads'])} of {item['via']}" if item.get("reads") else f" reads {item['via']}"
        lines.append(f"  ↳ {item['type'].replace('_', ' ')} {item['name']}{cols}:{reads}")
    for text in impact.get("breaks", []):
        lines.append(f"  ✗ {text}")
    return lines
