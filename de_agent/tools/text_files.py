"""Where the text of a repository file is read and written: the disk, or an editor's buffers.

``ToolContext.files`` is ``None`` by default: every read and write goes to the disk through
the workspace, as it always has (nothing here costs anything then). A front end that lives
in an editor (ACP, when the client offers ``fs/read_text_file`` and ``fs/write_text_file``)
puts a :class:`TextFiles` there, and then ReadFile, Edit and WriteFile take a file's text from
the editor (its unsaved buffer, when the file is open) and hand it the new text (so its buffer
and its own undo history follow).

Only the text of plain UTF-8 text files goes that way, and only after the tools' own work on
the disk's copy: the confinement check (the same ``Workspace`` check, repeated just before
each request, with no symlink on the way), the size limits, binary and image detection and
the encoding. Binary files, images and text stored in other encodings (UTF-16, cp1251,
latin-1, UTF-8 with a byte-order mark) stay with our own byte-faithful reads and writes,
since the editor's API carries text only. A failed editor request is a tool error that says
so; nothing falls back to a silent local write.
"""

from __future__ import annotations

import codecs
import stat
from typing import Any, Protocol

from de_agent.tools.base import ToolContext, ToolError, looks_binary
from de_agent.workspace import ConfinementError, Workspace


class TextFiles(Protocol):
    """An editor's file access. ``reads``/``writes``: which of the two it offers."""

    reads: bool
    writes: bool

    async def read_text(self, path: str) -> str:
        """The text of the file at the absolute ``path`` (its unsaved buffer included)."""
        ...

    async def write_text(self, path: str, content: str) -> None:
        """Replace the text of the file at the absolute ``path`` (creating it)."""
        ...


def plain_text(data: bytes) -> bool:
    """Whether ``data`` is plain UTF-8 text: no NUL byte, no byte-order mark, valid UTF-8."""
    if looks_binary(data) or data.startswith(codecs.BOM_UTF8):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def editor_reads(ctx: ToolContext) -> bool:
    files: Any = ctx.files
    return files is not None and bool(files.reads)


async def read_text(ctx: ToolContext, rel: str, data: bytes, limit: int) -> str | None:
    """The editor's text of ``rel``, whose disk copy is ``data``, when the editor offers reads
    and the disk copy is plain UTF-8 text; ``None``: the disk's copy stands. A text over the
    tool's ``limit`` (bytes) is refused, as the disk's would be."""
    if not editor_reads(ctx) or not plain_text(data):
        return None
    path = _checked(ctx.workspace, rel, writing=False)
    try:
        text = await ctx.files.read_text(path)
    except Exception as exc:  # noqa: BLE001 - the editor's answer, whatever it is, goes to the model
        raise ToolError(f"{rel}: the editor could not read it ({_reason(exc)}); nothing was read") from None
    if len(text) > limit // 4 and len(text.encode("utf-8")) > limit:
        raise ToolError(f"{rel}: the editor's text of it is larger than {limit // (1 << 20)} MiB; use SearchText, "
                        "or a Shell command, for it")
    return text


async def write_text(ctx: ToolContext, rel: str, data: bytes, existing: bytes | None) -> None:
    """Write ``data`` (the whole new file) as ``rel``, whose disk copy is ``existing`` (``None``:
    a new file): through the editor when it offers writes and both are plain UTF-8 text, else
    to the disk."""
    files: Any = ctx.files
    ws = ctx.workspace
    if files is None or not files.writes or not plain_text(data) or (existing is not None and not plain_text(existing)):
        ws.write_bytes(rel, data)
        return
    path = _checked(ws, rel, writing=True)
    if existing is None:
        ws.make_parents(rel)  # our own confined walk makes the folders; the editor the file
    try:
        await files.write_text(path, data.decode("utf-8"))
    except Exception as exc:  # noqa: BLE001
        raise ToolError(f"{rel}: the editor refused to write it ({_reason(exc)}); nothing was written, "
                        "neither by the editor nor to the disk") from None


async def editor_texts(ctx: ToolContext, rels: list[str], limit: int) -> dict[str, str]:
    """The editor's texts of those of ``rels`` it can give (read as :func:`read_text` reads one:
    the disk's copy first, whole and plain UTF-8 text). A file the editor cannot give keeps its
    disk copy; an empty answer when the editor offers no reads."""
    if not editor_reads(ctx):
        return {}
    texts: dict[str, str] = {}
    for rel in rels:
        try:
            data = ctx.workspace.read_bytes(rel, limit=limit)
            text = await read_text(ctx, rel, data, limit) if len(data) < limit else None
        except (OSError, ToolError):
            continue
        if text is not None:
            texts[rel] = text
    return texts


def editor_path(ws: Workspace, rel: str, *, writing: bool = False) -> str:
    """The absolute path of ``rel`` for an editor request, once the workspace's confinement
    check passes again: inside the root, no symlink anywhere on the way (as our own
    descriptor walk refuses them), and, to write, a regular file with a single link."""
    if writing:
        ws.writable(rel)  # what our own writes refuse (the root, anything inside .git), the editor is not asked
    path = ws.resolve(rel)  # ConfinementError outside the root
    if path != ws.root / rel:
        raise ConfinementError(f"{rel}: reached through a symlink; the editor is not asked about it")
    try:
        st = ws.stat(rel)
    except FileNotFoundError:
        return str(path)
    if writing and (not stat.S_ISREG(st.st_mode) or st.st_nlink > 1):
        raise ConfinementError(f"{rel}: not a regular file with a single link; not writing it")
    return str(path)


def _checked(ws: Workspace, rel: str, *, writing: bool) -> str:
    try:
        return editor_path(ws, rel, writing=writing)
    except ConfinementError as exc:
        raise ToolError(str(exc)) from None


def _reason(exc: Exception) -> str:
    """An editor's error in a few words: a JSON-RPC error's message and data, or the exception."""
    message = str(exc) or type(exc).__name__
    data = getattr(exc, "data", None)
    return f"{message}: {data}" if data else message
