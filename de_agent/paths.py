"""Every folder de-agent keeps state in, in one place; ``DE_AGENT_HOME`` relocates them all."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def home() -> Path:
    """The user state folder: ``$DE_AGENT_HOME`` or the platform's user data folder."""
    override = os.environ.get("DE_AGENT_HOME")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("de-agent", appauthor=False))


def user_config_file() -> Path:
    override = os.environ.get("DE_AGENT_HOME")
    if override:
        return Path(override).expanduser() / "config.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir("de-agent", appauthor=False)) / "config.toml"


def project_config_file(root: Path) -> Path:
    return root / ".de-agent" / "config.toml"


def sessions_dir() -> Path:
    return home() / "sessions"


def memory_dir() -> Path:
    return home() / "memory"


def approvals_dir() -> Path:
    return home() / "approvals"


def user_themes_dir() -> Path:
    return home() / "themes"


def history_file() -> Path:
    return home() / "history.txt"


def repo_key(root: Path) -> str:
    """A stable, filesystem-safe key for a repository root."""
    resolved = str(Path(root).resolve())
    digest = hashlib.sha256(resolved.encode()).hexdigest()[:16]
    return f"{Path(resolved).name or 'root'}-{digest}"
