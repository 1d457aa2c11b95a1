"""ProfileData (and ScanPII) on a generated 10-million-row Parquet file.

Usage: python benchmarks/bench_profile.py [--quick] [--json PATH] [--rows N] [--runs N]

The file (16 columns: ids, a foreign key, amounts, a status with nulls, a country, a
timestamp, an email column that is two-thirds null, a boolean, quantities, weights, SKUs,
dates, hours, a note with nulls, a list column and a session id) is written with DuckDB's
COPY into a temporary repository. Each run calls the tool exactly as the engine does
(prepare, then run: worker start, two passes over the data, sample rows, masking), so the
time is what a person waits. Target: 10 million rows x 16 columns in at most 3 s. ``--quick`` uses
100,000 rows. JSON: ``rows``, ``file_mb``, ``generate_s``, ``profile_s`` {median, min,
max, runs}, ``scan_pii_s`` {...}, ``target_s``, ``met``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._stats import stats  # noqa: E402
from de_agent.config import Settings  # noqa: E402
from de_agent.tools.base import ToolContext  # noqa: E402
from de_agent.tools.data.profile import ProfileData  # noqa: E402
from de_agent.tools.data.scan import ScanPII  # noqa: E402
from de_agent.workspace import Workspace  # noqa: E402

TARGET_S = 3.0


def generate(path: Path, rows: int) -> float:
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"""
        COPY (
          SELECT range AS order_id,
                 (hash(range) % 100000)::INTEGER AS customer_id,
                 round((hash(range * 7) % 100000) / 100.0, 2) AS amount,
                 CASE WHEN range % 17 = 0 THEN NULL
                      ELSE ['new', 'paid', 'shipped', 'returned', 'cancelled'][1 + range % 5] END AS status,
                 'C' || (range % 50)::VARCHAR AS country,
                 TIMESTAMP '2020-01-01' + to_seconds(range) AS created_at,
                 CASE WHEN range % 3 = 0 THEN 'user' || (range % 1000)::VARCHAR || '@example.com' END AS email,
                 range % 2 = 0 AS is_active,
                 (hash(range * 3) % 1000)::INTEGER AS quantity,
                 (hash(range * 11) % 100000) / 7.0 AS weight,
                 'SKU-' || (range % 5000)::VARCHAR AS sku,
                 DATE '2020-01-01' + (range % 1500)::INTEGER AS ship_date,
                 (range % 24)::TINYINT AS hour,
                 CASE WHEN range % 5 = 0 THEN NULL ELSE 'note ' || (range % 97)::VARCHAR END AS note,
                 [range % 3, range % 5] AS tags,
                 (hash(range * 13) % 1000000)::BIGINT AS session_id
          FROM range({rows})
        ) TO '{path}' (FORMAT parquet)""")
    con.close()
    return time.perf_counter() - started




async def timed(tool, args: dict, ctx: ToolContext) -> tuple[float, str]:
    started = time.perf_counter()
    action = await tool.prepare(args, ctx)
    outcome = await action.run(None)
    took = time.perf_counter() - started
    if not outcome.ok:
        raise SystemExit(f"{tool.name} failed: {outcome.output}")
    return took, outcome.output


async def bench(rows: int, runs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        repo = Path(tmp)
        (repo / "data").mkdir()
        path = repo / "data" / "orders.parquet"
        gen_s = generate(path, rows)
        ctx = ToolContext(Workspace(repo), Settings(data_timeout_s=600))
        profile_times, scan_times = [], []
        first_output = ""
        for _ in range(runs):
            took, output = await timed(ProfileData(), {"path": "data/orders.parquet"}, ctx)
            profile_times.append(took)
            first_output = first_output or output
        for _ in range(runs):
            took, _ = await timed(ScanPII(), {"path": "data/orders.parquet"}, ctx)
            scan_times.append(took)
        return {"rows": rows, "file_mb": round(path.stat().st_size / 1e6, 1), "generate_s": round(gen_s, 2),
                "profile_s": stats(profile_times), "scan_pii_s": stats(scan_times),
                "target_s": TARGET_S, "met": statistics.median(profile_times) <= TARGET_S,
                "profile_head": first_output.splitlines()[0]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="100,000 rows, one run (for CI)")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--rows", type=int, help="rows to generate (default 10,000,000)")
    ap.add_argument("--runs", type=int, help="timed runs per tool (default 3; 1 with --quick)")
    args = ap.parse_args()
    rows = args.rows or (100_000 if args.quick else 10_000_000)
    runs = args.runs or (1 if args.quick else 3)
    result = asyncio.run(bench(rows, runs))
    p, s = result["profile_s"], result["scan_pii_s"]
    print(f"rows {rows:,} · file {result['file_mb']} MB · generated in {result['generate_s']} s")
    print(f"{'tool':12} {'median s':>9} {'min s':>8} {'max s':>8} {'runs':>5}")
    print(f"{'ProfileData':12} {p['median']:>9} {p['min']:>8} {p['max']:>8} {p['runs']:>5}")
    print(f"{'ScanPII':12} {s['median']:>9} {s['min']:>8} {s['max']:>8} {s['runs']:>5}")
    print(f"target: ProfileData at most {TARGET_S:g} s -> {'met' if result['met'] else 'NOT met'}")
    print(result["profile_head"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
