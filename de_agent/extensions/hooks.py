"""Hooks: the person's own commands run at fixed points of a session.

``[[hooks.EVENT]]`` entries (``matcher``, ``command``, optional ``timeout_s``) for
SessionStart, UserPromptSubmit, PreToolUse, PostToolUse, Stop and PreCompact. A hook gets a
JSON description of the step on stdin (see README "Hooks" for the shapes). It blocks the
step by exiting with code 2 (stderr is the reason) or by printing
``{"decision": "block", "reason": "..."}``; the reason goes to the model. Printing
``{"additionalContext": "..."}`` adds text for the model (PostToolUse, UserPromptSubmit,
SessionStart). Other failures and timeouts are notices, never blocks.

Hooks run on the host (not in the sandbox), in the repository folder, with the same
cleaned environment as commands. Hooks from the repository's own config run only after the
person approved that exact set once (``/hooks approve``); changing their text voids it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from de_agent.tools.data.helpers.client import kill_group

EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "PreCompact")
DEFAULT_TIMEOUT_S = 30.0
BLOCK_EXIT = 2
MAX_REASON = 4000


@dataclass
class Hook:
    event: str
    command: str
    matcher: str = "*"
    timeout_s: float = DEFAULT_TIMEOUT_S
    origin: str = "user"

    def matches(self, tool_name: str | None) -> bool:
        if tool_name is None or self.matcher in ("", "*"):
            return True
        return any(fnmatch.fnmatchcase(tool_name, p.strip()) for p in self.matcher.split("|"))


@dataclass
class HookResult:
    blocked: bool = False
    reason: str = ""
    context: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def _parse(settings_hooks: dict[str, list[dict[str, Any]]], problems: list[str]) -> list[Hook]:
    hooks = []
    for event, entries in settings_hooks.items():
        if event not in EVENTS:
            problems.append(f"hooks: unknown event {event!r} (known: {', '.join(EVENTS)}); ignored")
            continue
        for entry in entries:
            command = entry.get("command")
            if not isinstance(command, str) or not command.strip():
                problems.append(f"hooks.{event}: an entry without a command was ignored")
                continue
            try:
                timeout = float(entry.get("timeout_s", DEFAULT_TIMEOUT_S))
            except (TypeError, ValueError):
                timeout = DEFAULT_TIMEOUT_S
            hooks.append(Hook(event, command, str(entry.get("matcher", "*") or "*"), timeout,
                              str(entry.get("origin", "user"))))
    return hooks


def project_value(hooks: list[Hook]) -> list[dict[str, Any]]:
    """What the person approves of a repository's hooks (any change voids the approval)."""
    return [{"event": h.event, "matcher": h.matcher, "command": h.command, "timeout_s": h.timeout_s}
            for h in hooks if h.origin == "project"]


class HookRunner:
    def __init__(self, hooks: list[Hook], root: Path, env_allow: list[str], session_id: str = ""):
        from de_agent.security.extension_approvals import ExtensionApprovals

        self.root = root
        self.env_allow = env_allow
        self.session_id = session_id
        self.approvals = ExtensionApprovals(root)
        self.all = hooks
        self.project_approved = not project_value(hooks) or \
            self.approvals.is_approved("hooks", project_value(hooks))

    @classmethod
    def from_settings(cls, settings: Any, root: Path, notices: list[str]) -> HookRunner:
        hooks = _parse(getattr(settings, "hooks", {}) or {}, notices)
        runner = cls(hooks, root, list(settings.env_allow))
        if not runner.project_approved:
            count = len(project_value(hooks))
            notices.append(f"This repository's config defines {count} hook(s); they run only after you "
                           "approve them: /hooks shows them, /hooks approve runs them from now on.")
        return runner

    def active(self, event: str, tool_name: str | None = None) -> list[Hook]:
        return [h for h in self.all if h.event == event and h.matches(tool_name)
                and (h.origin != "project" or self.project_approved)]

    def approve(self) -> str:
        value = project_value(self.all)
        if not value:
            return "This repository's config defines no hooks."
        self.approvals.approve("hooks", value)
        self.project_approved = True
        return f"Approved this repository's {len(value)} hook(s); they run from now on."

    def listing(self) -> str:
        if not self.all:
            return "No hooks configured. Add [[hooks.EVENT]] entries to your config.toml."
        lines = []
        for h in self.all:
            state = "" if h.origin != "project" else (" (repository, approved)" if self.project_approved
                                                      else " (repository, NOT approved: /hooks approve)")
            lines.append(f"{h.event} [{h.matcher}]{state}: {h.command}")
        return "\n".join(lines)

    async def run(self, event: str, payload: dict[str, Any], tool_name: str | None = None) -> HookResult:
        """Run every matching hook in order; the first block wins and stops the rest."""
        result = HookResult()
        hooks = self.active(event, tool_name)
        if not hooks:
            return result
        data = json.dumps({"event": event, "session_id": self.session_id, "cwd": str(self.root), **payload},
                          ensure_ascii=False, default=str).encode()
        for hook in hooks:
            await self._one(hook, data, result)
            if result.blocked:
                break
        return result

    async def _one(self, hook: Hook, data: bytes, result: HookResult) -> None:
        from de_agent.security.env import clean_env, redact

        label = f"{hook.event} hook `{hook.command[:80]}`"
        try:
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh", "-c", hook.command, cwd=str(self.root), env=clean_env(self.env_allow),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                start_new_session=True)
        except OSError as exc:
            result.notices.append(f"{label} could not start: {exc}")
            return
        try:
            out, err = await asyncio.wait_for(proc.communicate(data), hook.timeout_s)
        except (TimeoutError, asyncio.CancelledError) as exc:
            kill_group(proc)
            await proc.wait()
            if isinstance(exc, asyncio.CancelledError):
                raise
            result.notices.append(f"{label} timed out after {hook.timeout_s:g} s and was stopped; "
                                  "the step went on without it.")
            return
        stdout = redact(out.decode("utf-8", "replace")).strip()
        stderr = redact(err.decode("utf-8", "replace")).strip()
        if proc.returncode == BLOCK_EXIT:
            result.blocked = True
            result.reason = (stderr or stdout or f"blocked by {label}")[:MAX_REASON]
            return
        answer = _json_object(stdout)
        if proc.returncode != 0:
            tail = " / ".join(stderr.splitlines()[-3:])
            result.notices.append(f"{label} failed (exit {proc.returncode})" + (f": {tail}" if tail else ""))
            return
        if answer.get("decision") == "block":
            result.blocked = True
            result.reason = str(answer.get("reason") or f"blocked by {label}")[:MAX_REASON]
            return
        extra = answer.get("additionalContext")
        if isinstance(extra, str) and extra.strip():
            result.context.append(extra.strip()[:MAX_REASON])


def _json_object(text: str) -> dict[str, Any]:
    if not text.startswith("{"):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

