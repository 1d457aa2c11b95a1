"""Sandbox benchmark: what bubblewrap adds to one command.

Usage: python benchmarks/bench_sandbox.py [--quick] [--runs N] [--json PATH]

Runs ``true`` through the real runner (``run_command``: process group, resource limits,
bounded output reading, cleaned environment) in a temporary git repository, first without a
sandbox and then inside bubblewrap, and prints the median, p10 and p90 wall time of each and
the median overhead. A bare ``subprocess.run(["bash", "-c", "true"])`` is shown for scale.
Where bubblewrap cannot run, the sandboxed column says why.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from de_agent.config import Settings  # noqa: E402
from de_agent.security.env import clean_env  # noqa: E402
from de_agent.security.runner import run_command  # noqa: E402
from de_agent.security.sandbox import probe_bwrap, resolve_sandbox  # noqa: E402


def _stats(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    return {"median": round(statistics.median(ms), 2), "p10": round(ms[len(ms) // 10], 2),
            "p90": round(ms[(len(ms) * 9) // 10], 2), "runs": len(ms)}


async def _time_runner(folder: str, runs: int, sandbox) -> list[float]:
    env = clean_env()
    await run_command("true", folder, 10, env, sandbox)  # warm-up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = await run_command("true", folder, 10, env, sandbox)
        samples.append(time.perf_counter() - start)
        if result.exit_code != 0:
            raise SystemExit(f"`true` failed: {result.output}")
    return samples


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    runs = args.runs or (10 if args.quick else 30)
    out: dict = {"runs": runs}
    with tempfile.TemporaryDirectory(prefix="de-agent-bench-") as folder:
        subprocess.run(["git", "init", "-q", folder], check=True)
        bare = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(["bash", "-c", "true"], cwd=folder, check=True)
            bare.append(time.perf_counter() - start)
        out["bare_subprocess_ms"] = _stats(bare)
        out["plain_ms"] = _stats(asyncio.run(_time_runner(folder, runs, None)))
        ok, reason = probe_bwrap()
        if ok:
            box = resolve_sandbox(Settings(sandbox="bwrap"))
            out["bwrap_ms"] = _stats(asyncio.run(_time_runner(folder, runs, box)))
            out["overhead_ms"] = round(out["bwrap_ms"]["median"] - out["plain_ms"]["median"], 2)
        else:
            out["bwrap_ms"] = {"skipped": reason}
    print(f"`true`, {runs} runs each (ms)      median     p10     p90")
    for label, key in (("bare subprocess.run", "bare_subprocess_ms"), ("runner, no sandbox", "plain_ms"),
                       ("runner, bubblewrap", "bwrap_ms")):
        row = out[key]
        if "skipped" in row:
            print(f"{label:32} skipped: {row['skipped']}")
        else:
            print(f"{label:32} {row['median']:7.2f} {row['p10']:7.2f} {row['p90']:7.2f}")
    if "overhead_ms" in out:
        print(f"bubblewrap overhead (median): {out['overhead_ms']:.2f} ms")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
