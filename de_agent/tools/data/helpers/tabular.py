"""Tables twice over: aligned text for the model and ``{"kind": "table"}`` displays for people."""

from __future__ import annotations

from typing import Any


def show(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        text = repr(value)
        return text if len(text) <= 12 else f"{value:.6g}"
    return str(value).replace("\n", "\\n").replace("\t", "\\t")


def format_table(columns: list[str], rows: list[list[Any]], max_width: int = 40) -> str:
    """A pipe-separated table with a header rule; long cells are cut with an ellipsis."""

    def clip(text: str) -> str:
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    body = [[clip(show(v)) for v in row] for row in rows]
    head = [clip(c) for c in columns]
    widths = [max([len(h)] + [len(r[i]) for r in body if i < len(r)]) for i, h in enumerate(head)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip(),
             "-+-".join("-" * w for w in widths)]
    for r in body:
        lines.append(" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)).rstrip())
    return "\n".join(lines)


def table_display(title: str, columns: list[str], rows: list[list[Any]], note: str = "") -> dict[str, Any]:
    return {"kind": "table", "title": title, "columns": columns,
            "rows": [[None if v is None else show(v) for v in row] for row in rows], "note": note}


def count(n: int | float | None) -> str:
    """12,345 or 1.2M: a count readable at a glance."""
    if n is None:
        return "?"
    n = int(n)
    if n >= 10_000_000:
        return f"{n / 1_000_000:.1f}M"
    return f"{n:,}"
