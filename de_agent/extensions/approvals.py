"""What the person approved of a repository's extensions, kept in the user state folder.

A repository's ``.de-agent/config.toml`` is code from whoever can commit to it: its MCP
servers and hooks run only once the person approved them for that repository, and an
approval holds for the exact text approved (a SHA-256 of it), so any change voids it.
Trusted MCP tools ("always" answers) are kept here too. One file per repository::

    $DE_AGENT_HOME/approvals/<repo key>.extensions.json
    {"repository": "/path", "approved": {"mcp:dbt": "<sha256>", "hooks": "<sha256>"},
     "trusted_tools": ["mcp__dbt__list_models"]}
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from de_agent import paths

_lock = threading.Lock()


def fingerprint(value: Any) -> str:
    """A stable hash of a config value (dicts are hashed with sorted keys)."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ExtensionApprovals:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.file = paths.approvals_dir() / f"{paths.repo_key(self.root)}.extensions.json"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, Any]) -> None:
        data["repository"] = str(self.root)
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.file)

    def is_approved(self, key: str, value: Any) -> bool:
        return self._load().get("approved", {}).get(key) == fingerprint(value)

    def approve(self, key: str, value: Any) -> None:
        with _lock:
            data = self._load()
            data.setdefault("approved", {})[key] = fingerprint(value)
            self._save(data)

    def trusted_tools(self) -> set[str]:
        return set(self._load().get("trusted_tools", []))

    def trust_tool(self, name: str) -> None:
        with _lock:
            data = self._load()
            tools = set(data.get("trusted_tools", []))
            tools.add(name)
            data["trusted_tools"] = sorted(tools)
            self._save(data)
