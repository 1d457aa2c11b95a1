"""Edit and WriteFile through the tool interface, in a real git repository on disk."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from de_agent.config import Settings
from de_agent.tools import BUILTIN, load_tools
from de_agent.tools.base import EDIT, READ, ToolContext, ToolError
from de_agent.tools.edit import Edit, WriteFile
from de_agent.workspace import Workspace

LONG = "".join(f"value_{i} = {i}\n" for i in range(1, 41))


@pytest.fixture
def ctx(repo: Path) -> ToolContext:
    return ToolContext(Workspace(repo), Settings())


async def edit(ctx, path, old, new, **extra):
    return await Edit().prepare({"file_path": path, "old_string": old, "new_string": new, **extra}, ctx)


async def write(ctx, path, content):
    return await WriteFile().prepare({"file_path": path, "content": content}, ctx)


async def test_prepare_touches_nothing_and_run_applies(ctx, repo):
    target = repo / "etl" / "load.py"
    before = target.read_bytes(), target.stat().st_mtime_ns
    action = await edit(ctx, "etl/load.py", "return list(rows)", "return [r for r in rows if r]")
    assert (target.read_bytes(), target.stat().st_mtime_ns) == before
    assert action.kind == EDIT and action.paths == ["etl/load.py"]
    assert action.changes[0].file_path == "etl/load.py"
    assert action.changes[0].diff.startswith("--- a/etl/load.py\n+++ b/etl/load.py\n@@ -1,2 +1,2 @@\n")
    assert "+    return [r for r in rows if r]" in action.changes[0].diff
    outcome = await action.run(None)
    assert outcome.ok and outcome.changed == ["etl/load.py"]
    assert target.read_text() == "def load(rows):\n    return [r for r in rows if r]\n"
    assert outcome.applied_diffs == [("etl/load.py", action.changes[0].diff)]
    assert "exact match at line 2" in outcome.output and "do not send it again" in outcome.output


async def test_a_tolerant_match_says_how_it_matched_and_shows_the_result(ctx, repo):
    action = await edit(ctx, "etl/load.py", "def load(rows):\n  return list(rows)\n",
                        "def load(rows):\n  rows = list(rows)\n  return rows\n")
    outcome = await action.run(None)
    assert (repo / "etl/load.py").read_text() == "def load(rows):\n    rows = list(rows)\n    return rows\n"
    assert "ignoring indentation" in outcome.output and "re-indented" in outcome.output
    assert "+    rows = list(rows)" in outcome.output


async def test_only_accepted_hunks_are_applied_and_reported(ctx, repo):
    (repo / "cfg.py").write_text(LONG)
    action = await write(ctx, "cfg.py", LONG.replace("value_2 = 2", "value_2 = 20").replace("value_39 = 39", "value_39 = 390"))
    assert action.changes[0].diff.count("\n@@ ") == 2
    outcome = await action.run([1])
    text = (repo / "cfg.py").read_text()
    assert "value_2 = 2\n" in text and "value_39 = 390\n" in text
    assert "1 of 2 hunks applied" in outcome.output
    assert "NOT applied (rejected by the user): #1 (lines 1-5" in outcome.output
    applied = outcome.applied_diffs[0][1]
    assert "+value_39 = 390" in applied and "value_2 = 20" not in applied


async def test_no_accepted_hunk_writes_nothing(ctx, repo):
    (repo / "cfg.py").write_text(LONG)
    action = await write(ctx, "cfg.py", LONG.replace("value_2 = 2", "value_2 = 20"))
    outcome = await action.run([])
    assert not outcome.ok and "unchanged" in outcome.output
    assert (repo / "cfg.py").read_text() == LONG and outcome.changed == []


async def test_an_unknown_hunk_index_is_an_error(ctx, repo):
    action = await edit(ctx, "etl/load.py", "list(rows)", "tuple(rows)")
    with pytest.raises(ToolError, match="does not exist"):
        await action.run([5])


async def test_permissions_are_kept(ctx, repo):
    script = repo / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o750)
    await (await edit(ctx, "run.sh", "echo hi", "echo hello")).run(None)
    assert stat.S_IMODE(script.stat().st_mode) == 0o750
    assert script.read_text() == "#!/bin/sh\necho hello\n"


async def test_the_write_is_atomic_a_new_file_renamed_into_place(ctx, repo):
    target = repo / "etl" / "load.py"
    inode = target.stat().st_ino
    keep = os.open(target, os.O_RDONLY)  # a reader holding the old file sees the old content
    try:
        await (await edit(ctx, "etl/load.py", "list(rows)", "tuple(rows)")).run(None)
        assert os.read(keep, 100) == b"def load(rows):\n    return list(rows)\n"
    finally:
        os.close(keep)
    assert target.stat().st_ino != inode
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


async def test_a_refused_write_leaves_the_file_whole(ctx, repo):
    target = repo / "etl" / "load.py"
    os.link(target, repo / "hardlink.py")
    action = await edit(ctx, "etl/load.py", "list(rows)", "tuple(rows)")
    with pytest.raises(ToolError, match="hard links"):
        await action.run(None)
    assert target.read_text() == "def load(rows):\n    return list(rows)\n"


@pytest.mark.parametrize("path", ["../outside.py", "/etc/hostname", "link_out/x.py"])
async def test_paths_outside_the_repository_are_refused(ctx, repo, tmp_path, path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (repo / "link_out").symlink_to(outside)
    with pytest.raises(ToolError, match="outside the repository"):
        await write(ctx, path, "x = 1\n")
    with pytest.raises(ToolError, match="outside the repository"):
        await edit(ctx, path, "", "x = 1\n")
    assert list(outside.iterdir()) == [] and not (repo.parent / "outside.py").exists()


async def test_git_internals_and_folders_are_refused(ctx, repo):
    with pytest.raises(ToolError, match=".git"):
        await write(ctx, ".git/hooks/pre-commit", "#!/bin/sh\n")
    with pytest.raises(ToolError, match="directory"):
        await write(ctx, "etl", "x\n")


async def test_a_file_changed_after_prepare_is_not_overwritten(ctx, repo):
    target = repo / "etl" / "load.py"
    action = await edit(ctx, "etl/load.py", "list(rows)", "tuple(rows)")
    target.write_text("def load(rows):\n    return sorted(rows)\n")
    with pytest.raises(ToolError, match="changed on disk"):
        await action.run(None)
    assert target.read_text() == "def load(rows):\n    return sorted(rows)\n"


async def test_a_file_created_after_prepare_is_not_overwritten(ctx, repo):
    action = await write(ctx, "new.py", "a = 1\n")
    (repo / "new.py").write_text("user = 1\n")
    with pytest.raises(ToolError, match="was created on disk"):
        await action.run(None)
    assert (repo / "new.py").read_text() == "user = 1\n"


async def test_edit_with_empty_old_string_creates_a_missing_file(ctx, repo):
    action = await edit(ctx, "etl/new/transform.py", "", "def t(x):\n    return x\n")
    assert action.changes[0].diff.startswith("--- /dev/null\n+++ b/etl/new/transform.py\n@@ -0,0 +1,2 @@")
    assert action.summary.startswith("create etl/new/transform.py")
    outcome = await action.run(None)
    assert (repo / "etl/new/transform.py").read_text() == "def t(x):\n    return x\n"
    assert outcome.output.startswith("Created etl/new/transform.py (2 lines)")


async def test_edit_with_empty_old_string_on_an_existing_file_points_to_writefile(ctx, repo):
    with pytest.raises(ToolError, match="WriteFile"):
        await edit(ctx, "etl/load.py", "", "x = 1\n")


async def test_edit_with_empty_old_string_fills_an_empty_file(ctx, repo):
    (repo / "empty.py").write_text("")
    await (await edit(ctx, "empty.py", "", "x = 1\n")).run(None)
    assert (repo / "empty.py").read_text() == "x = 1\n"


async def test_edit_of_a_missing_file_says_so(ctx, repo):
    with pytest.raises(ToolError, match="does not exist"):
        await edit(ctx, "etl/nope.py", "a", "b")


async def test_ambiguous_edit_names_both_places_and_changes_nothing(ctx, repo):
    (repo / "dup.py").write_text("x = 1\ny = 2\nx = 1\n")
    with pytest.raises(ToolError, match=r"line 1, line 3"):
        await edit(ctx, "dup.py", "x = 1", "x = 5")
    outcome = await (await edit(ctx, "dup.py", "x = 1", "x = 5", allow_multiple=True)).run(None)
    assert (repo / "dup.py").read_text() == "x = 5\ny = 2\nx = 5\n"
    assert "replaced 2 exact occurrences" in outcome.output


async def test_crlf_and_missing_final_newline_are_kept(ctx, repo):
    (repo / "win.sql").write_bytes(b"select a,\r\n       b\r\nfrom t")
    await (await edit(ctx, "win.sql", "       b\n", "       b,\n       c\n")).run(None)
    assert (repo / "win.sql").read_bytes() == b"select a,\r\n       b,\r\n       c\r\nfrom t"


async def test_latin1_files_stay_latin1_and_unencodable_text_is_refused(ctx, repo):
    target = repo / "legacy.txt"
    target.write_bytes("nom = caf\u00e9\n".encode("latin-1"))
    outcome = await (await edit(ctx, "legacy.txt", "caf\u00e9", "th\u00e9")).run(None)
    assert target.read_bytes() == "nom = th\u00e9\n".encode("latin-1")
    assert "latin-1" in outcome.output
    with pytest.raises(ToolError, match="cannot hold"):
        await edit(ctx, "legacy.txt", "th\u00e9", "th\u00e9 \u2192 tea")
    assert target.read_bytes() == "nom = th\u00e9\n".encode("latin-1")


async def test_binary_files_are_refused(ctx, repo):
    (repo / "blob.bin").write_bytes(b"\x00\x01\x02abc")
    with pytest.raises(ToolError, match="binary"):
        await edit(ctx, "blob.bin", "abc", "def")
    with pytest.raises(ToolError, match="binary"):
        await write(ctx, "blob.bin", "text")


async def test_writefile_new_file_shows_as_added(ctx, repo):
    action = await write(ctx, "models/a.sql", "select 1\n")
    assert action.changes[0].diff == "--- /dev/null\n+++ b/models/a.sql\n@@ -0,0 +1 @@\n+select 1\n"
    outcome = await action.run(None)
    assert (repo / "models/a.sql").read_text() == "select 1\n"
    assert outcome.applied_diffs[0][1].startswith("--- /dev/null")


async def test_writefile_overwrite_keeps_the_files_conventions(ctx, repo):
    (repo / "win.txt").write_bytes(b"\xef\xbb\xbfone\r\ntwo")
    outcome = await (await write(ctx, "win.txt", "one\nthree\n")).run(None)
    assert (repo / "win.txt").read_bytes() == b"\xef\xbb\xbfone\r\nthree"
    assert "CRLF" in outcome.output and "BOM" in outcome.output


async def test_writefile_with_identical_content_needs_no_approval(ctx, repo):
    action = await write(ctx, "etl/load.py", "def load(rows):\n    return list(rows)\n")
    assert action.kind == READ and action.changes == []
    assert "nothing was written" in (await action.run(None)).output


async def test_writefile_refuses_placeholders(ctx, repo):
    with pytest.raises(ToolError, match="placeholder"):
        await write(ctx, "etl/load.py", "def load(rows):\n    # ... existing code ...\n")
    assert (repo / "etl/load.py").read_text() == "def load(rows):\n    return list(rows)\n"


async def test_edit_and_writefile_are_registered():
    assert ("de_agent.tools.edit", "Edit") in BUILTIN and ("de_agent.tools.edit", "WriteFile") in BUILTIN
    names = {tool.name for tool in load_tools([("de_agent.tools.edit", "Edit"), ("de_agent.tools.edit", "WriteFile")])}
    assert names == {"Edit", "WriteFile"}
    assert Edit().schema()["function"]["parameters"]["required"] == ["file_path", "old_string", "new_string"]


async def test_secret_files_answer_nothing_about_their_content_before_approval(ctx, repo):
    (repo / ".env").write_text("API_KEY=abc123\n")
    miss = await edit(ctx, ".env", "API_KEY=zzz", "API_KEY=x")
    hit = await edit(ctx, ".env", "API_KEY=abc123", "API_KEY=x")
    assert miss.secret_read and hit.secret_read and miss.kind == hit.kind == EDIT
    assert miss.changes == []
    with pytest.raises(ToolError, match="not found") as err:
        await miss.run(None)
    assert "abc123" not in str(err.value)
    same = await write(ctx, ".env", "API_KEY=abc123\n")
    assert same.secret_read and same.kind == EDIT


async def test_a_parent_that_is_a_file_gets_a_clear_message(repo):
    from de_agent.config import Settings
    from de_agent.tools.base import ToolContext, ToolError
    from de_agent.tools.edit import Edit
    from de_agent.workspace import Workspace

    (repo / "notes.txt").write_text("x\n")
    ctx = ToolContext(workspace=Workspace(repo), settings=Settings())
    try:
        await Edit().prepare({"file_path": "notes.txt/inner.py", "old_string": "a", "new_string": "b"}, ctx)
    except ToolError as exc:
        assert "a parent of this path is a file" in str(exc)
    else:
        raise AssertionError("expected a ToolError")
