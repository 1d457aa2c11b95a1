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
from pathlib import Path

from de_agent import paths
from de_agent.extensions.frontmatter import read_front_matter
from de_agent.frontends.slash import SlashCommand

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,60}$")


def command_dirs(root: Path) -> list[tuple[str, Path]]:
    return [("repository", Path(root) / ".de-agent" / "commands"), ("user", paths.home() / "commands")]


def load_commands(root: Path) -> tuple[list[SlashCommand], list[str]]:
    """The custom commands (first folder wins a name) and problems worth a notice."""
    from de_agent.extensions.approvals import ExtensionApprovals

    found: dict[str, SlashCommand] = {}
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
            found[name] = SlashCommand(name, f"{description} ({origin})", str(meta.get("argument-hint") or ""),
                                       prompt=body.strip(), source=str(path))
    return list(found.values()), problems


def _first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()[:80]
    return ""


def install(root: Path) -> list[str]:
    """Load the custom commands and make them slash commands; returns problems for notices."""
    from de_agent.frontends import slash

    commands, problems = load_commands(root)
    return problems + slash.set_custom(commands)


def commands_command(root: Path, arg: str) -> str:
    """What /commands says: the custom commands, or approving the repository's ones."""
    from de_agent.extensions.approvals import ExtensionApprovals
    from de_agent.frontends import slash

    folder = command_dirs(root)[0][1]
    if arg.strip() == "approve":
        if not folder.is_dir() or not any(folder.rglob("*.md")):
            return "This repository has no custom commands (.de-agent/commands/*.md)."
        ExtensionApprovals(root).approve_folder("commands", folder)
        problems = install(root)
        return "Approved this repository's custom commands." + "".join(f"\n{p}" for p in problems)
    if arg.strip():
        return "Usage: /commands, or /commands approve."
    custom = [c for c in slash.all_commands() if c.prompt is not None]
    lines = [f"  /{c.name} {c.argument}".rstrip() + f"  {c.help}" for c in custom]
    text = "Custom commands:\n" + "\n".join(lines) if lines else \
        "No custom commands. Add Markdown files to .de-agent/commands/ or $DE_AGENT_HOME/commands/."
    if folder.is_dir() and any(folder.rglob("*.md")) and \
            not ExtensionApprovals(root).folder_approved("commands", folder):
        names = sorted(str(p.relative_to(folder).with_suffix("")) for p in folder.rglob("*.md"))
        text += f"\nNot approved (this repository): {', '.join(names)}. /commands approve enables them."
    return text
