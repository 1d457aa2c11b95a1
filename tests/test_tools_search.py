"""SearchText and the repository walker: both engines (ripgrep and pure Python) agree, ignore
rules follow git, binary and secret files are skipped, output is bounded, bad input fails clearly."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from de_agent.config import Settings
from de_agent.tools import search as search_mod
from de_agent.tools.base import ToolContext, ToolError
from de_agent.tools.helpers import search_backends
from de_agent.tools.helpers.globs import compile_glob
from de_agent.tools.helpers.ignore import IgnoreTree
from de_agent.tools.search import MAX_MATCHES, SearchText
from de_agent.workspace import Workspace

RG = search_backends.find_rg("auto")
needs_rg = pytest.mark.skipif(RG is None, reason="ripgrep binary not installed")


def write(root: Path, rel: str, data: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")


def build_fixture(root: Path, links: bool = True) -> Path:
    """Ignore rules at three levels, binary, unicode, hidden, secret, CRLF and latin-1 files."""
    write(root, ".gitignore", "build/\n*.log\ndata/raw/**\n!data/raw/README.md\n")
    with open(root / ".git" / "info" / "exclude", "a") as fh:
        fh.write("*.local\n")
    write(root, "src/app.py", "def load_rows(rows):\n    return rows  # TODO\n\nclass Loader:\n    pass\n")
    write(root, "src/sql/orders.sql", "SELECT id, amount\nFROM raw.orders\nWHERE amount > 0 -- TODO\n")
    write(root, "src/sql/.gitignore", "*.tmp\n!keep.tmp\n")
    write(root, "src/sql/scratch.tmp", "TODO scratch\n")
    write(root, "src/sql/keep.tmp", "TODO keep\n")
    write(root, "build/out.py", "TODO built\n")
    write(root, "run.log", "TODO log\n")
    write(root, "notes.local", "TODO local\n")
    write(root, "data/raw/README.md", "TODO raw readme\n")
    write(root, "data/raw/dump.csv", "TODO,1\n")
    write(root, "data/blob.bin", b"TODO\x00binary\n")
    write(root, "data/late.bin", b"TODO first\n" + b"x" * 70_000 + b"\n\x00TODO after\n")
    write(root, "docs/\u00fcn\u00efc\u00f8d\u00e9.md", "\u00dcn\u00efc\u00f8d\u00e9 TODO: caf\u00e9\nna\u00efve line\n")
    write(root, ".github/ci.yml", "# TODO hidden\n")
    write(root, ".env", "API_KEY=TODO-secret\n")
    write(root, "crlf.txt", b"TODO crlf\r\nsecond\r\n")
    write(root, "latin1.txt", b"caf\xe9 TODO\n")
    write(root, "a-b/x.txt", "TODO dash\n")
    write(root, "a/b.txt", "TODO slash\n")
    write(root, "long.txt", "TODO " + "y" * 1000 + "\n")
    write(root, "ctx.txt", "".join(f"line {i}{' TODO' if i in (3, 4, 12) else ''}\n" for i in range(1, 16)))
    if links:
        os.symlink("src", root / "link_dir")
        os.symlink("src/app.py", root / "link_file")
    return root


@pytest.fixture
def fx(repo: Path) -> Path:
    return build_fixture(repo)


async def search(root: Path, engine: str, **args) -> str:
    ctx = ToolContext(workspace=Workspace(root), settings=Settings(ripgrep=engine))
    action = await SearchText().prepare(args, ctx)
    outcome = await action.run(None)
    assert outcome.ok
    return outcome.output


QUERIES = [
    {"pattern": "TODO"},
    {"pattern": "(?i)todo", "context": 1},
    {"pattern": "TODO", "include": "*.sql"},
    {"pattern": "TODO", "include": "src/**"},
    {"pattern": "TODO", "include": "*.{tmp,md}"},
    {"pattern": "TODO", "include": "*.sql, *.md"},
    {"pattern": "TODO", "dir_path": "src"},
    {"pattern": "TODO", "dir_path": "src", "include": "sql/*.sql"},
    {"pattern": "TODO", "dir_path": "build"},
    {"pattern": "TODO", "dir_path": "src/app.py"},
    {"pattern": "caf\u00e9|na\u00efve"},
    {"pattern": "a.b", "fixed_strings": True},
    {"pattern": r"^\s*return\b"},
    {"pattern": "TODO$"},
    {"pattern": "TODO", "context": 2, "dir_path": "ctx.txt"},
    {"pattern": "nothing_matches_this"},
]


@needs_rg
@pytest.mark.parametrize("query", QUERIES, ids=[str(q) for q in QUERIES])
async def test_both_engines_give_identical_output(fx: Path, query: dict) -> None:
    assert await search(fx, "auto", **query) == await search(fx, "off", **query)


@pytest.mark.parametrize("engine", ["auto", "off"])
async def test_ignore_rules_binary_and_secret_files(fx: Path, engine: str) -> None:
    out = await search(fx, engine, pattern="TODO")
    for shown in ("src/app.py:2:", "src/sql/orders.sql:3:", "src/sql/keep.tmp:1:", "data/raw/README.md:1:",
                  ".github/ci.yml:1:", "docs/\u00fcn\u00efc\u00f8d\u00e9.md:1: \u00dcn\u00efc\u00f8d\u00e9 TODO: caf\u00e9",
                  "crlf.txt:1: TODO crlf\n", "latin1.txt:1: caf\ufffd TODO"):
        assert shown in out, shown
    for hidden in ("scratch.tmp", "build/", "run.log", "notes.local", "dump.csv", "blob.bin",
                   "late.bin", ".env", "link_dir", "link_file"):
        assert hidden not in out, hidden
    # path order: a/b.txt before a-b/x.txt (component by component, like rg --sort path)
    assert out.index("a/b.txt:1:") < out.index("a-b/x.txt:1:")
    assert "[cut" not in out


@pytest.mark.parametrize("engine", ["auto", "off"])
async def test_context_lines_and_groups(fx: Path, engine: str) -> None:
    out = await search(fx, engine, pattern="TODO", dir_path="ctx.txt", context=1)
    body = out.split("\n", 1)[1]
    assert body == ("ctx.txt-2- line 2\nctx.txt:3: line 3 TODO\nctx.txt:4: line 4 TODO\nctx.txt-5- line 5\n"
                    "--\nctx.txt-11- line 11\nctx.txt:12: line 12 TODO\nctx.txt-13- line 13\n")
    assert out.startswith("Found 3 matches in 1 file")


@pytest.mark.parametrize("engine", ["auto", "off"])
async def test_long_lines_are_cut(fx: Path, engine: str) -> None:
    out = await search(fx, engine, pattern="TODO", dir_path="long.txt")
    line = out.splitlines()[1]
    assert line.startswith("long.txt:1: TODO yyy") and line.endswith("[605 more characters]")


@pytest.mark.parametrize("engine", ["auto", "off"])
async def test_match_limit_is_stated(repo: Path, engine: str) -> None:
    write(repo, "many.txt", "".join(f"hit {i}\n" for i in range(MAX_MATCHES + 50)))
    out = await search(repo, engine, pattern="hit")
    assert out.count("\nmany.txt:") == MAX_MATCHES
    assert f"showing {MAX_MATCHES} of {MAX_MATCHES + 50:,} matches" in out
    assert "narrow the pattern" in out


@needs_rg
async def test_too_many_to_count_is_the_same_in_both_engines(repo: Path) -> None:
    lines = "".join(f"m {i}\n" for i in range(search_backends.OVERFLOW_MATCHES // 2 + 10))
    write(repo, "x1.txt", lines)
    write(repo, "x2.txt", lines)
    rg_out = await search(repo, "auto", pattern="m")
    assert "more than 20,000 matches" in rg_out
    assert rg_out == await search(repo, "off", pattern="m")


@pytest.mark.parametrize("engine", ["auto", "off"])
async def test_byte_limit_is_stated(repo: Path, engine: str, monkeypatch) -> None:
    write(repo, "wide.txt", "".join(f"hit {'z' * 300}\n" for _ in range(250)))
    out = await search(repo, engine, pattern="hit")
    assert len(out.encode()) < 50_000
    assert "cut at the output limit of 48,000 bytes" in out


@pytest.mark.parametrize("engine", ["auto", "off"])
@pytest.mark.parametrize("pattern", ["(unclosed", "a{2,1}", "*start"])
async def test_invalid_regex_is_a_clear_error(fx: Path, engine: str, pattern: str) -> None:
    ctx = ToolContext(workspace=Workspace(fx), settings=Settings(ripgrep=engine))
    action = await SearchText().prepare({"pattern": pattern}, ctx)
    with pytest.raises(ToolError) as err:
        await action.run(None)
    assert str(err.value).startswith(f"invalid regular expression `{pattern}`: ")
    assert "fixed_strings=true" in str(err.value)


@pytest.mark.parametrize("args, message", [
    ({"pattern": "a\nb"}, "one line at a time"),
    ({"pattern": r"foo\nbar"}, "one line at a time"),
    ({"pattern": "x", "context": 99}, "context"),
    ({"pattern": ""}, "must not be empty"),
    ({"pattern": "x", "dir_path": "../"}, "outside the repository"),
    ({"pattern": "x", "dir_path": "/etc"}, "outside the repository"),
    ({"pattern": "x", "dir_path": "escape"}, "outside the repository"),
    ({"pattern": "x", "include": "[z-a]"}, "invalid glob"),
])
async def test_bad_arguments_fail_in_prepare(repo: Path, tmp_path: Path, args: dict, message: str) -> None:
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", repo / "escape")
    ctx = ToolContext(workspace=Workspace(repo), settings=Settings())
    with pytest.raises(ToolError, match=message):
        await SearchText().prepare(args, ctx)


async def test_missing_folder_fails_in_run(repo: Path) -> None:
    ctx = ToolContext(workspace=Workspace(repo), settings=Settings())
    action = await SearchText().prepare({"pattern": "x", "dir_path": "nope"}, ctx)
    with pytest.raises(ToolError, match="no such folder"):
        await action.run(None)


async def test_symlinked_folder_inside_the_repo_is_searched_at_its_target(fx: Path) -> None:
    out = await search(fx, "off", pattern="load_rows", dir_path="link_dir")
    assert "src/app.py:1: def load_rows(rows):" in out


async def test_ripgrep_timeout_is_a_tool_error(repo: Path, tmp_path: Path, monkeypatch) -> None:
    fake = tmp_path / "rg"
    fake.write_text("#!/bin/sh\nsleep 5\n")
    fake.chmod(0o755)
    monkeypatch.setattr(search_mod, "SEARCH_TIMEOUT_S", 0.3)
    ctx = ToolContext(workspace=Workspace(repo), settings=Settings(ripgrep=str(fake)))
    action = await SearchText().prepare({"pattern": "x"}, ctx)
    with pytest.raises(ToolError, match="longer than"):
        await action.run(None)


async def test_broken_ripgrep_binary_falls_back_to_python(fx: Path, tmp_path: Path) -> None:
    broken = tmp_path / "rg"
    broken.write_bytes(b"\x7fELF not really a program")
    broken.chmod(0o755)
    ctx = ToolContext(workspace=Workspace(fx), settings=Settings(ripgrep=str(broken)))
    outcome = await (await SearchText().prepare({"pattern": "TODO"}, ctx)).run(None)
    assert outcome.display["engine"] == "python"
    assert outcome.output == await search(fx, "off", pattern="TODO")


def test_find_rg_prefers_the_binary_next_to_python() -> None:
    import sys
    local = Path(sys.executable).parent / "rg"
    if local.exists():
        assert search_backends.find_rg("auto") == str(local)
    assert search_backends.find_rg("off") is None
    assert search_backends.find_rg("/nonexistent/rg") is None


# -- the walker --------------------------------------------------------------------------

def test_walker_lists_what_git_lists(repo: Path) -> None:
    build_fixture(repo, links=False)
    git = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=repo,
                         capture_output=True, check=True).stdout
    expected = sorted((os.fsdecode(p) for p in git.split(b"\0") if p), key=lambda p: p.split("/"))
    assert list(IgnoreTree(repo).walk()) == expected


def test_walker_skips_symlinks_and_git_and_honours_nested_rules(fx: Path) -> None:
    files = list(IgnoreTree(fx).walk())
    assert "src/sql/keep.tmp" in files and "src/sql/scratch.tmp" not in files
    assert "data/raw/README.md" in files and "data/raw/dump.csv" not in files
    assert not any(p.startswith((".git/", "link_", "build/")) for p in files)
    assert list(IgnoreTree(fx).walk("src")) == ["src/app.py", "src/sql/.gitignore", "src/sql/keep.tmp",
                                                "src/sql/orders.sql"]
    assert list(IgnoreTree(fx).walk("build")) == ["build/out.py"]  # an explicit start is searched


def test_walker_nested_repository_starts_fresh(repo: Path) -> None:
    write(repo, ".gitignore", "*.gen\n")
    nested = repo / "vendor" / "lib"
    nested.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(nested)], check=True)
    write(repo, "vendor/lib/a.gen", "x\n")
    write(repo, "top.gen", "x\n")
    files = list(IgnoreTree(repo).walk())
    assert "vendor/lib/a.gen" in files and "top.gen" not in files


@pytest.mark.parametrize("glob, path, expected", [
    ("*.sql", "a/b/c.sql", True),
    ("*.sql", "c.sql", True),
    ("**/*.sql", "c.sql", True),
    ("models/*.sql", "models/x.sql", True),
    ("models/*.sql", "models/y/x.sql", False),
    ("models/*.sql", "dbt/models/x.sql", False),
    ("models/**/*.sql", "models/a/b/x.sql", True),
    ("*.{py,sql}", "x/y.py", True),
    ("/top.py", "top.py", True),
    ("/top.py", "a/top.py", False),
    ("src/", "src/a/b.py", True),
    ("[ab].py", "b.py", True),
    ("[!ab].py", "b.py", False),
    ("src", "src/a.py", False),
])
def test_globs(glob: str, path: str, expected: bool) -> None:
    assert bool(compile_glob(glob).match(path)) is expected
