"""The tool registry: which tools the model sees, by name.

Each entry is (module, class); modules are imported when the engine starts, not at
start-up, so ``de-agent --version`` never pays for them.
"""

from __future__ import annotations

import importlib

from de_agent.tools.base import Tool

BUILTIN: list[tuple[str, str]] = [
    ("de_agent.tools.plan", "UpdatePlan"),
    ("de_agent.tools.shell", "Shell"),
    ("de_agent.tools.fs_list", "FindFiles"),
    ("de_agent.tools.fs_list", "ReadFolder"),
    ("de_agent.tools.fs_read", "ReadFile"),
    ("de_agent.tools.fs_read", "ReadManyFiles"),
    ("de_agent.tools.search", "SearchText"),
    ("de_agent.tools.edit", "Edit"),
    ("de_agent.tools.edit", "WriteFile"),
    ("de_agent.tools.memory", "SaveMemory"),
    ("de_agent.tools.data.profile", "ProfileData"),
    ("de_agent.tools.data.sql", "RunSQL"),
    ("de_agent.tools.data.lineage", "SQLLineage"),
    ("de_agent.tools.data.scan", "ScanPII"),
    ("de_agent.tools.web", "WebFetch"),
    ("de_agent.tools.web", "GoogleSearch"),
    ("de_agent.extensions.skills", "Skill"),
]


def load_tools(entries: list[tuple[str, str]] | None = None) -> list[Tool]:
    tools: list[Tool] = []
    for module_name, class_name in entries or BUILTIN:
        module = importlib.import_module(module_name)
        tools.append(getattr(module, class_name)())
    return tools
