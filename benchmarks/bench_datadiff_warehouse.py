"""DataDiff on PostgreSQL: scratch builds and segment hashes on the server, for N-row models.

Usage: python benchmarks/bench_datadiff_warehouse.py [--quick] [--rows N] [--json PATH]

Starts a throwaway PostgreSQL server (tests/support/engines.py) with a table of N rows and runs
the worker side of DataDiff (``warehouse/diff_ops.compute``) twice: identical outputs (every
segment hash equal, nothing joined) and an edit that changes 1% of the amounts and drops 0.1% of
the keys (only the differing segments joined). Prints seconds per diff and the size of the
answer that crossed the wire, against the table's size on the server. Default 1,000,000 rows;
``--quick`` 100,000.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BEFORE = "SELECT id, customer, amount, status FROM t"
AFTER = ("SELECT id, customer, CASE WHEN id % 100 = 0 THEN amount + 1 ELSE amount END AS amount, status "
         "FROM t WHERE id % 1000 <> 7")


def bench(rows: int) -> dict:
    import psycopg

    from de_agent.tools.data.warehouse import diff_ops
    from de_agent.tools.data.warehouse.drivers.postgres import PostgresDriver
    from tests.support.engines import start_postgres

    pg, stop = start_postgres()
    try:
        with psycopg.connect(pg.dsn("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE analytics")
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE t AS SELECT g AS id, g % 50000 AS customer, (g % 997) / 10.0 AS amount, "
                         f"(ARRAY['paid','open','refunded'])[1 + g % 3] AS status FROM generate_series(1, {rows}) g")
            conn.execute("ANALYZE t")
            table_mb = conn.execute("SELECT pg_total_relation_size('t')").fetchone()[0] / 1e6
        out: dict = {"rows": rows, "table_mb": round(table_mb, 1)}
        for name, after in (("identical", BEFORE + " ORDER BY id DESC"), ("edited", AFTER)):
            driver = PostgresDriver({"params": {"host": pg.host, "port": pg.port, "user": pg.user,
                                                "dbname": pg.dbname}, "secrets": {"password": pg.password}},
                                    3600, read_only=False)
            driver.open()
            t0 = time.perf_counter()
            result = diff_ops.compute(driver, {"scratch": "de_agent_scratch_bench", "views": {}, "key": ["id"],
                                               "sql_before": BEFORE, "sql_after": after, "sample": None})
            out[f"{name}_s"] = round(time.perf_counter() - t0, 3)
            out[f"{name}_answer_kb"] = round(len(json.dumps(result, default=str)) / 1e3, 1)
            out[f"{name}_segments_differing"] = result["segments_differing"]
            driver.close()
        return out
    finally:
        stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--json")
    args = parser.parse_args()
    from de_agent.tools.data.warehouse.diff_ops import SEGMENTS
    from tests.support.engines import pg_bin

    if pg_bin() is None:
        print("skipped: no PostgreSQL server binaries (initdb)")
        return 0
    result = bench(args.rows or (100_000 if args.quick else 1_000_000))
    print(f"DataDiff on PostgreSQL, {result['rows']:,} rows ({result['table_mb']} MB on the server):")
    for name in ("identical", "edited"):
        print(f"  {name:9s} {result[name + '_s']:7.2f} s, {result[name + '_segments_differing']} of "
              f"{SEGMENTS} segments differ, {result[name + '_answer_kb']} KB answer")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
