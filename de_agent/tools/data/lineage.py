"""SQLLineage: which tables a statement reads and writes, and where each output column comes from.

Works on a statement, a file (several statements; dbt Jinja resolved first), a folder of
SQL files (a table graph) or a dbt project (the model graph, see ``dbt.py``). A statement
that does not parse is reported and the rest carry on.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from de_agent.tools.base import READ, Action, Outcome, Tool, ToolContext, ToolError, bound_text, simple_action
from de_agent.tools.data.helpers.dbt_project import SKIP_DIRS
from de_agent.workspace import ConfinementError, Workspace

MAX_FILE_BYTES = 1_000_000
MAX_FILES = 2000
_TOKEN = re.compile(r"<Token token_type: [\w.]+, text: ([^,]*),[^>]*>")


@dataclass
class StatementLineage:
    index: int
    kind: str = ""
    writes: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "kind": self.kind, "writes": self.writes, "reads": self.reads,
                "columns": self.columns, "error": self.error}


def split_statements(sql: str) -> list[str]:
    """Split on semicolons outside quotes and comments."""
    parts, start, i, n = [], 0, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            end = sql.find(ch, i + 1)
            while end != -1 and end + 1 < n and sql[end + 1] == ch:
                end = sql.find(ch, end + 2)
            i = n if end == -1 else end + 1
            continue
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end == -1 else end + 1
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end == -1 else end + 2
            continue
        if ch == ";":
            parts.append(sql[start:i])
            start = i + 1
        i += 1
    parts.append(sql[start:])
    return [p for p in parts if _has_code(p)]


def _has_code(text: str) -> bool:
    lines = [line.split("--", 1)[0] for line in text.splitlines()]
    return bool("".join(lines).replace("/*", "").replace("*/", "").strip())


def table_name(table: Any) -> str:
    from sqlglot import exp

    if not isinstance(table.this, exp.Identifier) and table.this is not None:
        return table.this.sql()  # a table function such as read_parquet('x/*.parquet')
    return ".".join(part.name for part in table.parts)


def _target(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.Schema):
        node = node.this
    return node if isinstance(node, exp.Table) else None


def _column_sources(query: Any, dialect: str | None, schema: Any) -> dict[str, list[str]]:
    """Sources of every output column. schema may be a tuple of schemas tried in turn (then none):
    a partial schema that names a column a table lacks makes sqlglot fail where a smaller one works."""
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.lineage import lineage

    schemas = [s for s in (schema if isinstance(schema, tuple) else (schema,)) if s] + [{}]
    for i, candidate in enumerate(schemas):
        try:
            # One pass for all columns, no per-column copy of the query (trim_selects would copy it each time).
            nodes = lineage(None, query, schema=candidate, dialect=dialect, trim_selects=False)
            break
        except SqlglotError:
            if i == len(schemas) - 1:
                raise
    out: dict[str, list[str]] = {}
    for column, node in nodes.items():
        sources: list[str] = []
        for leaf in node.walk():
            if leaf.downstream:
                continue
            if isinstance(leaf.source, exp.Table):
                ref = f"{table_name(leaf.source)}.{leaf.name.split('.')[-1]}"
            elif isinstance(leaf.expression, exp.Placeholder) or leaf.name.endswith("*"):
                ref = "?"
            else:
                continue
            if ref not in sources:
                sources.append(ref)
        out[column] = sources
    return out


def analyze_statement(stmt: Any, index: int, dialect: str | None, schema: Any) -> StatementLineage:
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    if isinstance(stmt, exp.Condition | exp.Alias):
        return StatementLineage(index, error="could not parse: not a SQL statement")
    result = StatementLineage(index, kind=stmt.key.upper())
    targets: list[Any] = []
    query = None
    if isinstance(stmt, exp.Create | exp.Insert):
        targets.append(_target(stmt.this))
        query = stmt.expression if isinstance(stmt.expression, exp.Query) else None
    elif isinstance(stmt, exp.Merge | exp.Update | exp.Delete):
        targets.append(_target(stmt.this))
    elif isinstance(stmt, exp.Drop):
        targets += list(stmt.args.get("tables") or [])
    elif isinstance(stmt, exp.Copy):
        files = [f.name for f in stmt.args.get("files") or []]
        if stmt.args.get("kind"):  # COPY t FROM 'file'
            targets.append(_target(stmt.this))
            result.reads += files
        else:
            result.writes += files
            query = stmt.this.this if isinstance(stmt.this, exp.Subquery) else None
    elif isinstance(stmt, exp.Query):
        query = stmt
        into = stmt.args.get("into")
        if into is not None:
            targets.append(_target(into.this))
    targets = [t for t in targets if t is not None]
    result.writes = [table_name(t) for t in targets] + result.writes
    ctes = {cte.alias_or_name.lower() for cte in stmt.find_all(exp.CTE)}
    target_ids = {id(t) for t in targets}
    for table in stmt.find_all(exp.Table):
        if id(table) in target_ids or (not table.db and table.name.lower() in ctes):
            continue
        name = table_name(table)
        if name and name not in result.reads and name not in result.writes:
            result.reads.append(name)
    if query is not None:
        try:
            columns = _column_sources(query, dialect, schema)
        except (SqlglotError, KeyError, ValueError, AttributeError, TypeError) as exc:
            result.error = f"column lineage unavailable: {exc}"
        else:
            names = list(columns)
            schema_node = stmt.this if isinstance(stmt, exp.Insert) else None
            given = [c.name for c in schema_node.expressions] if isinstance(schema_node, exp.Schema) else []
            if given and len(given) == len(names):  # INSERT INTO t (a, b) SELECT x, y: positional
                columns = {g: columns[n] for g, n in zip(given, names, strict=True)}
            result.columns = columns
    return result


def analyze_sql(sql: str, dialect: str | None = None, schema: Any = None) -> list[StatementLineage]:
    """Lineage of every statement in sql; a statement that fails to parse carries its error."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    from de_agent.tools.data.sql import quiet_sqlglot

    results = []
    for index, text in enumerate(split_statements(sql), 1):
        try:
            with quiet_sqlglot():
                stmt = sqlglot.parse_one(text, read=dialect)
        except SqlglotError as exc:
            message = _TOKEN.sub(r"'\1'", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            results.append(StatementLineage(index, error=f"could not parse: {message}"))
            continue
        results.append(analyze_statement(stmt, index, dialect, schema))
    return results


# -- trees: {"label": str, "children": [...]} ------------------------------------------------


UNKNOWN_NOTE = "(? = the source table of a column cannot be told without a schema)"


def tree_text(node: dict[str, Any], indent: str = "") -> str:
    lines = [indent + node["label"]]
    for child in node.get("children", []):
        lines.append(tree_text(child, indent + "  "))
    return "\n".join(lines)


def statements_tree(label: str, results: list[StatementLineage]) -> dict[str, Any]:
    children: list[dict[str, Any]] = []
    for r in results:
        if r.kind == "" and r.error:
            children.append({"label": f"statement {r.index}: {r.error}"})
            continue
        parts: list[dict[str, Any]] = []
        if r.writes:
            parts.append({"label": "writes", "children": [{"label": w} for w in r.writes]})
        if r.reads:
            parts.append({"label": "reads", "children": [{"label": t} for t in r.reads]})
        if r.columns:
            parts.append({"label": "columns", "children": [
                {"label": f"{col} ← {', '.join(src) if src else '(no source column)'}"}
                for col, src in r.columns.items()]})
        if r.error:
            parts.append({"label": r.error})
        children.append({"label": f"statement {r.index}: {r.kind}", "children": parts})
    return {"label": label, "children": children}


def sql_files(ws: Workspace, folder: Path) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".sql"):
                try:
                    found.append(str(ws.relative(Path(dirpath) / name)))
                except ConfinementError:
                    continue
    if len(found) > MAX_FILES:
        raise ToolError(f"{len(found)} SQL files under the folder; point dir_path at a smaller folder")
    return found


def read_text(ws: Workspace, rel: str) -> str:
    data = ws.read_bytes(rel, limit=MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ToolError(f"{rel}: larger than {MAX_FILE_BYTES} bytes")
    return data.decode("utf-8", "replace")


def _folder_lineage(ws: Workspace, rel: str, dialect: str | None) -> tuple[str, dict[str, Any]]:
    from de_agent.tools.data.helpers.dbt import render_jinja

    files = sql_files(ws, ws.resolve(rel))
    if not files:
        raise ToolError(f"{rel}: no .sql files and no dbt_project.yml")
    edges: list[tuple[str, str]] = []
    file_nodes, errors = [], []
    for path in files:
        results = analyze_sql(render_jinja(read_text(ws, path), Path(path).stem)[0], dialect)
        for r in results:
            if r.error and not r.kind:
                errors.append(f"{path} statement {r.index}: {r.error}")
            edges += [(src, dst) for dst in r.writes for src in r.reads]
        file_nodes.append(statements_tree(path, results))
    lines = [f"SQL folder {rel}: {len(files)} files, {len(set(edges))} table edges"]
    lines += [f"  {src} -> {dst}" for src, dst in sorted(set(edges))]
    if errors:
        lines += ["Errors:"] + [f"  {e}" for e in errors]
    tree = {"label": f"SQL folder {rel}", "children": file_nodes}
    text = "\n".join(lines) + "\n\n" + tree_text(tree) + "\n"
    return text, {"kind": "tree", "title": f"SQLLineage {rel}", "root": tree,
                  "nodes": sorted({n for e in edges for n in e}), "edges": [list(e) for e in sorted(set(edges))]}


class SQLLineage(Tool):
    name = "SQLLineage"
    kind = READ
    description = (
        "Impact analysis before changing SQL or a model: tables read and written and the column-level "
        "lineage of output columns, for a statement ('sql'), a file ('file_path') or a folder ('dir_path'). "
        "A folder holding a dbt project (dbt_project.yml) gives the model graph with ref()/source() "
        "resolved (vars, macros, loops, versions, Python models, disabled models; exposures, metrics and "
        "semantic models downstream; dbt's own target/manifest.json when fresh): nodes, edges, what each "
        "model feeds, columns from the SQL. 'dialect' is a sqlglot dialect (duckdb, snowflake, bigquery, "
        "postgres, ...).")
    parameters = {
        "type": "object",
        "properties": {
            "sql": {"type": "string", "description": "SQL text to analyse."},
            "file_path": {"type": "string", "description": "A .sql file in the repository."},
            "dir_path": {"type": "string", "description": "A folder: a dbt project or SQL files."},
            "project": {"type": "string", "description": "With several dbt projects under dir_path: the name "
                                                         "or folder of the one to trace."},
            "dialect": {"type": "string", "description": "sqlglot dialect name; default: generic SQL."},
            "format": {"type": "string", "enum": ["svg", "png", "mermaid"],
                       "description": "Also draw the table graph into output_path (svg/png need Graphviz; "
                                      "Mermaid text otherwise). Writing it asks like any edit."},
            "output_path": {"type": "string", "description": "Where to write the diagram, e.g. docs/lineage.svg."},
        },
    }

    async def prepare(self, args: dict[str, Any], ctx: ToolContext) -> Action:
        given = [k for k in ("sql", "file_path", "dir_path") if args.get(k)]
        if len(given) != 1:
            raise ToolError("give exactly one of 'sql', 'file_path' or 'dir_path'")
        key, value = given[0], args[given[0]]
        if not isinstance(value, str):
            raise ToolError(f"parameter '{key}' must be a string")
        dialect = args.get("dialect") or None
        choice = args.get("project") or None
        if choice is not None and (not isinstance(choice, str) or key != "dir_path"):
            raise ToolError("'project' is a string and goes with 'dir_path'")
        if dialect is not None:
            from sqlglot.dialects.dialect import Dialect

            try:
                Dialect.get_or_raise(dialect)
            except ValueError:
                raise ToolError(f"unknown dialect {dialect!r}; try duckdb, snowflake, bigquery, postgres, "
                                "spark, redshift, tsql") from None
        ws = ctx.workspace
        from de_agent.tools.data.helpers.diagram import with_diagram

        if key == "sql":
            return with_diagram(simple_action(READ, "trace SQL lineage",
                                              lambda: _run(self._sql, value, "SQL", dialect)), args, ctx)
        try:
            rel = str(ws.relative(value))
            is_dir = ws.resolve(rel).is_dir()
        except ConfinementError as exc:
            raise ToolError(str(exc)) from None
        if key == "file_path" and is_dir:
            raise ToolError(f"{rel} is a folder; use dir_path")
        if key == "dir_path" and not is_dir:
            raise ToolError(f"{rel}: not a folder; use file_path for a file")
        if key == "file_path":
            return with_diagram(simple_action(READ, f"trace lineage of {rel}",
                                              lambda: _run(self._file, ws, rel, dialect), paths=[rel]), args, ctx)
        return with_diagram(simple_action(
            READ, f"trace lineage in {rel}",
            lambda: _run(self._folder, ws, rel, dialect, choice, ctx.settings.data_timeout_s), paths=[rel]), args, ctx)

    @staticmethod
    def _sql(sql: str, label: str, dialect: str | None) -> tuple[str, dict[str, Any]]:
        results = analyze_sql(sql, dialect)
        tree = statements_tree(label, results)
        text = tree_text(tree) + "\n"
        if "← ?" in text or ", ?" in text:
            text += UNKNOWN_NOTE + "\n"
        # table edges (a query without a target feeds "<label> query N"), for diagrams
        edges = sorted({(src, dst) for r in results for dst in (r.writes or [f"{label} query {r.index}"])
                        for src in r.reads})
        return text, {"kind": "tree", "title": f"SQLLineage {label}", "root": tree,
                      "edges": [list(e) for e in edges]}

    @staticmethod
    def _file(ws: Workspace, rel: str, dialect: str | None) -> tuple[str, dict[str, Any]]:
        from de_agent.tools.data.helpers.dbt import render_jinja

        try:
            text = read_text(ws, rel)
        except FileNotFoundError:
            raise ToolError(f"{rel}: no such file") from None
        return SQLLineage._sql(render_jinja(text, Path(rel).stem)[0], rel, dialect)

    @staticmethod
    def _folder(ws: Workspace, rel: str, dialect: str | None, choice: str | None = None,
                timeout_s: float | None = None) -> tuple[str, dict[str, Any]]:
        from de_agent.tools.data.helpers.dbt import project_lineage
        from de_agent.tools.data.helpers.dbt_project import find_project

        project = find_project(ws, rel, choice)
        if project is not None:
            return project_lineage(ws, project, dialect, timeout_s)
        if choice:
            raise ToolError(f"no dbt project under {rel}")
        return _folder_lineage(ws, rel, dialect)


async def _run(fn: Any, *args: Any) -> Outcome:
    text, display = await asyncio.to_thread(fn, *args)
    return Outcome(True, bound_text(text, what="lineage"), display=display)
