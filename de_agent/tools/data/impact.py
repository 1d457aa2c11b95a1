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

from de_agent.tools.data.dbt_project import Project, load_project, project_files
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
    from de_agent.tools.data.dbt import build_graph, closure
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


def query_shape(sql: str, dialect: str) -> dict[str, Any]:
    """Output expressions (name -> SQL and cast type) and the grain of the last statement's query."""
    import sqlglot
    from sqlglot import exp

    from de_agent.tools.data.lineage import split_statements
    from de_agent.tools.data.sql import quiet_sqlglot

    parts = split_statements(sql)
    if not parts:
        return {"columns": {}, "grain": None}
    try:
        with quiet_sqlglot():
            stmt = sqlglot.parse_one(parts[-1], read=dialect)
    except sqlglot.errors.SqlglotError:
        return {"columns": {}, "grain": None}
    for node in stmt.walk():
        node.comments = None  # a comment is not a change of the query
    query = stmt.expression if isinstance(stmt, exp.Create | exp.Insert) else stmt
    select = query if isinstance(query, exp.Select) else (query.find(exp.Select) if query else None)
    if select is None:
        return {"columns": {}, "grain": None}
    columns = {}
    for projection in select.expressions:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        cast = inner.args.get("to").sql(dialect) if isinstance(inner, exp.Cast) and inner.args.get("to") else None
        columns[projection.alias_or_name] = {"sql": inner.sql(dialect), "type": cast}
    group = select.args.get("group")
    joins = [(j.this.sql(dialect), (j.args.get("on").sql(dialect) if j.args.get("on") else ""),
              j.args.get("kind") or "", j.args.get("side") or "") for j in select.args.get("joins") or []]
    grain = {"group_by": [g.sql(dialect) for g in group.expressions] if group else [],
             "distinct": bool(select.args.get("distinct")), "from": select.args["from"].sql(dialect)
             if select.args.get("from") else "", "joins": joins}
    filters = {k: (select.args[k].this or select.args[k].expression).sql(dialect)
               for k in ("where", "having", "qualify", "limit") if select.args.get(k)}
    return {"columns": columns, "grain": grain, "filters": filters}


def _rows_change(before: dict, after: dict) -> str | None:
    """A changed WHERE, HAVING, QUALIFY or LIMIT: the same columns over other rows."""
    b, a = before.get("filters") or {}, after.get("filters") or {}
    changed = [f"{k.upper()} {b.get(k) or '(none)'} -> {a.get(k) or '(none)'}"
               for k in ("where", "having", "qualify", "limit") if b.get(k) != a.get(k)]
    return "; ".join(changed) or None


def _grain_change(before: dict | None, after: dict | None) -> str | None:
    if not before or not after or before == after:
        return None
    what = []
    if before["group_by"] != after["group_by"]:
        what.append(f"GROUP BY {', '.join(before['group_by']) or '(none)'} -> {', '.join(after['group_by']) or '(none)'}")
    if before["distinct"] != after["distinct"]:
        what.append("DISTINCT " + ("added" if after["distinct"] else "removed"))
    if before["joins"] != after["joins"] or before["from"] != after["from"]:
        what.append("joins changed (" + "; ".join(" ".join(x for x in (side, kind, "JOIN", t, "ON", on) if x)
                                                  for t, on, kind, side in after["joins"]) + ")"
                    if after["joins"] else "joins changed")
    return ", ".join(what) or None


def compare_columns(before_cols: dict[str, list[str]], after_cols: dict[str, list[str]],
                    before_shape: dict, after_shape: dict) -> dict[str, Any]:
    """Added, removed, renamed, retyped and redefined output columns."""
    removed = [c for c in before_cols if c not in after_cols]
    added = [c for c in after_cols if c not in before_cols]
    renamed = []
    for old in list(removed):
        exprs_old = before_shape["columns"].get(old, {}).get("sql")
        match = next((new for new in added
                      if (before_cols[old] and sorted(before_cols[old]) == sorted(after_cols[new]))
                      or (exprs_old and exprs_old == after_shape["columns"].get(new, {}).get("sql"))), None)
        if match:
            renamed.append({"from": old, "to": match})
            removed.remove(old)
            added.remove(match)
    retyped, redefined = [], []
    for c in before_cols:
        if c not in after_cols:
            continue
        b, a = before_shape["columns"].get(c, {}), after_shape["columns"].get(c, {})
        if b.get("type") != a.get("type"):
            retyped.append({"column": c, "from": b.get("type") or "(as before)", "to": a.get("type") or "(uncast)"})
        elif b.get("sql") != a.get("sql") or sorted(before_cols[c]) != sorted(after_cols[c]):
            redefined.append(c)
    return {"added": added, "removed": removed, "renamed": renamed, "retyped": retyped, "redefined": redefined}


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
    from de_agent.tools.data.dbt_jinja import render_jinja
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
    from de_agent.tools.data.dbt import _node_column

    after_cols = {c: [_node_column(graph, s) for s in srcs] for c, srcs in main.columns.items()}
    before_cols = dict(node.lineage) or {c: [] for c in node.columns}
    shape_b, shape_a = query_shape(old_sql, dialect), query_shape(new_sql, dialect)
    columns = compare_columns(before_cols, after_cols, shape_b, shape_a)
    grain = _grain_change(shape_b["grain"], shape_a["grain"])
    rows = _rows_change(shape_b, shape_a)
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
            "grain": _grain_change(shape_b["grain"], shape_a["grain"]), "rows": _rows_change(shape_b, shape_a),
            "downstream": [], "breaks": [],
            "writes": (after or before).writes if (after or before) else []}


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
