"""The tools the model can call; the registry lives in :mod:`de_agent.tools.registry`."""

from __future__ import annotations

from de_agent.tools.registry import BUILTIN, ToolRegistry, load_tools

__all__ = ["BUILTIN", "ToolRegistry", "load_tools"]
