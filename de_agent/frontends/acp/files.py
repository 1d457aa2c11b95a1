"""The editor's file system, when the ACP client offers it: ``fs/read_text_file`` and
``fs/write_text_file`` behind the tools' file seam (``ToolContext.files``, see
:mod:`de_agent.tools.text_files`).

Reads give the editor's buffer (unsaved changes included); writes go into the buffer, so the
editor shows them at once and keeps them in its own undo history. Each capability is used
on its own: a client may offer reads only. The tools still check every path (confinement)
before a request, decide approvals, take checkpoints, and keep binary files, images and
text in other encodings to themselves.

The engine runs on the connection's event loop (its turns are tasks there), so a request
is awaited like the terminal's are: the loop goes on reading the client's answers meanwhile.
"""

from __future__ import annotations

from typing import Any

from de_agent.tools.helpers.textio import normalize_newlines


class ClientFiles:
    """``TextFiles`` over an ACP connection, for one session."""

    def __init__(self, conn: Any, session: Any, *, reads: bool, writes: bool):
        self.conn = conn
        self.session = session  # AcpSession: its id
        self.reads = reads
        self.writes = writes
        # The last text the editor gave for each path (LF line breaks): the old side of the
        # ACP diff of an edit made from it, since the disk may still hold something else.
        self.texts: dict[str, str] = {}

    async def read_text(self, path: str) -> str:
        response = await self.conn.read_text_file(session_id=self.session.session_id, path=path)
        self.texts[path] = normalize_newlines(response.content)
        return response.content

    async def write_text(self, path: str, content: str) -> None:
        self.texts.pop(path, None)
        await self.conn.write_text_file(session_id=self.session.session_id, path=path, content=content)


def offered(capabilities: Any) -> tuple[bool, bool]:
    """(reads, writes): the file system methods a client's capabilities announce."""
    fs = getattr(capabilities, "fs", None)
    return bool(getattr(fs, "read_text_file", False)), bool(getattr(fs, "write_text_file", False))
