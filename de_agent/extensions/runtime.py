"""Attaching the extensions to an engine: MCP servers and hooks.

One seam for the factory: :func:`attach` builds what the settings and folders describe and
hands it to the engine's extension component (``engine.extensions.attach``). MCP managers
are shared per process and configuration, so ``/clear`` (a new engine) keeps the running
servers. Custom commands are the interactive front ends' business (the controller registers
them with ``frontends.slash``).
"""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path
from typing import Any

from de_agent import protocol as P

_MANAGERS: dict[tuple, Any] = {}


def _engine_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return asyncio.get_event_loop()  # the TUI's engine thread sets its loop before building
        except RuntimeError:
            return None


def shared_manager(settings: Any, root: Path) -> Any:
    from de_agent.mcp.client import build_manager
    from de_agent.security.extension_approvals import fingerprint

    if not settings.mcp_servers:
        return None
    key = (str(root), fingerprint(settings.mcp_servers), tuple(settings.env_allow))
    manager = _MANAGERS.get(key)
    if manager is None:
        manager = build_manager(settings, root)
        if manager is None:
            return None
        _MANAGERS[key] = manager
        manager.start_pending = True
    return manager


def attach(engine: Any, settings: Any, root: Path, notices: list[str]) -> None:
    from de_agent.extensions.hooks import HookRunner
    from de_agent.extensions.skills import repo_skills_pending

    if repo_skills_pending(root):
        notices.append("This repository has skills in .de-agent/skills/ that you have not approved (new or "
                       "changed); /skills lists them, /skills approve lets the model use them.")
    hooks = HookRunner.from_settings(settings, root, notices)
    manager = shared_manager(settings, root)
    if manager is not None:
        loop = _engine_loop()

        def notify(text: str, level: str) -> None:
            event = P.Notice(text, "warning" if level == "warning" else "info")
            if loop is None or loop.is_closed():
                return
            try:
                loop.call_soon_threadsafe(engine.emit, event)
            except RuntimeError:  # the front end's loop has ended
                pass

        notices.extend(manager.problems)
        if getattr(manager, "start_pending", False):
            manager.start_pending = False
            # What start() says at once goes with the engine's start-up notices (shown after
            # the session is announced); later news comes through the engine's loop.
            manager.notify = lambda text, _level: notices.append(text)
            manager.start()
        manager.notify = notify
    engine.extensions.attach(mcp=manager, hooks=hooks)
