"""Run every benchmark and print one table (and write JSON): ``python benchmarks/run_all.py``.

``--quick`` uses small sizes (CI runs it so the suite cannot rot). Each benchmark is a script
of its own in this folder that prints its table and writes JSON; this runner starts each in a
fresh process, collects their JSON into one file and prints a summary against the targets.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["bench_engine", "bench_startup", "bench_search", "bench_sessions", "bench_tui", "bench_edits",
           "bench_sandbox", "bench_profile", "bench_policy", "bench_lineage", "bench_warehouse",
           "bench_handoff", "bench_impact", "bench_mcp",
           "bench_acp"]


def dig(data: dict, path: str):
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


# (label, bench, json path, target, unit, lower is better)
TARGETS = [
    ("de-agent --version wall time", "bench_engine", "version_script.wall_s.median", 0.15, "s"),
    ("TUI first frame", "bench_tui", "first_frame_s.median", 0.3, "s"),
    ("engine overhead per tool step", "bench_engine", "engine.overhead_per_step_ms", 5.0, "ms"),
    ("SearchText / rg", "bench_search", "search_ratio", 1.3, "x"),
    ("resume of 5,000 events", "bench_sessions", "resume_s.median", 0.3, "s"),
    ("frame time while streaming", "bench_tui", "frame_time_ms.median", 50.0, "ms"),
    ("ProfileData, 10M rows x 16 columns", "bench_profile", "profile_s.median", 3.0, "s"),
    ("SQLLineage, 250-model dbt project", "bench_lineage", "lineage_s.median", 5.0, "s"),
    ("blast radius, 250 models, graph kept", "bench_impact", "blast_radius.warm_s.median", 2.0, "s"),
    ("blast radius, 250 models, first edit", "bench_impact", "blast_radius.cold_s.median", 2.0, "s"),
    ("peer-safe commands that ask", "bench_policy", "peer_safe_asking", 4, ""),
    ("attack spellings that run unasked", "bench_policy", "attacks_through", 0, ""),
    ("launch -> first request, -p", "bench_startup", "results.openai headless -p.median", 1.0, "s"),
    ("launch -> first request, TUI", "bench_startup", "results.openai TUI (typed at first frame).median", 1.0, "s"),
    ("edit of a 10 MB file", "bench_edits", "big_files.10 MB.exact", 1.0, "s"),
    ("edits misapplied (catalogue)", "bench_edits", "catalogue.misapplied", 0, ""),
    ("Handoff call -> child's first request", "bench_handoff", "handoff_ms.median", 100.0, "ms"),
    ("first frame, 3 MCP servers / none", "bench_mcp", "first_frame_ratio", 1.15, "x"),
    ("ACP initialize to first chunk", "bench_acp", "initialize_to_first_chunk_s.median", 2.0, "s"),
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes, for CI")
    ap.add_argument("--json", type=Path, default=HERE / "out" / "all.json")
    ap.add_argument("--only", nargs="*", help="run only these benchmarks")
    args = ap.parse_args()
    out_dir = args.json.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict = {"date": date.today().isoformat(), "machine": f"{platform.node()} {platform.machine()} "
                     f"{platform.processor() or ''}".strip(), "python": platform.python_version(),
                     "quick": args.quick, "benchmarks": {}}
    failed = []
    for name in args.only or BENCHES:
        script = HERE / f"{name}.py"
        if not script.exists():
            results["benchmarks"][name] = {"skipped": "script not present"}
            continue
        target = out_dir / f"{name}.json"
        argv = [sys.executable, str(script), "--json", str(target)] + (["--quick"] if args.quick else [])
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        proc = subprocess.run(argv, cwd=HERE.parent)
        took = time.perf_counter() - started
        if proc.returncode != 0 or not target.exists():
            failed.append(name)
            results["benchmarks"][name] = {"error": f"exit code {proc.returncode}"}
            continue
        data = json.loads(target.read_text())
        data["_seconds"] = round(took, 1)
        results["benchmarks"][name] = data

    print("\n=== targets ===")
    print(f"{'measure':34} {'value':>10} {'target':>10}  met")
    for label, bench, path, target, unit in TARGETS:
        value = dig(results["benchmarks"].get(bench, {}), path)
        if value is None:
            print(f"{label:34} {'n/a':>10} {target:>9}{unit}")
            continue
        ok = value <= target
        results.setdefault("targets", {})[label] = {"value": value, "target": target, "unit": unit, "met": ok}
        print(f"{label:34} {value:>9.3f}{unit} {target:>9}{unit}  {'yes' if ok else 'NO'}")
    args.json.write_text(json.dumps(results, indent=2))
    print(f"\nwritten: {args.json}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
