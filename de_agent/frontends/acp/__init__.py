"""The Agent Client Protocol front end: ``de-agent --acp`` speaks ACP over stdio.

An editor (Zed, Toad, JetBrains) starts the process and drives it with JSON-RPC on stdin
and stdout. It is one more front end over the engine's ops and events: prompts become
``UserTurn`` ops, cancels ``Interrupt`` ops, permission answers ``ApprovalDecision`` ops,
and the engine's events become ACP session updates (see :mod:`.updates`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_acp(flags: dict[str, Any], root: Path) -> int:
    """Serve ACP on stdin/stdout until the client closes the connection."""
    import asyncio

    _preload(flags, root)
    asyncio.run(_serve(flags, root))
    return 0


def _preload(flags: dict[str, Any], root: Path) -> None:
    """Load what the first model call needs while the editor initializes: litellm only when
    the configured model is not spoken directly (it costs seconds and ~60 MiB), as in the TUI."""
    from de_agent.config import ConfigError, load_settings
    from de_agent.llm.adapter import fast_start, preload_in_background
    from de_agent.llm.routes import route_for

    fast_start()  # token counts for direct endpoints never wait for litellm's import
    try:
        settings = load_settings(root, flags)
    except ConfigError:
        return  # session/new reports it
    if not settings.stream or route_for(settings.model, settings.api_base) is None:
        preload_in_background()


async def _serve(flags: dict[str, Any], root: Path) -> None:
    import sys

    from acp import run_agent
    from acp.core import DEFAULT_STDIO_BUFFER_LIMIT_BYTES
    from acp.stdio import stdio_streams

    from de_agent.frontends.acp.agent import DeAgentAcp

    reader, writer = await stdio_streams(limit=DEFAULT_STDIO_BUFFER_LIMIT_BYTES)
    # stdout now belongs to the protocol: a stray print (ours or a library's) goes to stderr
    # instead of corrupting the JSON-RPC stream.
    sys.stdout = sys.stderr
    # DeAgentAcp implements the methods it advertises (no fork, resume or config options);
    # the library answers the others with method-not-found, so it is not a full acp Agent.
    agent: Any = DeAgentAcp(flags, root)
    await run_agent(agent, writer, reader)
