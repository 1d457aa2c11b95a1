"""Attack battery, part 7: RunSQL cannot read secret-looking files unasked, however the SQL
computes the file name; enforced where DuckDB opens files. End to end through ``de-agent -p``."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import run_cli, stream_events
from tests.support.openai_server import ScriptedServer, tool_messages

pytestmark = pytest.mark.e2e

SECRET = "DB_PASSWORD=hunter2-" + "9" * 12

ATTACKS = [
    "select * from read_text('.e' || 'nv')",
    "select * from read_text(reverse('vne.'))",
    "select * from query('select * from read_text(''.e'' || ''nv'')')",
    "select * from read_text(lower('.ENV'))",
    "select * from read_text('data/../.e' || 'nv')",
    "select * from read_text('data/link' || '.txt')",
    "select * from read_text('conf/' || 'id_rsa')",
    "select * from read_csv(concat('.en', 'v'), header=false, sep='|')",
    "select * from read_text(list_extract(['x', '.env'], 2))",
    "select content from read_blob('*' || 'env')",
    "select * from read_text(chr(46) || 'env')",
]


@pytest.fixture
def data_repo(repo):
    (repo / ".env").write_text(SECRET + "\n")
    (repo / "conf").mkdir()
    (repo / "conf" / "id_rsa").write_text(SECRET + " key\n")
    (repo / "data").mkdir()
    (repo / "data" / "x.csv").write_text("a,b\n1,2\n")
    (repo / "top.csv").write_text("a,b\n3,4\n")
    (repo / "clean").mkdir()
    (repo / "clean" / "p1.csv").write_text("a,b\n5,6\n")
    (repo / "clean" / "p2.csv").write_text("a,b\n7,8\n")
    (repo / "clean" / "alias.csv").symlink_to("p1.csv")
    (repo / "data" / "link.txt").symlink_to("../.env")
    return repo


def _calls(repo, home, sqls):
    script = [{"tool_calls": [{"name": "RunSQL", "arguments": {"sql": s}} for s in sqls]}, {"text": "ok"}]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, home, "-p", "go", "--output-format", "stream-json", server=server)
    assert proc.returncode == 0, proc.stderr
    return stream_events(proc.stdout), server


def test_computed_secret_file_names_are_refused_where_duckdb_opens_files(data_repo, de_agent_home):
    events, server = _calls(data_repo, de_agent_home, ATTACKS)
    assert "hunter2" not in json.dumps(server.requests)
    assert "hunter2" not in json.dumps(events)
    results = [e for e in events if e["type"] == "tool_result"]
    assert len(results) == len(ATTACKS)


def test_ordinary_files_still_read_unasked(data_repo, de_agent_home):
    events, server = _calls(data_repo, de_agent_home, [
        "select sum(a + b) as s from read_csv('data/x.csv')", "select * from read_csv('top.csv')",
        "select count(*) as n from read_csv('clean/p*.csv')"])
    results = [e for e in events if e["type"] == "tool_result"]
    assert all(r["ok"] for r in results), results
    contents = [m["content"] for m in tool_messages(server.requests[1])]
    assert "3" in contents[0] and "4" in contents[1]


def test_approved_secret_read_still_works_in_yolo(data_repo, de_agent_home):
    script = [{"tool_calls": [{"name": "RunSQL", "arguments": {"sql": "select * from read_text('.env')"}}]},
              {"text": "ok"}]
    with ScriptedServer(script) as server:
        proc = run_cli(data_repo, de_agent_home, "-p", "go", "--output-format", "stream-json",
                       "--approval-mode", "yolo", server=server)
    assert proc.returncode == 0, proc.stderr
    result = [e for e in stream_events(proc.stdout) if e["type"] == "tool_result"][0]
    assert result["ok"] and "hunter2" in result["output"]
