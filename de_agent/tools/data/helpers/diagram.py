"""Lineage diagrams: the table graph SQLLineage found, as Mermaid text or a Graphviz picture.

SVG and PNG are drawn by Graphviz's ``dot`` when it is installed (run on our own generated
input only, without a shell, with a secret-free environment and a time limit); without it the
diagram is written as Mermaid text instead (``.mmd``), which GitHub, GitLab and most Markdown
viewers draw. Writing the file is an edit: SQLLineage asks before it, like any other write.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import PurePosixPath
from typing import Any

FORMATS = ("svg", "png", "mermaid")
DOT_TIMEOUT_S = 30
MAX_EDGES = 2000


class DiagramError(Exception):
    """The diagram could not be drawn (dot failed or timed out)."""


def find_dot() -> str | None:
    return shutil.which("dot")


def planned_output(output_path: str, fmt: str, dot: str | None) -> tuple[str, str, str]:
    """(format actually written, output path, note): svg/png fall back to Mermaid without dot."""
    if fmt in ("svg", "png") and dot is None:
        path = str(PurePosixPath(output_path).with_suffix(".mmd"))
        return "mermaid", path, (f"Graphviz `dot` is not installed, so the diagram is Mermaid text in {path} "
                                 f"instead of {fmt.upper()} (install graphviz for pictures)")
    return fmt, output_path, ""


def graph(display: dict[str, Any]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(node id -> label, edges) from a SQLLineage display (dbt nodes carry names and types)."""
    labels: dict[str, str] = {}
    for node in display.get("nodes") or []:
        if isinstance(node, dict):
            kind = node.get("type")
            labels[str(node.get("id"))] = f"{node.get('name')}" + (f" ({kind})" if kind and kind != "model" else "")
        else:
            labels[str(node)] = str(node)
    edges = [(str(a), str(b)) for a, b in display.get("edges") or []][:MAX_EDGES]
    for a, b in edges:
        labels.setdefault(a, a)
        labels.setdefault(b, b)
    return labels, edges


def _ids(labels: dict[str, str]) -> dict[str, str]:
    return {node: f"n{i}" for i, node in enumerate(sorted(labels))}


def mermaid(labels: dict[str, str], edges: list[tuple[str, str]], title: str = "") -> str:
    ids = _ids(labels)
    lines = [f"%% {title}" if title else "%% lineage", "flowchart LR"]
    for node in sorted(labels):
        text = labels[node].replace('"', "'")
        lines.append(f'    {ids[node]}["{text}"]')
    for a, b in sorted(set(edges)):
        lines.append(f"    {ids[a]} --> {ids[b]}")
    return "\n".join(lines) + "\n"


def dot_source(labels: dict[str, str], edges: list[tuple[str, str]], title: str = "") -> str:
    ids = _ids(labels)

    def quote(text: str) -> str:
        return '"' + re.sub(r'(["\\])', r"\\\1", text) + '"'

    lines = ["digraph lineage {", "  rankdir=LR;", '  node [shape=box, style="rounded", fontname="Helvetica"];']
    if title:
        lines.append(f"  label={quote(title)}; labelloc=t;")
    for node in sorted(labels):
        lines.append(f"  {ids[node]} [label={quote(labels[node])}];")
    for a, b in sorted(set(edges)):
        lines.append(f"  {ids[a]} -> {ids[b]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(labels: dict[str, str], edges: list[tuple[str, str]], fmt: str, dot: str | None,
           title: str = "") -> bytes:
    """The diagram file's bytes in fmt ('mermaid' text, or 'svg'/'png' from dot)."""
    if fmt == "mermaid":
        return mermaid(labels, edges, title).encode("utf-8")
    if dot is None:
        raise DiagramError("Graphviz dot is not installed")
    from de_agent.security.env import clean_env

    try:
        proc = subprocess.run([dot, f"-T{fmt}"], input=dot_source(labels, edges, title).encode("utf-8"),
                              capture_output=True, timeout=DOT_TIMEOUT_S, env=clean_env(), check=False)
    except subprocess.TimeoutExpired:
        raise DiagramError(f"dot took longer than {DOT_TIMEOUT_S} s") from None
    except OSError as exc:
        raise DiagramError(f"dot could not run: {exc}") from None
    if proc.returncode != 0 or not proc.stdout:
        raise DiagramError(f"dot failed: {proc.stderr.decode('utf-8', 'replace').strip()[:300]}")
    return proc.stdout


def with_diagram(action: Any, args: dict[str, Any], ctx: Any) -> Any:
    """SQLLineage's read action, or, when a diagram is asked for (``format``/``output_path``),
    an edit that runs the analysis and writes the diagram file (asked like any write)."""
    from de_agent.tools.base import EDIT, Action, FileChange, Outcome, ToolError

    fmt = args.get("format")
    output_path = args.get("output_path")
    if not fmt and not output_path:
        return action
    if not isinstance(output_path, str) or not output_path:
        raise ToolError("a diagram needs output_path (e.g. docs/lineage.svg), relative to the repository root")
    if fmt is None:
        suffix = PurePosixPath(output_path).suffix.lower().lstrip(".")
        fmt = suffix if suffix in ("svg", "png") else "mermaid"
    if fmt not in FORMATS:
        raise ToolError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    dot = find_dot()
    fmt, path, note = planned_output(output_path, fmt, dot)
    ws = ctx.workspace
    rel = str(ws.relative(path))  # confinement: a path outside the repository is refused here
    existed = ws.exists(rel)
    proposed = (f"diff --git a/{rel} b/{rel}\n" + ("" if existed else "new file mode 100644\n") +
                f"Lineage diagram ({fmt}) to be {'rewritten' if existed else 'written'} to {rel}\n")

    async def run(_hunks: list[int] | None) -> Outcome:
        import asyncio

        outcome = await action.run(None)
        if not outcome.ok:
            return outcome
        labels, edges = graph(outcome.display or {})
        title = str((outcome.display or {}).get("title") or "lineage")
        try:
            data = await asyncio.to_thread(render, labels, edges, fmt, dot, title)
        except DiagramError as exc:
            raise ToolError(f"the lineage was traced but the diagram could not be drawn: {exc}") from None
        old = ws.read_bytes(rel) if existed else None
        ws.write_bytes(rel, data)
        diff = _written_diff(rel, old, data, fmt)
        said = f"Diagram: wrote {rel} ({fmt}, {len(labels)} nodes, {len(edges)} edges)."
        if note:
            said += f" {note}."
        return Outcome(True, outcome.output.rstrip("\n") + "\n\n" + said + "\n", display=outcome.display,
                       changed=[rel], applied_diffs=[(rel, diff)])

    return Action(kind=EDIT, summary=f"{action.summary} and write a {fmt} diagram to {rel}", run=run,
                  paths=[*action.paths, rel], changes=[FileChange(rel, proposed)])


def _written_diff(rel: str, old: bytes | None, new: bytes, fmt: str) -> str:
    if fmt == "png":
        from de_agent import images

        return images.new_binary_diff(rel, images.image_info(new), existed=old is not None)
    from de_agent.tools.helpers.diffs import unified_diff

    return unified_diff(None if old is None else old.decode("utf-8", "replace"), new.decode("utf-8"), rel)
