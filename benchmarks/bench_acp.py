"""ACP start-up: time from ``initialize`` to the first streamed chunk of the first answer.

Usage: python benchmarks/bench_acp.py [--quick] [--json PATH]

Each run spawns a real ``de-agent --acp`` in a fresh git repository against the local
OpenAI-compatible server and, with the ``agent-client-protocol`` package's client, measures
- spawn to the ``initialize`` response;
- ``initialize`` sent to the first ``agent_message_chunk`` (new session + prompt + first
  model call, litellm import included: what an editor user waits for on the first question);
- ReadFile of 2,000-line files (five calls a session), from each ``tool_call`` update to its
  completed update, with the client offering its file system (the text comes through
  ``fs/read_text_file``) and not.
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
from tests.support.acp_client import EditorFilesClient, RecordingClient, acp_agent  # noqa: E402
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


class TimedClient(EditorFilesClient):
    """Notes how long each tool call takes, from its start to its completion (client side)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = 0.0
        self.spans: list[float] = []

    async def session_update(self, session_id: str, update, **kw) -> None:
        await super().session_update(session_id, update, **kw)
        if update.session_update == "tool_call":
            self.started = time.perf_counter()
        elif update.session_update == "tool_call_update" and update.status == "completed":
            self.spans.append(time.perf_counter() - self.started)


async def read_run(base: Path, i: int, editor: bool) -> list[float]:
    repo = base / f"read{i}{editor}"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    for k in range(5):
        (repo / f"big{k}.py").write_text("".join(f"value_{n} = {n}\n" for n in range(2000)))
    home = base / f"readhome{i}{editor}"
    home.mkdir()
    client = TimedClient()
    script = [{"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": f"big{k}.py"}}]} for k in range(5)]
    script.append({"text": "ok"})
    with ScriptedServer(script) as server:
        async with acp_agent(client, repo, home, server) as conn:
            await conn.initialize(protocol_version=1, client_capabilities=client.capabilities(editor, editor))
            session = await conn.new_session(cwd=str(repo), mcp_servers=[])
            await conn.prompt(session_id=session.session_id, prompt=[text_block("read it")])
    assert len(client.reads) == (5 if editor else 0) and len(client.spans) == 5
    return client.spans


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
        disk_read: list[float] = []
        editor_read: list[float] = []
        for i in range(runs):  # alternating, so both see the same machine load
            disk_read += asyncio.run(read_run(Path(tmp), i, False))
            editor_read += asyncio.run(read_run(Path(tmp), i, True))
    result = {"spawn_to_initialize_s": stats(spawn_to_init), "initialize_to_first_chunk_s": stats(init_to_chunk),
              "readfile_disk_s": stats(disk_read), "readfile_editor_fs_s": stats(editor_read)}
    print(f"spawn -> initialize response   median {result['spawn_to_initialize_s']['median']:.3f} s")
    print(f"initialize -> first chunk      median {result['initialize_to_first_chunk_s']['median']:.3f} s "
          f"(p95 {result['initialize_to_first_chunk_s']['p95']:.3f} s, {runs} runs)")
    print(f"ReadFile, 2,000 lines: disk   median {result['readfile_disk_s']['median'] * 1000:.1f} ms; "
          f"through the editor's fs/read_text_file median {result['readfile_editor_fs_s']['median'] * 1000:.1f} ms "
          f"({len(disk_read)} calls each)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
