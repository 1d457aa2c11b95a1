"""dbt connection discovery: the project's profile and target, the person's ``profiles.yml``.

``dbt_project.yml`` names a profile; ``profiles.yml`` is looked up in ``DBT_PROFILES_DIR``
and then ``~/.dbt/``. A ``profiles.yml`` inside the repository is used only when
``DBT_PROFILES_DIR`` points at it: a repository must not be able to choose the host that
the person's credentials are sent to. Values are rendered with Jinja in a sandbox that
knows ``env_var(name, default)`` (and dbt's ``as_number``/``as_bool`` filters) only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ProfileError(ValueError):
    """profiles.yml or dbt_project.yml cannot give a connection; the message says why."""


@dataclass
class DbtTarget:
    profile: str
    target: str
    outputs: dict[str, Any]
    profiles_file: Path
    targets: list[str]


def _render_env(value: Any, environ: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _render_env(v, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_env(v, environ) for v in value]
    if not isinstance(value, str) or "{{" not in value and "{%" not in value:
        return value
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    def env_var(name: str, default: Any = None) -> Any:
        if name in environ:
            return environ[name]
        if default is None:
            raise ProfileError(f"env_var('{name}') is not set and has no default")
        return default

    env = SandboxedEnvironment()
    env.globals = {"env_var": env_var}
    env.filters["as_number"] = lambda v: float(v) if "." in str(v) else int(v)
    env.filters["as_bool"] = lambda v: str(v).strip().lower() in ("true", "1", "yes")
    env.filters["as_text"] = str
    try:
        text = env.from_string(value).render()
    except TemplateError as exc:
        raise ProfileError(f"cannot render {value!r}: {exc}") from None
    return int(text) if text.isdigit() else text


def project_profile(root: Path) -> tuple[str, Path] | None:
    """(profile name, project folder) of the dbt project at the repository root or one level down."""
    candidates = [root / "dbt_project.yml"] + sorted(root.glob("*/dbt_project.yml"))
    for path in candidates:
        if not path.is_file():
            continue
        try:
            conf = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ProfileError(f"{path}: {exc}") from None
        if isinstance(conf, dict) and isinstance(conf.get("profile"), str):
            return conf["profile"], path.parent
    return None


def profiles_file(root: Path, environ: dict[str, str]) -> Path | None:
    """The profiles.yml dbt would read for this person (never a repository copy by default)."""
    if environ.get("DBT_PROFILES_DIR"):
        path = Path(environ["DBT_PROFILES_DIR"]).expanduser() / "profiles.yml"
        return path if path.is_file() else None
    home = Path(environ.get("HOME") or Path.home())
    path = home / ".dbt" / "profiles.yml"
    return path if path.is_file() else None


def load_target(root: Path, environ: dict[str, str] | None = None, target: str | None = None) -> DbtTarget | None:
    """The dbt target the repository's project would use, rendered; None without a dbt project."""
    environ = dict(os.environ if environ is None else environ)
    found = project_profile(root)
    if found is None:
        return None
    profile, _project_dir = found
    path = profiles_file(root, environ)
    if path is None:
        raise ProfileError(f"dbt profile '{profile}' is named by dbt_project.yml but no profiles.yml was found "
                           "(looked in DBT_PROFILES_DIR and ~/.dbt/)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: {exc}") from None
    entry = data.get(profile) if isinstance(data, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("outputs"), dict):
        raise ProfileError(f"{path}: no profile '{profile}' with outputs")
    name = target or environ.get("DBT_TARGET") or _render_env(entry.get("target", "default"), environ)
    outputs = entry["outputs"]
    if name not in outputs:
        raise ProfileError(f"{path}: profile '{profile}' has no target '{name}' "
                           f"(it has {', '.join(sorted(outputs)) or 'none'})")
    return DbtTarget(profile, str(name), _render_env(outputs[name], environ), path, sorted(outputs))
