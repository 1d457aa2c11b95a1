"""The memory files: facts de-agent keeps per repository (and globally) in the user state folder.

``save_memory`` (a tool) appends to them; ``sessions/context.py`` puts them into the system
prompt and ``/memory`` shows them. One Markdown list item per fact.
"""

from __future__ import annotations

import os
from pathlib import Path

from de_agent import paths


def memory_file(root: Path | None, scope: str = "project") -> Path:
    """The memory file of a repository, or the global one."""
    if scope == "global" or root is None:
        return paths.memory_dir() / "global.md"
    return paths.memory_dir() / "projects" / f"{paths.repo_key(root)}.md"


def read_facts(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line[2:].strip() for line in text.splitlines() if line.startswith("- ") and line[2:].strip()]


def clean_fact(fact: str) -> str:
    return " ".join(fact.split())


def append_fact(root: Path | None, fact: str, scope: str = "project") -> tuple[Path, bool]:
    """Append a fact to a memory file; (file, False) when the same fact was already there."""
    fact = clean_fact(fact)
    path = memory_file(root, scope)
    if fact in read_facts(path):
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists() or path.stat().st_size == 0
    with open(path, "a", encoding="utf-8") as fh:
        if fresh:
            where = "all repositories" if scope == "global" or root is None else str(root)
            fh.write(f"# de-agent memory ({where})\n\n")
        fh.write(f"- {fact}\n")
        fh.flush()
        os.fsync(fh.fileno())
    return path, True
