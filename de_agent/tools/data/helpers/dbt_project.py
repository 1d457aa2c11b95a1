"""Finding dbt projects in a repository, their settings, their files, and a fresh dbt manifest.

A folder may hold one project or several (a monorepo): with several, the caller must say
which (the ``project`` parameter) and is told the choices; it never silently analyses none.
Folders dbt itself ignores (``target``, ``dbt_packages``, ``logs``, virtual environments)
are skipped by their path *inside the project*, so a project that happens to live under a
folder named ``logs`` is still read.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from de_agent.tools.base import ToolError
from de_agent.workspace import ConfinementError, Workspace

SKIP_DIRS = {".git", "target", "dbt_packages", "dbt_modules", "node_modules", "logs", "__pycache__", ".venv",
             "venv"}
MAX_DEPTH = 4


@dataclass
class Project:
    root: str
    name: str
    model_paths: list[str]
    seed_paths: list[str]
    snapshot_paths: list[str]
    macro_paths: list[str] = field(default_factory=lambda: ["macros"])
    vars: dict[str, Any] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)


def load_yaml(ws: Workspace, rel: str) -> Any:
    import yaml

    from de_agent.tools.data.lineage import read_text

    return yaml.safe_load(read_text(ws, rel))


def _candidates(ws: Workspace, base: Path) -> list[Path]:
    if (base / "dbt_project.yml").is_file():
        return [base / "dbt_project.yml"]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(base):
        depth = len(Path(dirpath).relative_to(base).parts)
        # "logs" is skipped inside a project, not on the way to one.
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS - {"logs"} and not d.startswith("."))
        if "dbt_project.yml" in filenames and depth:
            found.append(Path(dirpath) / "dbt_project.yml")
            dirnames[:] = []  # a project's own folders are not further projects
        if depth >= MAX_DEPTH:
            dirnames[:] = []
    return found


def _project_vars(conf: dict[str, Any], name: str) -> dict[str, Any]:
    """Global vars, then the project's own scoped vars (``vars: {name: {...}}``) over them."""
    raw = conf.get("vars") or {}
    if not isinstance(raw, dict):
        return {}
    out = {k: v for k, v in raw.items() if not isinstance(v, dict) or k != name}
    if isinstance(raw.get(name), dict):
        out.update(raw[name])
    return out


def load_project(ws: Workspace, file: Path) -> Project:
    root = str(ws.relative(file.parent))
    try:
        conf = load_yaml(ws, f"{root}/dbt_project.yml") or {}
    except Exception as exc:  # noqa: BLE001 - a broken project file is reported, not fatal
        raise ToolError(f"{root}/dbt_project.yml: {exc}") from None
    if not isinstance(conf, dict):
        raise ToolError(f"{root}/dbt_project.yml: not a mapping")

    def paths(key: str, default: str) -> list[str]:
        value = conf.get(key) or conf.get(key.replace("-", "_")) or [default]
        return [str(v) for v in (value if isinstance(value, list) else [value])]

    name = str(conf.get("name") or PurePosixPath(root).name)
    models = conf.get("models") or {}
    return Project(root, name, paths("model-paths", "models"), paths("seed-paths", "seeds"),
                   paths("snapshot-paths", "snapshots"), paths("macro-paths", "macros"),
                   _project_vars(conf, name), models.get(name, {}) if isinstance(models, dict) else {})


def find_project(ws: Workspace, rel: str, choice: str | None = None) -> Project | None:
    """The dbt project in rel (or below it); None when there is none.

    With several projects below rel, ``choice`` (a project name or folder) picks one;
    without it a ToolError lists them.
    """
    base = ws.resolve(rel)
    try:
        files = [f for f in _candidates(ws, base) if ws.relative(f)]
    except ConfinementError:
        return None
    if not files:
        return None
    projects = [load_project(ws, f) for f in files]
    if choice:
        picked = [p for p in projects if choice in (p.name, p.root, p.root.rsplit("/", 1)[-1])]
        if len(picked) != 1:
            raise ToolError(f"no single dbt project {choice!r} here; the projects are: "
                            + ", ".join(f"{p.name} ({p.root})" for p in projects))
        return picked[0]
    if len(projects) > 1:
        raise ToolError(f"{len(projects)} dbt projects below {rel}: "
                        + ", ".join(f"{p.name} ({p.root})" for p in projects)
                        + ". Say which with 'project' (a name or folder), or point dir_path at one.")
    return projects[0]


def project_files(ws: Workspace, project: Project, folders: list[str], suffixes: tuple[str, ...]) -> list[str]:
    """Files with these suffixes under the project's folders, skipping SKIP_DIRS inside the project."""
    found: list[str] = []
    for folder in folders:
        try:
            base = ws.resolve(str(PurePosixPath(project.root) / folder))
        except ConfinementError:
            continue
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if name.endswith(suffixes):
                    try:
                        found.append(str(ws.relative(Path(dirpath) / name)))
                    except ConfinementError:
                        continue
    return found


def fresh_manifest(ws: Workspace, project: Project) -> str | None:
    """target/manifest.json when it is newer than every project file dbt reads, else None."""
    try:
        manifest = ws.resolve(f"{project.root}/target/manifest.json")
        built = manifest.stat().st_mtime
    except (ConfinementError, OSError):
        return None
    folders = project.model_paths + project.seed_paths + project.snapshot_paths + project.macro_paths
    files = project_files(ws, project, folders, (".sql", ".py", ".yml", ".yaml", ".csv"))
    files.append(f"{project.root}/dbt_project.yml")
    for rel in files:
        try:
            if ws.resolve(rel).stat().st_mtime > built:
                return None
        except (ConfinementError, OSError):
            continue
    return str(ws.relative(manifest))


def dbt_installed() -> bool:
    return shutil.which("dbt") is not None
