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


OUTPUT_BUDGET = 40_000      # bytes of table text a tool hands the model (bound_text allows 48,000)
WIDE_LINE = 240             # a table line wider than this is shown one row per block instead
MAX_SHOWN_COLUMNS = 60


def _vertical(columns: list[str], rows: list[list[Any]], max_width: int) -> list[str]:
    """Each row as a block of 'column | value' lines (for results too wide to read as a table)."""
    width = max(len(c) for c in columns)
    blocks = []
    for n, row in enumerate(rows, 1):
        lines = [f"-[ row {n} ]-"]
        for c, v in zip(columns, row, strict=False):
            text = show(v)
            lines.append(f"{c.ljust(width)} | {text if len(text) <= max_width else text[:max_width - 1] + '…'}")
        blocks.append("\n".join(lines))
    return blocks


def fit_table(columns: list[str], rows: list[list[Any]], total: int | None, max_rows: int,
              max_width: int = 60) -> tuple[str, str]:
    """(table text, note): one rule for rows, columns and bytes.

    At most MAX_SHOWN_COLUMNS columns; a table whose lines would be wider than WIDE_LINE is
    folded into one block per row; then whole rows are kept while the text fits
    OUTPUT_BUDGET. The note says what was left out and why, once.
    """
    hidden = max(0, len(columns) - MAX_SHOWN_COLUMNS)
    cols = columns[:MAX_SHOWN_COLUMNS]
    body = [list(r[:MAX_SHOWN_COLUMNS]) for r in rows]
    table = format_table(cols, body, max_width=max_width)
    wide = len(table.split("\n", 1)[0]) > WIDE_LINE
    pieces = _vertical(cols, body, max_width) if wide else table.split("\n")[2:]
    prefix = [] if wide else table.split("\n")[:2]
    used = sum(len(p.encode()) + 1 for p in prefix)
    kept = 0
    for piece in pieces:
        size = len(piece.encode()) + 1
        if used + size > OUTPUT_BUDGET:
            break
        used += size
        kept += 1
    text = "\n".join(prefix + pieces[:kept])
    notes = []
    shown_of = f"of {total:,}" if total is not None else "of more"
    if kept < len(rows):
        notes.append(f"showing the first {kept} rows {shown_of}: the output limit ({OUTPUT_BUDGET // 1000} KB) "
                     f"holds no more; select fewer columns or aggregate")
    elif total is None or len(rows) < total:
        notes.append(f"showing the first {len(rows)} rows {shown_of} (max_rows={max_rows})")
    if hidden:
        notes.append(f"showing the first {len(cols)} of {len(columns)} columns")
    if wide:
        notes.append("one block per row (the result is too wide for a table)")
    return text, ("[" + "; ".join(notes) + "]") if notes else ""


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
