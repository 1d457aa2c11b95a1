"""Custom slash commands: Markdown files in ``.de-agent/commands/`` and ``$DE_AGENT_HOME/commands/``.

``review-model.md`` becomes ``/review-model``; a file in a subfolder ``dbt/test.md`` becomes
``/dbt:test``. Front matter ``description`` (shown in /help, completion and the palette) and
``argument-hint`` (how the argument is described); the body is the prompt sent to the model,
with ``$ARGUMENTS`` replaced by what follows the command (or the argument appended when the
body has no ``$ARGUMENTS``). The repository's commands win over the person's own of the same
name; built-in commands win over both. The repository's commands count only once the person
approved that folder's present content (``/commands approve``). A command only writes a prompt: whatever it makes the
model do goes through the approval policy like any request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from de_agent import paths
from de_agent.extensions.frontmatter import read_front_matter


@dataclass(frozen=True)
class CustomCommand:
    """One Markdown command file (the front ends make it a slash command)."""

    name: str
    description: str
    argument_hint: str
    prompt: str
    source: str
    origin: str  # repository | user


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,60}$")


def command_dirs(root: Path) -> list[tuple[str, Path]]:
    return [("repository", Path(root) / ".de-agent" / "commands"), ("user", paths.home() / "commands")]


def load_commands(root: Path) -> tuple[list[CustomCommand], list[str]]:
    """The custom commands (first folder wins a name) and problems worth a notice."""
    from de_agent.security.extension_approvals import ExtensionApprovals

    found: dict[str, CustomCommand] = {}
    problems: list[str] = []
    for origin, folder in command_dirs(root):
        if not folder.is_dir():
            continue
        if origin == "repository" and not ExtensionApprovals(root).folder_approved("commands", folder):
            if any(folder.rglob("*.md")):
                problems.append("This repository has custom commands in .de-agent/commands/ that you have not "
                                "approved (new or changed); /commands lists them, /commands approve enables them.")
            continue
        for path in sorted(folder.rglob("*.md")):
            rel = path.relative_to(folder).with_suffix("")
            name = ":".join(rel.parts)
            if not _NAME.match(name):
                problems.append(f"custom command {path} skipped: its name must use letters, digits, . _ - :")
                continue
            if name in found:
                continue
            try:
                meta, body = read_front_matter(path)
            except OSError as exc:
                problems.append(f"custom command {path} skipped: {exc}")
                continue
            description = str(meta.get("description") or _first_line(body) or "custom command")
            found[name] = CustomCommand(name, description, str(meta.get("argument-hint") or ""),
                                        body.strip(), str(path), origin)
    return list(found.values()), problems


def _first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()[:80]
    return ""


def repo_commands_pending(root: Path) -> list[str]:
    """Names of the repository's command files while they are not approved as they stand."""
    from de_agent.security.extension_approvals import ExtensionApprovals

    folder = command_dirs(root)[0][1]
    if not folder.is_dir() or ExtensionApprovals(root).folder_approved("commands", folder):
        return []
    return sorted(str(p.relative_to(folder).with_suffix("")) for p in folder.rglob("*.md"))


def approve_repo_commands(root: Path) -> bool:
    """Approve the repository's commands folder as it stands; False when it has none."""
    from de_agent.security.extension_approvals import ExtensionApprovals

    folder = command_dirs(root)[0][1]
    if not folder.is_dir() or not any(folder.rglob("*.md")):
        return False
    ExtensionApprovals(root).approve_folder("commands", folder)
    return True
