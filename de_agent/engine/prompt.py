"""The system prompt: the persona from a text file plus the environment and project context."""

from __future__ import annotations

import platform
from datetime import date
from importlib import resources
from pathlib import Path

from de_agent.gitops.status import git_summary


def read_prompt(name: str) -> str:
    """A prompt text shipped in de_agent/prompts/ ('' when absent)."""
    try:
        return resources.files("de_agent.prompts").joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return ""


def git_line(root: Path) -> str:
    try:
        return git_summary(root)
    except Exception:  # noqa: BLE001 - the prompt never fails for git's sake
        return _head_branch(root)


def _head_branch(root: Path) -> str:
    head = root / ".git" / "HEAD"
    try:
        text = head.read_text().strip()
    except OSError:
        return "not a git repository (checkpoints and /undo are off)"
    return f"branch {text.rsplit('/', 1)[-1]}" if text.startswith("ref:") else f"detached at {text[:12]}"


def build_system_prompt(root: Path, *, mode: str, sandbox: str, extra: list[str] | None = None) -> str:
    base = read_prompt("system.md").format(
        root=root, git=git_line(root), os=f"{platform.system()} {platform.release()}",
        date=date.today().isoformat(), mode=mode, sandbox=sandbox)
    sections = [base]
    data = read_prompt("data_tools.md")
    if data:
        sections.append(data)
    sections.extend(s for s in (extra or []) if s)
    return "\n\n".join(sections)
