"""The engine's steps for extensions: hooks at fixed points, and MCP tools joining the list.

A mixin of :class:`de_agent.engine.loop.Engine`; it uses the engine's ``emit``,
``extensions``, ``tools``, ``messages`` and ``session_id``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from de_agent import protocol as P
from de_agent.tools.base import MCP


class ExtensionSteps:
    extensions: Any
    session_id: str
    messages: list
    tools: list
    _session_hooks_ran: bool
    _mcp_version: int

    async def run_hooks(self, event: str, tool_name: str | None = None, **payload: Any) -> Any:
        """Run the person's hooks for a step (None when there are none); notices are shown."""
        runner = getattr(self.extensions, "hooks", None)
        if runner is None or not runner.active(event, tool_name):
            return None
        payload = {"session_id": self.session_id, **payload}
        if tool_name is not None:
            payload["tool_name"] = tool_name
        result = await runner.run(event, payload, tool_name)
        for notice in result.notices:
            self.emit(P.Notice(notice, "warning"))
        if result.blocked:
            self.emit(P.Notice(f"{event} hook blocked: {result.reason}", "warning"))
        return result

    async def _prompt_hooks(self, text: str) -> str | None:
        """SessionStart (first turn) and UserPromptSubmit: the user message for the model, or
        None when a hook blocked the prompt."""
        extra: list[str] = []
        if not self._session_hooks_ran:
            self._session_hooks_ran = True
            started = await self.run_hooks("SessionStart", source="resume" if self.messages else "startup")
            if started is not None:
                extra += started.context
        submitted = await self.run_hooks("UserPromptSubmit", prompt=text)
        if submitted is not None:
            if submitted.blocked:
                self.emit(P.Error(f"The prompt was blocked by a UserPromptSubmit hook: {submitted.reason}"))
                return None
            extra += submitted.context
        if not extra:
            return text
        return text + "\n\n" + "\n".join(f"[hook context] {c}" for c in extra)

    async def _await_mcp_servers(self) -> None:
        """Before a model call, let MCP servers still starting finish (each within its own
        startup timeout), so the model sees their tools. Never delays the first frame."""
        manager = getattr(self.extensions, "mcp", None)
        starting = manager.starting() if manager is not None else []
        if starting:
            self.emit(P.Notice(f"Waiting for MCP server(s) to start: {', '.join(starting)}"))
            while manager.starting():
                await asyncio.sleep(0.05)

    def _sync_mcp_tools(self) -> None:
        """Take in the tools of MCP servers that became ready (or drop those that stopped)."""
        manager = getattr(self.extensions, "mcp", None)
        if manager is None or manager.version == self._mcp_version:
            return
        self._mcp_version = manager.version
        self.tools = [t for t in self.tools if t.kind != MCP] + manager.tools()
        self.refresh_tools()
