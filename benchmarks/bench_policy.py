"""Policy benchmark: friction and holes of the command policy, and its cost per command.

Usage: python benchmarks/bench_policy.py [--quick] [--json PATH]

Classifies the 67 commands peer assistants treat as safe (``tests/support/peer_safe.py``) and
the fresh attack battery (``tests/support/attacks.py``) against a small git repository, and
prints how many safe commands ask (target: at most 4), how many attacks would run unasked
(target: 0), and the median time of one classification.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from de_agent.security.commands import classify  # noqa: E402
from tests.support.attacks import ATTACKS  # noqa: E402
from tests.support.peer_safe import PEER_SAFE  # noqa: E402


def _plain_repo(folder: Path) -> Path:
    """An ordinary repository (no secrets, no links out) for the friction count."""
    repo = folder / "plain"
    (repo / "etl").mkdir(parents=True)
    (repo / "etl" / "load.py").write_text("def load(rows):\n    return rows\n")
    (repo / "README.md").write_text("# demo\n")
    subprocess.run("git init -q && git add -A && git -c user.email=a@b -c user.name=a commit -qm i",
                   shell=True, cwd=repo, check=True)
    return repo


def _repo(folder: Path) -> tuple[Path, Path]:
    """The attack repository: secret-looking files and a symlink leading out."""
    repo, outside = folder / "repo", folder / "outside"
    (repo / "etl").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    (repo / "etl" / "load.py").write_text("def load(rows):\n    return rows\n")
    (repo / "README.md").write_text("# demo\n")
    (repo / ".env").write_text("X=1\n")
    (repo / "secrets").mkdir()
    (repo / "secrets" / "id_rsa").write_text("k\n")
    (repo / "link").symlink_to(outside)
    (repo / "list0").write_bytes(str(outside / "secret.txt").encode() + b"\0")
    subprocess.run("git init -q && git add -A && git -c user.email=a@b -c user.name=a commit -qm i",
                   shell=True, cwd=repo, check=True)
    return repo, outside


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo, outside = _repo(Path(tmp))
        plain = _plain_repo(Path(tmp))
        asking = [c for c in PEER_SAFE if classify(c, plain).verdict != "allow"]
        attacks = [t.format(m=Path(tmp) / "m", out=outside) for _c, _i, t, _ in ATTACKS]
        through = [c for c in attacks if classify(c, repo).verdict == "allow"]
        samples = []
        for _ in range(1 if args.quick else 5):
            for command in PEER_SAFE:
                start = time.perf_counter()
                classify(command, plain)
                samples.append(time.perf_counter() - start)
    result = {"peer_safe": len(PEER_SAFE), "peer_safe_asking": len(asking), "asking": asking,
              "attacks": len(attacks), "attacks_through": len(through), "through": through,
              "classify_ms": {"median": round(statistics.median(samples) * 1000, 3),
                              "max": round(max(samples) * 1000, 3)}}
    print(f"peer-safe commands that ask: {len(asking)} of {len(PEER_SAFE)} (target <= 4) {asking}")
    print(f"attack spellings that run unasked: {len(through)} of {len(attacks)} (target 0) {through}")
    print(f"classify: median {result['classify_ms']['median']} ms, max {result['classify_ms']['max']} ms")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
