"""SearchText and FindFiles against the ``rg`` binary on a generated 50,000-file repository.

Usage: python benchmarks/bench_search.py [--quick] [--json PATH] [--repo DIR] [--files N]

The repository (``benchmarks/gen_repo.py``: a .gitignore, nested ones, ignored folders,
binary files) is generated in a temporary folder, or at --repo (reused when it exists).
Each case runs the tool in-process exactly as the engine does (prepare, then run) and the
``rg`` binary with the same arguments the tool gives it (output captured through a pipe),
alternately, several times after a warm-up; the table shows medians, spread and the
ratio tool / rg. The pure-Python engine (no ripgrep) is timed once per case, for
information. Target: SearchText at most 1.3x rg. ``--quick`` uses 2,000 files.
JSON: ``search_ratio`` (the worst SearchText ratio), ``find_ratio``, and every case.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._stats import stats  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))

from gen_repo import generate  # noqa: E402

from de_agent.config import Settings  # noqa: E402
from de_agent.tools.base import ToolContext  # noqa: E402
from de_agent.tools.fs_list import FindFiles  # noqa: E402
from de_agent.tools.helpers.globs import rg_filter  # noqa: E402
from de_agent.tools.helpers.search_backends import RG_FLAGS, Query, find_rg, rg_search_argv  # noqa: E402
from de_agent.tools.search import MAX_MATCHES, SearchText  # noqa: E402
from de_agent.workspace import Workspace  # noqa: E402

SEARCHES = [
    ("rare literal", {"pattern": "needle_token"}),
    ("regex", {"pattern": r"def \w+_rows\("}),
    ("regex, include *.py", {"pattern": r"return \[\w+ for", "include": "*.py"}),
    ("literal, 2 lines context", {"pattern": "needle_token", "context": 2}),
    ("common word, many matches", {"pattern": "count", "fixed_strings": True}),
    ("no match", {"pattern": "zz_not_there_zz"}),
]
FINDS = [
    ("**/*.sql", {"pattern": "**/*.sql"}),
    ("*.yml in a folder", {"pattern": "*.yml", "dir_path": "pkg_001"}),
]




def search_argv(rg: str, args: dict) -> list[str]:
    include = [args["include"]] if args.get("include") else []
    query = Query(args["pattern"], bool(args.get("fixed_strings")), int(args.get("context", 0)),
                  args.get("dir_path", ""), include, keep=MAX_MATCHES)
    return rg_search_argv(rg, query)


def find_argv(rg: str, args: dict) -> list[str]:
    start = args.get("dir_path", "")
    argv = [rg, *RG_FLAGS, "--files", "--null", *rg_filter([args["pattern"]], start)[0], "--"]
    return argv + ([start] if start else [])


def cpu_now() -> float:
    """CPU seconds used so far by this process and its finished children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


async def time_tool(tool, args: dict, ctx: ToolContext) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds including rg's, output) of one prepare + run."""
    cpu, start = cpu_now(), time.perf_counter()
    action = await tool.prepare(args, ctx)
    outcome = await action.run(None)
    return time.perf_counter() - start, cpu_now() - cpu, outcome.output


def time_rg(argv: list[str], cwd: Path) -> tuple[float, float]:
    cpu, start = cpu_now(), time.perf_counter()
    subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, cpu_now() - cpu


async def bench_case(tool, args: dict, argv: list[str], repo: Path, runs: int) -> dict:
    fast = ToolContext(workspace=Workspace(repo), settings=Settings(ripgrep="auto"))
    slow = ToolContext(workspace=Workspace(repo), settings=Settings(ripgrep="off"))
    await time_tool(tool, args, fast)  # warm the file cache and the ignore-rule cache
    time_rg(argv, repo)
    tool_times, rg_times, tool_cpu, rg_cpu = [], [], [], []
    output = ""
    for _ in range(runs):
        took, cpu, output = await time_tool(tool, args, fast)
        tool_times.append(took)
        tool_cpu.append(cpu)
        took, cpu = time_rg(argv, repo)
        rg_times.append(took)
        rg_cpu.append(cpu)
    _, _, py_output = await time_tool(tool, args, slow)
    py_start = time.perf_counter()
    await time_tool(tool, args, slow)
    py_time = time.perf_counter() - py_start
    tool_s, rg_s = stats(tool_times), stats(rg_times)
    return {"args": args, "tool_s": tool_s, "rg_s": rg_s, "ratio": tool_s["median"] / rg_s["median"],
            "pair_ratio": statistics.median(t / r for t, r in zip(tool_times, rg_times, strict=True)),
            "cpu_ratio": statistics.median(tool_cpu) / max(statistics.median(rg_cpu), 1e-9),
            "python_engine_s": py_time, "engines_agree": output == py_output,
            "first_line": output.splitlines()[0] if output else ""}


async def run(repo: Path, runs: int) -> dict:
    rg = find_rg("auto")
    if rg is None:
        raise SystemExit("ripgrep is not installed (pip install ripgrep): nothing to compare against")
    results: dict = {"repo": str(repo), "rg": rg, "runs": runs, "search": {}, "find": {}}
    for label, args in SEARCHES:
        results["search"][label] = await bench_case(SearchText(), args, search_argv(rg, args), repo, runs)
    for label, args in FINDS:
        results["find"][label] = await bench_case(FindFiles(), args, find_argv(rg, args), repo, runs)
    search_ratios = [c["ratio"] for c in results["search"].values()]
    results["search_ratio"] = max(search_ratios)
    results["search_ratio_median"] = statistics.median(search_ratios)
    results["find_ratio"] = max(c["ratio"] for c in results["find"].values())
    return results


def print_table(results: dict, files: int) -> None:
    print(f"repository: {results['repo']} ({files:,} files generated); rg: {results['rg']}; "
          f"{results['runs']} runs per case")
    print(f"{'case':40} {'tool ms':>9} {'rg ms':>9} {'ratio':>7} {'pairs':>6} {'cpu':>6} "
          f"{'tool min-max':>15} {'py engine ms':>13}  same")
    for group in ("search", "find"):
        for label, c in results[group].items():
            t, r = c["tool_s"], c["rg_s"]
            name = f"{'SearchText' if group == 'search' else 'FindFiles'}: {label}"
            print(f"{name:40} {t['median'] * 1000:9.1f} {r['median'] * 1000:9.1f} {c['ratio']:7.2f} "
                  f"{c['pair_ratio']:6.2f} {c['cpu_ratio']:6.2f} "
                  f"{t['min'] * 1000:7.0f}-{t['max'] * 1000:<7.0f} {c['python_engine_s'] * 1000:13.0f}  "
                  f"{'yes' if c['engines_agree'] else 'NO'}")
    print("ratio: median tool time / median rg time; pairs: median of per-run ratios; cpu: CPU time "
          "(this process and rg) of the tool / CPU time of rg")
    print(f"\nSearchText / rg: worst {results['search_ratio']:.2f}x, median {results['search_ratio_median']:.2f}x "
          f"(target 1.3x: {'met' if results['search_ratio'] <= 1.3 else 'NOT met'}); "
          f"FindFiles / rg: worst {results['find_ratio']:.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 files and 3 runs (for CI)")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--repo", type=Path, help="use (or generate and keep) the repository here")
    ap.add_argument("--files", type=int, help="files to generate (default 50,000; 2,000 with --quick)")
    ap.add_argument("--runs", type=int, help="timed runs per case (default 7; 3 with --quick)")
    args = ap.parse_args()
    files = args.files or (2_000 if args.quick else 50_000)
    runs = args.runs or (3 if args.quick else 7)
    temp = None
    repo = args.repo
    if repo is None:
        temp = Path(tempfile.mkdtemp(prefix="de-agent-bench-search-"))
        repo = temp / "repo"
    if not repo.exists() or not any(repo.iterdir()):
        started = time.perf_counter()
        generate(repo, files)
        print(f"generated {files:,} files in {time.perf_counter() - started:.1f} s")
    try:
        results = asyncio.run(run(repo.resolve(), runs))
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    results.update(files=files, quick=args.quick)
    print_table(results, files)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(c["engines_agree"] for g in ("search", "find") for c in results[g].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
