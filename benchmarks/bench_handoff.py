"""Handoff overhead: from the main agent's Handoff call to the specialist's first model request.

Usage: python benchmarks/bench_handoff.py [--quick] [--json PATH]

A real engine (``build_engine``: specialists loaded from their files, transcripts recorded) talks
through litellm to the local OpenAI-compatible server. Each run is one turn: the main agent's
model replies with a Handoff to the read-only reviewer; the reviewer answers at once; the main
agent finishes. Measured on one clock in this process:

- handoff: the engine emitting the Handoff ``tool_call`` event -> the server receiving the
  reviewer's first request (child engine built, transcript opened, prompt and tools assembled,
  litellm request sent);
- plain step, for comparison: a ReadFile ``tool_call`` event -> the server receiving the next
  request of the same engine.
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


def make_repo() -> Path:
    root = Path(tempfile.mkdtemp(prefix="de-agent-bench-handoff-"))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "README.md").write_text("# bench\n" + "line\n" * 50)
    return root


async def measure(runs: int) -> dict:
    from de_agent.config import Settings
    from de_agent.frontends.factory import build_engine
    from de_agent.llm.adapter import LLMClient, load_litellm

    load_litellm()
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench")
    home = Path(tempfile.mkdtemp(prefix="de-agent-bench-home-"))
    os.environ["DE_AGENT_HOME"] = str(home)
    repo = make_repo()
    called: dict[str, float] = {}
    arrived: list[float] = []

    def sink(event: P.Event) -> None:
        if isinstance(event, P.ToolCall) and not event.specialist:
            called[event.name] = time.perf_counter()

    def at(reply: dict):
        def answer(body: dict) -> dict:
            arrived.append(time.perf_counter())
            return reply
        return answer

    handoff = {"tool_calls": [{"name": "Handoff", "arguments": {"specialist": "reviewer",
                                                                 "task": "review README.md"}}]}
    read = {"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "README.md"}}]}
    handoffs, steps = [], []
    with ScriptedServer([]) as server:
        settings = Settings(model="openai/bench", api_base=server.url, sandbox="none")
        llm = LLMClient(settings.model, api_base=server.url)
        engine = build_engine(settings, repo, sink, approvals=P.Approvals.NOBODY, llm=llm, record=True).engine
        for i in range(runs + 1):  # the first run warms connection pools and imports
            server.script = [at(handoff), at({"text": "fine"}), at(read), at({"text": "done"})]
            arrived.clear()
            await engine.run_turn(f"run {i}")
            if i:
                handoffs.append((arrived[1] - called["Handoff"]) * 1000)
                steps.append((arrived[3] - called["ReadFile"]) * 1000)
        engine.close()
    shutil.rmtree(repo, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    return {"runs": runs, "handoff_ms": stats(handoffs), "plain_step_ms": stats(steps)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path, default=Path(__file__).parent / "out" / "bench_handoff.json")
    args = ap.parse_args()
    result = asyncio.run(measure(5 if args.quick else 30))
    h, s = result["handoff_ms"], result["plain_step_ms"]
    print(f"Handoff call -> child's first model request: median {h['median']:.1f} ms, p95 {h['p95']:.1f} ms "
          f"({result['runs']} runs)")
    print(f"Tool call -> next model request (plain ReadFile step): median {s['median']:.1f} ms, "
          f"p95 {s['p95']:.1f} ms")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
