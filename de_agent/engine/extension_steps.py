"""The engine's extension steps: hooks at fixed points, and MCP tools joining the registry.

A part of :class:`de_agent.engine.loop.Engine` (composition: the engine owns one
``ExtensionSteps`` as ``engine.extensions``). What fills it comes from outside the engine
(``de_agent.extensions.runtime.attach``, through :meth:`ExtensionSteps.attach`): an MCP
manager (``de_agent.mcp.client.McpManager``) and a hook runner
(``de_agent.extensions.hooks.HookRunner``). Without them every step is a no-op.
MCP tools enter and leave the engine's :class:`~de_agent.tools.registry.ToolRegistry`
through its run-time ``register``/``unregister``; the next model call sees the change.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from de_agent import protocol as P
from de_agent.tools.base import MCP

if TYPE_CHECKING:
    from de_agent.engine.loop import Engine


class ExtensionSteps:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.mcp: Any = None  # de_agent.mcp.client.McpManager
        self.hooks: Any = None  # de_agent.extensions.hooks.HookRunner
        self._mcp_version = -1
        self._session_hooks_ran = False

    def attach(self, *, mcp: Any = None, hooks: Any = None) -> None:
        """Hand the engine its MCP servers and hooks (the factory does, once)."""
        self.mcp = mcp
        self.hooks = hooks
        self._mcp_version = -1

    async def run_hooks(self, event: str, tool_name: str | None = None, **payload: Any) -> Any:
        """Run the person's hooks for a step (None when there are none); notices are shown."""
        runner = self.hooks
        if runner is None or not runner.active(event, tool_name):
            return None
        payload = {"session_id": self.engine.session_id, **payload}
        if tool_name is not None:
            payload["tool_name"] = tool_name
        result = await runner.run(event, payload, tool_name)
        for notice in result.notices:
            self.engine.emit(P.Notice(notice, "warning"))
        if result.blocked:
            self.engine.emit(P.Notice(f"{event} hook blocked: {result.reason}", "warning"))
        return result

    async def prompt_hooks(self, text: str) -> tuple[str | None, str]:
        """SessionStart (first turn) and UserPromptSubmit: (the user message for the model, "")
        or (None, the reason) when a hook blocked the prompt."""
        extra: list[str] = []
        if not self._session_hooks_ran:
            self._session_hooks_ran = True
            started = await self.run_hooks("SessionStart",
                                           source="resume" if self.engine.messages else "startup")
            if started is not None:
                extra += started.context
        submitted = await self.run_hooks("UserPromptSubmit", prompt=text)
        if submitted is not None:
            if submitted.blocked:
                return None, str(submitted.reason)
            extra += submitted.context
        if not extra:
            return text, ""
        return text + "\n\n" + "\n".join(f"[hook context] {c}" for c in extra), ""

    async def await_mcp_servers(self) -> None:
        """Before a model call, let MCP servers still starting finish (each within its own
        startup timeout), so the model sees their tools. Never delays the first frame."""
        manager = self.mcp
        starting = manager.starting() if manager is not None else []
        if starting:
            self.engine.emit(P.Notice(f"Waiting for MCP server(s) to start: {', '.join(starting)}"))
            while manager.starting():
                await asyncio.sleep(0.05)

    def sync_mcp_tools(self) -> None:
        """Take in the tools of MCP servers that became ready (or drop those that stopped)."""
        manager = self.mcp
        if manager is None or manager.version == self._mcp_version:
            return
        self._mcp_version = manager.version
        registry = self.engine.tools
        for tool in list(registry):
            if tool.kind == MCP:
                registry.unregister(tool.name)
        for tool in manager.tools():
            registry.register(tool)
