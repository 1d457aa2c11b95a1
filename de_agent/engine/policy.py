"""The approval policy: for each prepared action, allow, ask a person, or deny.

Modes (DESIGN.md section 2): ``default`` asks before edits and commands that are not
read-only, ``auto-edit`` applies edits but asks for commands, ``plan`` is read-only, and
``yolo`` runs everything (still sandboxed). The deny list of dangerous commands holds in
every mode. Only "ask" reaches a person; when nobody can answer (``Approvals.NOBODY``, the
headless front end) the engine turns it into a denial.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from de_agent.protocol import APPROVAL_MODES, Approvals
from de_agent.tools.base import DELEGATE, EDIT, EXECUTE, MCP, MEMORY, NETWORK, PLAN, QUESTION, READ, Action

Verdict = Literal["allow", "ask", "deny"]
MODES = APPROVAL_MODES
CYCLED_MODES = ("default", "auto-edit", "plan")  # Shift+Tab never reaches yolo by accident


@dataclass
class PolicyDecision:
    verdict: Verdict
    reason: str = ""
    always_pattern: str | None = None


@dataclass
class Policy:
    mode: str
    root: Path
    approvals: Approvals = Approvals.PERSON  # NOBODY: an "ask" verdict is a denial
    session_tools: set[str] = field(default_factory=set)
    denied_this_turn: set[str] = field(default_factory=set)
    _rules: Any = None

    @property
    def nobody_answers(self) -> bool:
        return self.approvals == Approvals.NOBODY

    @property
    def rules(self) -> Any:
        if self._rules is None:
            from de_agent.security.rules import ApprovalRules

            self._rules = ApprovalRules(self.root)
        return self._rules

    def cycle_mode(self) -> str:
        """default -> auto-edit -> plan -> default; yolo only when asked for by name."""
        cycled = CYCLED_MODES
        self.mode = cycled[(cycled.index(self.mode) + 1) % len(cycled)] if self.mode in cycled else cycled[0]
        return self.mode

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown approval mode {mode!r}")
        self.mode = mode

    @staticmethod
    def call_key(name: str, arguments: dict) -> str:
        return name + ":" + json.dumps(arguments, sort_keys=True)

    def decide(self, name: str, arguments: dict, action: Action) -> PolicyDecision:
        kind = action.kind
        pattern = None
        if action.command is not None:
            from de_agent.security.commands import classify, suggest_pattern

            verdict = classify(action.command, self.root)
            if verdict.verdict == "deny":
                return PolicyDecision("deny", f"refused in every mode: {verdict.reason}")
            pattern = suggest_pattern(action.command)
            command_ask = verdict.verdict == "ask"
            command_reason = verdict.reason
        else:
            command_ask, command_reason = False, ""

        if action.host:
            return self._host(name, arguments, action)
        if kind in (QUESTION, DELEGATE):  # asking the person, or handing off: what follows asks itself
            return PolicyDecision("allow", "asks the person" if kind == QUESTION else "hands off")
        if self.call_key(name, arguments) in self.denied_this_turn:
            return PolicyDecision("deny", "the person already denied this exact call in this turn; "
                                          "do not ask again, choose another approach or stop")

        if action.force_ask:
            if self.mode == "plan":
                return PolicyDecision("deny", "plan mode is read-only; " + action.ask_reason)
            return PolicyDecision("ask", action.ask_reason or "asks in every mode")

        if self.mode == "yolo":
            return PolicyDecision("allow", "yolo mode")
        if kind == MCP:
            return self._decide_mcp(name, action)

        if self.mode == "plan":
            if kind in (READ, PLAN, MEMORY) and not action.asks and not action.secret_read:
                return PolicyDecision("allow", "read-only")
            if kind == READ and action.asks and not action.secret_read:
                return PolicyDecision("ask", action.ask_reason or "read that asks")
            if kind in (READ,) and action.secret_read:
                return PolicyDecision("ask", "this file may hold secrets")
            return PolicyDecision("deny", "plan mode is read-only: no edits, commands or network; "
                                          "describe the change instead")

        if action.secret_read:
            return PolicyDecision("ask", "this file may hold secrets", pattern)
        if kind in (READ, PLAN, MEMORY) and not action.asks:
            return PolicyDecision("allow", "read-only")
        if name in self.session_tools and action.command is None:
            return PolicyDecision("allow", "approved for this session")
        if kind == EDIT:
            if self.mode == "auto-edit":
                return PolicyDecision("allow", "auto-edit mode")
            return PolicyDecision("ask", "changes a file")
        if action.command is not None:
            if self.rules.allows(action.command):
                return PolicyDecision("allow", "matches an approval rule")
            if not command_ask and not action.asks:
                return PolicyDecision("allow", f"read-only command ({command_reason})" if command_reason
                                      else "read-only command")
            return PolicyDecision("ask", command_reason or "runs a command", pattern)
        if kind in (EXECUTE, NETWORK) or action.asks:
            return PolicyDecision("ask", action.ask_reason or f"{kind} action")
        return PolicyDecision("ask", f"{kind} action")

    def _host(self, name: str, arguments: dict, action: Action) -> PolicyDecision:
        """A command outside the sandbox (LocalShell): yolo runs it, plan refuses, else ask."""
        from de_agent.security.denylist import deny_reason

        reason = deny_reason(action.host_command or "")
        if reason:
            return PolicyDecision("deny", f"refused in every mode: {reason}")
        if self.call_key(name, arguments) in self.denied_this_turn:
            return PolicyDecision("deny", "the person already denied this exact call in this turn; "
                                          "do not ask again, choose another approach or stop")
        if self.mode == "yolo":
            return PolicyDecision("allow", "yolo mode (runs outside the sandbox)")
        if self.mode == "plan":
            return PolicyDecision("deny", "plan mode is read-only; LocalShell runs outside the sandbox")
        return PolicyDecision("ask", action.ask_reason)
    def _decide_mcp(self, name: str, action: Action) -> PolicyDecision:
        trusted = not action.asks or name in self.session_tools
        if self.mode == "plan":
            if trusted and action.read_only:
                return PolicyDecision("allow", "trusted read-only MCP tool")
            return PolicyDecision("deny", "plan mode runs only MCP tools the server marks read-only and "
                                          "the person trusts; describe the call instead")
        if trusted:
            return PolicyDecision("allow", "trusted MCP tool")
        return PolicyDecision("ask", action.ask_reason or "calls an MCP tool", name)

    def remember(self, name: str, arguments: dict, action: Action, choice: str,
                 pattern: str | None) -> None:
        """Record a person's choice so that it holds for the rest of the session (or always)."""
        if choice in ("deny", "deny_note"):
            self.denied_this_turn.add(self.call_key(name, arguments))
            return
        if choice not in ("session", "always") or action.host or action.force_ask:
            return
        if action.kind == MCP:
            self.session_tools.add(name)
            if choice == "always":
                from de_agent.security.extension_approvals import ExtensionApprovals

                ExtensionApprovals(self.root).trust_tool(name)
            return
        if action.command is not None and pattern:
            if choice == "always":
                self.rules.add(pattern)
            else:
                self.rules.add_session(pattern)
        else:
            self.session_tools.add(name)

    def new_turn(self) -> None:
        self.denied_this_turn.clear()
