"""MCP servers the editor hands over with ``session/new`` and ``session/load``.

An editor (Zed, for one) passes the MCP servers the person configured there, and an agent is
expected to connect to them. They join the session's ``[mcp_servers]`` as the person's own
(origin ``user``, so no approval is asked; never trusted, so their tools ask like any other
untrusted MCP tool); a server of the same name in the person's config.toml wins.

The editor gives environment values and headers as plain text. A value under a secret-looking
name (``GITHUB_TOKEN``, an ``Authorization`` header) is kept in this process's environment
under a private secret name and the server's table refers to it (``${...}``), as a config file
would: the one redaction mask then hides it wherever it shows up (tool results, sessions,
events), and commands never get it. A value that itself says ``${...}`` is refused, since it
would be filled from de-agent's own environment.
"""

from __future__ import annotations

import os
import re
from typing import Any

from de_agent.security.env import is_secret_name

SOURCE = "the editor (ACP)"
_SECRET_VAR = "DE_AGENT_EDITOR_SECRET_{}"
_secret_vars: dict[str, str] = {}  # value -> its variable: the same server config gives the same table


def add_editor_servers(settings: Any, servers: list[Any] | None) -> None:
    """Add the editor's servers to ``settings.mcp_servers``; what cannot be used becomes a notice."""
    for server in servers or []:
        # Tool names are mcp__NAME__TOOL: the name keeps to letters, digits, _ and -.
        name = re.sub(r"[^A-Za-z0-9_-]", "_", str(getattr(server, "name", "") or ""))[:40] or "editor"
        try:
            table = _table(server)
        except ValueError as exc:
            settings.warnings.append(f"{SOURCE}: MCP server {name!r} not used: {exc}")
            continue
        if name in settings.mcp_servers:
            settings.warnings.append(f"{SOURCE}: MCP server {name!r} not used; your config.toml has a server "
                                     "of that name")
            continue
        settings.mcp_servers[name] = {**table, "origin": "user", "source": SOURCE}


def _table(server: Any) -> dict[str, Any]:
    kind = getattr(server, "type", None) or ("http" if getattr(server, "url", None) else "stdio")
    if kind == "stdio":
        return {"command": server.command, "args": list(server.args),
                "env": _values({v.name: v.value for v in server.env or []})}
    if kind == "http":
        return {"url": server.url, "headers": _values({h.name: h.value for h in server.headers or []})}
    raise ValueError(f"the {kind} transport is not supported (stdio and HTTP are)")


def _values(given: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in given.items():
        if "${" in value:
            raise ValueError(f"{key}: a value may not refer to de-agent's environment (${{...}})")
        secret = is_secret_name(key) or key.lower() in ("authorization", "proxy-authorization", "cookie")
        if secret and value:
            var = _secret_vars.setdefault(value, _SECRET_VAR.format(len(_secret_vars) + 1))
            os.environ[var] = value
            value = "${" + var + "}"
        out[key] = value
    return out
