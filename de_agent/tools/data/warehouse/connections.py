"""Connections by name: ``[connections.NAME]`` in the user config, or the repository's dbt target.

A resolved :class:`Connection` holds what the data worker needs to open it, secrets
included; it lives in the engine's memory and goes to the worker on its stdin only. What
the model, events, session files and the ledger ever see is :meth:`Connection.public`.
Secrets come only from environment variables the user config names (``password_env``,
``token_env``, ...) or from the person's own dbt ``profiles.yml``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from de_agent.tools.base import ToolError

LOCAL = "local"
# The connection types, their sqlglot dialect and the pip extra that brings the driver.
ENGINES: dict[str, tuple[str, str]] = {
    **{name: (name, name) for name in ("postgres", "spark", "snowflake", "bigquery", "databricks", "trino")},
    "duckdb": ("duckdb", "motherduck"),
    "motherduck": ("duckdb", "motherduck"),
}
_ALIASES = {"postgresql": "postgres", "redshift": "postgres", "pg": "postgres", "md": "motherduck",
            "sparksql": "spark", "sc": "spark"}
# Keys whose values are credentials, in dbt profiles and in our own options.
SECRET_KEYS = frozenset({"password", "pass", "token", "private_key", "private_key_passphrase", "keyfile_json",
                         "client_secret", "access_token", "motherduck_token", "refresh_token"})
_PROD = re.compile(r"(?i)(^|[^a-z])(prod|production|prd|live)([^a-z]|$)")
_CONFIG_ONLY = {"url", "type", "protected", "max_scan_bytes", "options", "timeout_s", "dbt"}


@dataclass
class Connection:
    name: str
    type: str
    params: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    target: str = ""
    source: str = ""
    protected: bool = False
    max_scan_bytes: int | None = None

    @property
    def dialect(self) -> str:
        return ENGINES[self.type][0]

    @property
    def extra(self) -> str:
        return ENGINES[self.type][1]

    def public(self) -> dict[str, Any]:
        """What may be shown anywhere: no secret, and no password inside a URL."""
        return {"name": self.name, "type": self.type, "target": self.target, "source": self.source,
                "protected": self.protected}

    def request(self) -> dict[str, Any]:
        """What the worker gets on its stdin to open the connection."""
        return {"name": self.name, "type": self.type, "params": self.params, "secrets": self.secrets,
                "target": self.target}

    def scrub(self, text: str) -> str:
        """text with every secret value of this connection replaced."""
        for value in self.secrets.values():
            if value and len(value) >= 3:
                text = text.replace(value, "***")
        return text


def engine_type(raw: str) -> str:
    kind = _ALIASES.get(raw.lower(), raw.lower())
    if kind not in ENGINES:
        raise ToolError(f"unsupported connection type {raw!r} (supported: {', '.join(sorted(ENGINES))})")
    return kind


def looks_prod(name: str) -> bool:
    return bool(_PROD.search(name))


def _from_url(url: str, source: str) -> tuple[str, dict[str, Any]]:
    parts = urlsplit(url)
    if parts.password:
        raise ToolError(f"{source}: the URL holds a password; put it in an environment variable and name that "
                        "variable with password_env")
    kind = engine_type(parts.scheme.split("+")[0]) if parts.scheme else ""
    params: dict[str, Any] = {}
    if parts.hostname:
        params["host"] = parts.hostname
    if parts.port:
        params["port"] = parts.port
    if parts.username:
        params["user"] = unquote(parts.username)
    path = unquote(parts.path.lstrip("/"))
    if path:
        params["path" if kind in ("duckdb", "motherduck", "spark") else "dbname"] = path
    for key, value in parse_qsl(parts.query):
        if key.lower() in SECRET_KEYS:
            raise ToolError(f"{source}: the URL holds a secret ({key}); name an environment variable "
                            f"with {key}_env instead")
        params[key] = value
    return kind, params


def from_config(name: str, table: dict[str, Any], environ: dict[str, str]) -> Connection:
    source = f"[connections.{name}]"
    params: dict[str, Any] = {}
    kind = ""
    if table.get("url"):
        kind, params = _from_url(str(table["url"]), source)
    if table.get("type"):
        kind = engine_type(str(table["type"]))
    if not kind:
        raise ToolError(f"{source}: give a url (postgresql://host/db, spark://local, ...) or a type")
    secrets: dict[str, str] = {}
    for key, value in table.items():
        if key in _CONFIG_ONLY:
            continue
        if key.endswith("_env"):
            var = str(value)
            if var not in environ:
                raise ToolError(f"{source}: {key} names the environment variable {var}, which is not set")
            secrets[key[: -len("_env")]] = environ[var]
        elif key.lower() in SECRET_KEYS:
            raise ToolError(f"{source}: {key} must not be written in the config; name an environment "
                            f"variable with {key}_env")
        else:
            params[key] = value
    params.update({k: v for k, v in (table.get("options") or {}).items() if k.lower() not in SECRET_KEYS})
    limit = table.get("max_scan_bytes")
    return Connection(name, kind, params, secrets, target=str(table.get("target", "")), source="config",
                      protected=bool(table.get("protected", False)) or looks_prod(name),
                      max_scan_bytes=int(limit) if limit is not None else None)


def from_dbt(root: Path, environ: dict[str, str], target: str | None = None) -> Connection | None:
    from de_agent.tools.data.warehouse.dbt_profiles import ProfileError, load_target

    try:
        found = load_target(root, environ, target)
    except ProfileError as exc:
        raise ToolError(f"dbt profile: {exc}") from None
    if found is None:
        return None
    outputs = dict(found.outputs)
    kind = engine_type(str(outputs.pop("type", "")) or "?")
    if kind == "duckdb" and str(outputs.get("path", "")).startswith("md:"):
        kind = "motherduck"
    secrets = {k: str(outputs.pop(k)) for k in list(outputs) if k.lower() in SECRET_KEYS and outputs[k] is not None}
    protected = looks_prod(found.target) or bool(outputs.pop("protected", False))
    return Connection(found.profile, kind, outputs, secrets, target=found.target,
                      source=f"dbt profile {found.profile} ({found.profiles_file})", protected=protected)


def resolve(name: str | None, settings: Any, root: Path, environ: dict[str, str] | None = None) -> Connection | None:
    """The connection a tool call names (or the default one); None means the repository's files.

    Names are looked up in ``[connections.NAME]``, then as ``dbt`` / ``dbt:TARGET``, then as the
    dbt profile's name or one of its targets. Without a name, the setting ``connection`` and then
    the dbt target are the default; a dbt project without a usable profile means local files.
    """
    environ = dict(os.environ if environ is None else environ)
    tables: dict[str, dict[str, Any]] = getattr(settings, "connections", {}) or {}
    wanted = (name or "").strip() or (getattr(settings, "connection", "") or "").strip()
    if wanted == LOCAL:
        return None
    if not wanted:
        try:
            return from_dbt(root, environ)
        except ToolError:
            return None
    if wanted in tables:
        return from_config(wanted, tables[wanted], environ)
    if wanted == "dbt" or wanted.startswith("dbt:"):
        conn = from_dbt(root, environ, wanted[4:] or None)
        if conn is None:
            raise ToolError("no dbt project (dbt_project.yml with a profile) in this repository")
        return conn
    try:
        default = from_dbt(root, environ)
    except ToolError:
        default = None
    if default is not None:
        if wanted == default.name:
            return default
        try:
            return from_dbt(root, environ, wanted)
        except ToolError:
            pass
    known = sorted(tables) + ([f"dbt:{default.target}"] if default else [])
    raise ToolError(f"unknown connection {wanted!r}; known: {', '.join(known) or 'none'} "
                    f"(add [connections.{wanted}] to your user config, or use '{LOCAL}' for repository files)")


def names(settings: Any, root: Path, environ: dict[str, str] | None = None) -> list[str]:
    """Every connection name a tool call may use, for tool descriptions and errors."""
    out = sorted(getattr(settings, "connections", {}) or {})
    try:
        dbt = from_dbt(root, dict(os.environ if environ is None else environ))
    except ToolError:
        dbt = None
    if dbt is not None:
        out.append(f"dbt:{dbt.target}")
    return out
