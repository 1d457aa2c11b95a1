"""FindFiles, ReadFolder, ReadFile and ReadManyFiles, called as the engine calls them:
prepare, then run. Failure paths included: missing, binary, huge, invalid UTF-8, escapes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from de_agent.config import Settings
from de_agent.tools import fs_list, fs_read
from de_agent.tools.base import MAX_OUTPUT_BYTES, MAX_OUTPUT_LINES, Outcome, ToolContext, ToolError
from de_agent.tools.fs_read import FindFiles, ReadFile, ReadFolder, ReadManyFiles
from de_agent.tools.helpers.search_backends import find_rg
from de_agent.workspace import Workspace
from tests.test_tools_search import build_fixture, write

ENGINES = ["auto", "off"] if find_rg("auto") else ["off"]


def context(root: Path, engine: str = "auto") -> ToolContext:
    return ToolContext(workspace=Workspace(root), settings=Settings(ripgrep=engine))


async def call(tool, root: Path, engine: str = "auto", **args) -> Outcome:
    ctx = context(root, engine)
    action = await tool.prepare(args, ctx)
    return await action.run(None)


@pytest.fixture
def fx(repo: Path) -> Path:
    return build_fixture(repo)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("outside secret\n")
    return folder


ESCAPES = ["../outside/secret.txt", "/etc/passwd", "escape_link/secret.txt", "file_link"]


def make_escape_links(repo: Path, outside: Path) -> None:
    os.symlink(outside, repo / "escape_link")
    os.symlink(outside / "secret.txt", repo / "file_link")


# -- ReadFile -----------------------------------------------------------------------------

async def test_read_file_numbers_lines(repo: Path) -> None:
    out = await call(ReadFile(), repo, file_path="etl/load.py")
    assert out.ok and out.output == "     1\tdef load(rows):\n     2\t    return list(rows)\n"


async def test_read_file_range(repo: Path) -> None:
    write(repo, "n.txt", "".join(f"l{i}\n" for i in range(1, 11)))
    out = await call(ReadFile(), repo, file_path="n.txt", start_line=3, end_line=5)
    assert out.output.startswith("     3\tl3\n     4\tl4\n     5\tl5\n")
    assert "[showing lines 3-5 of 10]" in out.output
    with pytest.raises(ToolError, match="past the end"):
        await call(ReadFile(), repo, file_path="n.txt", start_line=11)
    with pytest.raises(ToolError, match="must not be before"):
        await call(ReadFile(), repo, file_path="n.txt", start_line=5, end_line=2)
    with pytest.raises(ToolError, match="1 or more"):
        await call(ReadFile(), repo, file_path="n.txt", start_line=0)


async def test_read_file_missing_and_folder(repo: Path) -> None:
    with pytest.raises(ToolError, match="no such file"):
        await call(ReadFile(), repo, file_path="etl/nope.py")
    with pytest.raises(ToolError, match="is a folder"):
        await call(ReadFile(), repo, file_path="etl")


async def test_read_file_binary_is_not_shown(fx: Path) -> None:
    out = await call(ReadFile(), fx, file_path="data/blob.bin")
    assert not out.ok and "binary file" in out.output and "TODO" not in out.output


async def test_read_file_invalid_utf8_is_replaced_with_a_note(fx: Path) -> None:
    out = await call(ReadFile(), fx, file_path="latin1.txt")
    assert out.ok and "caf\ufffd TODO" in out.output
    assert "not valid UTF-8 (first bad byte at offset 3)" in out.output


async def test_read_file_crlf_bom_and_utf16(repo: Path) -> None:
    write(repo, "crlf.txt", b"\xef\xbb\xbfa\r\nb\r\n")
    assert (await call(ReadFile(), repo, file_path="crlf.txt")).output == "     1\ta\n     2\tb\n"
    write(repo, "u16.txt", "h\u00e9llo\nworld\n".encode("utf-16"))
    out = await call(ReadFile(), repo, file_path="u16.txt")
    assert out.ok and "     1\th\u00e9llo\n" in out.output and "UTF-16" in out.output


async def test_read_file_many_lines_are_bounded(repo: Path) -> None:
    write(repo, "big.txt", "".join(f"row {i}\n" for i in range(1, 5001)))
    out = await call(ReadFile(), repo, file_path="big.txt")
    assert out.output.count("\n") == MAX_OUTPUT_LINES + 1
    assert f"showing lines 1-{MAX_OUTPUT_LINES} of 5,000" in out.output
    assert f"start_line={MAX_OUTPUT_LINES + 1}" in out.output
    nxt = await call(ReadFile(), repo, file_path="big.txt", start_line=4999)
    assert nxt.output.startswith("  4999\trow 4999\n  5000\trow 5000\n")


async def test_read_file_bytes_and_long_lines_are_bounded(repo: Path) -> None:
    write(repo, "wide.txt", "".join(f"{'w' * 3000}\n" for _ in range(100)))
    out = await call(ReadFile(), repo, file_path="wide.txt")
    assert len(out.output.encode()) < MAX_OUTPUT_BYTES + 500
    assert "line cut: 1,000 more characters" in out.output
    assert "limit 48,000 bytes" in out.output and "start_line=" in out.output


async def test_read_file_huge_file_reads_only_the_start(repo: Path, monkeypatch) -> None:
    monkeypatch.setattr(fs_read, "MAX_READ_BYTES", 64 << 10)
    write(repo, "huge.log", "".join(f"entry {i:06d}\n" for i in range(100_000)))  # 1.3 MB
    out = await call(ReadFile(), repo, file_path="huge.log")
    assert out.ok and out.output.startswith("     1\tentry 000000\n")
    assert "only its first 64.0 KiB" in out.output and "SearchText, or Shell" in out.output
    assert out.display["truncated"] is True


async def test_read_file_huge_single_line(repo: Path, monkeypatch) -> None:
    monkeypatch.setattr(fs_read, "MAX_READ_BYTES", 64 << 10)
    write(repo, "min.json", "[" + "1," * 100_000 + "1]")
    out = await call(ReadFile(), repo, file_path="min.json")
    assert out.output.startswith("     1\t[1,1,1,") and "line cut: 63,536 more characters" in out.output
    assert "only its first 64.0 KiB" in out.output


async def test_read_file_empty(repo: Path) -> None:
    write(repo, "empty.txt", "")
    assert (await call(ReadFile(), repo, file_path="empty.txt")).output == "empty.txt is empty.\n"


@pytest.mark.parametrize("path", ESCAPES)
async def test_read_file_refuses_escapes(repo: Path, outside: Path, path: str) -> None:
    make_escape_links(repo, outside)
    with pytest.raises(ToolError, match="outside the repository"):
        await ReadFile().prepare({"file_path": path}, context(repo))


async def test_read_file_flags_secrets_but_reads_them(fx: Path) -> None:
    ctx = context(fx)
    action = await ReadFile().prepare({"file_path": ".env"}, ctx)
    assert action.secret_read is True and action.paths == [".env"]
    assert "API_KEY=TODO-secret" in (await action.run(None)).output
    plain = await ReadFile().prepare({"file_path": "src/app.py"}, ctx)
    assert plain.secret_read is False


async def test_read_file_via_symlink_inside_repo(fx: Path) -> None:
    out = await call(ReadFile(), fx, file_path="link_file")
    assert "def load_rows" in out.output


# -- FindFiles ----------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
async def test_find_files_honours_gitignore_and_sorts(fx: Path, engine: str) -> None:
    out = (await call(FindFiles(), fx, engine, pattern="**/*.tmp")).output
    assert out == "1 file match '**/*.tmp' in the repository (sorted by path):\nsrc/sql/keep.tmp\n"
    out = (await call(FindFiles(), fx, engine, pattern="*.sql,*.py")).output
    assert out.splitlines()[1:] == ["etl/load.py", "src/app.py", "src/sql/orders.sql"]
    out = (await call(FindFiles(), fx, engine, pattern="*.txt")).output
    assert out.splitlines()[1:] == ["a/b.txt", "a-b/x.txt", "crlf.txt", "ctx.txt", "latin1.txt", "long.txt"]


@pytest.mark.parametrize("engine", ENGINES)
async def test_find_files_in_a_folder(fx: Path, engine: str) -> None:
    out = (await call(FindFiles(), fx, engine, pattern="sql/*.sql", dir_path="src")).output
    assert out.splitlines()[1:] == ["src/sql/orders.sql"]
    out = (await call(FindFiles(), fx, engine, pattern="*", dir_path="build")).output
    assert out.splitlines()[1:] == ["build/out.py"]


async def test_find_files_engines_agree(fx: Path) -> None:
    if len(ENGINES) < 2:
        pytest.skip("ripgrep binary not installed")
    for pattern in ("*", "**/*.md", "*.{py,sql}", "src/**", ".*", "*.py,*.sql"):
        a = await call(FindFiles(), fx, "auto", pattern=pattern)
        b = await call(FindFiles(), fx, "off", pattern=pattern)
        assert a.output == b.output, pattern


async def test_find_files_bounded_and_empty(repo: Path) -> None:
    for i in range(fs_list.MAX_FILES + 20):
        write(repo, f"many/f{i:04d}.csv", "")
    out = (await call(FindFiles(), repo, pattern="*.csv")).output
    assert out.count(".csv\n") == fs_list.MAX_FILES
    assert f"showing the first {fs_list.MAX_FILES} of {fs_list.MAX_FILES + 20}" in out
    out = (await call(FindFiles(), repo, pattern="*.nothing")).output
    assert out.startswith("No files match '*.nothing'")


async def test_find_files_bad_folder(repo: Path, outside: Path) -> None:
    make_escape_links(repo, outside)
    with pytest.raises(ToolError, match="outside the repository"):
        await FindFiles().prepare({"pattern": "*", "dir_path": "escape_link"}, context(repo))
    with pytest.raises(ToolError, match="no such folder"):
        await call(FindFiles(), repo, pattern="*", dir_path="missing")
    with pytest.raises(ToolError, match="is a file"):
        await call(FindFiles(), repo, pattern="*", dir_path="README.md")


# -- ReadFolder ---------------------------------------------------------------------------

async def test_read_folder_lists_dirs_first_with_sizes(fx: Path) -> None:
    out = (await call(ReadFolder(), fx, dir_path="src")).output
    assert out == "src/: 1 folder, 1 file\nsql/\napp.py  (69 B)\n"
    root = (await call(ReadFolder(), fx, dir_path=".")).output
    lines = root.splitlines()
    assert "build/" not in lines and "run.log" not in root and ".git/" not in lines
    assert "link_dir@ -> src" in lines and "link_file@ -> src/app.py" in lines
    assert lines.index("src/") < lines.index(".env  (20 B)")
    assert "[3 entries ignored by .gitignore not shown]" in root  # build/, run.log, notes.local


async def test_read_folder_ignore_globs_and_nested_rules(fx: Path) -> None:
    out = (await call(ReadFolder(), fx, dir_path="src/sql", ignore=["*.sql"])).output
    assert "keep.tmp" in out and "scratch.tmp" not in out and "orders.sql" not in out
    assert "[1 entry ignored by .gitignore not shown]" in out
    assert "[1 entry matching the ignore globs not shown]" in out


async def test_read_folder_failures(repo: Path, outside: Path) -> None:
    make_escape_links(repo, outside)
    with pytest.raises(ToolError, match="outside the repository"):
        await ReadFolder().prepare({"dir_path": "../outside"}, context(repo))
    with pytest.raises(ToolError, match="outside the repository"):
        await ReadFolder().prepare({"dir_path": "escape_link"}, context(repo))
    with pytest.raises(ToolError, match="no such folder"):
        await call(ReadFolder(), repo, dir_path="missing")
    with pytest.raises(ToolError, match="is a file"):
        await call(ReadFolder(), repo, dir_path="README.md")
    (repo / "empty").mkdir()
    assert (await call(ReadFolder(), repo, dir_path="empty")).output.endswith("(empty folder)\n")


# -- ReadManyFiles ------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
async def test_read_many_files(fx: Path, engine: str) -> None:
    out = (await call(ReadManyFiles(), fx, engine, include=["src/**"], exclude=["*.tmp"])).output
    assert out.startswith("--- src/app.py ---\ndef load_rows(rows):\n")
    assert "--- src/sql/orders.sql ---\nSELECT id, amount\n" in out
    assert "--- src/sql/.gitignore ---\n*.tmp\n!keep.tmp\n" in out
    assert "--- src/sql/keep.tmp" not in out and "scratch" not in out


async def test_read_many_files_skips_binary_and_ignored(fx: Path) -> None:
    out = (await call(ReadManyFiles(), fx, include=["data/**"])).output
    assert "--- data/raw/README.md ---\nTODO raw readme\n" in out
    assert "dump.csv" not in out
    assert "[skipped 1 binary file(s): data/blob.bin]" in out
    # a NUL past the first 8 KiB does not make a file binary; its 70,000-character line is cut
    assert "--- data/late.bin ---\nTODO first\nxxx" in out and "[line cut: 68,000 more characters]" in out


async def test_read_many_files_total_is_bounded(repo: Path) -> None:
    for i in range(30):
        write(repo, f"docs/d{i:02d}.md", f"doc {i}\n" + "text line\n" * 400)
    out = (await call(ReadManyFiles(), repo, include="docs/*.md")).output
    assert len(out.encode()) < MAX_OUTPUT_BYTES + 2000
    assert "more file(s) not read" in out and "docs/d29.md" in out.split("more file(s) not read")[1]
    assert "cut after" in out and "ReadFile start_line=" in out


async def test_read_many_files_flags_secrets_and_refuses_escapes(fx: Path) -> None:
    ctx = context(fx)
    action = await ReadManyFiles().prepare({"include": [".env*", "src/app.py"]}, ctx)
    assert action.secret_read is True and ".env" in action.paths
    plain = await ReadManyFiles().prepare({"include": ["src/*.py"]}, ctx)
    assert plain.secret_read is False and plain.paths == ["src/app.py"]
    with pytest.raises(ToolError, match="outside the repository"):
        await ReadManyFiles().prepare({"include": ["../*.txt"]}, ctx)
    with pytest.raises(ToolError, match="at least one glob"):
        await ReadManyFiles().prepare({"include": []}, ctx)
    absolute = await ReadManyFiles().prepare({"include": [f"{fx}/src/*.py"]}, ctx)
    assert absolute.paths == ["src/app.py"]
    nothing = await call(ReadManyFiles(), fx, include=["*.nothing"])
    assert nothing.output.startswith("No files match *.nothing")


async def test_find_files_with_a_broken_ripgrep_binary_lists_in_python(fx: Path, tmp_path: Path) -> None:
    broken = tmp_path / "rg"
    broken.write_bytes(b"\x7fELF not really a program")
    broken.chmod(0o755)
    out = await call(FindFiles(), fx, str(broken), pattern="*.sql")
    assert out.output.splitlines()[1:] == ["src/sql/orders.sql"]
