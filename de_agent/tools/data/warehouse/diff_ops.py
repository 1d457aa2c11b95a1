"""DataDiff on a PostgreSQL connection, in the data worker: scratch builds, segment hashes on the server.

Everything happens in ONE transaction that is always rolled back: the scratch schema, the
views onto the person's relations, the ``CREATE TABLE AS`` builds of both versions and the
comparison tables vanish with it, on success, failure, cancel or a dropped connection (the
server rolls back what was never committed). The person's own schemas are only read.

Both outputs are hashed on the server: each row's md5, concatenated in key order per
key-hash segment and hashed again; only segments whose count or hash differ are joined for
keys added/removed and per-column changes. Shown values are masked like RunSQL's.
"""

from __future__ import annotations

import time
from typing import Any

from de_agent.tools.data.helpers.datadiff_exec import column_changes, moved
from de_agent.tools.data.helpers.duck import WorkerError, cell

SEGMENTS = 4096
EXAMPLES = 3
SUPPORTED = ("postgres",)
NUMERIC = ("integer", "bigint", "smallint", "numeric", "real", "double precision")


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Scratch:
    """The scratch schema inside the rolled-back transaction; every statement it runs is logged."""

    def __init__(self, driver: Any, request: dict[str, Any]) -> None:
        if driver.dialect not in SUPPORTED:
            raise WorkerError(f"DataDiff is not supported on {driver.dialect or 'this engine'} yet")
        self.conn = driver.conn
        self.schema = str(request["scratch"])
        self.s = ident(self.schema)
        self.log: list[str] = []

    def ex(self, sql: str) -> Any:
        self.log.append(sql)
        return self.conn.execute(sql)

    def one(self, sql: str) -> Any:
        return self.ex(sql).fetchone()

    def setup(self, views: dict[str, str]) -> None:
        self.ex(f"CREATE SCHEMA {self.s}")
        for view, relation in views.items():
            self.ex(f"CREATE VIEW {self.s}.{ident(view)} AS SELECT * FROM {relation}")
        path = self.conn.execute("SELECT current_setting('search_path')").fetchone()[0]
        self.ex(f"SET LOCAL search_path = {self.s}, {path}")


def _seg(keys: list[str], modulo: int, alias: str = "") -> str:
    """A stable bucket in [0, modulo) from the md5 of the key values (28 bits, never negative)."""
    cols = ", ".join(f"{alias}{ident(k)}" for k in keys)
    return f"(('x' || substr(md5(row({cols}, 0)::text), 1, 7))::bit(28)::int % {modulo})"


def _columns(sc: Scratch, table: str) -> dict[str, str]:
    rows = sc.ex("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                 f"'{sc.s}.{table}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum").fetchall()
    return {r[0]: r[1] for r in rows}


def estimate(driver: Any, request: dict[str, Any]) -> dict[str, Any]:
    """The planner's estimate for both SELECTs, planned against the scratch views (rolled back)."""
    sc = Scratch(driver, request)
    total: dict[str, Any] = {"bytes": 0, "rows": 0, "cost": 0.0, "detail": ""}
    with sc.conn.transaction(force_rollback=True):
        sc.setup(request.get("views") or {})
        for which in ("sql_before", "sql_after"):
            est = driver.estimate(request[which])
            for k in ("bytes", "rows", "cost"):
                total[k] = None if total[k] is None or est.get(k) is None else total[k] + est[k]
    total["detail"] = "EXPLAIN of both versions"
    if total["cost"] is not None:
        total["cost"] = round(total["cost"], 2)
    return total


def compute(driver: Any, request: dict[str, Any]) -> dict[str, Any]:
    import psycopg

    started = time.perf_counter()
    sc = Scratch(driver, request)
    key = list(request.get("key") or [])
    sample = request.get("sample")
    try:
        with sc.conn.transaction(force_rollback=True):  # nothing of the diff outlives it
            sc.setup(request.get("views") or {})
            result = _diff(sc, request, key, sample)
    except psycopg.errors.QueryCanceled as exc:
        raise WorkerError(f"cancelled on the server (the scratch schema was rolled back): {_first(exc)}") from None
    except psycopg.Error as exc:
        raise WorkerError(f"PostgreSQL: {_first(exc)} (the scratch schema was rolled back)") from None
    result["statements"] = sc.log
    result["scratch"] = f"schema {sc.schema} on the server (rolled back, nothing kept)"
    result["elapsed_s"] = round(time.perf_counter() - started, 3)
    return result


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _diff(sc: Scratch, request: dict[str, Any], key: list[str], sample: int | None) -> dict[str, Any]:
    s = sc.s
    for name, which in (("before_", "sql_before"), ("after_", "sql_after")):
        body = request[which].strip().rstrip(";")
        where = f" WHERE {_seg(key, 100, 'q.')} < {int(sample)}" if sample and key else ""
        sc.ex(f"CREATE TABLE {s}.{name} AS SELECT * FROM ({body}) q{where}")
    before, after = _columns(sc, "before_"), _columns(sc, "after_")
    changes = column_changes(key, before, after)
    common = [c for c in after if c in before]
    result: dict[str, Any] = {"rows_before": sc.one(f"SELECT count(*) FROM {s}.before_")[0],
                              "rows_after": sc.one(f"SELECT count(*) FROM {s}.after_")[0], "key": key,
                              "sample": sample, **changes}
    compared = [c for c in common if c not in key]
    if key:
        result.update(_keyed(sc, key, compared))
    else:
        cols = ", ".join(ident(c) for c in common)
        for label, a, b in (("rows_only_before", "before_", "after_"), ("rows_only_after", "after_", "before_")):
            result[label] = sc.one(f"SELECT count(*) FROM (SELECT {cols} FROM {s}.{a} EXCEPT ALL "
                                   f"SELECT {cols} FROM {s}.{b}) x")[0]
    result["shifts"] = _shifts(sc, common, before, after)
    return result


def _keyed(sc: Scratch, key: list[str], compared: list[str]) -> dict[str, Any]:
    s = sc.s
    keys = ", ".join(ident(k) for k in key)
    row = ", ".join(ident(c) for c in key + compared)
    # Per segment: the row count and the md5 of the rows' md5s in key order, all on the server.
    for name in ("before_", "after_"):
        sc.ex(f"CREATE TABLE {s}.{name}seg AS SELECT seg, count(*) AS n, md5(string_agg(h, '' ORDER BY k, h)) AS h "
              f"FROM (SELECT {_seg(key, SEGMENTS)} AS seg, row({keys}, 0)::text AS k, md5(row({row}, 0)::text) AS h "
              f"FROM {s}.{name}) t GROUP BY seg")
    sc.ex(f"CREATE TABLE {s}.diffseg AS SELECT coalesce(b.seg, a.seg) AS seg FROM {s}.before_seg b FULL JOIN "
          f"{s}.after_seg a ON a.seg = b.seg WHERE b.n IS DISTINCT FROM a.n OR b.h IS DISTINCT FROM a.h")
    differing = sc.one(f"SELECT count(*) FROM {s}.diffseg")[0]
    out: dict[str, Any] = {"segments": SEGMENTS, "segments_differing": differing, "keys_added": 0,
                           "keys_removed": 0, "changed": {}}
    for name, label in (("before_", "duplicate_keys_before"), ("after_", "duplicate_keys_after")):
        out[label] = sc.one(f"SELECT count(*) FROM (SELECT {keys} FROM {s}.{name} GROUP BY {keys} "
                            "HAVING count(*) > 1) x")[0]
    if differing == 0:
        return out
    for name in ("before_", "after_"):
        sc.ex(f"CREATE TABLE {s}.{name}d AS SELECT * FROM {s}.{name} WHERE {_seg(key, SEGMENTS)} IN "
              f"(SELECT seg FROM {s}.diffseg)")
    masker = _masker(sc, key + compared)

    def shown_key(r: Any) -> list[Any]:
        return [cell(masker.value(k, v)) for k, v in zip(key, r, strict=False)]

    order = ", ".join(str(i + 1) for i in range(len(key)))
    examples: dict[str, list[Any]] = {}
    for kind, a, b in (("added", "after_d", "before_d"), ("removed", "before_d", "after_d")):
        only = f"SELECT {keys} FROM {s}.{a} EXCEPT SELECT {keys} FROM {s}.{b}"
        out[f"keys_{kind}"] = sc.one(f"SELECT count(*) FROM ({only}) x")[0]
        examples[kind] = [shown_key(r) for r in sc.ex(f"{only} ORDER BY {order} LIMIT {EXAMPLES}").fetchall()]
    out["key_examples"] = examples
    if compared:
        join = f"FROM {s}.before_d b JOIN {s}.after_d a USING ({keys})"
        sums = ", ".join(f"sum((b.{ident(c)} IS DISTINCT FROM a.{ident(c)})::int)" for c in compared)
        counts = sc.one(f"SELECT {sums} {join}")
        for column, n in zip(compared, counts, strict=True):
            if not n:
                continue
            c = ident(column)
            rows = sc.ex(f"SELECT {keys}, b.{c}, a.{c} {join} WHERE b.{c} IS DISTINCT FROM a.{c} "
                         f"ORDER BY {order} LIMIT {EXAMPLES}").fetchall()
            out["changed"][column] = {"rows": int(n), "examples": [
                {"key": shown_key(r[:len(key)]), "before": cell(masker.value(column, r[-2])),
                 "after": cell(masker.value(column, r[-1]))} for r in rows]}
    return out


def _masker(sc: Scratch, columns: list[str]) -> Any:
    from de_agent.tools.data.helpers.pii_values import Masker

    cols = ", ".join(ident(c) for c in columns)
    rows = sc.ex(f"SELECT {cols} FROM {sc.s}.after_ LIMIT 300").fetchall()
    return Masker(columns, [[r[i] for r in rows] for i in range(len(columns))])


def _shifts(sc: Scratch, common: list[str], before: dict[str, str], after: dict[str, str]) -> list[dict[str, Any]]:
    """Null counts, and mean (numbers) or distinct count (others), where they moved."""
    exprs, stats = [], []
    for c in common:
        q = ident(c)
        numeric = after[c].split("(")[0] in NUMERIC and before[c] == after[c]
        stats.append("mean" if numeric else "distinct")
        exprs.append(f"count(*) - count({q}), " + (f"avg({q})::float8" if numeric else f"count(DISTINCT {q}::text)"))
    if not exprs:
        return []
    b = sc.one(f"SELECT {', '.join(exprs)} FROM {sc.s}.before_")
    a = sc.one(f"SELECT {', '.join(exprs)} FROM {sc.s}.after_")
    return moved(common, stats, b, a)
