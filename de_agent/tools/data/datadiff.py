"""DataDiff: what an edit does to a model's data, built before and after in a scratch database.

``model`` (a dbt model; before = the committed file, after = the working file) or
``sql_before`` + ``sql_after`` (SELECTs over repository files). dbt models are built against
the project's dbt-duckdb target (``profiles.yml`` ``path``), attached read-only; the builds go
to a temporary DuckDB file in the worker that is deleted afterwards. Every statement passes the
same read-only checks as RunSQL, and shown values are masked the same way. When the target
(or the named ``connection``) is a PostgreSQL warehouse, ``helpers/datadiff_wh.py`` takes over:
it asks, then builds both in a scratch schema that is rolled back (other engines: not yet).
"""

from __future__ import annotations

import subprocess
from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import Field, WithJsonSchema, field_validator, model_validator

from de_agent.tools.base import READ, Action, Outcome, Tool, ToolContext, ToolError, simple_action
from de_agent.tools.data.sql import classify, outside_paths
from de_agent.tools.schema import ToolArgs
from de_agent.workspace import ConfinementError, Workspace


def _committed(ws: Workspace, rel: str) -> str | None:
    proc = subprocess.run(["git", "-C", str(ws.root), "show", f"HEAD:{rel}"], capture_output=True,
                          text=True, timeout=20, check=False)
    return proc.stdout if proc.returncode == 0 else None


def _target(ws: Workspace, settings: Any, project_root: str, connection: str | None = None) -> Any:
    """The project's dbt target (the warehouse connections' own dbt discovery) or the named connection:
    a DuckDB file path, or a warehouse Connection."""
    from de_agent.tools.data.warehouse.connections import resolve

    conn = resolve(connection or None, settings, ws.root)
    if conn is None:
        raise ToolError("no dbt target to build the model against (dbt reads DBT_PROFILES_DIR, then "
                        "~/.dbt/profiles.yml); pass sql_before and sql_after to compare queries over files")
    if conn.type != "duckdb" or not conn.params.get("path"):
        from de_agent.tools.data.helpers.datadiff_wh import supported

        supported(conn)
        return conn
    path = str(conn.params["path"])
    try:  # dbt runs in the project folder; the repository root is tried next
        found = [ws.resolve(str(PurePosixPath(base) / path)) for base in (project_root, ".")]
    except ConfinementError:
        raise ToolError(f"the dbt target's DuckDB file {path} is outside the repository") from None
    existing = [f for f in found if f.is_file()]
    if not existing:
        raise ToolError(f"the dbt target's DuckDB file {path} does not exist yet: run `dbt run` (or `dbt build`) "
                        "once so the upstream models are there to build against")
    return str(existing[0])


def model_request(ws: Workspace, settings: Any, model: str, before_text: str | None = None,
                  after_text: str | None = None, connection: str | None = None) -> dict[str, Any]:
    """The worker request for a dbt model: both SQLs rendered, views onto the read-only target, the key."""
    from de_agent.tools.data.helpers.dbt_project import find_project
    from de_agent.tools.data.helpers.impact import project_graph

    project = find_project(ws, ".")
    if project is None:
        raise ToolError("no dbt project in the repository; pass sql_before and sql_after instead")
    graph = project_graph(ws, project, lineage=False)
    node = graph.nodes.get(f"model.{model}")
    if node is None or not node.path.endswith(".sql"):
        raise ToolError(f"no SQL model {model!r} in dbt project {project.name}")
    after_raw = after_text if after_text is not None else ws.read_bytes(node.path).decode("utf-8", "replace")
    before_raw = before_text if before_text is not None else _committed(ws, node.path)
    if before_raw is None:
        raise ToolError(f"{node.path} has no committed version to compare with; pass sql_before and sql_after")
    if before_raw == after_raw:
        raise ToolError(f"{node.path} is unchanged since the last commit: nothing to diff")
    target = _target(ws, settings, project.root, connection)
    local = isinstance(target, str)
    db, home = ("wh.", "main") if local else ("", str(target.params.get("schema") or "public"))
    views: dict[str, str] = {}
    for alias, node_id in graph.alias.items():
        up = graph.nodes[node_id]
        if up.type == "source":
            schema, _, table = up.name.partition(".")
            if not local:
                from de_agent.tools.data.helpers.datadiff_wh import source_relation

                schema, table = source_relation(ws, schema, table, up.path)
            views[alias] = f"{db}{_q(schema)}.{_q(table)}"
        elif up.type in ("model", "seed", "snapshot") and node_id != node.id:
            views[alias] = f"{db}{_q(home)}.{_q(alias)}"
    name = model
    render = graph.renderer.render
    keys = [c for c, doc in (node.docs or {}).items() if "unique" in (doc.get("tests") or [])]
    return {"views": views, "warehouse": target if local else None, "connection": None if local else target,
            "sql_before": render(before_raw, name).sql,
            "sql_after": render(after_raw, name).sql, "default_key": keys[:1], "label": model}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def headline(label: str, r: dict[str, Any]) -> str:
    text = f"{label}: {r['rows_before']:,} -> {r['rows_after']:,} rows"
    if r.get("key"):
        text += f", {r['keys_added']:,} key{'s' if r['keys_added'] != 1 else ''} added, {r['keys_removed']:,} removed"
        changed = r.get("changed") or {}
        text += ", " + (", ".join(f"{c} changed in {v['rows']:,} rows" for c, v in changed.items())
                        if changed else "no value changed")
    else:
        text += f", {r['rows_only_before']:,} rows only before, {r['rows_only_after']:,} only after"
    if r.get("sample"):
        text += f" (sample {r['sample']}%)"
    return text


def render_diff(label: str, r: dict[str, Any]) -> str:
    lines = [f"Data diff {headline(label, r)}"]
    for what in ("columns_added", "columns_removed"):
        if r.get(what):
            lines.append(f"  {what.replace('_', ' ')}: {', '.join(r[what])}")
    for t in r.get("retyped", []):
        lines.append(f"  column retyped: {t['column']} {t['from']} -> {t['to']}")
    if r.get("key"):
        lines.append(f"  key ({', '.join(r['key'])}): {r['segments_differing']} of {r['segments']} hashed "
                     "segments differ")
        for label_, n in (("before", r["duplicate_keys_before"]), ("after", r["duplicate_keys_after"])):
            if n:
                lines.append(f"  ✗ {n:,} duplicate keys {label_} (the key is not unique)")
        for kind in ("added", "removed"):
            examples = (r.get("key_examples") or {}).get(kind)
            if examples:
                lines.append(f"  keys {kind}, e.g. {', '.join(str(e if len(e) > 1 else e[0]) for e in examples)}")
        for column, info in (r.get("changed") or {}).items():
            ex = "; ".join(f"{e['key'] if len(e['key']) > 1 else e['key'][0]}: {e['before']!r} -> {e['after']!r}"
                           for e in info["examples"])
            lines.append(f"  {column}: {info['rows']:,} rows changed, e.g. {ex}")
    for s in r.get("shifts", []):
        stats = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s.items() if k != "column")
        lines.append(f"  shift in {s['column']}: {stats}")
    lines.append(f"  built in a {r.get('scratch') or 'scratch DuckDB file (deleted)'}, {r['elapsed_s']:.2f} s")
    return "\n".join(lines) + "\n"


def checked(ws: Workspace, request: dict[str, Any], key: list[str], sample: int | None) -> str:
    """RunSQL's checks on both SELECTs; the request completed for the worker. Returns the label."""
    for which in ("sql_before", "sql_after"):
        verdict = classify(request[which])
        if verdict.writes or verdict.statements != 1:
            raise ToolError(f"{which} must be one SELECT (DataDiff builds it in a scratch database)")
        if outside := outside_paths(ws, request[which], "duckdb"):
            raise ToolError("refused: DataDiff reads files inside the repository only; " + "; ".join(outside))
    if sample and not key:
        raise ToolError("a sample needs a key (both sides must hold the same keys); name 'key' or compare all rows")
    request.pop("connection", None)
    request.update({"op": "datadiff", "key": key, "sample": sample})
    return request.pop("label")


async def diff_change(ctx: ToolContext, rel: str, new_text: str,
                      sample: int | None = None) -> tuple[str, dict[str, Any]]:
    """The data diff of a proposed edit (the approval's "diff the data first"): the file now against new_text."""
    import asyncio

    from de_agent.tools.data.helpers.client import call_worker
    from de_agent.tools.data.helpers.impact import _in_model_paths, project_graph, project_of

    ws = ctx.workspace
    old_text = ws.read_bytes(rel).decode("utf-8", "replace")
    project = project_of(ws, rel)
    key: list[str] = []
    if project is not None and _in_model_paths(project, rel):
        graph = await asyncio.to_thread(project_graph, ws, project, "duckdb", None, False)
        node = next((n for n in graph.nodes.values() if n.path == rel and n.type == "model"), None)
        if node is None:
            raise ToolError(f"{rel} is not a SQL model of dbt project {project.name}")
        request = await asyncio.to_thread(model_request, ws, ctx.settings, node.name, old_text, new_text)
        key = request.pop("default_key")
        conn = request.pop("connection", None)
        if conn is not None:
            return await _diff_on_warehouse(ctx, conn, request, key, sample)
    else:
        request = {"views": {}, "warehouse": None, "sql_before": old_text, "sql_after": new_text, "label": rel}
    label = checked(ws, request, key, sample)
    result = await call_worker(ws.root, request, ctx.settings.data_timeout_s)
    return render_diff(label, result), {"kind": "datadiff", "label": label, "headline": headline(label, result), **result}


async def _warehouse_action(ctx: ToolContext, conn: Any, request: dict[str, Any], key: list[str],
                            sample: int | None) -> Action:
    """The approval-gated build of both versions on the warehouse (``helpers/datadiff_wh.py``)."""
    from de_agent.tools.data.helpers import datadiff_wh

    request.pop("warehouse", None)
    label = datadiff_wh.checked(conn, request, key, sample)
    return await datadiff_wh.action(ctx, conn, request, label)


async def _diff_on_warehouse(ctx: ToolContext, conn: Any, request: dict[str, Any], key: list[str],
                             sample: int | None) -> tuple[str, dict[str, Any]]:
    """The approval's data diff of a model whose dbt target is a warehouse: built there in a scratch
    schema that is rolled back, as DataDiff does. Pressing "diff the data first" is the person's
    go-ahead for that build, except where DataDiff would ask anyway: a protected connection or
    a build past the cost gate is refused with the reason (run DataDiff to be asked)."""
    action = await _warehouse_action(ctx, conn, request, key, sample)
    reason = action.ask_reason or ""
    if action.force_ask or reason.startswith("cost gate"):
        raise ToolError(f"not built from the approval: {reason}. Approve or deny the edit, then run DataDiff "
                        "(it asks before building)")
    outcome = await action.run(None)
    return outcome.output, dict(outcome.display or {})


# Key columns: the schema says a list; "a, b" is accepted too.
KeyColumns = Annotated[str | list[str], WithJsonSchema({"type": "array", "items": {"type": "string"}})]


class DataDiffArgs(ToolArgs):
    model: str | None = Field(None, description="A dbt model name.")
    sql_before: str | None = Field(None, description="The SELECT before the change.")
    sql_after: str | None = Field(None, description="The SELECT after the change.")
    key: KeyColumns = Field([], description="Key column(s); default: the model's unique-tested column.")
    sample: int | None = Field(None, description="Compare only this percent of keys (1-99); default all.")
    connection: str | None = Field(None, description="A warehouse connection to build on (PostgreSQL); "
                                   "default: the dbt target for a model, repository files for SQL.")

    @field_validator("key")
    @classmethod
    def _columns(cls, key: str | list[str]) -> list[str]:
        return [k.strip() for k in key.split(",") if k.strip()] if isinstance(key, str) else key

    @field_validator("sample")
    @classmethod
    def _percent(cls, sample: int | None) -> int | None:
        if sample is not None and not 1 <= sample <= 99:
            raise ValueError("must be a percent between 1 and 99 (leave it out for a full comparison)")
        return sample

    @model_validator(mode="after")
    def _something_to_compare(self) -> DataDiffArgs:
        if not self.model and not (self.sql_before and self.sql_after):
            raise ValueError("give 'model', or both 'sql_before' and 'sql_after'")
        return self


class DataDiff(Tool):
    name = "DataDiff"
    kind = READ
    key_arguments = ("model", "sql_after")
    description = (
        "Compare a model's data before and after an edit: row counts, keys added and removed, per-column "
        "changed values (with masked examples), null and distribution shifts. Give 'model' (a dbt model: the "
        "committed file against the working file, built from the project's dbt-duckdb target, read-only) or "
        "'sql_before' + 'sql_after' (SELECTs over repository files). Both are built in a temporary scratch "
        "database that is deleted afterwards; nothing is written to real targets. On a PostgreSQL connection "
        "(or dbt target) it asks first, then builds both in a scratch schema that is rolled back. Use it to verify an edit "
        "and quote its headline in your summary.")
    Args = DataDiffArgs

    def result_summary(self, ok: bool, output: str, display: dict[str, Any] | None) -> str:
        """The diff's headline ("orders: 3 rows added, 12 values changed in amount ...")."""
        from de_agent.tools.summaries import cut, first_line

        said = display.get("headline") if ok and isinstance(display, dict) else None
        return cut(said, 200) if isinstance(said, str) and said else first_line(output, 200)

    async def act(self, args: DataDiffArgs, ctx: ToolContext) -> Action:
        import asyncio

        from de_agent.tools.data.helpers.client import call_worker

        model, key, sample = args.model or "", list(args.key), args.sample
        named = args.connection or ""
        if model:
            request = await asyncio.to_thread(model_request, ctx.workspace, ctx.settings, model, None, None, named)
            key = key or request.pop("default_key")
            request.pop("default_key", None)
        else:
            before, after = args.sql_before or "", args.sql_after or ""
            request = {"views": {}, "warehouse": None, "sql_before": before, "sql_after": after, "label": "query"}
            if named:
                from de_agent.tools.data.helpers.datadiff_wh import connection

                request["connection"] = connection(ctx, named)
        conn = request.pop("connection", None)
        if conn is not None:
            return await _warehouse_action(ctx, conn, request, key, sample)
        label = checked(ctx.workspace, request, key, sample)

        async def run() -> Outcome:
            result = await call_worker(ctx.workspace.root, request, ctx.settings.data_timeout_s)
            display = {"kind": "datadiff", "label": label, "headline": headline(label, result), **result}
            return Outcome(True, render_diff(label, result), display=display)

        return simple_action(READ, f"data diff of {label} (scratch build)", run)
