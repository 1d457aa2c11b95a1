"""Profiling a warehouse table by push-down (aggregate SQL on the engine) against pulling its rows.

Usage: python benchmarks/bench_warehouse.py [--quick] [--rows N] [--engine postgres|spark|both] [--json PATH]

PostgreSQL: a throwaway server (tests/support/engines.py) with a table of N rows (id, customer,
amount, status, country, day). Push-down is the ProfileData path (the worker's PostgreSQL
driver: one aggregate query, one top-values query, sampled with TABLESAMPLE above 2M rows).
Pulling is what a tool without push-down does: COPY every row to this machine and profile it
with DuckDB. Spark: the same over a Parquet file in local mode; pulling collects the rows as
Arrow. Default 10,000,000 rows on both engines; ``--quick`` 200,000 on PostgreSQL only. An engine that is not installed is
reported as skipped. JSON: ``rows``, ``results`` [{engine, push_down_s, pull_s, pulled_mb,
sampled, ...}], ``skipped`` {engine: why}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PULL_PROFILE = ("SELECT count(*), count(DISTINCT customer), min(amount), max(amount), count(status), "
                "approx_count_distinct(country), min(day), max(day) FROM t")


def bench_postgres(rows: int) -> dict:
    import duckdb
    import psycopg

    from de_agent.tools.data.warehouse.drivers.postgres import PostgresDriver
    from tests.support.engines import start_postgres

    pg, stop = start_postgres()
    try:
        with psycopg.connect(pg.dsn("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE analytics")
        t0 = time.perf_counter()
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            conn.execute("CREATE UNLOGGED TABLE t AS SELECT g AS id, g % 50000 AS customer, (g % 997) / 10.0 AS amount, "
                         "(ARRAY['paid','open','refunded',NULL])[1 + g % 4] AS status, "
                         f"(ARRAY['NL','DE','FR','US'])[1 + g % 4] AS country, DATE '2024-01-01' + g % 366 AS day "
                         f"FROM generate_series(1, {rows}) g")
            conn.execute("ANALYZE t")
        generate_s = time.perf_counter() - t0
        driver = PostgresDriver({"params": {"host": pg.host, "port": pg.port, "user": pg.user, "dbname": pg.dbname},
                                 "secrets": {"password": pg.password}}, 600, read_only=True)
        driver.open()
        t0 = time.perf_counter()
        result = driver.profile("t", 5)
        push_s = time.perf_counter() - t0
        driver.close()
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp, psycopg.connect(pg.dsn()) as conn:
            path = Path(tmp) / "t.csv"
            with path.open("wb") as fh, conn.cursor().copy("COPY t TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
                for chunk in copy:
                    fh.write(chunk)
            pulled_mb = path.stat().st_size / 1e6
            duckdb.sql(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}')")
            duckdb.sql(PULL_PROFILE).fetchall()
        pull_s = time.perf_counter() - t0
        return {"engine": "postgres", "rows": rows, "generate_s": generate_s, "push_down_s": push_s,
                "sampled": result.get("sampled"), "pull_s": pull_s, "pulled_mb": pulled_mb}
    finally:
        stop()


def bench_spark(rows: int) -> dict:
    import duckdb

    from de_agent.tools.data.warehouse.drivers.spark import SparkDriver

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        duckdb.sql(f"COPY (SELECT range AS id, range % 50000 AS customer, (range % 997) / 10.0 AS amount, "
                   f"['paid','open','refunded',NULL][1 + range % 4] AS status, ['NL','DE','FR','US'][1 + range % 4] "
                   f"AS country, DATE '2024-01-01' + (range % 366)::INT AS day FROM range({rows})) "
                   f"TO '{tmp}/t.parquet' (FORMAT parquet)")
        generate_s = time.perf_counter() - t0
        # Pulling 10M rows into the driver needs more than Spark's default 1 GB heap.
        driver = SparkDriver({"params": {"parquet_dir": tmp, "conf": {"spark.driver.memory": "6g"}}}, 600,
                             read_only=True)
        t0 = time.perf_counter()
        driver.open()
        start_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = driver.profile("t", 5)
        push_s = time.perf_counter() - t0
        print(f"spark push-down: {push_s:.2f} s", flush=True)
        t0 = time.perf_counter()
        pulled = driver.spark.table("t").toArrow()
        duckdb.sql(PULL_PROFILE.replace("FROM t", "FROM pulled")).fetchall()
        pull_s = time.perf_counter() - t0
        driver.spark.stop()
        return {"engine": "spark", "rows": rows, "generate_s": generate_s, "session_start_s": start_s,
                "push_down_s": push_s, "sampled": result.get("sampled"), "pull_s": pull_s,
                "pulled_mb": pulled.nbytes / 1e6}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--engine", choices=["postgres", "spark", "both"],
                    help="default: both; with --quick, postgres (a Spark session costs ~30 s of CI time, and "
                         "tests/test_warehouse_spark.py already runs the Spark profile)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = args.rows or (200_000 if args.quick else 10_000_000)
    args.engine = args.engine or ("postgres" if args.quick else "both")
    out, skipped = [], {}
    for engine, bench in (("postgres", bench_postgres), ("spark", bench_spark)):
        if args.engine not in (engine, "both"):
            continue
        try:
            out.append(bench(rows))
        except BaseException as exc:  # noqa: BLE001 - the tests' skip for a missing engine is a BaseException
            if isinstance(exc, KeyboardInterrupt):
                raise
            skipped[engine] = f"{type(exc).__name__}: {exc}".splitlines()[0]
            print(f"{engine}: skipped ({skipped[engine]})", flush=True)
    print(f"{'engine':<9} {'rows':>11} {'push-down s':>12} {'pull s':>8} {'pulled MB':>10} {'speed-up':>9}  sampled")
    for r in out:
        print(f"{r['engine']:<9} {r['rows']:>11,} {r['push_down_s']:>12.2f} {r['pull_s']:>8.2f} {r['pulled_mb']:>10.1f} "
              f"{r['pull_s'] / r['push_down_s']:>8.1f}x  {r['sampled'] or 'no'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows, "results": out, "skipped": skipped}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
