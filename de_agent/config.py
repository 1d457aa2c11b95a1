"""Settings: one typed object built from layers.

Order (later wins): defaults, the user TOML file, the project's ``.de-agent/config.toml``,
``DE_AGENT_*`` environment variables, then command-line flags. API keys are never read
from files here: litellm reads them from the environment.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from de_agent import paths
from de_agent.protocol import APPROVAL_MODES as _MODES

APPROVAL_MODES = _MODES  # one list, in protocol.py
SANDBOX_MODES = ("auto", "bwrap", "none")
OUTPUT_FORMATS = ("text", "json", "stream-json")


class ConfigError(ValueError):
    """A setting has a bad value; the message names the setting and where it came from."""


@dataclass
class Settings:
    model: str = "openai/gpt-4o"
    """Any litellm model name."""
    api_base: str | None = None
    """Base URL for OpenAI-compatible or self-hosted endpoints."""
    image_model: str = ""
    """litellm image model for ImageGenerator (e.g. openai/gpt-image-1); '' turns it off."""
    image_api_base: str | None = None
    """Base URL for image generation; defaults to api_base."""
    vision: str = "auto"
    """Send images to the model: auto (the price list or the model family says; see engine/vision.py) | on | off."""
    approval_mode: str = "default"
    """default | auto-edit | plan | yolo."""
    max_turns: int = 50
    """Stop a task after this many model calls."""
    sandbox: str = "auto"
    """auto | bwrap | none."""
    sandbox_network: bool = False
    """Let sandboxed commands reach the network."""
    theme: str = "dark"
    """A theme from themes/ or the user theme folder."""
    shell_timeout_s: float = 120.0
    """Default timeout of a Shell call."""
    env_allow: list[str] = field(default_factory=list)
    """Secret-looking environment variables that commands may still see."""
    request_timeout_s: float = 120.0
    """Timeout of one model request."""
    max_retries: int = 4
    """Retries of a model request on rate limits, 5xx and timeouts."""
    retry_base_delay_s: float = 1.0
    """First backoff delay; doubled on each retry."""
    context_window: int = 128_000
    """Fallback context window when the model's is unknown."""
    auto_commit: bool = False
    """Commit each turn's changes to git."""
    web_allow_private: bool = False
    """Let WebFetch reach private, loopback and link-local addresses."""
    search_backend: str = ""
    """GoogleSearch backend: '' (off), 'google' or a SearXNG URL."""
    google_search_url: str = "https://www.googleapis.com/customsearch/v1"
    """Endpoint of the Google Programmable Search JSON API (overridable for tests and proxies)."""
    web_allowed_hosts: list[str] = field(default_factory=list)
    """Host names or addresses (CIDR allowed) WebFetch may reach even though they are private."""
    web_timeout_s: float = 20.0
    """Time limit of one WebFetch or GoogleSearch request."""
    web_max_bytes: int = 2_000_000
    """WebFetch reads at most this many bytes of a response body."""
    data_timeout_s: float = 120.0
    """Time limit of one RunSQL, ProfileData or ScanPII call."""
    stream: bool = True
    """Stream model replies."""
    connection: str = ""
    """Default connection for RunSQL/ProfileData/ListTables ('' = the dbt target, else repository files)."""
    max_scan_bytes: int = 10 * 1024**3
    """A warehouse query the engine estimates to scan more than this asks first (every mode but yolo)."""
    session_scan_budget_bytes: int = 100 * 1024**3
    """Estimated bytes all warehouse queries of one session may scan before each further one asks."""
    connections: dict = field(default_factory=dict, repr=False)
    """Not a flat setting: ``[connections.NAME]`` tables of the user config (never the repository's)."""
    warnings: list[str] = field(default_factory=list, repr=False)
    """Not a setting: what loading the layers had to say (shown to the person as notices)."""
    max_handoff_depth: int = 1
    """How many levels of specialists may hand off below the main agent (0: no Handoff at all)."""
    max_parallel_handoffs: int = 3
    """How many read-only specialists may run at the same time."""
    specialist_max_turns: int = 20
    """Model calls a specialist may make when its file does not say (never more than max_turns)."""
    mcp_servers: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    """The [mcp_servers.NAME] tables, each with "origin" ("user" or "project") added."""
    hooks: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    """The [[hooks.EVENT]] entries, each with "origin" added (see de_agent.extensions.hooks)."""
    ripgrep: str = "auto"
    """rg binary for SearchText/FindFiles: 'auto' (next to Python, then PATH), 'off' (pure Python) or a path."""

    def validate(self) -> Settings:
        if self.approval_mode not in APPROVAL_MODES:
            raise ConfigError(
                f"approval_mode must be one of {', '.join(APPROVAL_MODES)}, not {self.approval_mode!r}")
        if self.sandbox not in SANDBOX_MODES:
            raise ConfigError(f"sandbox must be one of {', '.join(SANDBOX_MODES)}, not {self.sandbox!r}")
        if self.max_turns < 1:
            raise ConfigError("max_turns must be at least 1")
        if not self.model:
            raise ConfigError("model must not be empty")
        return self


# Tables, not flat settings: taken out of each layer before the flat keys are applied.
_TABLES = ("connections", "mcp_servers", "hooks")
_FIELDS = {f.name: f for f in fields(Settings) if f.name not in ("warnings", *_TABLES)}

# A repository's own config file comes with the code, from anyone who could commit to it:
# it may tighten these settings but never loosen them.
_STRICTNESS = {"approval_mode": ("plan", "default", "auto-edit", "yolo"), "sandbox": ("bwrap", "auto", "none")}


def _looser(order: tuple[str, ...]):
    def check(new: Any, current: Any) -> bool:
        rank = {v: i for i, v in enumerate(order)}
        return new in rank and rank[new] > rank.get(current, 0)  # a bad value fails validation

    return check


def _widens(new: Any, current: Any) -> bool:
    return bool(new) and new != current


# (new value, value so far) -> True when the project file would loosen what the person chose.
_LOOSENING = {
    "approval_mode": _looser(_STRICTNESS["approval_mode"]),
    "sandbox": _looser(_STRICTNESS["sandbox"]),
    "sandbox_network": _widens,
    "env_allow": lambda new, cur: bool(set(new) - set(cur)),
    "web_allow_private": _widens,
    "web_allowed_hosts": lambda new, cur: bool(set(new) - set(cur)),
    "auto_commit": _widens,
    # The program SearchText/FindFiles run (unasked, unsandboxed) and where API keys are sent.
    "ripgrep": lambda new, cur: new not in ("auto", "off", "") and new != cur,
    "api_base": _widens,
    "image_api_base": _widens,
    "model": lambda new, cur: "://" in new and new != cur,  # the endpoint can hide in the name
    "google_search_url": lambda new, cur: new != cur,
    "max_scan_bytes": lambda new, cur: new > cur,
    "session_scan_budget_bytes": lambda new, cur: new > cur,
}


# The only keys a repository's own config may set (an allow-list: a new setting stays out of
# a repository's reach until it is judged safe there). Every other key, unknown keys
# included, is ignored with a notice; approval_mode, sandbox, model and ripgrep are further
# checked by _LOOSENING. Extension tables ([mcp_servers], [[hooks]]) are taken out before
# this list applies: a repository may declare them, and they run only once the person
# approved them (see _take_tables).
REPO_KEYS = frozenset({"model", "approval_mode", "sandbox", "max_turns", "theme", "shell_timeout_s",
                       "request_timeout_s", "max_retries", "retry_base_delay_s", "context_window",
                       "web_timeout_s", "web_max_bytes", "data_timeout_s", "stream", "ripgrep",
                       # warehouses: a repository may name a connection (never define one) and
                       # lower the scan limits (_LOOSENING refuses raising them)
                       "connection", "max_scan_bytes", "session_scan_budget_bytes",
                       "specialist_max_turns"})


def _coerce(name: str, value: Any, source: str) -> Any:
    f = _FIELDS[name]
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "bool":
            if isinstance(value, str):
                low = value.strip().lower()
                if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(value)
                return low in ("1", "true", "yes", "on")
            return bool(value)
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind.startswith("list"):
            if isinstance(value, str):
                return [v.strip() for v in value.split(",") if v.strip()]
            return [str(v) for v in value]
        return None if value is None else str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {name} has a bad value {value!r}") from exc


def _apply(settings: Settings, data: dict[str, Any], source: str, *, project: bool = False) -> None:
    for key, value in data.items():
        name = key.replace("-", "_")
        if project and name not in REPO_KEYS:
            if name in _FIELDS:
                try:
                    if _coerce(name, value, source) == getattr(settings, name):
                        continue  # repeats what the person already chose
                except ConfigError:
                    pass
                what = "a setting a repository's config may not set: it cannot loosen security"
            else:
                what = "an unknown setting"
            settings.warnings.append(f"{source}: ignored {key!r}, {what} (set it in your user config, "
                                     "the environment or a flag)")
            continue
        if name not in _FIELDS:
            raise ConfigError(f"{source}: unknown setting {key!r}")
        try:
            value = _coerce(name, value, source)
        except ConfigError as exc:
            if not project:
                raise
            settings.warnings.append(f"{exc}; ignored")
            continue
        if project and name in _STRICTNESS and value not in _STRICTNESS[name]:
            settings.warnings.append(f"{source}: ignored {name} = {value!r}, not one of "
                                     f"{', '.join(_STRICTNESS[name])}")
            continue
        if project and name in _LOOSENING and _LOOSENING[name](value, getattr(settings, name)):
            settings.warnings.append(
                f"{source}: ignored {name} = {value!r}; a repository's config cannot loosen security "
                "(set it in your user config, the environment or a flag)")
            continue
        setattr(settings, name, value)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _connection_tables(data: Any, source: str) -> dict[str, dict[str, Any]]:
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError(f"{source}: [connections] must hold one table per connection ([connections.NAME])")
    from de_agent.security.env import mark_secret_name

    for table in data.values():
        for key, value in table.items():
            if key.endswith("_env") and isinstance(value, str):
                mark_secret_name(value)  # never passed to commands, redacted from what is written
    return {str(k): dict(v) for k, v in data.items()}


def _take_tables(settings: Settings, data: dict[str, Any], source: str, origin: str) -> None:
    """Move the extension tables out of a layer: MCP servers by name, hooks by event.

    A repository's config ("project" origin) may declare both: they are code from the
    repository, so they are marked with their origin and run only once the person approved
    them (``/mcp approve NAME``, ``/hooks approve``; see de_agent.mcp.client and
    de_agent.extensions.hooks), and its servers are never trusted (``trust`` is ignored).
    """
    servers = data.pop("mcp_servers", {})
    hooks = data.pop("hooks", {})
    if not isinstance(servers, dict) or not all(isinstance(v, dict) for v in servers.values()):
        raise ConfigError(f"{source}: mcp_servers must be tables, e.g. [mcp_servers.NAME]")
    if not isinstance(hooks, dict) or not all(isinstance(v, list) for v in hooks.values()):
        raise ConfigError(f"{source}: hooks must be arrays of tables, e.g. [[hooks.PreToolUse]]")
    for name, table in servers.items():
        if name in settings.mcp_servers:
            settings.warnings.append(f"{source}: ignored [mcp_servers.{name}]; a server of that name is "
                                     "already configured in your user config")
            continue
        settings.mcp_servers[name] = {**table, "origin": origin, "source": source}
    for event, entries in hooks.items():
        for entry in entries:
            if not isinstance(entry, dict):
                raise ConfigError(f"{source}: each [[hooks.{event}]] entry must be a table")
            settings.hooks.setdefault(event, []).append({**entry, "origin": origin})


def load_settings(root: Path, flags: dict[str, Any] | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    """Build the settings for a repository from every layer."""
    env = os.environ if environ is None else environ
    settings = Settings()
    user_data = _read_toml(paths.user_config_file())
    settings.connections = _connection_tables(user_data.pop("connections", {}), str(paths.user_config_file()))
    _take_tables(settings, user_data, str(paths.user_config_file()), "user")
    _apply(settings, user_data, str(paths.user_config_file()))
    project_file = paths.project_config_file(root)
    try:
        project_data = _read_toml(project_file)
        _take_tables(settings, project_data, str(project_file), "project")
    except ConfigError as exc:  # a repository's broken file never stops de-agent from starting
        settings.warnings.append(f"{exc}; the repository's config was ignored")
        project_data = {}
    if project_data.pop("connections", None) is not None:
        settings.warnings.append(f"{project_file}: ignored [connections]; a repository's config may name a "
                                 "connection (connection = \"NAME\") but never define one (hosts and secrets "
                                 "belong in your user config)")
    _apply(settings, project_data, str(project_file), project=True)
    env_layer = {k[len("DE_AGENT_"):].lower(): v for k, v in env.items()
                 if k.startswith("DE_AGENT_") and k[len("DE_AGENT_"):].lower() in _FIELDS}
    _apply(settings, env_layer, "environment")
    _apply(settings, {k: v for k, v in (flags or {}).items() if v is not None}, "command line")
    return settings.validate()
