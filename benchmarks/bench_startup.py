"""Start-up benchmark: launch of the real command -> the first model request at the server.

Usage: python benchmarks/bench_startup.py [--quick] [--runs N] [--json PATH] [--litellm]

For each endpoint kind (OpenAI-compatible, Anthropic Messages, Ollama chat) a local server
from tests/support speaks that wire format; the clock starts when the child process is
spawned and stops when the server receives the first request. Measured, interleaved run by
run so machine load hits all alike:

- headless: ``de-agent -p hi --model <kind>/... --api-base <server>``;
- TUI: ``de-agent --model ... --api-base ...`` on a pseudo-terminal; "hi" and Enter are typed
  as soon as the first frame is on the terminal (what a person typing at once sees);
- floor: a bare ``python -c 'import httpx; httpx.post(...)'`` sending the same kind of
  request, i.e. what any Python client pays for an interpreter and an HTTP stack.

Also the TUI's resident memory when idle: 2 s after its first exchange with the model.
``--litellm`` sets DE_AGENT_LITELLM=1 (every provider through litellm, as before issue 13).
Medians of ``--runs`` (10; 3 with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._stats import stats  # noqa: E402
from benchmarks.bench_tui import PLACEHOLDER, bench_env, drain, end_process, make_repo, open_pty  # noqa: E402
from tests.support.openai_server import ScriptedServer  # noqa: E402
from tests.support.wire_servers import AnthropicServer, OllamaServer  # noqa: E402

KINDS = {  # kind: (server class, model, base suffix, path, body of the floor's request)
    "openai": (ScriptedServer, "openai/bench-model", "/v1", "/v1/chat/completions",
               {"model": "bench-model", "stream": True, "messages": [{"role": "user", "content": "hi"}]}),
    "anthropic": (AnthropicServer, "anthropic/claude-sonnet-4-5", "/v1", "/v1/messages",
                  {"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": True,
                   "messages": [{"role": "user", "content": "hi"}]}),
    "ollama": (OllamaServer, "ollama/qwen2.5-coder", "", "/api/chat",
               {"model": "qwen2.5-coder", "stream": True, "messages": [{"role": "user", "content": "hi"}]}),
}
FLOOR = ("import sys, httpx\n"
         "with httpx.stream('POST', sys.argv[1], json=__import__('json').loads(sys.argv[2])) as r:\n"
         "    r.read()\n")


class Clock:
    """A server whose first request stamps the time."""

    def __init__(self, kind: str):
        cls, self.model, suffix, self.path, self.floor_body = KINDS[kind]
        self.first: float | None = None
        self.server = cls([self._reply] * 50)
        self.server.__enter__()
        self.base = self.server.url.removesuffix("/v1") + suffix

    def _reply(self, body: dict) -> dict:
        if self.first is None:
            self.first = time.perf_counter()
        return {"text": "ok"}

    def reset(self) -> None:
        self.first = None

    def close(self) -> None:
        self.server.__exit__(None, None, None)


def _wait(clock: Clock, proc: subprocess.Popen, timeout: float) -> float:
    deadline = time.perf_counter() + timeout
    while clock.first is None and time.perf_counter() < deadline and proc.poll() is None:
        time.sleep(0.002)
    return clock.first if clock.first is not None else float("nan")


def _cpu(proc: subprocess.Popen) -> float:
    """User + system CPU seconds of the whole child run (load does not inflate it)."""
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return usage.ru_utime + usage.ru_stime


def headless(clock: Clock, repo: Path, env: dict[str, str]) -> tuple[float, float]:
    """(launch -> first request, CPU seconds of the whole run)."""
    clock.reset()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "de_agent", "-p", "hi", "--model", clock.model, "--api-base",
                             clock.base, "--sandbox", "none"], cwd=repo, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    got = _wait(clock, proc, 120) - started
    return got, _cpu(proc)


def floor(clock: Clock, repo: Path, env: dict[str, str]) -> tuple[float, float]:
    clock.reset()
    started = time.perf_counter()
    url = clock.server.url.removesuffix("/v1") + clock.path
    proc = subprocess.Popen([sys.executable, "-c", FLOOR, url, json.dumps(clock.floor_body)], cwd=repo, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    got = _wait(clock, proc, 60) - started
    return got, _cpu(proc)


def tui(clock: Clock, repo: Path, env: dict[str, str], idle_s: float = 2.0) -> tuple[float, float]:
    """(seconds to the first request after typing at the first frame, resident MiB ``idle_s``
    after that first exchange)."""
    clock.reset()
    model, base = clock.model, clock.base
    master, slave = open_pty(110, 32)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "de_agent", "--model", model, "--api-base", base,
                             "--sandbox", "none"], stdin=slave, stdout=slave, stderr=slave, cwd=repo, env=env,
                            start_new_session=True)
    os.close(slave)
    stop = threading.Event()
    seen, typed, rss = b"", False, float("nan")
    try:
        while time.perf_counter() - started < 60 and not typed:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                seen = seen[-64:] + os.read(master, 1 << 16)
                if PLACEHOLDER in seen:
                    os.write(master, b"hi\r")
                    typed = True
        if not typed:
            return float("nan"), rss
        drainer = threading.Thread(target=drain, args=(master, stop), daemon=True)
        drainer.start()
        got = _wait(clock, proc, 60) - started
        time.sleep(idle_s)
        rss = _rss_mib(proc.pid)
        return got, rss
    finally:
        stop.set()
        end_process(proc)
        time.sleep(0.15)
        os.close(master)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--litellm", action="store_true", help="every provider through litellm (the old path)")
    ap.add_argument("--kinds", default="openai,anthropic,ollama")
    args = ap.parse_args()
    runs = args.runs or (3 if args.quick else 10)
    # An installed de-agent has byte-compiled modules; this checkout may not (PYTHONDONTWRITEBYTECODE).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "de_agent")], check=False)
    repo, home = make_repo(), Path(tempfile.mkdtemp(prefix="de-agent-bench-home-"))
    env = bench_env(home)
    env.update({"ANTHROPIC_API_KEY": "sk-ant-bench", "DE_AGENT_SANDBOX": "none"})
    if args.litellm:
        env["DE_AGENT_LITELLM"] = "1"
    kinds = args.kinds.split(",")
    clocks = {k: Clock(k) for k in kinds}
    times: dict[str, list[float]] = {}
    memory: list[float] = []
    try:
        for kind in kinds:  # warm the file cache
            headless(clocks[kind], repo, env)
            floor(clocks[kind], repo, env)
        for _ in range(runs):
            for kind in kinds:
                clock = clocks[kind]
                for name, (took, cpu) in ((f"{kind} floor (bare httpx)", floor(clock, repo, env)),
                                          (f"{kind} headless -p", headless(clock, repo, env))):
                    times.setdefault(name, []).append(took)
                    times.setdefault(f"{name}, CPU s of the whole run", []).append(cpu)
                took, rss = tui(clock, repo, env)
                times.setdefault(f"{kind} TUI (typed at first frame)", []).append(took)
                memory.append(rss)
    finally:
        for clock in clocks.values():
            clock.close()
    results = {name: stats([v for v in vals if v == v]) for name, vals in times.items()}
    results["tui_idle_rss_mib"] = stats([m for m in memory if m == m])
    print(f"launch -> first model request, median of {runs} (seconds){' [litellm for all]' if args.litellm else ''}")
    for name, st in results.items():
        if name != "tui_idle_rss_mib":
            print(f"  {name:52} median {st['median']:.3f}  min {st['min']:.3f}  max {st['max']:.3f}")
    print(f"  TUI idle resident memory: median {results['tui_idle_rss_mib']['median']:.0f} MiB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"runs": runs, "litellm_for_all": args.litellm, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
