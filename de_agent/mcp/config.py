"""``[mcp_servers.NAME]`` tables turned into checked server specifications.

Keys: ``command``/``args``/``env``/``cwd`` (stdio) or ``url``/``headers`` (Streamable
HTTP); ``enabled``; ``tools`` (allow list) and ``deny_tools``; ``trust`` (the person trusts
every tool of the server; only from the user's own config); ``startup_timeout_s``;
``tool_timeout_s``. Secret values come only from named environment variables: a value may
say ``${NAME}``, replaced from de-agent's environment; a literal value under a secret-looking
name (or an ``Authorization`` header) is refused.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from typing import Any

from de_agent.security.env import is_secret_name

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KNOWN = {"command", "args", "env", "cwd", "url", "headers", "enabled", "tools", "deny_tools", "trust",
          "startup_timeout_s", "tool_timeout_s", "origin", "source"}
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class ServerConfigError(ValueError):
    pass


@dataclass
class ServerSpec:
    name: str
    origin: str = "user"  # user | project
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # as written (with ${VAR} references)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    trust: bool = False
    startup_timeout_s: float = 30.0
    tool_timeout_s: float = 120.0
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"

    def tool_allowed(self, tool: str) -> bool:
        if self.allow and not any(fnmatch.fnmatchcase(tool, p) for p in self.allow):
            return False
        return not any(fnmatch.fnmatchcase(tool, p) for p in self.deny)

    def approval_value(self) -> dict[str, Any]:
        """What a person approves for a repository's server (any change voids the approval)."""
        return {k: v for k, v in self.raw.items() if k not in ("origin", "source")}

    def describe(self) -> str:
        if self.url:
            return self.url
        return " ".join([self.command or "", *self.args]).strip()


def _strs(value: Any, key: str, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ServerConfigError(f"mcp_servers.{name}.{key} must be a list of strings")
    return value


def _table(value: Any, key: str, name: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ServerConfigError(f"mcp_servers.{name}.{key} must be a table of strings")
    for k, v in value.items():
        secretish = is_secret_name(k) or k.lower() in ("authorization", "proxy-authorization", "cookie")
        if secretish and v and not _VAR.fullmatch(v.replace("Bearer ", "", 1).strip()):
            raise ServerConfigError(
                f"mcp_servers.{name}.{key}.{k} holds a literal secret; write \"${{VARNAME}}\" and set the "
                "value in that environment variable instead")
    return dict(value)


def parse_spec(name: str, table: dict[str, Any]) -> ServerSpec:
    if not _NAME.match(name):
        raise ServerConfigError(f"mcp_servers.{name}: a server name may use letters, digits, _ and - only")
    unknown = set(table) - _KNOWN
    if unknown:
        raise ServerConfigError(f"mcp_servers.{name}: unknown key(s) {', '.join(sorted(unknown))}")
    spec = ServerSpec(name=name, origin=str(table.get("origin", "user")), raw=dict(table))
    spec.command, spec.url = table.get("command"), table.get("url")
    if bool(spec.command) == bool(spec.url):
        raise ServerConfigError(f"mcp_servers.{name}: give either command (stdio) or url (HTTP)")
    if spec.command is not None and not isinstance(spec.command, str):
        raise ServerConfigError(f"mcp_servers.{name}.command must be a string")
    if spec.url is not None and not str(spec.url).startswith(("http://", "https://")):
        raise ServerConfigError(f"mcp_servers.{name}.url must be an http(s) URL")
    spec.args = _strs(table.get("args", []), "args", name)
    spec.env = _table(table.get("env", {}), "env", name)
    spec.headers = _table(table.get("headers", {}), "headers", name)
    spec.cwd = table.get("cwd")
    spec.enabled = bool(table.get("enabled", True))
    spec.allow = _strs(table.get("tools", []), "tools", name)
    spec.deny = _strs(table.get("deny_tools", []), "deny_tools", name)
    # Trust comes from the person, never from the repository's own file.
    spec.trust = bool(table.get("trust", False)) and spec.origin == "user"
    try:
        spec.startup_timeout_s = float(table.get("startup_timeout_s", 30.0))
        spec.tool_timeout_s = float(table.get("tool_timeout_s", 120.0))
    except (TypeError, ValueError) as exc:
        raise ServerConfigError(f"mcp_servers.{name}: timeouts must be numbers") from exc
    return spec


def expand(value: str, environ: dict[str, str] | None = None) -> str:
    """``${NAME}`` references replaced from the environment ('' when unset)."""
    env = os.environ if environ is None else environ
    return _VAR.sub(lambda m: env.get(m.group(1), ""), value)


def missing_vars(spec: ServerSpec, environ: dict[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    names = {m.group(1) for v in [*spec.env.values(), *spec.headers.values()] for m in _VAR.finditer(v)}
    return sorted(n for n in names if n not in env)
