"""Approval rules: "always" (saved per repository) and "for this session" (in memory).

A rule is the readable pattern the person was shown, e.g. ``pytest *`` or ``dbt run *``,
or an exact command. ``pytest *`` matches only a plain simple command whose words start
with ``pytest``: never a list, pipeline, background job, redirection, substitution,
variable expansion or assignment, so a rule never widens beyond what was shown. An exact
pattern matches that command text only. Deny-listed commands never match.

"Always" rules live in ``<approvals dir>/<repo key>.json``::

    {"repository": "/path/to/repo", "rules": [{"pattern": "pytest *", "added": "2025-..."}]}
"""

from __future__ import annotations

import json
import os
import shlex
from datetime import UTC, datetime
from pathlib import Path

from de_agent import paths
from de_agent.security import denylist, shparse


class RuleError(ValueError):
    """A pattern that cannot be saved (empty, or wider than a program)."""


def _fixed_words(pattern: str) -> list[str] | None:
    """The fixed words of a ``prog ... *`` pattern; None for an exact pattern."""
    text = pattern.strip()
    if not text.endswith(" *"):
        return None
    try:
        words = shlex.split(text[:-2])
    except ValueError:
        return None
    return words or None


def matches(pattern: str, command: str) -> bool:
    """Whether ``command`` fits ``pattern`` exactly in shape (see the module docstring)."""
    text = command.strip()
    if not text or denylist.deny_reason(text):
        return False
    fixed = _fixed_words(pattern)
    if fixed is None:
        return text == pattern.strip()
    cmd = shparse.only_simple(text)
    if cmd is None:
        return False
    return cmd.words[: len(fixed)] == fixed


def validate(pattern: str) -> str:
    text = pattern.strip()
    if not text or text in ("*", "* *"):
        raise RuleError("an approval rule must name a command; '*' would allow everything")
    if "\n" in text or "\x00" in text:
        raise RuleError("an approval rule is one line")
    if text.endswith(" *") and _fixed_words(text) is None:
        raise RuleError(f"cannot read the pattern {text!r}")
    return text


class ApprovalRules:
    """The rules of one repository: saved "always" rules plus this session's rules."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(os.path.realpath(root))
        self.file = paths.approvals_dir() / f"{paths.repo_key(self.root)}.json"
        self.session: list[str] = []
        self.problem = ""
        self._always: list[dict[str, str]] = self._load()

    def _load(self) -> list[dict[str, str]]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            self.problem = f"{self.file}: unreadable approval rules ignored ({exc})"
            return []
        rules = data.get("rules", []) if isinstance(data, dict) else []
        out = []
        for rule in rules:
            if isinstance(rule, dict) and isinstance(rule.get("pattern"), str):
                try:
                    out.append({"pattern": validate(rule["pattern"]), "added": str(rule.get("added", ""))})
                except RuleError:
                    continue
        return out

    @property
    def always(self) -> list[str]:
        return [r["pattern"] for r in self._always]

    def allows(self, command: str) -> bool:
        return any(matches(p, command) for p in (*self.always, *self.session))

    def matching(self, command: str) -> str | None:
        """The first rule that allows ``command`` (for "matches an approval rule: ...")."""
        return next((p for p in (*self.always, *self.session) if matches(p, command)), None)

    def add(self, pattern: str) -> None:
        """Save an "always" rule for this repository."""
        text = validate(pattern)
        if text in self.always:
            return
        self._always.append({"pattern": text, "added": datetime.now(UTC).isoformat(timespec="seconds")})
        self._save()

    def add_session(self, pattern: str) -> None:
        text = validate(pattern)
        if text not in self.session:
            self.session.append(text)

    def remove(self, pattern: str) -> bool:
        text = pattern.strip()
        before = len(self._always)
        self._always = [r for r in self._always if r["pattern"] != text]
        self.session = [p for p in self.session if p != text]
        if len(self._always) != before:
            self._save()
            return True
        return False

    def _save(self) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        data = {"repository": str(self.root), "rules": self._always}
        tmp = self.file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.file)
