"""The command palette (Ctrl+P) lists the slash commands, the approval modes and the themes."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from de_agent.config import APPROVAL_MODES
from de_agent.frontends import slash


class DeAgentCommands(Provider):
    def _actions(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app: Any = self.app
        actions: list[tuple[str, str, Callable[[], Any]]] = []
        for command in slash.all_commands():
            label = f"/{command.name}" + (f" {command.argument}" if command.argument else "")
            if command.argument and command.name not in ("mode", "theme", "model", "resume", "compact",
                                                                     "mcp", "hooks", "skills", "commands"):
                runner = partial(app.prefill, f"/{command.name} ")
            else:
                runner = partial(app.run_slash_soon, f"/{command.name}")
            actions.append((label, command.help, runner))
        for mode in APPROVAL_MODES:
            actions.append((f"Approval mode: {mode}", "ask before edits and commands" if mode == "default"
                            else f"switch to {mode}", partial(app.run_slash_soon, f"/mode {mode}")))
        for name in sorted(app.theme_specs):
            actions.append((f"Theme: {name}", "switch the colours",
                            partial(app.run_slash_soon, f"/theme {name}")))
        return actions

    async def discover(self) -> Hits:
        for label, help_text, runner in self._actions():
            yield DiscoveryHit(label, runner, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, help_text, runner in self._actions():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), runner, help=help_text)
