"""One-line summaries of what a tool call came to, made from the result's display facts.

"7,981 files", "12 lines · 1.2 KB", "exit 0 · 1.2 s", "3 matches in 2 files": the default
:meth:`de_agent.tools.base.Tool.result_summary` (a tool may say it better itself). The
engine puts the summary on every ``tool_result`` event; front ends show it under the call.
"""

from __future__ import annotations

from typing import Any


def _n(count: Any, word: str, plural: str = "") -> str:
    """``1 file``, ``7,981 files``."""
    number = count if isinstance(count, int) else 0
    return f"{number:,} {word if number == 1 else plural or word + 's'}"


def human_bytes(size: Any) -> str:
    value = float(size if isinstance(size, int | float) else 0)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def first_line(text: str, width: int = 120) -> str:
    """The first line of a text, cut to ``width``; " …" when more lines follow."""
    stripped = text.strip()
    line = stripped.splitlines()[0] if stripped else ""
    more = len(stripped.splitlines()) > 1
    if len(line) > width:
        return line[: width - 1].rstrip() + "…"
    return line + (" …" if more else "")


def headline(ok: bool, output: str, width: int = 200) -> str:
    """The output's first line without its "Profile of LABEL: " lead (the call line shows the
    label): "csv, 1 file, 1,000 rows, 5 columns"; a failure's first line whole."""
    stripped = output.strip()
    line = stripped.splitlines()[0] if stripped else ""
    if ok and ": " in line:
        line = line.split(": ", 1)[1]
    return cut(line, width)


def command_summary(display: dict[str, Any]) -> str:
    """A command that ran: "exit 0 · 1.2 s", "timed out · 120.0 s", " · output cut" when cut."""
    took = display.get("duration_s")
    return ("timed out" if display.get("timed_out") else f"exit {display.get('exit_code')}") + \
        (f" · {took:.1f} s" if isinstance(took, int | float) else "") + \
        (" · output cut" if display.get("truncated") else "")


def statements_summary(display: dict[str, Any] | None) -> str:
    """A lineage tree of statements in one line: "2 statements · writes t · reads s, u" ("" otherwise)."""
    root = display.get("root") if isinstance(display, dict) else None
    statements = root.get("children", []) if isinstance(root, dict) else []
    if not statements or not all(str(s.get("label", "")).startswith("statement ") for s in statements):
        return ""
    tables: dict[str, list[str]] = {"writes": [], "reads": []}
    for part in (p for s in statements for p in s.get("children", [])):
        names = tables.get(part.get("label", ""))
        if names is not None:
            names += [t["label"] for t in part.get("children", []) if t["label"] not in names]
    return cut(_n(len(statements), "statement") + "".join(
        f" · {verb} {', '.join(names)}" for verb, names in tables.items() if names), 200)


def summarise_result(ok: bool, output: str, display: dict[str, Any] | None, width: int = 200) -> str:
    """One line that says what a tool call found or did: "7,981 files", "exit 0 · 1.2 s"."""
    d = display if isinstance(display, dict) else {}
    kind = d.get("kind")
    text = ""
    if kind == "files":
        text = _n(d.get("count"), "file")
    elif kind == "folder":
        text = f"{_n(d.get('dirs'), 'folder')}, {_n(d.get('files'), 'file')}"
    elif kind == "read":
        size = human_bytes(d.get("bytes"))
        text = f"binary file ({size}), contents not shown" if d.get("binary") else \
            (f"{_n(d['lines'], 'line')} · {size}" if isinstance(d.get("lines"), int) else size)
    elif kind == "read_many":
        text = _n(d.get("files") if isinstance(d.get("files"), int) else len(d.get("files") or []), "file") \
            + " read" + (f", {d['binary']} binary skipped" if d.get("binary") else "") \
            + (f", {d['not_read']} not read" if d.get("not_read") else "")
    elif kind == "search":
        text = f"{_n(d.get('matches'), 'match', 'matches')} in {_n(d.get('files'), 'file')}"
    elif kind == "shell" and ok and d.get("exit_code") is not None:
        text = command_summary(d)
    elif kind == "memory" and ok:
        text = f"saved to {d.get('scope') or 'memory'} memory"
    elif kind == "table" and ok:
        rows = d.get("rows") or []
        text = f"{_n(d.get('row_count', len(rows)), 'row')} × {_n(len(d.get('columns') or []), 'column')}"
    if not text or (not ok and kind != "read"):
        text = first_line(output, width)
    return cut(text, width)


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
