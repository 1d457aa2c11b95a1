"""What /mcp, /hooks, /skills and /commands say, shared by the TUI and the plain REPL."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def mcp_command(engine: Any, arg: str) -> str:
    manager = getattr(getattr(engine, "extensions", None), "mcp", None)
    words = arg.split()
    if words[:1] == ["approve"]:
        if manager is None or len(words) != 2:
            return "Usage: /mcp approve NAME (a server from this repository's .de-agent/config.toml)."
        return manager.approve(words[1])
    if words:
        return "Usage: /mcp, or /mcp approve NAME."
    if manager is None:
        return "No MCP servers configured. Add [mcp_servers.NAME] to your config.toml (see README, MCP)."
    return "MCP servers:\n" + manager.listing()


def hooks_command(engine: Any, arg: str) -> str:
    runner = getattr(getattr(engine, "extensions", None), "hooks", None)
    if arg.strip() == "approve":
        return runner.approve() if runner is not None else "No hooks configured."
    if arg.strip():
        return "Usage: /hooks, or /hooks approve."
    return "Hooks:\n" + runner.listing() if runner is not None else "No hooks configured."


def skills_command(root: Path, arg: str = "") -> str:
    from de_agent.extensions.skills import approve_repo_skills, listing

    if arg.strip() == "approve":
        return approve_repo_skills(root)
    if arg.strip():
        return "Usage: /skills, or /skills approve."
    return listing(root)


def commands_command(root: Path, arg: str = "") -> str:
    from de_agent.extensions.commands import commands_command as run

    return run(root, arg)
