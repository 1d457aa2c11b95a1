"""Bounding what tools send back: the line and byte limits of an output, and binary detection."""

from __future__ import annotations

MAX_OUTPUT_LINES = 2000
MAX_OUTPUT_BYTES = 48_000


def bound_text(text: str, max_lines: int = MAX_OUTPUT_LINES, max_bytes: int = MAX_OUTPUT_BYTES,
               what: str = "output") -> str:
    """Cut text to the line and byte limits, saying so when it does."""
    lines = text.splitlines(keepends=True)
    cut_lines = len(lines) > max_lines
    if cut_lines:
        lines = lines[:max_lines]
    out = "".join(lines)
    data = out.encode("utf-8", "replace")
    cut_bytes = len(data) > max_bytes
    if cut_bytes:
        out = data[:max_bytes].decode("utf-8", "ignore")
        out = out[: out.rfind("\n") + 1] or out
    if cut_lines or cut_bytes:
        total = len(text.splitlines())
        out += (f"\n[{what} cut: showing {len(out.splitlines())} of {total} lines, "
                f"limit {max_lines} lines / {max_bytes} bytes]\n")
    return out


def looks_binary(data: bytes) -> bool:
    """Heuristic used by every read tool: a NUL byte in the first 8 KiB."""
    return b"\x00" in data[:8192]
