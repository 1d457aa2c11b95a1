"""SQLLineage on a generated 250-model dbt project: time, model-level and column-level accuracy.

Usage: python benchmarks/bench_lineage.py [--models N] [--runs N] [--json PATH] [--quick]

The project comes from ``gen_dbt.py`` (which knows every edge and every column's sources).
Each run calls the tool as the engine does (prepare, then run). Target: the whole graph
with column lineage in at most 5 s. JSON: ``models``, ``lineage_s`` {median, min, max,
runs}, ``edge_precision``, ``edge_recall``, ``columns_exact``, ``columns_total``,
``target_s``, ``met``, ``stderr_bytes``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import statistics
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
from de_agent.tools.data.lineage import SQLLineage  # noqa: E402
from de_agent.workspace import Workspace  # noqa: E402

TARGET_S = 5.0


async def bench(models: int, runs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-lineage-") as tmp:
        repo = Path(tmp)
        edges, expected = generate(repo / "bench", models)
        ctx = ToolContext(Workspace(repo), Settings(data_timeout_s=600))
        times, display = [], None
        err = io.StringIO()
        for _ in range(runs):
            started = time.perf_counter()
            with contextlib.redirect_stderr(err):
                action = await SQLLineage().prepare({"dir_path": "bench"}, ctx)
                outcome = await action.run(None)
            times.append(time.perf_counter() - started)
            display = outcome.display
        got = {tuple(e) for e in display["edges"]}
        nodes = {n["name"]: n for n in display["nodes"]}
        exact = total = 0
        for model, cols in expected.items():
            for col, sources in cols.items():
                total += 1
                exact += sorted(nodes[model]["column_lineage"].get(col, ["<none>"])) == sorted(sources)
        return {"models": models, "lineage_s": stats(times),
                "edge_precision": round(len(got & edges) / max(1, len(got)), 4),
                "edge_recall": round(len(got & edges) / max(1, len(edges)), 4),
                "columns_exact": exact, "columns_total": total, "target_s": TARGET_S,
                "met": statistics.median(times) <= TARGET_S, "stderr_bytes": len(err.getvalue()),
                "errors": display["errors"][:5]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=250)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="60 models, one run (for CI)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    models, runs = (60, 1) if args.quick else (args.models, args.runs)
    r = asyncio.run(bench(models, runs))
    t = r["lineage_s"]
    print(f"models {models} · SQLLineage median {t['median']} s (min {t['min']}, max {t['max']}, {t['runs']} runs)")
    print(f"edges: precision {r['edge_precision']}, recall {r['edge_recall']}; "
          f"columns exact {r['columns_exact']}/{r['columns_total']}; stderr {r['stderr_bytes']} bytes")
    print(f"target: at most {TARGET_S:g} s -> {'met' if r['met'] else 'NOT met'}")
    if r["errors"]:
        print("errors:", *r["errors"], sep="\n  ")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(r, indent=2) + "\n")
    return 0 if r["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
