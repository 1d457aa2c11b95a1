"""ACP start-up: time from ``initialize`` to the first streamed chunk of the first answer.

Usage: python benchmarks/bench_acp.py [--quick] [--json PATH]

Each run spawns a real ``de-agent --acp`` in a fresh git repository against the local
OpenAI-compatible server and, with the ``agent-client-protocol`` package's client, measures
- spawn to the ``initialize`` response;
- ``initialize`` sent to the first ``agent_message_chunk`` (new session + prompt + first
  model call, litellm import included: what an editor user waits for on the first question).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acp import text_block  # noqa: E402

from benchmarks._stats import stats  # noqa: E402
from tests.support.acp_client import RecordingClient, acp_agent  # noqa: E402
from tests.support.openai_server import ScriptedServer  # noqa: E402


async def one_run(base: Path, i: int) -> tuple[float, float]:
    repo = base / f"repo{i}"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    home = base / f"home{i}"
    home.mkdir()
    client = RecordingClient()
    with ScriptedServer([{"text": "The first answer, streamed in pieces."}]) as server:
        spawned = time.perf_counter()
        async with acp_agent(client, repo, home, server) as conn:
            sent = time.perf_counter()
            await conn.initialize(protocol_version=1)
            initialized = time.perf_counter()
            session = await conn.new_session(cwd=str(repo), mcp_servers=[])
            turn = asyncio.create_task(conn.prompt(session_id=session.session_id, prompt=[text_block("hi")]))
            await client.first_chunk.wait()
            first_chunk = time.perf_counter()
            await turn
    return initialized - spawned, first_chunk - sent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    runs = 2 if args.quick else 5
    spawn_to_init, init_to_chunk = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            a, b = asyncio.run(one_run(Path(tmp), i))
            spawn_to_init.append(a)
            init_to_chunk.append(b)
    result = {"spawn_to_initialize_s": stats(spawn_to_init), "initialize_to_first_chunk_s": stats(init_to_chunk)}
    print(f"spawn -> initialize response   median {result['spawn_to_initialize_s']['median']:.3f} s")
    print(f"initialize -> first chunk      median {result['initialize_to_first_chunk_s']['median']:.3f} s "
          f"(p95 {result['initialize_to_first_chunk_s']['p95']:.3f} s, {runs} runs)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
