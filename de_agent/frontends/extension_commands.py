"""What /mcp, /hooks, /skills and /commands do, and custom commands joining the slash commands.

The controller's ``cmd_mcp`` ... ``cmd_commands`` call these (off the event loop: they read
files and approval records) and wrap the text in a typed reply. Custom command files
(:mod:`de_agent.extensions.commands`) become slash commands at run time through
:func:`de_agent.frontends.slash.register`, here, when an engine starts and when the person
approves the repository's commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from de_agent.frontends import slash


def install_custom_commands(root: Path) -> list[str]:
    """Load the custom command files and make them slash commands; returns problems for notices."""
    from de_agent.extensions.commands import load_commands

    commands, problems = load_commands(root)
    made = [slash.SlashCommand(c.name, f"{c.description} ({c.origin})", c.argument_hint, prompt=c.prompt,
                               source=c.source) for c in commands]
    return problems + slash.set_custom(made)


def mcp_text(engine: Any, arg: str) -> str:
    manager = engine.extensions.mcp if engine is not None else None
    words = arg.split()
    if words[:1] == ["approve"]:
        if manager is None or len(words) != 2:
            return "Usage: /mcp approve NAME (a server from this repository's .de-agent/config.toml)."
        return str(manager.approve(words[1]))
    if words:
        return "Usage: /mcp, or /mcp approve NAME."
    if manager is None:
        return "No MCP servers configured. Add [mcp_servers.NAME] to your config.toml (see README, MCP)."
    return "MCP servers:\n" + manager.listing()


def hooks_text(engine: Any, arg: str) -> str:
    runner = engine.extensions.hooks if engine is not None else None
    if arg.strip() == "approve":
        return str(runner.approve()) if runner is not None else "No hooks configured."
    if arg.strip():
        return "Usage: /hooks, or /hooks approve."
    return "Hooks:\n" + runner.listing() if runner is not None else "No hooks configured."


def skills_text(root: Path, arg: str) -> str:
    from de_agent.extensions.skills import approve_repo_skills, listing

    if arg.strip() == "approve":
        return approve_repo_skills(root)
    if arg.strip():
        return "Usage: /skills, or /skills approve."
    return listing(root)


def commands_text(root: Path, arg: str) -> str:
    """The custom commands, or approving the repository's ones (which registers them)."""
    from de_agent.extensions.commands import approve_repo_commands, repo_commands_pending

    if arg.strip() == "approve":
        if not approve_repo_commands(root):
            return "This repository has no custom commands (.de-agent/commands/*.md)."
        problems = install_custom_commands(root)
        return "Approved this repository's custom commands." + "".join(f"\n{p}" for p in problems)
    if arg.strip():
        return "Usage: /commands, or /commands approve."
    lines = [f"  /{c.name} {c.argument}".rstrip() + f"  {c.help}" for c in slash.all_commands()
             if c.prompt is not None]
    text = "Custom commands:\n" + "\n".join(lines) if lines else \
        "No custom commands. Add Markdown files to .de-agent/commands/ or $DE_AGENT_HOME/commands/."
    pending = repo_commands_pending(root)
    if pending:
        text += f"\nNot approved (this repository): {', '.join(pending)}. /commands approve enables them."
    return text
