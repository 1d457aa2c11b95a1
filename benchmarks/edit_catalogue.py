"""Run the hand-made Edit catalogue (:mod:`edit_cases`) through the real Edit tool, and time
edits of big files.

Each case runs in a worker process with a time limit, so an edit that never finishes is
counted as a stall instead of hanging the benchmark. Verdicts: right (the expected bytes, or
a refusal where refusing is right), refused wrongly, misapplied (written but not as
expected, or written where it had to be refused), stall.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from edit_cases import Case, all_cases  # noqa: E402

STALL_SECONDS = 30


def _edit(root: Path, name: str, old: str, new: str, allow_multiple: bool) -> tuple[str, str]:
    from de_agent.config import Settings
    from de_agent.tools.base import ToolContext, ToolError
    from de_agent.tools.edit import Edit
    from de_agent.workspace import Workspace

    ctx = ToolContext(Workspace(root), Settings())

    async def go() -> tuple[str, str]:
        try:
            action = await Edit().prepare({"file_path": name, "old_string": old, "new_string": new,
                                           "allow_multiple": allow_multiple}, ctx)
            outcome = await action.run(None)
        except ToolError as exc:
            return "refused", str(exc)
        return ("applied" if outcome.ok else "refused"), outcome.output

    return asyncio.run(go())


def run_case(case: Case) -> tuple[str, bytes, str]:
    with tempfile.TemporaryDirectory(prefix="de-agent-edit-case-") as tmp:
        root = Path(tmp)
        (root / "target.txt").write_bytes(case.data)
        how, message = _edit(root, "target.txt", case.old, case.new, case.allow_multiple)
        return how, (root / "target.txt").read_bytes(), message


def verdict(case: Case, how: str, got: bytes) -> str:
    if case.expected is None:
        return "right" if how == "refused" and got == case.data else "misapplied"
    if how == "refused":
        return "refused wrongly"
    return "right" if got == case.expected else "misapplied"


def run_catalogue(show: int = 10) -> dict:
    cases = all_cases()
    results: list[tuple[Case, str, str]] = []
    ctx = multiprocessing.get_context("spawn")
    pool = ctx.Pool(1)
    try:
        for case in cases:
            job = pool.apply_async(run_case, (case,))
            try:
                how, got, message = job.get(STALL_SECONDS)
                results.append((case, verdict(case, how, got), message.split("\n")[0][:160]))
            except multiprocessing.TimeoutError:
                pool.terminate()
                pool = ctx.Pool(1)
                results.append((case, "stall", f"no answer in {STALL_SECONDS} s"))
    finally:
        pool.terminate()
    counts = {v: sum(1 for _, r, _ in results if r == v) for v in ("right", "refused wrongly", "misapplied", "stall")}
    by_class: dict[str, dict[str, int]] = {}
    for case, r, _ in results:
        by_class.setdefault(case.cls, {v: 0 for v in counts})[r] += 1
    shown = [(c, r, m) for c, r, m in results if r != "right"]
    for case, r, message in shown[:show]:
        print(f"  {r.upper()}: [{case.cls}] {case.name}: {message}")
    return {"cases": len(results), **counts, "by_class": by_class}


def _code_corpus(size: int) -> str:
    site = Path(sysconfig.get_paths()["purelib"])
    parts, total = [], 0
    for path in sorted(site.rglob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        parts.append(text)
        total += len(text)
        if total >= size:
            break
    text = "".join(parts)[:size]
    return text[:text.rfind("\n") + 1]


def time_big_edits(sizes_mb=(1, 4, 10), repeats: int = 3) -> dict[str, dict[str, float]]:
    """Median seconds of an exact and of a tolerant (re-indented) one-line edit in the middle
    of a file of real Python code of each size, through the real Edit tool (prepare + write)."""
    corpus = _code_corpus(max(sizes_mb) * 1_000_000)
    out = {}
    for mb in sizes_mb:
        text = corpus[:mb * 1_000_000]
        text = text[:text.rfind("\n") + 1]
        half = text.rfind("\n", 0, len(text) // 2) + 1
        text = text[:half] + "BENCH_MARKER_VALUE = 41\n" + text[half:]
        times: dict[str, list[float]] = {"exact": [], "tolerant": [], "exact_cpu": [], "tolerant_cpu": []}
        for _ in range(repeats):
            for kind, old, new in (("exact", "BENCH_MARKER_VALUE = 41\n", "BENCH_MARKER_VALUE = 42\n"),
                                   ("tolerant", "  BENCH_MARKER_VALUE = 41", "  BENCH_MARKER_VALUE = 42")):
                with tempfile.TemporaryDirectory(prefix="de-agent-edit-big-") as tmp:
                    root = Path(tmp)
                    (root / "big.py").write_text(text, encoding="utf-8")
                    started, cpu = time.perf_counter(), time.process_time()
                    how, message = _edit(root, "big.py", old, new, False)
                    times[kind].append(time.perf_counter() - started)
                    times[kind + "_cpu"].append(time.process_time() - cpu)  # what load does not inflate
                    if how != "applied":
                        raise SystemExit(f"big-file edit refused: {message[:200]}")
        out[f"{mb} MB"] = {k: round(statistics.median(v), 3) for k, v in times.items()}
    return out
