"""The streaming workload of bench_tui.py, run inside a child process on a pseudo-terminal.

The real app and engine (litellm against the local OpenAI-compatible server, which the parent
process runs so that it does not compete with the app for the GIL); the chat is first filled
with ``messages`` entries through the same event queue the engine uses, then one turn
streams an answer at about ``tokens_per_s`` tokens per second.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.tui.app import DeAgentApp
from tests.support.openai_server import ScriptedServer

CHARS_PER_TOKEN = 4
CHUNK_CHARS = 16
WORDS = ("data", "pipeline", "loader", "schema", "partition", "column", "parquet", "duckdb", "the",
         "rows", "filter", "null", "join", "window", "aggregate", "batch", "stream", "table")


def markdown_text(chars: int) -> str:
    """Markdown of about ``chars`` characters: paragraphs, lists and code blocks."""
    parts: list[str] = []
    size = 0
    n = 0
    while size < chars:
        n += 1
        words = " ".join(WORDS[(n * 7 + i) % len(WORDS)] for i in range(60))
        if n % 5 == 0:
            block = f"```python\ndef step_{n}(rows):\n    return [r for r in rows if r]\n```\n\n"
        elif n % 3 == 0:
            block = "".join(f"- item {n}.{i}: {words[:50]}\n" for i in range(4)) + "\n"
        else:
            block = f"Paragraph {n}: **{words[:20]}** {words}.\n\n"
        parts.append(block)
        size += len(block)
    return "".join(parts)


def history(messages: int) -> list[P.Event]:
    events: list[P.Event] = []
    for i in range(messages):
        kind = i % 4
        if kind == 0:
            events.append(P.UserMessage(f"Request {i}: check the loader and profile data/orders_{i}.parquet"))
        elif kind == 1:
            call = f"h{i}"
            events += [P.ToolCall(call, "ReadFile", {"file_path": f"etl/step_{i}.py"}),
                       P.Approval(call, "approved", "policy"),
                       P.ToolResult(call, "ReadFile", True, "def step(rows):\n    return rows\n" * 5)]
        elif kind == 2:
            events.append(P.AssistantMessage(markdown_text(600)))
        else:
            events.append(P.Notice(f"checkpoint {i} saved"))
    return events


def rss_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


class StreamBench(DeAgentApp):
    def __init__(self, *args, out: Path, messages: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.out = out
        self.messages = messages
        self.frames: list[tuple[float, float]] = []
        self.lags: list[float] = []
        self.recording = False
        self.delta_span = [0.0, 0.0]

    def apply_event(self, event: P.Event) -> None:
        if self.recording and isinstance(event, P.AssistantDelta):
            now = time.perf_counter()
            self.delta_span[0] = self.delta_span[0] or now
            self.delta_span[1] = now
        super().apply_event(event)

    def _after_first_frame(self) -> None:
        super()._after_first_frame()
        self.run_worker(self._bench(), group="bench")

    async def _probe_lag(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            if self.recording:
                self.lags.append((time.perf_counter() - started - 0.01) * 1000)

    async def _bench(self) -> None:
        from de_agent.llm.adapter import load_litellm

        while self.host.engine is None:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(load_litellm)
        await asyncio.sleep(1.0)
        idle = rss_mib("VmRSS")
        for event in history(self.messages):
            self.host.events.put(event)
        while self.chat.entry_count < self.messages:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)

        self.run_worker(self._probe_lag(), group="lag")
        self.recording = True
        GC_PAUSES.clear()
        started = time.perf_counter()
        self.send("Write the long report.")
        while self.turns_finished < 1:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        self.recording = False
        text = self.chat.last_answer
        peak = rss_mib("VmHWM")
        await asyncio.sleep(3.0)  # the app collects garbage 1.5 s after a turn
        settled = rss_mib("VmRSS")
        from benchmarks.bench_tui import stats

        times = [ms for _, ms in self.frames]
        intervals = [(b[0] - a[0]) * 1000 for a, b in zip(self.frames, self.frames[1:], strict=False)]
        result = {
            "frame_time_ms": stats(times),
            "frame_interval_ms": stats(intervals),
            "loop_lag_ms": stats(self.lags),
            "stream": {"tokens_per_s": len(text) / CHARS_PER_TOKEN / (self.delta_span[1] - self.delta_span[0]),
                       "chars": len(text), "seconds": elapsed, "frames": len(times), "messages": self.messages,
                       "live_entries": len(self.chat.entries)},
            "gc_pauses_ms": sorted((round(ms, 1) for _, ms in GC_PAUSES), reverse=True)[:8],
            "gc_full_collections": sum(1 for gen, _ in GC_PAUSES if gen == 2),
            "memory_mib": {"idle": idle, "peak": peak, "after_turn": settled},
        }
        self.out.write_text(json.dumps(result, indent=2))
        self.exit(0)


def time_gc(sink: list) -> None:
    import gc

    start = [0.0]

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            start[0] = time.perf_counter()
        else:
            sink.append((info.get("generation"), (time.perf_counter() - start[0]) * 1000))

    gc.callbacks.append(callback)


GC_PAUSES: list = []


def time_frames() -> None:
    """Time every screen update of the running bench app (patched before any screen exists,
    because screens bind the method when they create their update timer)."""
    from textual._context import active_app
    from textual.screen import Screen

    original = Screen._on_timer_update

    def timed(screen: Screen) -> None:
        started = time.perf_counter()
        original(screen)
        app = active_app.get(None)
        if isinstance(app, StreamBench) and app.recording and screen is app.screen:
            app.frames.append((started, (time.perf_counter() - started) * 1000))

    Screen._on_timer_update = timed


class PacedTime:
    """Stands in for the ``time`` module of the test server: ``sleep(d)`` waits for the next
    multiple of ``d`` since the first call, so the average rate is exact even though each
    ``time.sleep`` overshoots by a fraction of a millisecond."""

    def __init__(self) -> None:
        self._next: float | None = None

    def __getattr__(self, name: str):
        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        now = time.perf_counter()
        self._next = (self._next or now) + seconds
        if self._next > now:
            time.sleep(self._next - now)


@contextmanager
def stream_server(seconds: float, tokens_per_s: int) -> Iterator[ScriptedServer]:
    """The model side, run by the parent process: one answer at ``tokens_per_s``."""
    from tests.support import openai_server

    chars = int(tokens_per_s * CHARS_PER_TOKEN * seconds)
    chunks_per_s = tokens_per_s * CHARS_PER_TOKEN / CHUNK_CHARS
    script = [{"text": markdown_text(chars), "piece_delay": 1 / chunks_per_s}]
    real = openai_server.time
    openai_server.time = PacedTime()
    try:
        with ScriptedServer(script, chunk=CHUNK_CHARS) as server:
            yield server
    finally:
        openai_server.time = real


def run_stream_child(repo: Path, out: Path, messages: int, api_base: str) -> None:
    time_frames()
    time_gc(GC_PAUSES)
    settings = Settings(model="openai/test-model", api_base=api_base, sandbox="none", max_retries=0)
    StreamBench(settings, repo, out=out, messages=messages).run()
