"""MCP benchmarks: the first frame with three MCP servers configured, and call round trips.

Usage: python benchmarks/bench_mcp.py [--runs N] [--quick] [--json PATH]

- First frame: ``python -m de_agent`` on a pseudo-terminal, timed until the input box is
  drawn (as in bench_tui.py), with no MCP servers and with three stdio servers configured
  in the user config (one of them takes 3 s to start). Runs are interleaved so machine load
  hits both alike. The servers start in the background, so the two should match.
- Client round trip: median time of an ``echo`` call through the client manager to a stdio
  server written with the SDK (the test server), after it is ready.
- Server round trip: median time of a SQLLineage call to ``de-agent mcp`` through the SDK's
  stdio client, and how long ``de-agent mcp`` takes to answer ``initialize``.
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
from benchmarks.bench_tui import bench_env, first_frame_on_terminal, make_repo  # noqa: E402

DEMO = ROOT / "tests" / "mcp_servers" / "demo.py"


def three_servers_toml() -> str:
    out = []
    for name, extra in (("dbt", []), ("catalog", []), ("warehouse", ["--slow", "3"])):
        args = ", ".join(json.dumps(a) for a in [str(DEMO), *extra])
        out.append(f"[mcp_servers.{name}]\ncommand = {json.dumps(sys.executable)}\nargs = [{args}]\n")
    return "\n".join(out)


def bench_first_frame(runs: int) -> dict:
    repo = make_repo()
    plain_home = Path(tempfile.mkdtemp(prefix="de-agent-bench-home-"))
    mcp_home = Path(tempfile.mkdtemp(prefix="de-agent-bench-home-mcp-"))
    (mcp_home / "config.toml").write_text(three_servers_toml())
    argv = [sys.executable, "-m", "de_agent", "--model", "openai/test-model", "--api-base",
            "http://127.0.0.1:9/v1", "--sandbox", "none"]
    first_frame_on_terminal(argv, repo, bench_env(plain_home))  # warm the file cache
    first_frame_on_terminal(argv, repo, bench_env(mcp_home))
    without, with_three = [], []
    for _ in range(runs):
        without.append(first_frame_on_terminal(argv, repo, bench_env(plain_home)))
        with_three.append(first_frame_on_terminal(argv, repo, bench_env(mcp_home)))
    return {"first_frame_no_mcp_s": stats(without), "first_frame_three_mcp_s": stats(with_three)}


def bench_client(calls: int) -> dict:
    from de_agent.mcp.client import McpManager
    from de_agent.mcp.config import parse_spec

    repo = make_repo()
    manager = McpManager([parse_spec("demo", {"command": sys.executable, "args": [str(DEMO)]})], repo, [])
    started = time.perf_counter()
    manager.start()
    while manager.servers["demo"].status == "starting":
        time.sleep(0.01)
    ready_s = time.perf_counter() - started

    async def run() -> list[float]:
        times = []
        for i in range(calls):
            t = time.perf_counter()
            await manager.call("demo", "echo", {"text": f"ping {i}"})
            times.append(time.perf_counter() - t)
        return times

    try:
        times = asyncio.run(run())
    finally:
        manager.close()
    return {"client_server_ready_s": ready_s, "client_call_s": stats(times)}


def bench_server(calls: int) -> dict:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    repo = make_repo()
    home = Path(tempfile.mkdtemp(prefix="de-agent-bench-home-"))
    params = StdioServerParameters(command=sys.executable, args=["-m", "de_agent", "mcp"], env=bench_env(home),
                                   cwd=str(repo))

    async def run() -> tuple[float, list[float]]:
        t0 = time.perf_counter()
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            init = time.perf_counter() - t0
            times = []
            for _ in range(calls):
                t = time.perf_counter()
                await session.call_tool("SQLLineage", {"sql": "insert into mart.o select id, amount from raw.orders"})
                times.append(time.perf_counter() - t)
        return init, times

    init, times = asyncio.run(run())
    return {"server_initialize_s": init, "server_sqllineage_call_s": stats(times)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--quick", action="store_true", help="few runs, for CI")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.calls = 2, 5
    results = {**bench_first_frame(args.runs), **bench_client(args.calls), **bench_server(args.calls)}
    results["first_frame_ratio"] = (results["first_frame_three_mcp_s"]["median"]
                                    / results["first_frame_no_mcp_s"]["median"])
    for key, value in results.items():
        if isinstance(value, dict):
            print(f"{key:32} median {value['median'] * 1000:8.1f} ms  p95 {value['p95'] * 1000:8.1f} ms  "
                  f"(runs {value['runs']})")
        elif key.endswith("_ratio"):
            print(f"{key:32} {value:8.2f}x")
        else:
            print(f"{key:32} {value * 1000:8.1f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
