"""The tools' file seam (``ToolContext.files``): the disk by default, an editor's buffers when a
front end offers them, with the tools' own checks first. A real repository on disk and an
in-process editor that records its requests (the ACP client side is in test_acp_files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from de_agent.config import Settings
from de_agent.tools.base import ToolContext, ToolError
from de_agent.tools.edit import Edit, WriteFile
from de_agent.tools.fs_read import ReadFile, ReadManyFiles
from de_agent.tools.text_files import editor_path, plain_text, read_text, write_text
from de_agent.workspace import ConfinementError, Workspace


class Editor:
    """Open buffers by absolute path (other files are read from disk, as an editor opens them);
    records every request; never writes the disk."""

    def __init__(self, buffers: dict[str, str] | None = None, *, reads: bool = True, writes: bool = True,
                 fail_reads: bool = False):
        self.buffers = dict(buffers or {})
        self.fail_reads = fail_reads
        self.reads, self.writes = reads, writes
        self.read_paths: list[str] = []
        self.written: list[tuple[str, str]] = []

    async def read_text(self, path: str) -> str:
        self.read_paths.append(path)
        if self.fail_reads:
            raise RuntimeError("no such buffer")
        return self.buffers[path] if path in self.buffers else Path(path).read_text(encoding="utf-8")

    async def write_text(self, path: str, content: str) -> None:
        self.written.append((path, content))
        self.buffers[path] = content


def context(repo: Path, editor: Editor | None = None) -> ToolContext:
    return ToolContext(Workspace(repo), Settings(), files=editor)


async def run(tool, ctx, **args):
    action = await tool.prepare(args, ctx)
    return await action.run(None)


async def test_the_default_is_the_disk_byte_for_byte(repo):
    ctx = context(repo)
    assert ctx.files is None
    (repo / "win.sql").write_bytes(b"select 1\r\nfrom t\r\n")
    assert await read_text(ctx, "win.sql", b"select 1\r\n", 1 << 20) is None  # no editor: the disk's copy stands
    outcome = await run(Edit(), ctx, file_path="win.sql", old_string="from t", new_string="from u")
    assert outcome.ok and (repo / "win.sql").read_bytes() == b"select 1\r\nfrom u\r\n"
    await write_text(ctx, "new/deep/x.txt", b"x\n", None)
    assert (repo / "new" / "deep" / "x.txt").read_bytes() == b"x\n"
    shown = await run(ReadFile(), ctx, file_path="win.sql")
    assert "from u" in shown.output


async def test_text_comes_from_and_goes_to_the_editor_with_the_files_line_endings(repo):
    path = str(repo / "win.sql")
    (repo / "win.sql").write_bytes(b"select 1\r\nfrom t\r\n")
    editor = Editor({path: "select 1\nfrom t  -- unsaved\n"})
    ctx = context(repo, editor)
    shown = await run(ReadFile(), ctx, file_path="win.sql")
    assert "from t  -- unsaved" in shown.output and "not saved to disk yet" in shown.output
    outcome = await run(Edit(), ctx, file_path="win.sql", old_string="from t  -- unsaved", new_string="from u")
    assert outcome.ok and editor.written == [(path, "select 1\r\nfrom u\r\n")]
    assert (repo / "win.sql").read_bytes() == b"select 1\r\nfrom t\r\n"  # the editor decides when to save


async def test_readmanyfiles_shows_the_editors_buffers_of_the_files_it_has_open(repo):
    (repo / "models").mkdir()
    (repo / "models" / "a.sql").write_text("select 1\n")
    (repo / "models" / "b.sql").write_text("select 2\n")
    (repo / "models" / "c.sql").write_bytes(b"\x00\x01binary")
    editor = Editor({str(repo / "models" / "a.sql"): "select 10  -- unsaved\n"})
    ctx = context(repo, editor)
    shown = (await run(ReadManyFiles(), ctx, include=["models/*.sql"])).output
    assert "--- models/a.sql --- [as it is in the editor, not saved yet]\nselect 10  -- unsaved" in shown
    assert "--- models/b.sql ---\nselect 2\n" in shown and "select 1\n" not in shown
    assert "skipped 1 binary file(s): models/c.sql" in shown
    assert sorted(editor.read_paths) == [str(repo / "models" / "a.sql"), str(repo / "models" / "b.sql")]
    plain = (await run(ReadManyFiles(), context(repo), include=["models/*.sql"])).output
    assert "select 1\n" in plain and "unsaved" not in plain  # no editor: the disk


@pytest.mark.parametrize(("data", "expected"), [
    ("caf\xe9 cr\xe8me\n".encode("latin-1"), "changed = 'cr\xe8me'\n".encode("latin-1")),
    (b"\xef\xbb\xbfbom = 1\n", "\ufeffchanged = 'cr\xe8me'\n".encode("utf-8")),
    ("x = 1\n".encode("utf-16"), "changed = 'cr\xe8me'\n".encode("utf-16"))])
async def test_other_encodings_stay_with_our_own_byte_faithful_reads_and_writes(repo, data, expected):
    (repo / "f.txt").write_bytes(data)
    editor = Editor()
    ctx = context(repo, editor)
    await run(ReadFile(), ctx, file_path="f.txt")
    outcome = await run(WriteFile(), ctx, file_path="f.txt", content="changed = 'cr\xe8me'\n")
    assert outcome.ok and editor.read_paths == [] and editor.written == []
    assert (repo / "f.txt").read_bytes() == expected


async def test_binary_files_images_and_cut_files_are_not_asked_for(repo, monkeypatch):
    from de_agent.tools import fs_read
    from tests.support.openai_server import gradient_png

    (repo / "blob.bin").write_bytes(b"\x00\x01binary")
    (repo / "chart.png").write_bytes(gradient_png(8, 8))
    (repo / "big.txt").write_text("line\n" * 100)
    monkeypatch.setattr(fs_read, "MAX_READ_BYTES", 50)
    editor = Editor()
    ctx = context(repo, editor)
    for name in ("blob.bin", "chart.png", "big.txt"):
        await run(ReadFile(), ctx, file_path=name)
    assert editor.read_paths == []
    assert not plain_text(b"\x00") and not plain_text(b"\xef\xbb\xbfx") and plain_text("é".encode())


async def test_a_new_file_in_new_folders_our_walk_makes_the_folders_the_editor_the_file(repo):
    editor = Editor()
    ctx = context(repo, editor)
    outcome = await run(WriteFile(), ctx, file_path="models/staging/stg_orders.sql", content="select 1\n")
    assert outcome.ok and editor.written == [(str(repo / "models/staging/stg_orders.sql"), "select 1\n")]
    assert (repo / "models" / "staging").is_dir() and not (repo / "models/staging/stg_orders.sql").exists()


async def test_a_hard_linked_file_is_refused_before_any_request(repo, tmp_path):
    os.link(repo / "etl" / "load.py", repo / "twin.py")
    editor = Editor()
    ctx = context(repo, editor)
    action = await WriteFile().prepare({"file_path": "twin.py", "content": "x = 1\n"}, ctx)
    with pytest.raises(ToolError, match="single link"):
        await action.run(None)
    assert editor.written == []


async def test_git_files_are_never_written_through_the_editor_either(repo):
    """What our own writes refuse (anything inside .git) is refused before the editor is asked."""
    editor = Editor()
    ctx = context(repo, editor)
    before = (repo / ".git" / "config").read_bytes()
    for tool, args in ((Edit(), {"file_path": ".git/config", "old_string": "[core]", "new_string": "[core]\n\tfsmonitor = x"}),
                       (WriteFile(), {"file_path": ".git/hooks/pre-commit", "content": "#!/bin/sh\necho owned\n"}),
                       (WriteFile(), {"file_path": ".GIT/config", "content": "[core]\n"})):
        with pytest.raises(ToolError, match="inside .git"):
            action = await tool.prepare(args, ctx)
            await action.run(None)
    assert editor.written == [] and (repo / ".git" / "config").read_bytes() == before
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    for rel in (".git/config", ".", "sub/.git/HEAD"):  # the editor's own path check refuses them too
        with pytest.raises(ConfinementError):
            editor_path(ctx.workspace, rel, writing=True)
    assert editor_path(ctx.workspace, ".git/config") == str(repo / ".git" / "config")  # reading stays allowed


async def test_a_buffer_changed_after_prepare_is_not_overwritten(repo):
    path = str(repo / "etl" / "load.py")
    editor = Editor({path: "def load(rows):\n    return list(rows)\n"})
    ctx = context(repo, editor)
    action = await Edit().prepare({"file_path": "etl/load.py", "old_string": "list(rows)", "new_string": "rows"}, ctx)
    editor.buffers[path] = "def load(rows):\n    return tuple(rows)\n"  # the person typed meanwhile
    with pytest.raises(ToolError, match="changed in the editor"):
        await action.run(None)
    assert editor.written == []


async def test_an_editor_read_error_is_a_tool_error_that_says_so(repo):
    ctx = context(repo, Editor(fail_reads=True))
    action = await ReadFile().prepare({"file_path": "etl/load.py"}, ctx)
    with pytest.raises(ToolError, match="the editor could not read it .no such buffer."):
        await action.run(None)


async def test_an_editor_text_over_the_tools_limit_is_refused(repo, monkeypatch):
    from de_agent.tools import edit

    monkeypatch.setattr(edit, "MAX_EDIT_BYTES", 100)
    path = str(repo / "etl" / "load.py")
    ctx = context(repo, Editor({path: "def load(rows):\n" + "    pass\n" * 30}))
    with pytest.raises(ToolError, match="larger than"):
        await Edit().prepare({"file_path": "etl/load.py", "old_string": "pass", "new_string": "x"}, ctx)
