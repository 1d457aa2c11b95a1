"""How an edit changes what one query puts out: output columns (added, removed, renamed, retyped,
redefined), its grain (GROUP BY, DISTINCT, joins) and its row filter (WHERE, HAVING, QUALIFY,
LIMIT). Reads the SQL with sqlglot; nothing here runs it.
"""

from __future__ import annotations

from typing import Any


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
        to = inner.args.get("to") if isinstance(inner, exp.Cast) else None
        cast = to.sql(dialect) if to is not None else None
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


def rows_change(before: dict, after: dict) -> str | None:
    """A changed WHERE, HAVING, QUALIFY or LIMIT: the same columns over other rows."""
    b, a = before.get("filters") or {}, after.get("filters") or {}
    changed = [f"{k.upper()} {b.get(k) or '(none)'} -> {a.get(k) or '(none)'}"
               for k in ("where", "having", "qualify", "limit") if b.get(k) != a.get(k)]
    return "; ".join(changed) or None


def grain_change(before: dict | None, after: dict | None) -> str | None:
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
