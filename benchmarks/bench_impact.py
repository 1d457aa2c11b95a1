"""Time to the full blast radius of a model edit on a generated 250-model dbt project, and to a
DataDiff of 1M rows.

Usage: python benchmarks/bench_impact.py [--models N] [--rows N] [--runs N] [--json PATH] [--quick]

Blast radius: ``cold`` builds the project graph first (the first edit of a session),
``warm`` reuses it (every later edit: the graph is kept while the files are unchanged). Only
the column lineage the edit needs (the model's upstream and downstream) is computed. The edit
removes ``amount`` from the model with the largest such closure. Data diff: two
1M-row SELECTs over a Parquet file in the repository that differ in a known 1% of rows, keyed,
through the tool as the engine calls it. Target: blast radius at most 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._stats import stats  # noqa: E402
from benchmarks.gen_dbt import generate  # noqa: E402
from de_agent.config import Settings  # noqa: E402
from de_agent.tools.base import ToolContext  # noqa: E402
from de_agent.tools.data.datadiff import DataDiff  # noqa: E402
from de_agent.tools.data.helpers import impact  # noqa: E402
from de_agent.workspace import Workspace  # noqa: E402

TARGET_S = 2.0


def blast(models: int, runs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-impact-") as tmp:
        repo = Path(tmp)
        generate(repo, models)
        ws = Workspace(repo)
        rel = "models/staging/stg_49.sql"  # the model with the largest upstream + downstream closure (34 nodes)
        new = (repo / rel).read_text().replace("    amount,\n", "")
        cold, warm, result = [], [], None
        for _ in range(runs):
            impact._CACHE.clear()
            t = time.perf_counter()
            result = impact.compute_impact(ws, rel, new)
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            impact.compute_impact(ws, rel, new)
            warm.append(time.perf_counter() - t)
        return {"models": models, "cold_s": stats(cold), "warm_s": stats(warm),
                "removed": result["columns"]["removed"], "downstream": len(result["downstream"]),
                "breaks": len(result["breaks"])}


async def data_diff(rows: int) -> dict:
    import duckdb

    with tempfile.TemporaryDirectory(prefix="bench-datadiff-") as tmp:
        repo = Path(tmp)
        duckdb.sql(f"copy (select range as id, range % 97 as grp, range * 1.5 as amount, 'name ' || range as label "
                   f"from range({rows})) to '{repo}/orders.parquet' (format parquet)")
        ctx = ToolContext(workspace=Workspace(repo), settings=Settings())
        out: dict = {"rows": rows}
        # spread: 1% of amounts and 0.1% of keys differ (every segment differs); few: 10 rows differ.
        for label, cond in (("spread", "id % 100 = 0"), ("few", "id % 100000 = 0")):
            after = (f"select id, grp, case when {cond} then amount + 1 else amount end as amount, label "
                     "from 'orders.parquet'" + (" where id % 1000 <> 1" if label == "spread" else ""))
            t = time.perf_counter()
            action = await DataDiff().prepare({"sql_before": "select * from 'orders.parquet'", "sql_after": after,
                                               "key": ["id"]}, ctx)
            result = await action.run(None)
            out[label] = {"datadiff_s": round(time.perf_counter() - t, 3), "headline": result.display["headline"],
                          "segments_differing": result.display["segments_differing"],
                          "worker_s": result.display["elapsed_s"]}
        return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=250)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--quick", action="store_true", help="100,000 rows and one run (CI)")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.runs = 100_000, 1
    result = {"blast_radius": blast(args.models, args.runs), "data_diff": asyncio.run(data_diff(args.rows)),
              "target_s": TARGET_S}
    result["met"] = result["blast_radius"]["warm_s"]["median"] <= TARGET_S
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
