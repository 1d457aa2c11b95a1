"""What the person approved of a repository's extensions, kept in the user state folder.

A repository's ``.de-agent/config.toml`` is code from whoever can commit to it: its MCP
servers and hooks run only once the person approved them for that repository, and an
approval holds for the exact text approved (a SHA-256 of it), so any change voids it. The
same holds for its ``.de-agent/commands/`` and ``.de-agent/skills/`` folders (a hash of every
file in them): text that would reach the model as the person's request or in the system
prompt.
Trusted MCP tools ("always" answers) are kept here too. One file per repository::

    $DE_AGENT_HOME/approvals/<repo key>.extensions.json
    {"repository": "/path", "approved": {"mcp:dbt": "<sha256>", "hooks": "<sha256>",
                                         "commands": "<sha256>", "skills": "<sha256>"},
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


MAX_TREE_BYTES = 5_000_000


def tree_fingerprint(folder: Path) -> str:
    """A hash of every file below a folder (paths and contents): what approving it covers."""
    digest = hashlib.sha256()
    budget = MAX_TREE_BYTES
    for path in sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        try:
            data = path.read_bytes()[:max(budget, 0)] if not path.is_symlink() else b"->" + str(
                path.readlink()).encode()
        except OSError:
            data = b"?"
        budget -= len(data)
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


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

    def folder_approved(self, key: str, folder: Path) -> bool:
        """Whether the person approved this folder's exact content (False when it is absent)."""
        return folder.is_dir() and self._load().get("approved", {}).get(key) == tree_fingerprint(folder)

    def approve_folder(self, key: str, folder: Path) -> None:
        with _lock:
            data = self._load()
            data.setdefault("approved", {})[key] = tree_fingerprint(folder)
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
