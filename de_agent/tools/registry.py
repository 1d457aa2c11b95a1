"""The tool registry: which tools the model sees, by name; tools can be added at run time.

The built-in tools are listed as (module, class) and imported when the engine starts, not
at start-up, so ``de-agent --version`` never pays for them. MCP tools and specialists
call :meth:`ToolRegistry.register` while the engine runs; the next model call sees them.
Arguments of declarative tools (``Tool.Args``) are validated here, once.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from typing import Any

from de_agent.tools.base import Action, Tool, ToolContext

BUILTIN: list[tuple[str, str]] = [
    ("de_agent.tools.plan", "UpdatePlan"),
    ("de_agent.tools.shell", "Shell"),
    ("de_agent.tools.local_shell", "LocalShell"),
    ("de_agent.tools.fs_list", "FindFiles"),
    ("de_agent.tools.fs_list", "ReadFolder"),
    ("de_agent.tools.fs_read", "ReadFile"),
    ("de_agent.tools.fs_read", "ReadManyFiles"),
    ("de_agent.tools.search", "SearchText"),
    ("de_agent.tools.edit", "Edit"),
    ("de_agent.tools.edit", "WriteFile"),
    ("de_agent.tools.image_gen", "ImageGenerator"),
    ("de_agent.tools.memory", "SaveMemory"),
    ("de_agent.tools.data.profile", "ProfileData"),
    ("de_agent.tools.data.sql", "RunSQL"),
    ("de_agent.tools.data.lineage", "SQLLineage"),
    ("de_agent.tools.data.datadiff", "DataDiff"),
    ("de_agent.tools.data.scan", "ScanPII"),
    ("de_agent.tools.data.warehouse.tools", "ListTables"),
    ("de_agent.tools.data.warehouse.tools", "DescribeTable"),
    ("de_agent.tools.web", "WebFetch"),
    ("de_agent.tools.web", "GoogleSearch"),
    ("de_agent.tools.delegate", "AskUser"),
    ("de_agent.tools.delegate", "Handoff"),
    ("de_agent.extensions.skills", "Skill"),
]


def load_tools(entries: list[tuple[str, str]] | None = None) -> list[Tool]:
    tools: list[Tool] = []
    for module_name, class_name in entries or BUILTIN:
        module = importlib.import_module(module_name)
        tools.append(getattr(module, class_name)())
    return tools


class ToolRegistry:
    """The engine's tools by name, in the order the model sees them."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self._schemas: list[dict[str, Any]] | None = None
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        if not tool.name:
            raise ValueError("a tool needs a name")
        self._tools[tool.name] = tool
        self._schemas = None

    def unregister(self, name: str) -> Tool | None:
        self._schemas = None
        return self._tools.pop(name, None)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def schemas(self, ctx: ToolContext | None = None) -> list[dict[str, Any]]:
        """The tools as the model sees them; built once until a tool is added or removed."""
        if self._schemas is None:
            self._schemas = [tool.schema(ctx) for tool in self._tools.values()]
        return self._schemas

    async def prepare(self, tool: Tool, arguments: dict[str, Any], ctx: ToolContext) -> Action:
        """Validate the arguments (declarative tools) and let the tool say what it will do."""
        if tool.Args is not None:
            from de_agent.tools.schema import validate_args

            return await tool.prepare(validate_args(tool.Args, arguments), ctx)
        return await tool.prepare(arguments, ctx)

    def call_summary(self, name: str, arguments: dict[str, Any]) -> str:
        tool = self._tools.get(name)
        return tool.call_summary(arguments) if tool is not None else ""

    def result_summary(self, name: str, ok: bool, output: str, display: dict[str, Any] | None) -> str:
        tool = self._tools.get(name)
        return tool.result_summary(ok, output, display) if tool is not None else ""
