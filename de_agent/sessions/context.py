"""Project context for the system prompt: AGENTS.md files and saved memory.

``AGENTS.md`` files are read from the repository root down to the working folder (root
first), through the workspace so that a symlink cannot pull in a file from outside. Memory
is Markdown under the user state folder: one file per repository (``paths.repo_key``) and
one global file. Both are capped in size, and the prompt says so when a cap is hit.
"""

from __future__ import annotations

import os
from pathlib import Path

from de_agent.memory import append_fact, clean_fact, memory_file, read_facts  # noqa: F401 - re-exported

AGENTS_FILE = "AGENTS.md"
AGENTS_CAP = 24_000  # characters of AGENTS.md text in the system prompt
MEMORY_CAP = 8_000  # characters of saved memory in the system prompt


def _agents_folders(root: Path, cwd: Path) -> list[Path]:
    """The folders from the root down to cwd (just the root when cwd is outside it)."""
    root = Path(os.path.realpath(root))
    here = Path(os.path.realpath(cwd))
    try:
        rel = here.relative_to(root)
    except ValueError:
        return [Path(".")]
    folders = [Path(".")]
    for part in rel.parts:
        folders.append(folders[-1] / part)
    return folders


def agents_files(root: Path, cwd: Path) -> list[tuple[str, str]]:
    """(repository-relative path, text) of each readable AGENTS.md, root first."""
    from de_agent.workspace import Workspace

    workspace = Workspace(root)
    found = []
    for folder in _agents_folders(root, cwd):
        rel = (folder / AGENTS_FILE).as_posix()
        try:
            data = workspace.read_bytes(rel, limit=AGENTS_CAP * 4 + 1)
        except (OSError, ValueError):
            continue  # absent, a directory, or leading out of the repository
        text = data.decode("utf-8", "replace").strip()
        if text:
            found.append((rel, text))
    return found


def _agents_section(root: Path, cwd: Path) -> str:
    files = agents_files(root, cwd)
    if not files:
        return ""
    parts: list[str] = []
    used = 0
    left_out: list[str] = []
    for rel, text in files:
        room = AGENTS_CAP - used
        if room <= 0:
            left_out.append(rel)
            continue
        if len(text) > room:
            parts.append(f"## {rel}\n{text[:room]}\n[{rel} cut: only its first {room:,} characters are "
                         f"loaded; AGENTS.md text is capped at {AGENTS_CAP:,} characters in total]")
            used = AGENTS_CAP
            continue
        parts.append(f"## {rel}\n{text}")
        used += len(text)
    if left_out:
        parts.append(f"[Not loaded: {', '.join(left_out)} (AGENTS.md text is capped at "
                     f"{AGENTS_CAP:,} characters in total)]")
    return ("# Project instructions (AGENTS.md)\n"
            "Follow these instructions from the repository; deeper files refine the ones above them.\n\n"
            + "\n\n".join(parts))


# -- memory --------------------------------------------------------------------------------


def _capped_facts(facts: list[str], cap: int) -> tuple[list[str], int]:
    """The newest facts that fit in ``cap`` characters, in their saved order; and how many were left out."""
    kept: list[str] = []
    used = 0
    for fact in reversed(facts):
        if used + len(fact) + 3 > cap:
            break
        kept.append(fact)
        used += len(fact) + 3
    return list(reversed(kept)), len(facts) - len(kept)


def _memory_section(root: Path) -> str:
    project = read_facts(memory_file(root, "project"))
    global_ = read_facts(memory_file(root, "global"))
    if not project and not global_:
        return ""
    project, left_p = _capped_facts(project, MEMORY_CAP // 2 if global_ else MEMORY_CAP)
    global_, left_g = _capped_facts(global_, MEMORY_CAP - sum(len(f) + 3 for f in project))
    lines = ["# Saved memory", "Facts the person asked you to remember in earlier sessions."]
    if project:
        lines += ["", "## This repository", *(f"- {f}" for f in project)]
    if global_:
        lines += ["", "## Everywhere", *(f"- {f}" for f in global_)]
    if left_p or left_g:
        lines += ["", f"[{left_p + left_g} older fact(s) not loaded: saved memory is capped at "
                      f"{MEMORY_CAP:,} characters]"]
    return "\n".join(lines)


def project_sections(root: Path, cwd: Path) -> list[str]:
    """System prompt sections: AGENTS.md instructions, then saved memory."""
    return [s for s in (_agents_section(root, cwd), _memory_section(root)) if s]


def show_memory(root: Path) -> str:
    """What ``/memory`` prints: both memory files, where they are, and what they hold."""
    out = []
    for scope, label in (("project", "This repository"), ("global", "Everywhere")):
        path = memory_file(root, scope)
        facts = read_facts(path)
        out.append(f"{label} ({path}):")
        out.extend(f"  - {f}" for f in facts) if facts else out.append("  (nothing saved)")
    if not any(read_facts(memory_file(root, s)) for s in ("project", "global")):
        out.append("Ask de-agent to remember something (\"remember that ...\") to save a fact.")
    return "\n".join(out)
