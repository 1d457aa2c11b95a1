"""``de-agent mcp``: the data and read tools served over stdio to other agents.

Each call goes through the same path as in a session: the tool prepares an action inside
the repository's confinement, the approval policy decides, and the output is bounded and
redacted. Nobody can approve anything over this channel, so what would ask a person (a
RunSQL statement that writes, a file that may hold secrets) is refused with the reason.
The mode is ``plan`` when the person's config says so and ``default`` otherwise; ``yolo``
and ``auto-edit`` never loosen it here. Never imports litellm.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from de_agent.tools.base import ToolContext, ToolError, bound_text

SERVED: list[tuple[str, str]] = [
    ("de_agent.tools.data.profile", "ProfileData"),
    ("de_agent.tools.data.sql", "RunSQL"),
    ("de_agent.tools.data.lineage", "SQLLineage"),
    ("de_agent.tools.data.scan", "ScanPII"),
    ("de_agent.tools.fs_read", "ReadFile"),
    ("de_agent.tools.fs_read", "ReadManyFiles"),
    ("de_agent.tools.fs_list", "ReadFolder"),
    ("de_agent.tools.fs_list", "FindFiles"),
    ("de_agent.tools.search", "SearchText"),
]


class Refused(Exception):
    """A call the policy would not run unattended; the message says why."""


class ToolService:
    """The served tools and how one call runs (transport-free, so tests can drive it)."""

    def __init__(self, root: Path, settings: Any):
        from de_agent.engine.policy import Policy
        from de_agent.protocol import Approvals
        from de_agent.tools.registry import ToolRegistry, load_tools
        from de_agent.workspace import Workspace

        self.ctx = ToolContext(workspace=Workspace(root), settings=settings, sandbox_name="none")
        self.tools = ToolRegistry(load_tools(SERVED))
        mode = "plan" if settings.approval_mode == "plan" else "default"
        self.policy = Policy(mode, self.ctx.workspace.root, Approvals.NOBODY)

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """The tool's text output; Refused or ToolError for what cannot run."""
        from de_agent.security.env import redact

        tool = self.tools.get(name)
        if tool is None:
            raise ToolError(f"unknown tool {name!r}; served: {', '.join(sorted(self.tools.names()))}")
        try:
            action = await self.tools.prepare(tool, arguments, self.ctx)
        except PermissionError as exc:
            raise Refused(f"{name} refused: {exc}") from None
        decision = self.policy.decide(name, arguments, action)
        if decision.verdict != "allow":
            why = decision.reason or "needs approval"
            raise Refused(f"Refused: {why}. de-agent's MCP server is read-only and nobody can approve "
                          f"this call here; run it in de-agent itself if it is needed.")
        try:
            outcome = await action.run(None)
        except PermissionError as exc:
            raise Refused(f"{name} refused: {exc}") from None
        text = redact(bound_text(outcome.output, what="tool output"))
        if not outcome.ok:
            raise ToolError(text)
        return text


def build_server(service: ToolService) -> Any:
    import mcp.types as types
    from mcp.server.lowlevel import Server

    from de_agent import __version__

    server: Any = Server("de-agent", version=__version__)
    read_only = types.ToolAnnotations(readOnlyHint=True, destructiveHint=False, openWorldHint=False)

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        return [types.Tool(name=t.name, description=t.describe(service.ctx), inputSchema=t.json_parameters(),
                           annotations=read_only) for t in service.tools]

    @server.call_tool()
    async def call_tool(name: str, arguments: dict[str, Any]) -> list[types.TextContent]:
        try:
            text = await service.call(name, arguments or {})
        except (Refused, ToolError) as exc:
            # Raised errors become a result with isError set, the message for the caller's model.
            raise RuntimeError(str(exc)) from None
        return [types.TextContent(type="text", text=text)]

    return server


async def serve_stdio(service: ToolService) -> None:
    from mcp.server.stdio import stdio_server

    server = build_server(service)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="de-agent mcp",
                                     description="Serve de-agent's data and read tools over MCP (stdio).")
    parser.add_argument("--root", metavar="PATH", help="the repository to serve (default: the one around "
                                                        "the current folder)")
    args = parser.parse_args(argv)

    import anyio

    from de_agent.config import ConfigError, load_settings
    from de_agent.workspace import find_repo_root

    root = Path(args.root).resolve() if args.root else find_repo_root()
    try:
        settings = load_settings(root)
    except ConfigError as exc:
        print(f"de-agent mcp: {exc}", file=sys.stderr)
        return 2
    for warning in settings.warnings:
        print(f"de-agent mcp: {warning}", file=sys.stderr)
    anyio.run(serve_stdio, ToolService(root, settings))
    return 0
