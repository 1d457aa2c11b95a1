"""Start-up and engine benchmarks: --version, first model request, overhead per tool step.

Usage: python benchmarks/bench_engine.py [--quick] [--json PATH]

- ``de-agent --version``: wall time and peak memory (max RSS of the child), several runs;
  the same for ``aider --version`` when aider is installed.
- First model request: from spawning ``de-agent -p`` to the local server receiving the request.
- Engine overhead per tool step: a scripted session of N steps (each step one model call
  answered with a ReadFile call) through litellm against the local OpenAI-compatible server;
  overhead = (wall time - time the server spent answering) / steps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from de_agent import protocol as P

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._stats import stats  # noqa: E402
from tests.support.openai_server import ScriptedServer  # noqa: E402


def timed_child(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 1024


def bench_version(runs: int, command: list[str]) -> dict:
    env = {**os.environ}
    walls, mems = [], []
    timed_child(command, env, ROOT)  # warm the file cache
    for _ in range(runs):
        wall, mem = timed_child(command, env, ROOT)
        walls.append(wall)
        mems.append(mem)
    return {"wall_s": stats(walls), "peak_mib": stats(mems)}


def make_repo() -> Path:
    root = Path(tempfile.mkdtemp(prefix="de-agent-bench-"))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "README.md").write_text("# bench\n" + "line\n" * 50)
    return root


def bench_first_request(runs: int) -> dict:
    repo = make_repo()
    home = Path(tempfile.mkdtemp(prefix="de-agent-home-"))
    env = {**os.environ, "DE_AGENT_HOME": str(home), "OPENAI_API_KEY": "sk-bench", "DE_AGENT_SANDBOX": "none",
           "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(runs):
        seen: list[float] = []

        def reply(body: dict, seen: list[float] = seen) -> dict:
            seen.append(time.perf_counter())
            return {"text": "ok"}

        with ScriptedServer([reply]) as server:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "de_agent", "-p", "hi", "--model", "openai/bench",
                            "--api-base", server.url], env=env, cwd=repo, capture_output=True, timeout=120)
            if seen:
                times.append(seen[0] - start)
    shutil.rmtree(repo, ignore_errors=True)
    return {"first_request_s": stats(times)} if times else {"error": "no request arrived"}


async def _engine_session(steps: int) -> dict:
    from de_agent.config import Settings
    from de_agent.frontends.factory import build_engine
    from de_agent.llm.adapter import LLMClient, load_litellm

    load_litellm()
    repo = make_repo()
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    marks: list[float] = []

    class Marks:
        async def before_model_call(self, engine):
            marks.append(time.perf_counter())

        async def on_context_overflow(self, engine):
            return False

    def script(body: dict) -> dict:
        n = sum(1 for m in body["messages"] if m.get("role") == "tool")
        if n >= steps:
            return {"text": "finished"}
        return {"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "README.md",
                                                                  "start_line": 1 + n % 40, "end_line": 2 + n % 40}}]}

    with ScriptedServer([script] * (steps + 1)) as server:
        settings = Settings(model="openai/bench", api_base=server.url, sandbox="none", max_turns=steps + 5)
        llm = LLMClient(settings.model, api_base=server.url)
        parts = build_engine(settings, repo, lambda e: None, approvals=P.Approvals.NOBODY, llm=llm, record=True)
        parts.engine.hooks = Marks()
        # warm-up: one turn so that connection pools and imports are ready
        server.script = [{"text": "warm"}]
        await parts.engine.run_turn("warm up")
        parts.engine.messages.clear()
        server.script = [script] * (steps + 1)
        server.handle_seconds = 0.0
        marks.clear()
        start = time.perf_counter()
        outcome = await parts.engine.run_turn("go")
        wall = time.perf_counter() - start
        server_time = server.handle_seconds
    shutil.rmtree(repo, ignore_errors=True)
    step_times = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    return {"steps": steps, "outcome": outcome.reason, "wall_s": wall, "server_s": server_time,
            "per_step_ms": stats([t * 1000 for t in step_times]),
            "overhead_per_step_ms": (wall - server_time) / steps * 1000}


async def _engine_only(steps: int) -> dict:
    """The engine's own cost per step, with a zero-latency in-process model (no HTTP, no litellm)."""
    from de_agent.config import Settings
    from de_agent.frontends.factory import build_engine
    from tests.support.fake_llm import FakeLLM

    repo = make_repo()

    def step(messages: list) -> dict:
        n = sum(1 for m in messages if m.get("role") == "tool")
        if n >= steps:
            return {"text": "finished"}
        return {"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "README.md",
                                                                  "start_line": 1 + n % 40, "end_line": 2 + n % 40}}]}

    settings = Settings(model="openai/bench", sandbox="none", max_turns=steps + 5)
    llm = FakeLLM([step] * (steps + 1))
    llm.count_tokens = lambda messages: sum(len(str(m)) for m in messages) // 4
    llm.context_window = lambda fallback: fallback
    parts = build_engine(settings, repo, lambda e: None, approvals=P.Approvals.NOBODY, llm=llm, record=True)
    start = time.perf_counter()
    outcome = await parts.engine.run_turn("go")
    wall = time.perf_counter() - start
    shutil.rmtree(repo, ignore_errors=True)
    return {"steps": steps, "outcome": outcome.reason, "per_step_ms": wall / steps * 1000}


async def _raw_http(steps: int) -> dict:
    """The floor: the same streamed replies fetched with httpx and parsed by hand, no litellm."""
    import httpx

    reply = {"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "README.md", "start_line": 1,
                                                               "end_line": 2}}]}
    with ScriptedServer([reply] * (steps + 1)) as server:
        async with httpx.AsyncClient() as client:
            body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "go"}]}
            await client.post(server.url + "/chat/completions", json=body)  # warm-up
            server.handle_seconds = 0.0
            start = time.perf_counter()
            for _ in range(steps):
                async with client.stream("POST", server.url + "/chat/completions", json=body) as resp:
                    async for line in resp.aiter_lines():
                        if line.startswith("data: ") and line != "data: [DONE]":
                            json.loads(line[6:])
            wall = time.perf_counter() - start
    return {"steps": steps, "per_step_ms": wall / steps * 1000,
            "client_per_step_ms": (wall - server.handle_seconds) / steps * 1000}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    runs = 3 if args.quick else 10
    steps = 20 if args.quick else 200
    results: dict = {}
    results["version"] = bench_version(runs, [sys.executable, "-m", "de_agent", "--version"])
    script = shutil.which("de-agent", path=str(Path(sys.executable).parent))
    if script:
        results["version_script"] = bench_version(runs, [script, "--version"])
    aider = shutil.which("aider")
    results["aider_version"] = bench_version(runs, [aider, "--version"]) if aider else \
        {"skipped": "aider is not installed"}
    results["first_request"] = bench_first_request(2 if args.quick else 5)
    results["engine_only"] = asyncio.run(_engine_only(steps))
    results["engine"] = asyncio.run(_engine_session(steps))
    results["raw_http"] = asyncio.run(_raw_http(steps))
    print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def print_table(results: dict) -> None:
    v = results["version"]["wall_s"]
    print(f"{'measure':44} {'median':>10} {'min':>10} {'max':>10}")
    print(f"{'python -m de_agent --version (s)':44} {v['median']:10.3f} {v['min']:10.3f} {v['max']:10.3f}")
    if "version_script" in results:
        s = results["version_script"]["wall_s"]
        print(f"{'de-agent --version (s)':44} {s['median']:10.3f} {s['min']:10.3f} {s['max']:10.3f}")
        m = results["version_script"]["peak_mib"]
        print(f"{'de-agent --version peak RSS (MiB)':44} {m['median']:10.1f} {m['min']:10.1f} {m['max']:10.1f}")
    a = results["aider_version"]
    if "wall_s" in a:
        print(f"{'aider --version (s)':44} {a['wall_s']['median']:10.3f}")
    else:
        print(f"{'aider --version':44} {a['skipped']}")
    fr = results["first_request"].get("first_request_s")
    if fr:
        print(f"{'spawn -> first model request (s)':44} {fr['median']:10.3f} {fr['min']:10.3f} {fr['max']:10.3f}")
    e = results["engine"]
    ps = e["per_step_ms"]
    print(f"{'tool step, total (ms) over ' + str(e['steps']) + ' steps':44} {ps['median']:10.2f} "
          f"{ps['min']:10.2f} {ps['max']:10.2f}")
    print(f"{'engine overhead per step, minus server (ms)':44} {e['overhead_per_step_ms']:10.2f}")
    print(f"{'engine alone per step, in-process model (ms)':44} {results['engine_only']['per_step_ms']:10.2f}")
    raw = results["raw_http"]
    print(f"{'same replies, bare httpx client (ms/step)':44} {raw['per_step_ms']:10.2f}")
    print(f"{'  of which client side, minus server (ms)':44} {raw['client_per_step_ms']:10.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
