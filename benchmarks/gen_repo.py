"""Generate a synthetic data-engineering repository for the search benchmarks.

Deterministic (seeded): Python, SQL, YAML and Markdown sources in nested packages, a root
``.gitignore`` and nested ones, ignored folders full of files (``node_modules/``,
``build/``, ``.venv/``, logs), binary files (NUL bytes, some containing the search words),
a hidden ``.github`` folder and a few unicode file names and lines. Usable on its own:
``python benchmarks/gen_repo.py DIR --files 50000``.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
from pathlib import Path

WORDS = ("rows batch load extract transform schema table column partition merge upsert "
         "snapshot watermark lineage quality null count window join filter staging raw "
         "curated metric event order customer invoice payment ledger daily hourly").split()

ROOT_GITIGNORE = """\
# generated
node_modules/
build/
.venv/
*.log
*.pyc
__pycache__/
/coverage
data/raw/**
!data/raw/README.md
"""


def _line(rng: random.Random, kind: str) -> str:
    a, b, c = rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS)
    if kind == "py":
        return rng.choice((
            f"def {a}_{b}(rows, {c}=None):",
            f"    return [{a} for {a} in rows if {a}.{b} is not None]",
            f"    {a}_{b} = {c}.get('{b}', 0)  # {a} {c}",
            f"import {a}.{b} as {c}",
            f"class {a.title()}{b.title()}:",
            f"    \"\"\"{a.title()} the {b} {c} table.\"\"\"",
        ))
    if kind == "sql":
        return rng.choice((
            f"SELECT {a}, {b}, count(*) AS {c}_count",
            f"FROM {a}_{b} JOIN {c} USING ({a}_id)",
            f"WHERE {a}.{b} > {rng.randint(0, 999)}",
            f"GROUP BY {a}, {b}",
            f"-- {a} {b} {c}",
        ))
    if kind == "yml":
        return f"{a}_{b}: {c}  # {rng.randint(0, 99)}"
    return f"The {a} {b} step writes {c} rows (see {a}/{b}.py)."


def _text(rng: random.Random, kind: str, needle: bool) -> str:
    lines = [_line(rng, kind) for _ in range(rng.randint(15, 70))]
    if needle:
        lines.insert(rng.randrange(len(lines)), f"# TODO needle_token {rng.randint(0, 9999)} ünïcødé")
    return "\n".join(lines) + "\n"


def generate(root: Path, files: int, seed: int = 7) -> Path:
    """Create the repository in root (which must not exist or be empty); return root."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / ".gitignore").write_text(ROOT_GITIGNORE)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text("*.local\n")
    kinds = ("py", "py", "py", "sql", "sql", "yml", "md")
    made = 0
    n_top = max(2, files // 1000)

    def write(path: Path, data: str | bytes) -> None:
        nonlocal made
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
        made += 1

    # Ignored material: about 15% of the files.
    for i in range(files * 15 // 100):
        bucket = rng.choice(("node_modules/pkg{}/lib", "build/out{}", ".venv/lib/site{}", "logs{}"))
        folder = root / bucket.format(i % 40)
        if bucket.startswith("logs"):
            write(folder / f"run{i}.log", _text(rng, "md", rng.random() < 0.2))
        else:
            write(folder / f"mod{i}.py", _text(rng, "py", rng.random() < 0.2))
    write(root / "data" / "raw" / "README.md", "Raw data lands here. needle_token 1\n")
    write(root / "data" / "raw" / "dump.csv", "a,b\n1,needle_token\n")
    write(root / ".github" / "workflows" / "ci.yml", "name: ci  # needle_token\n")
    write(root / "docs" / "résumé ünïcødé.md", "needle_token in a unicode file name\n")
    i = 0
    while made < files:
        top = f"pkg_{i % n_top:03d}"
        sub = f"{rng.choice(WORDS)}_{i % 7}"
        kind = rng.choice(kinds)
        folder = root / top / sub
        if i % 97 == 0:
            (folder).mkdir(parents=True, exist_ok=True)
            (folder / ".gitignore").write_text("*.tmp\n!keep.tmp\n")
            write(folder / f"scratch{i}.tmp", "needle_token scratch\n")
            write(folder / "keep.tmp", "needle_token kept\n")
        elif i % 53 == 0:
            blob = bytes(rng.getrandbits(8) for _ in range(2048)) + b"\0needle_token\0"
            write(folder / f"part{i}.parquet", blob)
        elif i % 211 == 0:
            write(folder / f"late{i}.bin", f"needle_token first\n{'x' * 9000}\n\0tail\n".encode())
        else:
            write(folder / f"{rng.choice(WORDS)}_{i}.{kind}", _text(rng, kind, rng.random() < 0.01))
        i += 1
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.dir, args.files, args.seed)
    print(f"generated {args.files} files in {args.dir}")


if __name__ == "__main__":
    os.umask(0o022)
    main()
