"""Turn a model-supplied data path (a file, a glob, a partitioned folder) into confined files.

Every file goes through the workspace: the directory part of a glob is resolved by it,
the glob is expanded here, and each match is confined again (a symlink leading out is
dropped). DuckDB then receives only absolute paths inside the repository.
"""

from __future__ import annotations

import glob
import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from de_agent.tools.base import ToolError
from de_agent.workspace import ConfinementError, Workspace

FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".tab": "csv", ".psv": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson",
    ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel", ".xlsb": "excel", ".ods": "excel",
    ".feather": "arrow", ".arrow": "arrow", ".ipc": "arrow", ".orc": "orc", ".avro": "avro",
}
COMPRESSIONS = (".gz", ".zst")
GLOB_CHARS = set("*?[")
MAX_FILES = 5000


@dataclass
class Dataset:
    """Files that make one table, their format, and how to name them to a person."""

    label: str
    files: list[str]
    fmt: str
    hive: bool = False
    skipped: list[str] = field(default_factory=list)

    def has_secret(self, ws: Workspace) -> bool:
        """Whether any file looks like it holds secrets (the policy then asks before reading)."""
        return any(ws.is_secret(f) for f in self.files)

    def request(self) -> dict:
        return {"files": self.files, "format": self.fmt, "hive": self.hive}


def format_of(name: str) -> str | None:
    lower = name.lower()
    for comp in COMPRESSIONS:
        if lower.endswith(comp):
            lower = lower[: -len(comp)]
    return FORMATS.get(os.path.splitext(lower)[1])


def _sniff(ws: Workspace, rel: str) -> str:
    head = ws.read_bytes(rel, limit=4096)
    if head.startswith(b"PAR1"):
        return "parquet"
    for magic, fmt in ((b"ARROW1", "arrow"), (b"ORC", "orc"), (b"Obj\x01", "avro"), (b"PK\x03\x04", "excel"),
                       (b"\xd0\xcf\x11\xe0", "excel")):
        if head.startswith(magic):
            return fmt
    text = head.lstrip()
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        return "ndjson" if b"}\n{" in head or b"}\r\n{" in head else "json"
    return "csv"


def _is_partition(rel: PurePosixPath) -> bool:
    return any("=" in part for part in rel.parts[:-1])


def _confined_file(ws: Workspace, path: Path) -> PurePosixPath | None:
    try:
        rel = ws.relative(path)
        st = ws.stat(rel)
    except (ConfinementError, OSError):
        return None
    return rel if stat.S_ISREG(st.st_mode) else None


def _split_glob(path: str) -> tuple[str, str]:
    parts = PurePosixPath(path).parts
    for i, part in enumerate(parts):
        if GLOB_CHARS & set(part):
            base = str(PurePosixPath(*parts[:i])) if i else "."
            return base, str(PurePosixPath(*parts[i:]))
    return path, ""


def _choose(ws: Workspace, label: str, rels: list[PurePosixPath]) -> Dataset:
    if not rels:
        raise ToolError(f"{label}: no data files found (CSV, TSV, Parquet, JSON, NDJSON, Excel, Feather/Arrow, "
                        "ORC, Avro)")
    if len(rels) > MAX_FILES:
        raise ToolError(f"{label}: {len(rels)} files match; narrow the path to at most {MAX_FILES}")
    fmts = Counter(format_of(r.name) or "unknown" for r in rels)
    fmt, _ = max(((f, n) for f, n in fmts.items() if f != "unknown"), key=lambda x: x[1],
                 default=("unknown", 0))
    if fmt == "unknown":
        fmt = _sniff(ws, str(rels[0]))
        chosen = rels
    else:
        chosen = [r for r in rels if format_of(r.name) == fmt]
    keep = set(chosen)
    skipped = [str(r) for r in rels if r not in keep]
    files = [str(ws.root / r) for r in sorted(chosen)]
    return Dataset(label, files, fmt, hive=any(_is_partition(r) for r in chosen), skipped=skipped)


def resolve_dataset(ws: Workspace, path: str) -> Dataset:
    """The confined data files that path names; ToolError with a hint otherwise."""
    try:
        base, pattern = _split_glob(path)
        if pattern:
            root = ws.resolve(base)
            if not root.is_dir():
                raise ToolError(f"{base}: not a folder")
            matches = glob.glob(pattern, root_dir=root, recursive=True)
            rels = [r for m in matches if (r := _confined_file(ws, root / m)) is not None]
            return _choose(ws, path, rels)
        target = ws.resolve(path)
        label = str(ws.relative(path))
        st = ws.stat(label)
    except ConfinementError as exc:
        raise ToolError(str(exc)) from None
    except FileNotFoundError:
        raise ToolError(f"{path}: no such file or folder") from None
    if stat.S_ISDIR(st.st_mode):
        rels = []
        for dirpath, dirnames, filenames in os.walk(target):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
            for name in filenames:
                rel = _confined_file(ws, Path(dirpath) / name)
                if rel is not None and not name.startswith((".", "_")) and format_of(name):
                    rels.append(rel)
        return _choose(ws, label, rels)
    if not stat.S_ISREG(st.st_mode):
        raise ToolError(f"{path}: not a regular file")
    fmt = format_of(target.name) or _sniff(ws, label)
    return Dataset(label, [str(target)], fmt)
