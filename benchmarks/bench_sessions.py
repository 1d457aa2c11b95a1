"""Session benchmarks: resume a 5,000-event session; list 500 sessions.

Usage: python benchmarks/bench_sessions.py [--quick] [--json PATH]

- Resume: a generated session of 5,000 events (about 500 turns of tool calls with 1-4 KB
  outputs, diffs, plan updates and usage, written by the real SessionRecorder) is loaded and
  restored into an engine, and its history turned into events for the panes to replay
  (``resume.events``). Timed in process, several runs; the file size is reported.
- Listing: 500 sessions of this repository (plus 100 of another one) in the sessions folder;
  ``list_sessions`` in process, and ``de-agent --list-sessions`` as a child process (which
  includes Python's own start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._stats import stats  # noqa: E402


def make_repo(base: Path, name: str) -> Path:
    root = base / name
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return Path(os.path.realpath(root))


def code_output(i: int, size: int) -> str:
    lines = [f"{n:5}  def step_{i}_{n}(rows):  # transform {n} of batch {i}" for n in range(size // 48)]
    return "\n".join(lines)


def generate_session(repo: Path, events: int, sid: str) -> Path:
    """A session of ``events`` event records, written turn by turn by the real recorder."""
    from de_agent import protocol as P
    from de_agent.sessions.store import SessionRecorder

    rec = SessionRecorder(sid, repo, "openai/gpt-4o")
    written = 0
    turn = 0
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0}

    def event(ev: P.Event) -> None:
        nonlocal written
        rec.record_event(ev)
        written += 1

    while written < events:
        turn += 1
        text = f"request {turn}: fix the loader for table orders_{turn} and rerun the tests"
        rec.begin_turn(text)
        event(P.UserMessage(text))
        rec.record_message({"role": "user", "content": text})
        for step in range(3):
            cid = f"call_{turn}_{step}"
            name, args = ("ReadFile", {"file_path": f"etl/load_{turn}.py"}) if step < 2 else \
                ("Edit", {"file_path": f"etl/load_{turn}.py", "old_string": "a", "new_string": "b"})
            rec.record_message({"role": "assistant", "content": None, "tool_calls": [
                {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]})
            event(P.ToolCall(cid, name, args))
            event(P.Approval(cid, "approved", "policy", "read-only"))
            output = code_output(turn * 3 + step, 1000 + (turn * 937 + step * 1500) % 3000)
            if name == "Edit":
                diff = f"--- a/etl/load_{turn}.py\n+++ b/etl/load_{turn}.py\n@@ -1 +1 @@\n-a\n+b\n"
                event(P.Diff(f"etl/load_{turn}.py", diff, "applied", cid))
                output = f"Edited etl/load_{turn}.py (1 replacement)."
            event(P.ToolResult(cid, name, True, output))
            rec.record_message({"role": "tool", "tool_call_id": cid, "content": output})
            usage["prompt_tokens"] += 1200
            usage["completion_tokens"] += 80
            usage["cost"] += 0.0031
            event(P.Usage(1200, 80, 0.0031, usage["prompt_tokens"], usage["completion_tokens"], usage["cost"]))
        if turn % 5 == 0:
            plan = [{"step": f"step {k}", "status": "completed" if k < turn % 7 else "pending"} for k in range(6)]
            event(P.PlanUpdated(plan, "progress"))
        answer = f"Fixed the loader of orders_{turn}; the tests pass.\n\n" + "Details. " * 40
        rec.record_message({"role": "assistant", "content": answer})
        event(P.AssistantMessage(answer))
        event(P.TurnFinished("completed", 4))
        rec.end_turn("completed", dict(usage))
    rec.close()
    return rec.path


def bench_resume(repo: Path, events: int, runs: int) -> dict:
    from de_agent import protocol as P
    from de_agent.config import Settings
    from de_agent.frontends.factory import build_engine
    from de_agent.sessions.resume import resume_file

    path = generate_session(repo, events, "20260101-000000-resume")
    times, load_times, replay_times = [], [], []
    settings = Settings(model="openai/gpt-4o", sandbox="none")
    resume_file(path)  # warm the file cache and imports
    for _ in range(runs):
        parts = build_engine(settings, repo, lambda e: None, approvals=P.Approvals.NOBODY, record=True)
        start = time.perf_counter()
        resume = resume_file(path)
        loaded = time.perf_counter()
        resume(parts.engine)
        shown = resume.events
        end = time.perf_counter()
        parts.engine.recorder.close()
        times.append(end - start)
        load_times.append(loaded - start)
        replay_times.append(end - loaded)
    info = resume.loaded
    return {"events": events, "file_mib": round(path.stat().st_size / 2**20, 2), "turns": info.turns,
            "messages": len(info.messages), "replayed_events": len(shown), "resume_s": stats(times),
            "load_s": stats(load_times), "restore_and_replay_s": stats(replay_times)}


def write_small_session(folder: Path, sid: str, repo: Path, turns: int, when: float) -> None:
    lines = [json.dumps({"kind": "meta", "version": 1, "id": sid, "repo_root": str(repo), "model": "openai/gpt-4o",
                         "created": "2026-01-01T00:00:00+00:00", "title": f"task {sid}", "parent": None})]
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0}
    for t in range(1, turns + 1):
        lines.append(json.dumps({"kind": "event", "ts": when, "event": {"type": "user_message", "text": f"do {t}"}}))
        lines.append(json.dumps({"kind": "message", "message": {"role": "user", "content": f"do {t}"}}))
        lines.append(json.dumps({"kind": "event", "ts": when, "event": {
            "type": "tool_result", "call_id": "c", "name": "ReadFile", "ok": True, "output": "x" * 2000}}))
        usage = {"prompt_tokens": usage["prompt_tokens"] + 900, "completion_tokens": usage["completion_tokens"] + 50,
                 "cost": usage["cost"] + 0.002}
        lines.append(json.dumps({"kind": "turn_end", "turn": t, "reason": "completed", "usage": usage}))
    path = folder / f"{sid}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (when, when))


def bench_list(base: Path, repo: Path, count: int, runs: int) -> dict:
    from de_agent import paths
    from de_agent.sessions.reader import list_sessions

    other = make_repo(base, "other")
    folder = paths.sessions_dir()
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for i in range(count):
        write_small_session(folder, f"20260101-{i:06d}-list", repo, 1 + i % 12, now - i)
    for i in range(count // 5):
        write_small_session(folder, f"20250101-{i:06d}-othr", other, 3, now - i)
    list_sessions(repo)  # warm the file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        infos, problems = list_sessions(repo)
        times.append(time.perf_counter() - start)
    assert len([i for i in infos if i.id.endswith("-list")]) == count and not problems
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    walls = []
    for _ in range(max(2, runs // 2)):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "de_agent", "--list-sessions"], cwd=repo, env=env,
                              capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        assert proc.returncode == 0, proc.stderr
    return {"sessions": count, "files_in_folder": count + count // 5, "list_s": stats(times),
            "cli_list_sessions_s": stats(walls)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer runs (the sizes stay 5,000 and 500)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    runs = 3 if args.quick else 10
    base = Path(tempfile.mkdtemp(prefix="de-agent-bench-sessions-"))
    os.environ["DE_AGENT_HOME"] = str(base / "home")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        repo = make_repo(base, "repo")
        results = {"resume": bench_resume(repo, 5000, runs)}
        results["resume_s"] = results["resume"]["resume_s"]
        results["list"] = bench_list(base, repo, 500, runs)
        results["list_s"] = results["list"]["list_s"]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def print_table(results: dict) -> None:
    r = results["resume"]
    print(f"resume: {r['events']} events, {r['turns']} turns, {r['messages']} messages, {r['file_mib']} MiB")
    print(f"{'measure':44} {'median':>10} {'min':>10} {'max':>10}")
    for label, s in (("resume 5,000 events, total (s)", r["resume_s"]), ("  read and rebuild (s)", r["load_s"]),
                     ("  restore into engine + replay events (s)", r["restore_and_replay_s"]),
                     ("list 500 sessions, in process (s)", results["list"]["list_s"]),
                     ("de-agent --list-sessions, 500 sessions (s)", results["list"]["cli_list_sessions_s"])):
        print(f"{label:44} {s['median']:10.3f} {s['min']:10.3f} {s['max']:10.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
