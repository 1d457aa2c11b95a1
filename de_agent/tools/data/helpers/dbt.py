"""The model graph of a dbt project: models, sources, seeds and snapshots, with column lineage.

Jinja is not executed. ``ref()`` and ``source()`` are found in the raw text (so a
dependency inside a macro call or an ``{% if %}`` still counts) and replaced by plain
table names before sqlglot parses the model; other ``{{ ... }}`` become a placeholder
and ``{% ... %}`` tags are dropped. Models are analysed upstream first, so the columns a
model produces resolve ``SELECT *`` and unqualified columns downstream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path, PurePosixPath
from typing import Any

from de_agent.tools.base import ToolError
from de_agent.workspace import ConfinementError, Workspace

_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_EXPR = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)
_TAG = re.compile(r"\{%-?(.*?)-?%\}", re.S)
_REF = re.compile(r"""\bref\(\s*(['"])([^'"]+)\1\s*(?:,\s*(['"])([^'"]+)\3\s*)?(?:,[^)]*)?\)""")
_SOURCE = re.compile(r"""\bsource\(\s*(['"])([^'"]+)\1\s*,\s*(['"])([^'"]+)\3\s*\)""")
_VAR = re.compile(r"""^\s*var\(\s*(['"])([^'"]+)\1""")
_INCREMENTAL = re.compile(
    r"\{%-?\s*if\s+is_incremental\(\)\s*-?%\}(.*?)(?:\{%-?\s*else\s*-?%\}(.*?))?\{%-?\s*endif\s*-?%\}", re.S)
_SNAPSHOT = re.compile(r"\{%-?\s*snapshot\s+(\w+)\s*-?%\}")
PLACEHOLDER = "__jinja__"


@dataclass
class Project:
    root: str
    name: str
    model_paths: list[str]
    seed_paths: list[str]
    snapshot_paths: list[str]


@dataclass
class Node:
    id: str
    type: str
    name: str
    path: str = ""
    description: str = ""
    columns: list[str] = field(default_factory=list)
    lineage: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "name": self.name, "path": self.path,
                "description": self.description, "columns": self.columns, "column_lineage": self.lineage}


def _ref_name(m: re.Match[str]) -> str:
    return m.group(4) or m.group(2)


def source_alias(source: str, table: str) -> str:
    return f"{source}__{table}"


def render_jinja(text: str, this: str) -> tuple[str, list[str], list[tuple[str, str]]]:
    """(plain SQL, referenced model names, referenced (source, table) pairs)."""
    text = _COMMENT.sub("", text)
    refs = list(dict.fromkeys(_ref_name(m) for m in _REF.finditer(text)))
    sources = list(dict.fromkeys((m.group(2), m.group(4)) for m in _SOURCE.finditer(text)))

    def expr(m: re.Match[str]) -> str:
        body = m.group(1).strip()
        quoted = m.start() > 0 and m.string[m.start() - 1] in "'\""
        if (ref := _REF.fullmatch(body)) is not None:
            return _ref_name(ref)
        if (src := _SOURCE.fullmatch(body)) is not None:
            return source_alias(src.group(2), src.group(4))
        if body == "this":
            return this
        if body.startswith("config("):
            return ""
        if (var := _VAR.match(body)) is not None:
            return var.group(2) if quoted else "NULL"
        if quoted:
            return PLACEHOLDER
        return "*" if "star(" in body else PLACEHOLDER

    # Lineage is read as a full refresh, where is_incremental() is false.
    text = _INCREMENTAL.sub(lambda m: m.group(2) or "", text)
    return _TAG.sub("", _EXPR.sub(expr, text)), refs, sources


def _load_yaml(ws: Workspace, rel: str) -> Any:
    import yaml

    from de_agent.tools.data.lineage import read_text

    return yaml.safe_load(read_text(ws, rel))


def find_project(ws: Workspace, rel: str) -> Project | None:
    """The dbt project in rel, or the only one within three folders below it."""
    base = ws.resolve(rel)
    candidates = [base / "dbt_project.yml"] if (base / "dbt_project.yml").is_file() else []
    if not candidates:
        for depth in ("*/", "*/*/", "*/*/*/"):
            candidates += [p for p in base.glob(depth + "dbt_project.yml") if "dbt_packages" not in p.parts]
        if len(candidates) != 1:
            return None
    try:
        root = str(ws.relative(candidates[0].parent))
        conf = _load_yaml(ws, f"{root}/dbt_project.yml") or {}
    except ConfinementError:
        return None
    except Exception as exc:  # noqa: BLE001 - a broken project file is reported, not fatal
        raise ToolError(f"{root}/dbt_project.yml: {exc}") from None
    if not isinstance(conf, dict):
        raise ToolError(f"{root}/dbt_project.yml: not a mapping")

    def paths(key: str, default: str) -> list[str]:
        value = conf.get(key) or conf.get(key.replace("-", "_")) or [default]
        return [str(v) for v in (value if isinstance(value, list) else [value])]

    return Project(root, str(conf.get("name") or PurePosixPath(root).name), paths("model-paths", "models"),
                   paths("seed-paths", "seeds"), paths("snapshot-paths", "snapshots"))


def _files(ws: Workspace, project: Project, folders: list[str], suffixes: tuple[str, ...]) -> list[str]:
    from de_agent.tools.data.lineage import SKIP_DIRS

    found: list[str] = []
    for folder in folders:
        try:
            base = ws.resolve(str(PurePosixPath(project.root) / folder))
        except ConfinementError:
            continue
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix in suffixes and not SKIP_DIRS & set(path.parts) and path.is_file():
                try:
                    found.append(str(ws.relative(path)))
                except ConfinementError:
                    continue
    return found


class Graph:
    """Nodes and edges of one project, built file by file; errors collected, never raised."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: set[tuple[str, str]] = set()
        self.errors: list[str] = []
        self.sql: dict[str, str] = {}
        self.alias: dict[str, str] = {}

    def add(self, node: Node) -> Node:
        existing = self.nodes.get(node.id)
        if existing is None:
            self.nodes[node.id] = node
            return node
        existing.path = existing.path or node.path
        existing.description = existing.description or node.description
        existing.columns = existing.columns or node.columns
        return existing

    def read_yaml(self, ws: Workspace, rel: str) -> None:
        try:
            doc = _load_yaml(ws, rel)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the rest
            self.errors.append(f"{rel}: {str(exc).splitlines()[0]}")
            return
        if not isinstance(doc, dict):
            return
        for src in doc.get("sources") or []:
            if not isinstance(src, dict) or "name" not in src:
                continue
            for tbl in src.get("tables") or []:
                if isinstance(tbl, dict) and "name" in tbl:
                    self.add_source(src["name"], tbl["name"], rel, tbl.get("description") or "",
                                    [c["name"] for c in tbl.get("columns") or [] if isinstance(c, dict) and "name" in c])
        for model in doc.get("models") or []:
            if isinstance(model, dict) and "name" in model:
                cols = [c["name"] for c in model.get("columns") or [] if isinstance(c, dict) and "name" in c]
                self.add(Node(f"model.{model['name']}", "model", model["name"],
                              description=model.get("description") or "", columns=cols))

    def add_source(self, source: str, table: str, path: str = "", description: str = "",
                   columns: list[str] | None = None) -> Node:
        node = self.add(Node(f"source.{source}.{table}", "source", f"{source}.{table}", path,
                             description, columns or []))
        self.alias[source_alias(source, table).lower()] = node.id
        return node


def _label(node: Node) -> str:
    extra = " (not found in the project)" if node.type == "missing" else ""
    extra += " (source not declared in a .yml)" if node.type == "source" and not node.path else ""
    return f"{node.type} {node.name}{extra}"


def build_graph(ws: Workspace, project: Project, dialect: str | None) -> Graph:
    from de_agent.tools.data.lineage import analyze_sql, read_text

    g = Graph()
    for rel in _files(ws, project, project.model_paths + project.snapshot_paths, (".yml", ".yaml")):
        g.read_yaml(ws, rel)
    for rel in _files(ws, project, project.seed_paths, (".csv",)):
        name = Path(rel).stem
        try:
            header = read_text(ws, rel).partition("\n")[0]
        except (OSError, ToolError):
            header = ""
        columns = [c.strip().strip('"') for c in header.split(",") if c.strip()]
        g.add(Node(f"seed.{name}", "seed", name, rel, columns=columns))
        g.alias[name.lower()] = f"seed.{name}"
    snapshot_files = set(_files(ws, project, project.snapshot_paths, (".sql",)))
    for rel in _files(ws, project, project.model_paths, (".sql",)) + sorted(snapshot_files):
        try:
            raw = read_text(ws, rel)
        except (OSError, ToolError) as exc:
            g.errors.append(f"{rel}: {exc}")
            continue
        snap = _SNAPSHOT.search(raw) if rel in snapshot_files else None
        if rel in snapshot_files and snap is None:
            continue
        name = snap.group(1) if snap else Path(rel).stem
        kind = "snapshot" if snap else "model"
        node = g.add(Node(f"{kind}.{name}", kind, name, rel))
        sql, refs, sources = render_jinja(raw, name)
        g.sql[node.id] = sql
        g.alias[name.lower()] = node.id
        for ref in refs:
            g.edges.add((f"ref:{ref}", node.id))
        for source, table in sources:
            upstream = g.nodes.get(f"source.{source}.{table}") or g.add_source(source, table)
            g.edges.add((upstream.id, node.id))
    # Resolve ref() edges now that every model, seed and snapshot is known.
    resolved: set[tuple[str, str]] = set()
    for up, down in g.edges:
        if up.startswith("ref:"):
            name = up[4:]
            target = next((f"{t}.{name}" for t in ("model", "seed", "snapshot") if f"{t}.{name}" in g.nodes), None)
            if target is None:
                target = g.add(Node(f"missing.{name}", "missing", name)).id
            g.alias.setdefault(name.lower(), target)
            up = target
        resolved.add((up, down))
    g.edges = resolved
    _column_lineage(g, dialect, analyze_sql)
    return g


def _column_lineage(g: Graph, dialect: str | None, analyze_sql: Any) -> None:
    order = TopologicalSorter({n: [u for u, d in g.edges if d == n] for n in g.nodes})
    try:
        ordered = list(order.static_order())
    except CycleError as exc:
        g.errors.append(f"dependency cycle: {' -> '.join(exc.args[1])}")
        ordered = list(g.nodes)
    for node_id in ordered:
        node = g.nodes[node_id]
        if node_id not in g.sql:
            continue
        schema = {alias: {c: "UNKNOWN" for c in g.nodes[nid].columns}
                  for alias, nid in g.alias.items() if g.nodes[nid].columns}
        results = [r for r in analyze_sql(g.sql[node_id], dialect, schema) if r.kind or r.error]
        for r in results:
            if r.error and not r.kind:
                g.errors.append(f"{node.path}: {r.error}")
        main = next((r for r in reversed(results) if r.columns), None)
        if main is None:
            if results and results[-1].error and results[-1].kind:
                g.errors.append(f"{node.path}: {results[-1].error}")
            continue
        node.lineage = {col: [_node_column(g, src) for src in srcs] for col, srcs in main.columns.items()}
        if not node.columns and "*" not in main.columns:
            node.columns = list(main.columns)


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


def project_lineage(ws: Workspace, project: Project, dialect: str | None) -> tuple[str, dict[str, Any]]:
    from de_agent.tools.data.lineage import tree_text

    g = build_graph(ws, project, dialect)
    by_type: dict[str, int] = {}
    for n in g.nodes.values():
        by_type[n.type] = by_type.get(n.type, 0) + 1
    counts = ", ".join(f"{v} {k}{'s' if v != 1 else ''}" for k, v in sorted(by_type.items()))
    lines = [f"dbt project '{project.name}' ({project.root}): {counts}; {len(g.edges)} edges", "",
             "Dependencies (model <- what it reads):"]
    for node_id in sorted(g.nodes):
        ups = sorted(g.nodes[u].name for u, d in g.edges if d == node_id)
        if g.nodes[node_id].type in ("model", "snapshot"):
            lines.append(f"  {g.nodes[node_id].name} <- {', '.join(ups) if ups else '(nothing)'}")
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
