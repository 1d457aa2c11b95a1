"""Tool displays (``Outcome.display``) as rich renderables, shared by plain mode and the TUI chat.

Kinds: ``table`` {title, columns, rows, note}, ``tree`` {title, root: {label, children}},
``plan`` {plan: [{step, status}], explanation}, ``text`` {title, text}, ``image`` {path,
abs_path, width, height, bytes} (a half-block preview) and ``group`` {items: [display, ...]}.
Other kinds (``folder``, ``read``, ``files``, ``memory`` ...) are facts about a result, not
views: they have no renderable (``render_display`` returns None) and feed
:func:`result_summary`, the one-line summary shown under every tool call. Rich only, no Textual.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from de_agent import protocol as P

MAX_ROWS = 200
MAX_TREE_NODES = 2000
MAX_TEXT = 20_000
PLAN_STYLES = {P.PlanStatus.PENDING: "dim", P.PlanStatus.IN_PROGRESS: "bold yellow", P.PlanStatus.COMPLETED: "green"}
# (mark, style) by plan status, for every rich renderer (plain mode and tool displays).
PLAN_MARKS = {str(status): (P.PLAN_MARKS[status], style) for status, style in PLAN_STYLES.items()}


def _cell(value: Any) -> Text:
    if value is None:
        return Text("NULL", style="dim italic")
    return Text(str(value))


def render_table(display: dict[str, Any]) -> RenderableType:
    rows = display.get("rows") or []
    note = display.get("note") or ""
    if len(rows) > MAX_ROWS:
        note = (note + "; " if note else "") + f"showing {MAX_ROWS} of {len(rows)} rows"
    table = Table(show_lines=False, header_style="bold", expand=False)
    columns = [str(c) for c in display.get("columns") or []]
    for name in columns:
        table.add_column(name, overflow="ellipsis", max_width=60)
    for row in rows[:MAX_ROWS]:
        cells = [_cell(v) for v in list(row)[: len(columns)]]
        table.add_row(*cells, *[Text("")] * (len(columns) - len(cells)))
    # Title and note go around the table, not squeezed to the table's width.
    title = display.get("title")
    parts: list[RenderableType] = [Text(str(title), style="bold")] if title else []
    parts.append(table)
    if note:
        parts.append(Text(note, style="dim"))
    return Group(*parts)


def render_tree(display: dict[str, Any]) -> RenderableType:
    root = display.get("root") or {"label": display.get("title") or "tree"}
    count = 0

    def add(parent: Tree, node: dict[str, Any], depth: int) -> None:
        nonlocal count
        for child in node.get("children") or []:
            count += 1
            if count > MAX_TREE_NODES or depth > 50:
                parent.add(Text("…", style="dim"))
                return
            branch = parent.add(Text(str(child.get("label", ""))))
            add(branch, child, depth + 1)

    tree = Tree(Text(str(root.get("label", "")), style="bold"), guide_style="dim")
    add(tree, root, 0)
    title = display.get("title")
    return Group(Text(title, style="bold"), tree) if title and title != root.get("label") else tree


def render_plan(display: dict[str, Any]) -> RenderableType:
    text = Text()
    if display.get("explanation"):
        text.append(str(display["explanation"]) + "\n", style="italic")
    for step in display.get("plan") or []:
        mark, style = PLAN_MARKS.get(step.get("status", "pending"), PLAN_MARKS["pending"])
        text.append(f"  {mark} ", style=style)
        text.append(str(step.get("step", "")) + "\n",
                    style="dim strike" if step.get("status") == "completed" else "")
    text.rstrip()
    return text


def render_text(display: dict[str, Any]) -> RenderableType:
    body = str(display.get("text", ""))
    if len(body) > MAX_TEXT:
        body = body[:MAX_TEXT] + "\n…"
    title = display.get("title")
    return Panel(Text(body), title=str(title), title_align="left", expand=False) if title else Text(body)


def render_image(display: dict[str, Any], width: int = 48) -> RenderableType:
    """The image's path and size, then a preview drawn with half blocks (any colour terminal)."""
    from de_agent.images import human_size

    head = Text.assemble((str(display.get("path", "")), "bold"),
                         (f"  {display.get('width')}x{display.get('height')} · "
                          f"{human_size(int(display.get('bytes') or 0))}", "dim"))
    try:
        with open(str(display.get("abs_path") or display.get("path")), "rb") as fh:
            return Group(head, half_block_preview(fh.read(), width))
    except Exception:  # noqa: BLE001 - no preview (file gone, not readable): the path still shows
        return head


def half_block_preview(data: bytes, width: int = 40) -> Text:
    """A rich Text drawing the image with '▀' cells (two pixels a cell): works in any colour terminal."""
    from rich.style import Style

    from de_agent.images import open_image

    image = open_image(data).convert("RGB")
    width = max(4, min(width, image.width))
    height = max(2, int(image.height * width / image.width) // 2 * 2)
    image = image.resize((width, height))
    pixels = image.load()
    text = Text()
    for y in range(0, height, 2):
        for x in range(width):
            top, bottom = pixels[x, y], pixels[x, y + 1]
            text.append("▀", Style(color=f"rgb({top[0]},{top[1]},{top[2]})",
                                   bgcolor=f"rgb({bottom[0]},{bottom[1]},{bottom[2]})"))
        if y + 2 < height:
            text.append("\n")
    return text


def render_display(display: dict[str, Any]) -> RenderableType | None:
    """A rich renderable for one tool display; None for kinds that are facts, not views."""
    kind = display.get("kind") if isinstance(display, dict) else None
    if kind == "table":
        return render_table(display)
    if kind == "tree":
        return render_tree(display)
    if kind == "plan":
        return render_plan(display)
    if kind == "text":
        return render_text(display)
    if kind == "image":
        return render_image(display)
    if kind == "group":
        views = [render_display(item) for item in display.get("items") or []]
        return Group(*[v for v in views if v is not None])
    return None


def hunks_applied(accepted: list[int], total: int) -> str:
    """What a partial approval applies, e.g. "(applying hunk 2 of 2; skipping hunk 1)"."""
    skipped = [i for i in range(total) if i not in accepted]
    if not skipped:
        return f"(applying all {total} hunks)"
    word = "hunk" if len(accepted) == 1 else "hunks"
    return (f"(applying {word} {', '.join(str(i + 1) for i in accepted)} of {total}; skipping "
            f"{'hunk' if len(skipped) == 1 else 'hunks'} {', '.join(str(i + 1) for i in skipped)})")


def resume_hint(session_id: str) -> str:
    """What to type to come back to a session, printed on exit."""
    return f"Resume this session with: de-agent -r {session_id}   (or de-agent -c for the latest)"


def request_detail(request: Any, arguments: dict[str, Any] | None) -> str | None:
    """What an approval must show besides its summary when it is not a command or a diff:
    the SQL of a RunSQL that writes, in full."""
    if getattr(request, "command", None) is not None or getattr(request, "diffs", None):
        return None
    sql = (arguments or {}).get("sql")
    return sql.strip() if isinstance(sql, str) and sql.strip() else None


def is_binary_read(display: dict[str, Any] | None) -> bool:
    """A ReadFile of a binary file: not shown, but not a failure either."""
    return isinstance(display, dict) and display.get("kind") == "read" and bool(display.get("binary"))


def result_summary(name: str, ok: bool, output: str, display: dict[str, Any] | None,
                   width: int = 100, summary: str = "") -> str:
    """The one line shown under a tool call, cut to ``width``: the tool's own summary from
    the tool_result event (the registry's ``result_summary``), else the same summary made
    from the display (results replayed from older session files carry none)."""
    from de_agent.tools.summaries import cut, summarise_result

    return cut(summary or summarise_result(ok, output, display), width)
