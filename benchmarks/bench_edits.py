"""Edit benchmark: do edits with the slips models make land where they should, or get refused?

Usage: python benchmarks/bench_edits.py [--quick] [--json PATH] [--seed N] [--show N]
                                        [--only-catalogue] [--no-sizes]

Three parts: (1) the perturbed real edits described below; (2) the hand-made catalogue in
``edit_cases.py`` (one class of slip or trap at a time: lost or doubled indentation,
trailing-newline mismatches, over-escaped strings, wrapped lines, runs of spaces, Unicode
spaces and normal forms, cp1251, allow_multiple, cases that must be refused), each case in a
worker process so a stall is counted, not waited for; (3) the time of one-line edits in the
middle of 1, 4 and 10 MB files of real code.

Takes real files (Python modules of installed packages from site-packages, the SQL and YAML
samples in benchmarks/data/ plus YAML found in site-packages), picks a region of each, makes
an intended change (modify a line, insert a line, delete a line, replace a line by two,
change part of a line), then sends that edit through the real Edit tool the way a model might
have written it: exact, indentation off by some columns, a different indentation width, tabs
for spaces, the first line's indentation left out, one line's indentation off (the block's
shape then differs: refusing is the right answer), trailing spaces, smart quotes, CRLF (in the
request or in the file), a blank line missing or extra, and some combinations. Each result is compared byte for byte to the
intended file. Reported: the share applied correctly, the share refused, and the number
applied wrongly (wrong place or wrong content), which must be 0.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import random
import re
import statistics
import sys
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from de_agent.config import Settings  # noqa: E402
from de_agent.tools.base import ToolContext, ToolError  # noqa: E402
from de_agent.tools.edit import Edit  # noqa: E402
from de_agent.workspace import Workspace  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
PY_PACKAGES = ("rich", "httpx", "click", "jinja2", "pathspec", "platformdirs", "sqlglot", "git",
               "idna", "attr", "markdown_it", "h11", "anyio", "dateutil", "jsonschema", "textual")
COMMENT = {"py": "# ", "sql": "-- ", "yaml": "# "}
PERTURBATIONS = ("none", "indent_shift", "indent_width", "tabs", "trailing_spaces", "smart_quotes",
                 "crlf_request", "crlf_file", "blank_missing", "blank_extra", "first_line_unindented",
                 "indent_jitter", "indent_shift+trailing_spaces", "smart_quotes+indent_shift",
                 "crlf_request+blank_missing")
CHANGES = ("modify", "insert", "delete", "replace_two", "fragment")
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


@dataclass
class Case:
    kind: str
    path: str
    change: str
    perturbation: str
    old: str
    new: str
    region: tuple[int, int]  # 1-based lines of the intended change
    crlf_file: bool
    intended: str  # the file after the intended change (LF form)


# --- sources ------------------------------------------------------------------------------

def _usable(path: Path, low: int, high: int) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if "\r" in text or not text.endswith("\n") or not low <= text.count("\n") <= high:
        return None
    return text


def load_sources() -> dict[str, list[tuple[str, str]]]:
    site = Path(sysconfig.get_paths()["purelib"])
    sources: dict[str, list[tuple[str, str]]] = {"py": [], "sql": [], "yaml": []}
    for package in PY_PACKAGES:
        picked = 0
        for path in sorted((site / package).rglob("*.py")) if (site / package).is_dir() else []:
            text = _usable(path, 80, 2500)
            if text is not None:
                sources["py"].append((str(path.relative_to(site)), text))
                picked += 1
                if picked == 2:
                    break
    for path in sorted(DATA.glob("*.sql")):
        sources["sql"].append((f"data/{path.name}", path.read_text()))
    for path in sorted(DATA.glob("*.y*ml")):
        sources["yaml"].append((f"data/{path.name}", path.read_text()))
    for path in sorted((site / "litellm" / "proxy").glob("*.yaml"))[:4]:
        text = _usable(path, 20, 2000)
        if text is not None:
            sources["yaml"].append((str(path.relative_to(site)), text))
    return sources


# --- intended changes ---------------------------------------------------------------------

def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def pick_region(rng: random.Random, lines: list[str], text: str, want_blank: bool) -> tuple[int, int] | None:
    for _ in range(60):
        start = rng.randrange(0, len(lines) - 1)
        end = start + rng.randint(2 if want_blank else 1, 7 if want_blank else 5)
        if end >= len(lines) or not lines[start].strip() or not lines[end - 1].strip():
            continue
        if want_blank and not any(not x.strip() for x in lines[start + 1:end - 1]):
            continue
        old = "\n".join(lines[start:end]) + "\n"
        if text.count(old) == 1 and text.startswith(old, sum(len(x) + 1 for x in lines[:start])):
            return start, end
    return None


def make_change(rng: random.Random, kind: str, region: list[str], change: str) -> list[str] | None:
    nonblank = [i for i, x in enumerate(region) if x.strip()]
    i = rng.choice(nonblank)
    out = list(region)
    if change == "modify" or change == "replace_two":
        tokens = list(TOKEN.finditer(region[i]))
        if tokens:
            tok = rng.choice(tokens)
            out[i] = region[i][:tok.end()] + "_v2" + region[i][tok.end():]
        else:
            out[i] = region[i] + "  " + COMMENT[kind] + "changed"
        if change == "replace_two":
            out.insert(i + 1, _indent(region[i]) + COMMENT[kind] + "second line of the change")
    elif change == "insert":
        after = region[i + 1] if i + 1 < len(region) and region[i + 1].strip() else region[i]
        out.insert(i + 1, _indent(after) + COMMENT[kind] + "reviewed: keep in sync with the loader")
    elif change == "delete":
        if len(nonblank) < 2:
            return None
        del out[i]
    return out


# --- perturbations (what a model gets wrong, applied to old and new alike) ---------------

def _spaces_only(lines: list[str]) -> bool:
    return all("\t" not in _indent(x) for x in lines)


def _map_lines(lines: list[str], fn) -> list[str]:
    return [fn(x) if x.strip() else x for x in lines]


def _copied(old: list[str], new: list[str]) -> dict[int, int]:
    """new index -> old index for lines the change left alone."""
    out = {}
    for tag, i1, i2, j1, _j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            for t in range(i2 - i1):
                out[j1 + t] = i1 + t
    return out


def perturb(rng: random.Random, name: str, old: list[str], new: list[str]) -> tuple[list[str], list[str]] | None:
    both = old + new
    if name == "indent_shift":
        k = rng.choice([-4, -2, -1, 1, 2, 3, 4])
        if k < 0 and not all(_indent(x).startswith(" " * -k) for x in both if x.strip()):
            k = -k
        fn = (lambda x: " " * k + x) if k > 0 else (lambda x: x[-k:])
        return _map_lines(old, fn), _map_lines(new, fn)
    if name == "indent_width":
        widths = [len(_indent(x)) for x in both if x.strip()]
        if not _spaces_only(both) or not any(widths) or any(w % 2 for w in widths):
            return None
        def fn(x: str) -> str:
            return " " * (len(_indent(x)) // 2) + x.lstrip(" ")
        return _map_lines(old, fn), _map_lines(new, fn)
    if name == "tabs":
        if not _spaces_only(both) or not any(_indent(x) for x in both):
            return None
        def fn(x: str) -> str:
            return "\t" * (len(_indent(x)) // 4) + " " * (len(_indent(x)) % 4) + x.lstrip(" ")
        return _map_lines(old, fn), _map_lines(new, fn)
    if name == "first_line_unindented":
        if not _indent(old[0]) or not new[0].startswith(_indent(old[0])):
            return None
        return [old[0].lstrip(" \t")] + old[1:], [new[0].lstrip(" \t")] + new[1:]
    if name == "indent_jitter":
        # One line off by a column or two: the block's shape differs, so refusing is right.
        spots = [i for i, x in enumerate(old) if x.strip()]
        if len(spots) < 2:
            return None
        i = rng.choice(spots)
        copied = {o: n for n, o in _copied(old, new).items()}
        if i not in copied:
            return None
        pad = " " * rng.choice([1, 2])
        j = copied[i]
        return old[:i] + [pad + old[i]] + old[i + 1:], new[:j] + [pad + new[j]] + new[j + 1:]
    if name == "trailing_spaces":
        chosen = {i for i, x in enumerate(old) if x.strip() and rng.random() < 0.5} or {
            next(i for i, x in enumerate(old) if x.strip())}
        copied = _copied(old, new)
        return ([x + "  " if i in chosen else x for i, x in enumerate(old)],
                [x + "  " if copied.get(j) in chosen else x for j, x in enumerate(new)])
    if name == "smart_quotes":
        if any(c in "".join(old) for c in "\u201c\u201d\u2018\u2019"):
            table = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
            return [x.translate(table) for x in old], [x.translate(table) for x in new]
        if not any(c in "".join(old) for c in "\"'"):
            return None

        def curly(line: str) -> str:
            out, opened = [], False
            for ch in line:
                if ch == '"':
                    out.append("\u201d" if opened else "\u201c")
                    opened = not opened
                else:
                    out.append("\u2019" if ch == "'" else ch)
            return "".join(out)
        return [curly(x) for x in old], [curly(x) for x in new]
    if name in ("blank_missing", "blank_extra"):
        copied = _copied(old, new)
        back = {o: n for n, o in copied.items()}
        if name == "blank_missing":
            spots = [i for i in range(1, len(old) - 1) if not old[i].strip() and i in back]
            if not spots:
                return None
            i = rng.choice(spots)
            return old[:i] + old[i + 1:], new[:back[i]] + new[back[i] + 1:]
        spots = [i for i in range(len(old) - 1) if old[i].strip() and old[i + 1].strip()
                 and i in back and i + 1 in back and back[i + 1] == back[i] + 1]
        if not spots:
            return None
        i = rng.choice(spots)
        j = back[i]
        return old[:i + 1] + [""] + old[i + 1:], new[:j + 1] + [""] + new[j + 1:]
    return old, new


def make_case(rng: random.Random, kind: str, path: str, text: str, perturbation: str) -> Case | None:
    lines = text.split("\n")[:-1]
    crlf_file = "crlf_file" in perturbation
    change = rng.choice(CHANGES)
    if change == "fragment":
        if perturbation not in ("none", "smart_quotes", "crlf_file"):
            return None
        return _fragment_case(rng, kind, path, text, lines, perturbation, crlf_file)
    region = pick_region(rng, lines, text, "blank_missing" in perturbation)
    if region is None:
        return None
    start, end = region
    old_lines = lines[start:end]
    new_lines = make_change(rng, kind, old_lines, change)
    if new_lines is None:
        return None
    intended = "\n".join(lines[:start] + new_lines + lines[end:]) + "\n"
    for part in perturbation.split("+"):
        if part in ("none", "crlf_request", "crlf_file"):
            continue
        done = perturb(rng, part, old_lines, new_lines)
        if done is None:
            return None
        old_lines, new_lines = done
    sep = "\r\n" if "crlf_request" in perturbation else "\n"
    old, new = sep.join(old_lines) + sep, sep.join(new_lines) + sep
    if old == new:
        return None
    return Case(kind, path, change, perturbation, old, new, (start + 1, end), crlf_file, intended)


def _fragment_case(rng, kind, path, text, lines, perturbation, crlf_file) -> Case | None:
    for _ in range(40):
        n = rng.randrange(len(lines))
        line = lines[n]
        tokens = [t for t in TOKEN.finditer(line) if len(t.group()) >= 4]
        if not tokens:
            continue
        tok = rng.choice(tokens)
        stop = min(len(line), tok.end() + rng.randint(3, 12))
        old = line[tok.start():stop]
        if text.count(old) != 1 or old != old.strip():
            continue
        new = old[:tok.end() - tok.start()] + "_v2" + old[tok.end() - tok.start():]
        changed = line[:tok.start()] + new + line[stop:]
        intended = "\n".join(lines[:n] + [changed] + lines[n + 1:]) + "\n"
        if perturbation == "smart_quotes":
            done = perturb(rng, "smart_quotes", [old], [new])
            if done is None:
                continue
            old, new = done[0][0], done[1][0]
        return Case(kind, path, "fragment", perturbation, old, new, (n + 1, n + 1), crlf_file, intended)
    return None


# --- running ------------------------------------------------------------------------------

@dataclass
class Result:
    case: Case
    verdict: str  # correct | refused | wrong
    detail: str
    seconds: float


def _file_bytes(text: str, crlf: bool) -> bytes:
    return (text.replace("\n", "\r\n") if crlf else text).encode("utf-8")


async def run_case(ctx: ToolContext, root: Path, case: Case, text: str) -> Result:
    target = root / "target"
    target.write_bytes(_file_bytes(text, case.crlf_file))
    started = time.perf_counter()
    try:
        action = await Edit().prepare({"file_path": "target", "old_string": case.old,
                                       "new_string": case.new}, ctx)
        outcome = await action.run(None)
    except ToolError as exc:
        return Result(case, "refused", str(exc).split("\n")[0][:300], time.perf_counter() - started)
    seconds = time.perf_counter() - started
    got = target.read_bytes()
    if got == _file_bytes(case.intended, case.crlf_file):
        return Result(case, "correct", outcome.output.split("\n")[0][:200], seconds)
    diff = "".join(difflib.unified_diff(case.intended.splitlines(True), got.decode("utf-8").replace("\r\n", "\n")
                                        .splitlines(True), "intended", "got", n=1))
    return Result(case, "wrong", diff[:2000], seconds)


def build_cases(rng: random.Random, sources: dict[str, list[tuple[str, str]]],
                per_kind: int) -> list[tuple[Case, str]]:
    cases: list[tuple[Case, str]] = []
    for kind in ("py", "sql", "yaml"):
        made = 0
        attempts = 0
        while made < per_kind and attempts < per_kind * 60:
            attempts += 1
            path, text = rng.choice(sources[kind])
            perturbation = PERTURBATIONS[made % len(PERTURBATIONS)]
            case = make_case(rng, kind, path, text, perturbation)
            if case is None:
                continue
            cases.append((case, text))
            made += 1
    return cases


def _wrong_place(case: Case, detail: str) -> bool:
    """Whether a wrong result changed lines outside the intended region."""
    first, last = case.region
    for match in re.finditer(r"^@@ -(\d+)(?:,(\d+))?", detail, re.M):
        start, length = int(match.group(1)), int(match.group(2) or 1)
        if start + length < first - 1 or start > last + 2:
            return True
    return False


async def run_all(cases: list[tuple[Case, str]]) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="de-agent-bench-edits-") as tmp:
        root = Path(tmp)
        ctx = ToolContext(Workspace(root), Settings())
        return [await run_case(ctx, root, case, text) for case, text in cases]


def summarise(results: list[Result]) -> dict:
    total = len(results)
    counts = {v: sum(r.verdict == v for r in results) for v in ("correct", "refused", "wrong")}
    by: dict[str, dict[str, dict[str, int]]] = {"perturbation": {}, "kind": {}, "change": {}}
    for r in results:
        for axis, value in (("perturbation", r.case.perturbation), ("kind", r.case.kind),
                            ("change", r.case.change)):
            slot = by[axis].setdefault(value, {"correct": 0, "refused": 0, "wrong": 0})
            slot[r.verdict] += 1
    return {
        "requests": total,
        "applied_correctly_share": round(counts["correct"] / total, 4) if total else 0.0,
        "refused_share": round(counts["refused"] / total, 4) if total else 0.0,
        "applied_wrong": counts["wrong"],
        "applied_wrong_place": sum(r.verdict == "wrong" and _wrong_place(r.case, r.detail) for r in results),
        "counts": counts,
        "median_ms_per_edit": round(1000 * statistics.median(r.seconds for r in results), 2) if results else 0,
        "by": by,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="60 requests instead of 360")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--show", type=int, default=5, help="print this many refusals (all wrong results are printed)")
    ap.add_argument("--only-catalogue", action="store_true", help="skip the perturbed real edits")
    ap.add_argument("--no-sizes", action="store_true", help="skip the big-file timings")
    args = ap.parse_args()
    summary = {} if args.only_catalogue else run_perturbed(args)
    from edit_catalogue import run_catalogue, time_big_edits

    catalogue = run_catalogue(show=args.show)
    print(f"catalogue: {catalogue['cases']} cases: right {catalogue['right']}, refused wrongly "
          f"{catalogue['refused wrongly']}, misapplied {catalogue['misapplied']}, stalls {catalogue['stall']}")
    for cls, slot in catalogue["by_class"].items():
        print(f"  {cls:28} " + "  ".join(f"{k} {v}" for k, v in slot.items()))
    summary["catalogue"] = catalogue
    if not args.no_sizes:
        sizes = time_big_edits(repeats=1 if args.quick else 3)
        print("big-file edits (median seconds, prepare + write; CPU seconds in brackets): " + "; ".join(
            f"{size}: exact {t['exact']} ({t['exact_cpu']}), tolerant {t['tolerant']} ({t['tolerant_cpu']})"
            for size, t in sizes.items()))
        summary["big_files"] = sizes
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2))


def run_perturbed(args) -> dict:
    rng = random.Random(args.seed)
    sources = load_sources()
    for kind, files in sources.items():
        if not files:
            sys.exit(f"no {kind} sources found")
    cases = build_cases(rng, sources, 20 if args.quick else 120)
    results = asyncio.run(run_all(cases))
    summary = summarise(results)
    summary["sources"] = {kind: [p for p, _ in files] for kind, files in sources.items()}
    summary["seed"] = args.seed
    for r in [r for r in results if r.verdict == "wrong"]:
        print(f"WRONG {r.case.kind} {r.case.path} {r.case.change} {r.case.perturbation}\n{r.detail}")
    for r in [r for r in results if r.verdict == "refused"][: args.show]:
        print(f"refused {r.case.kind} {r.case.change} {r.case.perturbation}: {r.detail[:160]}")
    print(f"{summary['requests']} edit requests: applied correctly {summary['applied_correctly_share']:.1%}, "
          f"refused {summary['refused_share']:.1%}, applied wrongly {summary['applied_wrong']} "
          f"(in the wrong place: {summary['applied_wrong_place']}); "
          f"median {summary['median_ms_per_edit']} ms per edit")
    for value, slot in sorted(summary["by"]["perturbation"].items()):
        print(f"  {value:32} correct {slot['correct']:3}  refused {slot['refused']:3}  wrong {slot['wrong']}")
    summary["wrong_cases"] = [{**asdict(r.case), "intended": None, "detail": r.detail}
                              for r in results if r.verdict == "wrong"]
    return summary


if __name__ == "__main__":
    main()
