"""Markdown files with a YAML front matter block (custom commands, skills)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 256_000


def read_front_matter(path: Path) -> tuple[dict[str, Any], str]:
    """(front matter, body); a missing or broken front matter is an empty dict."""
    import yaml

    with path.open("rb") as fh:
        text = fh.read(MAX_FILE_BYTES).decode("utf-8", "replace")
    if not text.startswith("---"):
        return {}, text
    end = text.find("\n---", 3)
    if end < 0:
        return {}, text
    try:
        meta = yaml.safe_load(text[3:end]) or {}
    except yaml.YAMLError:
        meta = {}
    body = text[end + 4:]
    body = body[body.find("\n") + 1:] if "\n" in body else ""
    return (meta if isinstance(meta, dict) else {}), body.lstrip("\n")
