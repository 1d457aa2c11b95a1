"""The model graph of a dbt project: models, sources, seeds, snapshots, exposures, metrics and
semantic models, with column lineage.

A fresh ``target/manifest.json`` (newer than every project file) gives dbt's own edges.
Otherwise each model's Jinja is rendered with dbt's context (``dbt_jinja.Renderer``: the
project's vars and macros, loops, versions); when rendering fails, ``ref()``/``source()``
are found in the Jinja tags by pattern instead. Models are analysed upstream first with one
schema that grows as each model's columns are computed from its SQL, so ``SELECT *`` and
unqualified columns resolve downstream; YAML only adds descriptions and tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path, PurePosixPath
from typing import Any

from de_agent.tools.base import ToolError
from de_agent.tools.data.helpers.dbt_jinja import UNKNOWN as PLACEHOLDER
from de_agent.tools.data.helpers.dbt_jinja import render_jinja, source_alias
from de_agent.tools.data.helpers.dbt_project import Project, load_yaml, project_files
from de_agent.tools.data.helpers.dbt_yaml import refs_in, sources_in
from de_agent.workspace import Workspace

_PY_REF = re.compile(r"""\bdbt\.ref\(\s*(['"])([^'"]+)\1(?:\s*,\s*(['"])([^'"]+)\3)?[^)]*\)""")
_PY_SOURCE = re.compile(r"""\bdbt\.source\(\s*(['"])([^'"]+)\1\s*,\s*(['"])([^'"]+)\3\s*\)""")
_SNAPSHOT = re.compile(r"\{%-?\s*snapshot\s+(\w+)\s*-?%\}")


@dataclass
class Node:
    id: str
    type: str
    name: str
    path: str = ""
    description: str = ""
    columns: list[str] = field(default_factory=list)
    lineage: dict[str, list[str]] = field(default_factory=dict)
    docs: dict[str, Any] = field(default_factory=dict)  # YAML column descriptions and tests
    disabled: bool = False
    unknown_columns: bool = False  # some output columns come from Jinja that could not be rendered

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "name": self.name, "path": self.path,
                "description": self.description, "columns": self.columns, "column_lineage": self.lineage,
                "column_docs": self.docs, "disabled": self.disabled, "unknown_columns": self.unknown_columns}


class Graph:
    """Nodes and edges of one project, built file by file; errors collected, never raised."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: set[tuple[str, str]] = set()
        self.errors: list[str] = []
        self.sql: dict[str, str] = {}
        self.alias: dict[str, str] = {}
        self.timed_out: list[str] = []
        self.renderer: Any = None  # the project's Jinja renderer (impact re-renders an edited model with it)
        self.analysed: set[str] | None = None  # the nodes whose column lineage was computed (None: all)

    def add(self, node: Node) -> Node:
        existing = self.nodes.get(node.id)
        if existing is None:
            self.nodes[node.id] = node
            return node
        existing.path = existing.path or node.path
        existing.description = existing.description or node.description
        existing.columns = existing.columns or node.columns
        return existing

    def add_source(self, source: str, table: str, path: str = "", description: str = "",
                   columns: list[str] | None = None) -> Node:
        node = self.add(Node(f"source.{source}.{table}", "source", f"{source}.{table}", path,
                             description, columns or []))
        self.alias[source_alias(source, table).lower()] = node.id
        return node


def _label(node: Node) -> str:
    extra = " (not found in the project)" if node.type == "missing" else ""
    extra += " (source not declared in a .yml)" if node.type == "source" and not node.path else ""
    extra += " (disabled)" if node.disabled else ""
    return f"{node.type.replace('_', ' ')} {node.name}{extra}"


def _model_files(ws: Workspace, project: Project) -> tuple[list[str], set[str]]:
    snapshots = set(project_files(ws, project, project.snapshot_paths, (".sql",)))
    models = [f for f in project_files(ws, project, project.model_paths, (".sql", ".py")) if f not in snapshots]
    return models + sorted(snapshots), snapshots


def _path_disabled(project: Project, rel: str) -> bool:
    """``+enabled: false`` for the model's folder in dbt_project.yml (the deepest setting wins)."""
    parts = PurePosixPath(rel).relative_to(project.root).parts[1:-1]
    config: Any = project.model_config
    enabled = True
    for part in ("",) + tuple(parts):
        if part:
            config = config.get(part) if isinstance(config, dict) else None
        if not isinstance(config, dict):
            break
        value = config.get("+enabled", config.get("enabled"))
        if isinstance(value, bool):
            enabled = value
    return not enabled


def build_graph(ws: Workspace, project: Project, dialect: str | None, deadline: float | None = None,
                focus: Any = None) -> Graph:
    """The project's graph. ``focus(graph)``, given the graph with its edges, may return the node ids
    whose column lineage is needed (the rest keep only their edges); None analyses every model."""
    from de_agent.tools.data.helpers.dbt_jinja import Renderer
    from de_agent.tools.data.helpers.dbt_yaml import Declared, read_declarations
    from de_agent.tools.data.lineage import read_text

    g = Graph()
    declared = Declared()
    for rel in project_files(ws, project, project.model_paths + project.snapshot_paths, (".yml", ".yaml")):
        try:
            read_declarations(load_yaml(ws, rel), rel, declared)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the rest
            g.errors.append(f"{rel}: {str(exc).splitlines()[0]}")
    for src in declared.sources:
        g.add_source(src["source"], src["table"], src["path"], src["description"], src["columns"])
    for rel in project_files(ws, project, project.seed_paths, (".csv",)):
        name = Path(rel).stem
        try:
            header = read_text(ws, rel).partition("\n")[0]
        except (OSError, ToolError):
            header = ""
        columns = [c.strip().strip('"') for c in header.split(",") if c.strip()]
        g.add(Node(f"seed.{name}", "seed", name, rel, columns=columns))
        g.alias[name.lower()] = f"seed.{name}"
    macros = []
    for rel in project_files(ws, project, project.macro_paths, (".sql",)):
        try:
            macros.append(read_text(ws, rel))
        except (OSError, ToolError) as exc:
            g.errors.append(f"{rel}: {exc}")
    renderer = g.renderer = Renderer(project.vars, macros, project.name)
    g.errors += [f"macros: {e}" for e in renderer.macro_errors]
    files, snapshot_files = _model_files(ws, project)
    pending: list[tuple[str, list[tuple[str, str | None]]]] = []
    for rel in files:
        try:
            raw = read_text(ws, rel)
        except (OSError, ToolError) as exc:
            g.errors.append(f"{rel}: {exc}")
            continue
        snap = _SNAPSHOT.search(raw) if rel in snapshot_files else None
        if rel in snapshot_files and snap is None:
            continue
        stem = Path(rel).stem
        name, version = declared.versions.get(stem, (snap.group(1) if snap else stem, None))
        kind = "snapshot" if snap else "model"
        node_id = f"{kind}.{name}" + (f".v{version}" if version else "")
        config: dict[str, Any] = {}
        if rel.endswith(".py"):
            refs: list[tuple[str, str | None]] = [(m.group(4) or m.group(2), None) for m in _PY_REF.finditer(raw)]
            sources = [(m.group(2), m.group(4)) for m in _PY_SOURCE.finditer(raw)]
            sql = None
            config["enabled"] = not re.search(r"dbt\.config\([^)]*enabled\s*=\s*False", raw)
        else:
            try:
                rendered = renderer.render(raw, name)
                sql, refs, sources, config = rendered.sql, rendered.refs, rendered.sources, rendered.config
            except Exception:  # noqa: BLE001 - Jinja dbt could render but we cannot: fall back to patterns
                sql, names, sources = render_jinja(raw, name)
                refs = [(n, None) for n in names]
        node = g.add(Node(node_id, kind, name + (f" v{version}" if version else ""), rel))
        node.disabled = (config.get("enabled") is False or name in declared.disabled
                         or _path_disabled(project, rel))
        doc = declared.docs.get(name, {})
        node.description, node.docs = doc.get("description", ""), doc.get("columns", {})
        if sql is not None:
            g.sql[node.id] = sql
        if not version or declared.latest.get(name) == version:
            g.alias[name.lower()] = node.id
        if version:
            g.alias[f"{name}_v{version}".lower()] = node.id
        for source, table in sources:
            up = g.nodes.get(f"source.{source}.{table}") or g.add_source(source, table)
            g.edges.add((up.id, node.id))
        pending.append((node.id, refs))
    for item in declared.downstream:
        node = g.add(Node(item["id"], item["type"], item["name"], item["path"]))
        pending.append((node.id, refs_in(item["depends"])))
        for source, table in sources_in(item["depends"]):
            up = g.nodes.get(f"source.{source}.{table}") or g.add_source(source, table)
            g.edges.add((up.id, node.id))
    _resolve_refs(g, pending, declared)
    _metric_edges(g, declared)
    for node in g.nodes.values():
        if node.disabled:
            g.edges = {e for e in g.edges if node.id not in e}
    g.analysed = focus(g) if focus is not None else None
    _column_lineage(g, dialect, deadline, g.analysed)
    return g


def _resolve_refs(g: Graph, pending: list, declared: Any) -> None:
    for node_id, refs in pending:
        for name, version in refs:
            if version is None and name in declared.latest:
                version = declared.latest[name]
            suffix = f".v{version}" if version else ""
            target = next((f"{t}.{name}{suffix}" for t in ("model", "seed", "snapshot")
                           if f"{t}.{name}{suffix}" in g.nodes), None)
            if target is None:
                target = g.add(Node(f"missing.{name}", "missing", name)).id
                g.alias.setdefault(name.lower(), target)
            g.edges.add((target, node_id))


def _metric_edges(g: Graph, declared: Any) -> None:
    measures = {m: item["id"] for item in declared.downstream for m in item.get("measures", [])}
    for item in declared.downstream:
        for used in item.get("uses", []):
            up = measures.get(used) or (f"metric.{used}" if f"metric.{used}" in g.nodes else None)
            if up:
                g.edges.add((up, item["id"]))


def _column_lineage(g: Graph, dialect: str | None, deadline: float | None, only: set[str] | None = None) -> None:
    """Columns of every model from its SQL, upstream first, against one growing schema."""
    import time

    from sqlglot.schema import MappingSchema

    from de_agent.tools.data.lineage import analyze_sql

    ups: dict[str, list[str]] = {n: [] for n in g.nodes}
    for u, d in g.edges:
        ups[d].append(u)
    try:
        ordered = list(TopologicalSorter(ups).static_order())
    except CycleError as exc:
        g.errors.append(f"dependency cycle: {' -> '.join(exc.args[1])}")
        ordered = list(g.nodes)
    schema = MappingSchema(dialect=dialect, normalize=False)
    trusted = MappingSchema(dialect=dialect, normalize=False)  # columns computed from SQL or seed headers only
    aliases_of: dict[str, list[str]] = {}
    for alias, nid in g.alias.items():
        aliases_of.setdefault(nid, []).append(alias)

    def publish(node: Node) -> None:
        if node.columns:
            for alias in aliases_of.get(node.id, []):
                schema.add_table(alias, {c: "UNKNOWN" for c in node.columns}, dialect=dialect)
                if node.type != "source":  # a source's YAML often lists only some of its columns
                    trusted.add_table(alias, {c: "UNKNOWN" for c in node.columns}, dialect=dialect)

    for node_id in ordered:
        node = g.nodes[node_id]
        if node_id not in g.sql or (only is not None and node_id not in only):
            publish(node)
            continue
        if deadline is not None and time.monotonic() > deadline:
            g.timed_out.append(node.name)
            continue
        results = [r for r in analyze_sql(g.sql[node_id], dialect, (schema, trusted)) if r.kind or r.error]
        for r in results:
            if r.error and not r.kind:
                g.errors.append(f"{node.path}: {r.error}")
        main = next((r for r in reversed(results) if r.columns), None)
        if main is None:
            if results and results[-1].error and results[-1].kind:
                g.errors.append(f"{node.path}: {results[-1].error}")
            continue
        columns = {c: s for c, s in main.columns.items() if PLACEHOLDER not in c}
        node.unknown_columns = len(columns) < len(main.columns)
        node.lineage = {c: [("?" if PLACEHOLDER in src else _node_column(g, src)) for src in srcs]
                        for c, srcs in columns.items()}
        if "*" not in columns:
            node.columns = list(columns)
        publish(node)


def _node_column(g: Graph, ref: str) -> str:
    table, _, column = ref.rpartition(".")
    node_id = g.alias.get(table.lower())
    return f"{g.nodes[node_id].name}.{column}" if node_id else ref


def _tree(g: Graph) -> dict[str, Any]:
    downstream: dict[str, list[str]] = {}
    upstream: dict[str, list[str]] = {}
    for up, down in sorted(g.edges):
        downstream.setdefault(up, []).append(down)
        upstream.setdefault(down, []).append(up)
    seen: set[str] = set()

    def build(node_id: str, depth: int) -> dict[str, Any]:
        node = g.nodes[node_id]
        if node_id in seen:
            return {"label": _label(node) + " (see above)"}
        seen.add(node_id)
        children = [build(d, depth + 1) for d in downstream.get(node_id, [])] if depth < 30 else []
        if node.lineage:
            children.append({"label": "columns", "children": [
                {"label": f"{c} ← {', '.join(s) if s else '(no source column)'}"} for c, s in node.lineage.items()]})
        return {"label": _label(node), "children": children}

    roots = [n for n in sorted(g.nodes) if n not in upstream]
    children = [build(r, 0) for r in roots] + [build(n, 0) for n in sorted(g.nodes) if n not in seen]
    return {"label": "dbt model graph (upstream → downstream)", "children": children}


def _manifest_edges(ws: Workspace, g: Graph, rel: str) -> None:
    """Replace the edges with those of dbt's own manifest (node ids mapped to ours)."""
    import json

    from de_agent.tools.data.lineage import MAX_FILE_BYTES

    data = json.loads(ws.read_bytes(rel, limit=50 * MAX_FILE_BYTES).decode("utf-8", "replace"))
    ids: dict[str, str] = {}
    for group in ("nodes", "sources", "exposures", "metrics", "semantic_models", "saved_queries"):
        for uid, item in (data.get(group) or {}).items():
            kind = uid.split(".", 1)[0]
            if kind not in ("model", "seed", "snapshot", "source", "exposure", "metric", "semantic_model"):
                continue
            name = f"{item.get('source_name')}.{item.get('name')}" if kind == "source" else item.get("name")
            version = item.get("version")
            ids[uid] = f"{kind}.{name}" + (f".v{version}" if version is not None else "")
            if ids[uid] not in g.nodes:
                g.add(Node(ids[uid], kind, str(name) + (f" v{version}" if version is not None else ""),
                           item.get("original_file_path") or ""))
    edges = set()
    for uid, parents in (data.get("parent_map") or {}).items():
        for parent in parents:
            if uid in ids and parent in ids:
                edges.add((ids[parent], ids[uid]))
    disabled = {ids.get(uid) for uid in (data.get("disabled") or {})}
    for node in g.nodes.values():
        node.disabled = node.disabled or node.id in disabled
    g.edges = edges


def project_lineage(ws: Workspace, project: Project, dialect: str | None,
                    timeout_s: float | None = None) -> tuple[str, dict[str, Any]]:
    import time

    from de_agent.tools.data.helpers.dbt_project import dbt_installed, fresh_manifest
    from de_agent.tools.data.lineage import tree_text
    from de_agent.tools.data.sql import quiet_sqlglot

    started = time.monotonic()
    with quiet_sqlglot():
        g = build_graph(ws, project, dialect, None if timeout_s is None else started + timeout_s)
    manifest = fresh_manifest(ws, project)
    if manifest:
        try:
            _manifest_edges(ws, g, manifest)
        except (ValueError, OSError, AttributeError, TypeError) as exc:
            g.errors.append(f"{manifest}: unreadable ({exc}); edges are from our own parse")
            manifest = None
    by_type: dict[str, int] = {}
    for n in g.nodes.values():
        by_type[n.type] = by_type.get(n.type, 0) + 1
    counts = ", ".join(f"{v} {k}{'s' if v != 1 else ''}" for k, v in sorted(by_type.items()))
    lines = [f"dbt project '{project.name}' ({project.root}): {counts}; {len(g.edges)} edges "
             f"({time.monotonic() - started:.1f} s)"]
    if manifest:
        lines.append(f"Edges from dbt's own {manifest} (newer than every project file); columns from the SQL.")
    elif dbt_installed():
        lines.append(f"dbt is installed: `dbt parse --project-dir {project.root}` (Shell, asks first) writes "
                     "target/manifest.json, which SQLLineage then uses for dbt's exact graph.")
    lines += ["", "Dependencies (node <- what it reads):"]
    ups_of: dict[str, list[str]] = {}
    for u, d in g.edges:
        ups_of.setdefault(d, []).append(g.nodes[u].name)
    for node_id in sorted(g.nodes):
        node = g.nodes[node_id]
        if node.type not in ("source", "seed", "missing") and not node.disabled:
            ups = sorted(ups_of.get(node_id, []))
            lines.append(f"  {node.name} <- {', '.join(ups) if ups else '(nothing)'}"
                         + (f"  [{node.type.replace('_', ' ')}]" if node.type not in ("model",) else ""))
    disabled = sorted(n.name for n in g.nodes.values() if n.disabled)
    if disabled:
        lines.append(f"Disabled (not in dbt's graph): {', '.join(disabled)}")
    unknown = sorted(n.name for n in g.nodes.values() if n.unknown_columns)
    if unknown:
        lines.append(f"Columns made by macros we cannot render are left out (unknown) in: {', '.join(unknown)}")
    if g.timed_out:
        lines.append(f"Column lineage stopped at the {timeout_s:g} s limit; not analysed: "
                     f"{', '.join(g.timed_out[:20])}{' …' if len(g.timed_out) > 20 else ''}")
    missing = [n.name for n in g.nodes.values() if n.type == "missing"]
    undeclared = [n.name for n in g.nodes.values() if n.type == "source" and not n.path]
    if missing:
        lines.append(f"ref() to unknown models: {', '.join(sorted(missing))}")
    if undeclared:
        lines.append(f"source() not declared in any .yml: {', '.join(sorted(undeclared))}")
    if g.errors:
        lines += ["", "Errors (the rest of the project was still analysed):"] + [f"  {e}" for e in g.errors]
    tree = _tree(g)
    lines += ["", tree_text(tree)]
    display = {"kind": "tree", "title": f"dbt project {project.name}", "root": tree,
               "nodes": [n.to_dict() for n in g.nodes.values()],
               "edges": [list(e) for e in sorted(g.edges)], "errors": g.errors}
    return "\n".join(lines) + "\n", display
