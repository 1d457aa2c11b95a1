"""TUI benchmarks: time to the first frame, frame time while streaming into a long chat, memory.

Usage: python benchmarks/bench_tui.py [--quick] [--json PATH]

- First frame (terminal): ``python -m de_agent`` is spawned on a 110x32 pseudo-terminal and
  timed until the input box's placeholder has been written to the terminal. The same is
  measured for a bare three-pane Textual app with an input (the baseline the issue names).
- First frame (pilot): in a fresh process, from spawning it to the app's first refresh under
  Textual's headless pilot (``App.run_test``).
- Streaming: the real app and engine in a child process on a pseudo-terminal (the real Linux
  driver, real terminal output), a chat already holding 500 messages, and the local
  OpenAI-compatible server streaming about 2,000 tokens (8,000 characters) per second through
  litellm. Frame time is what Textual spends producing each screen update
  (``Screen._on_timer_update``: layout, compositor, terminal output); event-loop lag is how
  long a key press would wait; both are sampled only while the answer streams.
- Memory: that child's resident size when idle (engine and litellm loaded, before the chat is
  filled) and its peak (VmHWM) at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._stats import stats  # noqa: E402

# The input's placeholder ("Ask de-agent…"); its first letter carries the cursor's style, so
# the bytes of the whole word are not contiguous until the cursor blinks off.
PLACEHOLDER = b"sk de-agent"
CHARS_PER_TOKEN = 4

BASELINE_APP = textwrap.dedent('''
    from textual.app import App
    from textual.containers import Horizontal, Vertical
    from textual.widgets import Input, Static

    class Bare(App):
        CSS = """
        #chat { width: 3fr; border: round $primary; }
        #side { width: 2fr; }
        #plan, #diff { height: 1fr; border: round $secondary; }
        """

        def compose(self):
            with Horizontal():
                yield Static("chat", id="chat")
                with Vertical(id="side"):
                    yield Static("plan", id="plan")
                    yield Static("diff", id="diff")
            yield Input(placeholder="Ask de-agent")

    Bare().run()
''')




def make_repo() -> Path:
    root = Path(tempfile.mkdtemp(prefix="de-agent-bench-tui-"))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "README.md").write_text("# bench\n")
    return root


def bench_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env.update({"TERM": "xterm-256color", "DE_AGENT_HOME": str(home), "OPENAI_API_KEY": "sk-bench",
                "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PYTHONPATH": str(ROOT)})
    return env


def open_pty(cols: int, rows: int) -> tuple[int, int]:
    import fcntl
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return master, slave


def drain(master: int, stop: threading.Event) -> None:
    """Read and drop terminal output so the child never blocks on a full pty."""
    while not stop.is_set():
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                os.read(master, 1 << 16)
            except OSError:
                return


def first_frame_on_terminal(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 30) -> float:
    master, slave = open_pty(110, 32)
    started = time.perf_counter()
    # Textual draws on stderr, so all three go to the terminal.
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
                            start_new_session=True)
    os.close(slave)
    seen = b""
    took = float("nan")
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                seen = seen[-64:] + os.read(master, 1 << 16)
            except OSError:
                break
            if PLACEHOLDER in seen:
                took = time.perf_counter() - started
                break
    finally:
        end_process(proc)
        os.close(master)
    return took


def end_process(proc: subprocess.Popen) -> None:
    """Ask the command to end; kill it after 5 s."""
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def bench_first_frame(runs: int) -> dict:
    repo, home = make_repo(), Path(tempfile.mkdtemp(prefix="de-agent-bench-home-"))
    env = bench_env(home)
    ours = [sys.executable, "-m", "de_agent", "--model", "openai/test-model", "--api-base",
            "http://127.0.0.1:9/v1", "--sandbox", "none"]
    baseline_file = home / "bare_app.py"
    baseline_file.write_text(BASELINE_APP)
    first_frame_on_terminal(ours, repo, env)  # warm the file cache
    first_frame_on_terminal([sys.executable, str(baseline_file)], repo, env)
    de_agent, bare = [], []
    for _ in range(runs):  # interleaved, so machine load hits both alike
        de_agent.append(first_frame_on_terminal(ours, repo, env))
        bare.append(first_frame_on_terminal([sys.executable, str(baseline_file)], repo, env))
    pilot = []
    for _ in range(runs):
        started = time.time()
        proc = subprocess.run([sys.executable, __file__, "--child", "pilot-frame", str(repo)], env=env,
                              cwd=repo, capture_output=True, text=True, timeout=60)
        pilot.append(float(proc.stdout.strip().splitlines()[-1]) - started)
    return {"first_frame_s": stats(de_agent), "first_frame_baseline_s": stats(bare),
            "first_frame_pilot_s": stats(pilot)}


def bench_stream(messages: int, seconds: float, tokens_per_s: int) -> dict:
    from benchmarks.tui_stream import stream_server

    repo, home = make_repo(), Path(tempfile.mkdtemp(prefix="de-agent-bench-home-"))
    out = home / "stream.json"
    with stream_server(seconds, tokens_per_s) as server:
        return _stream_child(repo, home, out, messages, server.url)


def _stream_child(repo: Path, home: Path, out: Path, messages: int, api_base: str) -> dict:
    master, slave = open_pty(120, 40)
    argv = [sys.executable, __file__, "--child", "stream", str(repo), str(out), str(messages), api_base]
    stop = threading.Event()
    reader = threading.Thread(target=drain, args=(master, stop), daemon=True)
    reader.start()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=repo, env=bench_env(home),
                            start_new_session=True)
    os.close(slave)
    try:
        proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    stop.set()
    reader.join(2)
    os.close(master)
    if not out.exists():
        problem = out.with_suffix(".err")
        raise RuntimeError("the streaming child wrote no result:\n" +
                           (problem.read_text()[-3000:] if problem.exists() else f"exit code {proc.returncode}"))
    return json.loads(out.read_text())


# -- children ------------------------------------------------------------------------------------


def child_pilot_frame(repo: str) -> None:
    import asyncio

    from de_agent.config import Settings
    from de_agent.tui.app import DeAgentApp

    seen: list[float] = []

    class Probe(DeAgentApp):
        def _after_first_frame(self) -> None:
            seen.append(time.time())
            self.exit()

    async def main() -> None:
        settings = Settings(model="openai/test-model", api_base="http://127.0.0.1:9/v1", sandbox="none")
        app = Probe(settings, Path(repo))
        async with app.run_test(size=(110, 32)) as pilot:
            while not seen:
                await pilot.pause(0.005)

    asyncio.run(main())
    print(seen[0])


def child_stream(repo: str, out: str, messages: int, api_base: str) -> None:
    import traceback

    try:
        from benchmarks.tui_stream import run_stream_child

        run_stream_child(Path(repo), Path(out), messages, api_base)
    except BaseException:
        Path(out).with_suffix(".err").write_text(traceback.format_exc())
        raise


# -- report ------------------------------------------------------------------------------------


def print_table(results: dict) -> None:
    ff, base, pilot = results["first_frame_s"], results["first_frame_baseline_s"], results["first_frame_pilot_s"]
    ft, lag, interval = results["frame_time_ms"], results["loop_lag_ms"], results["frame_interval_ms"]
    mem, stream = results["memory_mib"], results["stream"]
    rows = [
        ("first frame, terminal (de-agent)", f"{ff['median']:.3f} s", f"p95 {ff['p95']:.3f}  target 0.3 s"),
        ("first frame, terminal (bare 3-pane app)", f"{base['median']:.3f} s",
         f"ratio {ff['median'] / base['median']:.2f}x"),
        ("first frame, pilot", f"{pilot['median']:.3f} s", f"p95 {pilot['p95']:.3f}"),
        ("frame time while streaming", f"{ft['median']:.1f} ms",
         f"p95 {ft['p95']:.1f}  max {ft['max']:.1f}  target 50 ms"),
        ("frame interval while streaming", f"{interval['median']:.1f} ms", f"p95 {interval['p95']:.1f}"),
        ("event-loop lag (key press wait)", f"{lag['median']:.1f} ms", f"p95 {lag['p95']:.1f}  max {lag['max']:.1f}"),
        ("stream", f"{stream['tokens_per_s']:.0f} tok/s",
         f"{stream['messages']} messages before, {stream['seconds']:.1f} s, {stream['frames']} frames"),
        ("memory idle / peak", f"{mem['idle']:.0f} MiB",
         f"peak {mem['peak']:.0f} MiB, {mem['after_turn']:.0f} MiB after the turn"),
    ]
    width = max(len(r[0]) for r in rows)
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:>12}  {note}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes, for CI")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "pilot-frame":
            child_pilot_frame(*rest)
        else:
            child_stream(rest[0], rest[1], int(rest[2]), rest[3])
        return 0
    runs = 3 if args.quick else 10
    messages, seconds = (200, 2.0) if args.quick else (500, 8.0)
    results = bench_first_frame(runs)
    streamed = bench_stream(messages, seconds, 2000)
    results.update(streamed)
    results["quick"] = args.quick
    print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
