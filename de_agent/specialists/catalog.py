"""Specialists as files: Markdown with a front matter (name, description, tools, model?, max_turns?).

Three layers, later ones overriding earlier ones by name: the set shipped in this package,
the person's own in ``$DE_AGENT_HOME/specialists/``, and the repository's in
``.de-agent/specialists/``. A repository's file is untrusted content: it may narrow tools,
never widen them (no tool a shipped or personal specialist of the same name lacks, never
LocalShell, no approval settings), and its body reaches the model marked as untrusted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

# Tools that change files or run commands: a specialist without them is read-only.
WRITE_TOOLS = frozenset({"Edit", "WriteFile", "Shell", "LocalShell", "ImageGenerator"})
# What a repository's specialist may never have, whatever it asks for (runs outside the sandbox).
REPO_FORBIDDEN = frozenset({"LocalShell"})
# Read tools a new repository specialist may use (it cannot grant itself more).
REPO_DEFAULT_TOOLS = frozenset({"FindFiles", "ReadFolder", "ReadFile", "ReadManyFiles", "SearchText",
                                "update_plan", "SQLLineage", "ProfileData", "ScanPII", "ListTables", "DescribeTable"})
KNOWN_KEYS = frozenset({"name", "description", "tools", "model", "max_turns"})
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,48}$")
SOURCES = ("builtin", "user", "repository")


@dataclass(frozen=True)
class Specialist:
    name: str
    description: str
    tools: tuple[str, ...]
    prompt: str  # the file's body: its system prompt
    source: str = "builtin"  # builtin | user | repository
    path: str = ""
    model: str | None = None
    max_turns: int | None = None

    @property
    def read_only(self) -> bool:
        return not (set(self.tools) & WRITE_TOOLS)

    @property
    def untrusted(self) -> bool:
        return self.source == "repository"


@dataclass
class Catalog:
    """The specialists available in one repository, by name, and what loading them said."""

    specialists: dict[str, Specialist] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def get(self, name: str) -> Specialist | None:
        return self.specialists.get(name.strip().lstrip("@").lower())

    def names(self) -> list[str]:
        return sorted(self.specialists)

    def __len__(self) -> int:
        return len(self.specialists)

    def describe(self) -> str:
        """One line per specialist (name, read-only or not, where it comes from, when to use it)."""
        lines = []
        for name in self.names():
            s = self.specialists[name]
            access = "read-only" if s.read_only else "edits"
            lines.append(f"@{name} ({access}, {s.source}): {s.description}")
        return "\n".join(lines)


class SpecialistFileError(ValueError):
    pass


def parse_specialist(text: str, *, source: str = "builtin", path: str = "") -> tuple[Specialist, list[str]]:
    """A specialist from a file's text, and warnings about keys it ignored."""
    import yaml

    match = re.match(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)(.*)\Z", text, re.S)
    if not match:
        raise SpecialistFileError("no front matter (a block between two '---' lines at the top)")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise SpecialistFileError(f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise SpecialistFileError("front matter must be a mapping")
    name = str(meta.get("name") or "").strip().lower()
    if not NAME_RE.match(name):
        raise SpecialistFileError(f"name {name!r} must be lower-case letters, digits, '-' or '_'")
    description = " ".join(str(meta.get("description") or "").split())
    if not description:
        raise SpecialistFileError("description (when to use it) is required")
    tools = meta.get("tools")
    if isinstance(tools, str):
        tools = [t.strip() for t in tools.split(",")]
    if not isinstance(tools, list) or not tools or not all(isinstance(t, str) and t for t in tools):
        raise SpecialistFileError("tools must be a non-empty list of tool names")
    max_turns = meta.get("max_turns")
    if max_turns is not None and (not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1):
        raise SpecialistFileError("max_turns must be a positive whole number")
    model = meta.get("model")
    warnings = [f"{path or name}: ignored key {key!r} (a specialist file may set only "
                f"{', '.join(sorted(KNOWN_KEYS))})" for key in meta if key not in KNOWN_KEYS]
    body = match.group(2).strip()
    spec = Specialist(name=name, description=description, tools=tuple(dict.fromkeys(tools)), prompt=body,
                      source=source, path=path, model=str(model) if model else None, max_turns=max_turns)
    return spec, warnings


def narrow_repository(spec: Specialist, ceiling: Specialist | None) -> tuple[Specialist, list[str]]:
    """A repository specialist cut down to what it may have: never more than ``ceiling`` (the
    shipped or personal one of the same name) or, when new, the read tools; never LocalShell."""
    allowed = set(ceiling.tools) if ceiling is not None else set(REPO_DEFAULT_TOOLS)
    allowed -= REPO_FORBIDDEN
    kept = tuple(t for t in spec.tools if t in allowed)
    dropped = [t for t in spec.tools if t not in allowed]
    warnings = []
    if dropped:
        warnings.append(f"{spec.path or spec.name}: a repository specialist cannot widen its tools; "
                        f"dropped {', '.join(dropped)}")
    if not kept:
        kept = tuple(t for t in (ceiling.tools if ceiling else ("ReadFile", "SearchText")) if t in allowed)
    from dataclasses import replace

    return replace(spec, tools=kept), warnings


def _files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.glob("*.md") if p.is_file())
    except OSError:
        return []


def _builtin_texts() -> list[tuple[str, str]]:
    folder = resources.files("de_agent.specialists")
    return sorted((entry.name, entry.read_text(encoding="utf-8")) for entry in folder.iterdir()
                  if entry.name.endswith(".md"))


def load_catalog(root: Path | None = None, *, user_dir: Path | None = None) -> Catalog:
    """The shipped specialists, then the person's, then the repository's (narrowed)."""
    from de_agent import paths

    catalog = Catalog()
    layers: list[tuple[str, list[tuple[str, str]]]] = [("builtin", _builtin_texts())]
    user_folder = user_dir if user_dir is not None else paths.home() / "specialists"
    layers.append(("user", [(str(p), _read(p)) for p in _files(user_folder)]))
    if root is not None:
        layers.append(("repository", [(str(p), _read(p)) for p in _files(Path(root) / ".de-agent" / "specialists")]))
    for source, entries in layers:
        for path, text in entries:
            try:
                spec, warnings = parse_specialist(text, source=source, path=path)
            except SpecialistFileError as exc:
                catalog.warnings.append(f"specialist {path} skipped: {exc}")
                continue
            if source == "repository":
                spec, more = narrow_repository(spec, catalog.specialists.get(spec.name))
                warnings += more
            catalog.warnings.extend(warnings)
            catalog.specialists[spec.name] = spec
    return catalog


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def parse_direct(text: str, catalog: Catalog) -> tuple[Specialist, str] | None:
    """``@name task`` typed at the prompt: the specialist and the task, when the name is known."""
    match = re.match(r"\A\s*@([A-Za-z0-9_-]+)\s+(.+)\Z", text, re.S)
    if not match:
        return None
    spec = catalog.get(match.group(1))
    return (spec, match.group(2).strip()) if spec is not None else None


def follow_up(text: str, catalog: Catalog) -> dict[str, str] | None:
    """The follow-up a final answer names on its last ``Handoff: @name task`` line, if the name is known."""
    for line in reversed(text.strip().splitlines()):
        match = re.match(r"^\s*[*_]*handoff[*_]*\s*:[*_]*\s*[*_`]*@([A-Za-z0-9_-]+)[*_`]*\s*[-—:]*\s*(.+)$", line, re.I)
        if match and catalog.get(match.group(1)) is not None:
            return {"specialist": catalog.get(match.group(1)).name,  # type: ignore[union-attr]
                    "task": match.group(2).strip()}
    return None


def as_dict(spec: Specialist) -> dict[str, Any]:
    return {"name": spec.name, "description": spec.description, "tools": list(spec.tools),
            "read_only": spec.read_only, "source": spec.source}
