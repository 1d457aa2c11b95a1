"""``de-agent mcp`` driven by the SDK's own stdio client, as another agent would use it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.support.cli import ROOT, cli_env

SECRET = "s3cr3t-value-for-the-redaction-test"


def _params(repo: Path, home: Path, **extra: str) -> StdioServerParameters:
    env = cli_env(home, DEMO_WAREHOUSE_TOKEN=SECRET, **extra)
    return StdioServerParameters(command=sys.executable, args=["-m", "de_agent", "mcp"], env=env, cwd=str(repo))


@pytest.fixture
def data_repo(repo: Path) -> Path:
    (repo / "data").mkdir()
    (repo / "data" / "orders.csv").write_text("id,email,amount\n1,ann@example.com,10\n2,bob@example.com,32\n")
    (repo / "notes.txt").write_text(f"warehouse token is {SECRET}\n")
    (repo / ".env").write_text("DB_PASSWORD=hunter2hunter2\n")
    return repo


async def _session_calls(repo: Path, home: Path, calls: list[tuple[str, dict]], **env: str):
    results = []
    async with stdio_client(_params(repo, home, **env)) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            for name, args in calls:
                results.append(await session.call_tool(name, args))
    return listed, results


async def test_lists_the_data_and_read_tools_marked_read_only(data_repo, de_agent_home):
    listed, _ = await _session_calls(data_repo, de_agent_home, [])
    names = {t.name for t in listed.tools}
    assert {"ProfileData", "RunSQL", "SQLLineage", "ScanPII", "ReadFile", "SearchText"} <= names
    assert not names & {"Shell", "Edit", "WriteFile", "WebFetch"}
    assert all(t.annotations.readOnlyHint for t in listed.tools)
    run_sql = next(t for t in listed.tools if t.name == "RunSQL")
    assert "sql" in run_sql.inputSchema["properties"]


async def test_runs_queries_profiles_and_lineage(data_repo, de_agent_home):
    _, (sql, profile, lineage, pii) = await _session_calls(data_repo, de_agent_home, [
        ("RunSQL", {"sql": "select sum(amount) as total from 'data/orders.csv'"}),
        ("ProfileData", {"path": "data/orders.csv"}),
        ("SQLLineage", {"sql": "insert into mart.o select id from raw.orders"}),
        ("ScanPII", {"path": "data/orders.csv"}),
    ])
    assert not sql.isError and "42" in sql.content[0].text
    assert not profile.isError and "amount" in profile.content[0].text
    assert not lineage.isError and "raw.orders" in lineage.content[0].text
    assert not pii.isError and "email" in pii.content[0].text
    assert "ann@example.com" not in pii.content[0].text  # masked, as in a session


async def test_what_would_ask_is_refused_with_the_reason(data_repo, de_agent_home):
    _, (write, secret, outside) = await _session_calls(data_repo, de_agent_home, [
        ("RunSQL", {"sql": "create table t as select 1"}),
        ("ReadFile", {"file_path": ".env"}),
        ("ReadFile", {"file_path": "../../etc/passwd"}),
    ])
    assert write.isError and "Refused" in write.content[0].text and "writes" in write.content[0].text
    assert secret.isError and "secrets" in secret.content[0].text
    assert "hunter2" not in secret.content[0].text
    assert outside.isError and "outside the repository" in outside.content[0].text


async def test_output_is_redacted(data_repo, de_agent_home):
    _, (read,) = await _session_calls(data_repo, de_agent_home, [("ReadFile", {"file_path": "notes.txt"})])
    assert not read.isError
    assert SECRET not in read.content[0].text and "[REDACTED]" in read.content[0].text


async def test_yolo_in_the_config_does_not_loosen_the_server(data_repo, de_agent_home):
    (de_agent_home / "config.toml").write_text('approval_mode = "yolo"\n')
    _, (write,) = await _session_calls(data_repo, de_agent_home, [("RunSQL", {"sql": "create table t as select 1"})])
    assert write.isError and "Refused" in write.content[0].text


def test_serving_does_not_import_litellm(data_repo, de_agent_home):
    code = ("import sys\nfrom pathlib import Path\nfrom de_agent.config import load_settings\n"
            "from de_agent.mcp.server import ToolService, build_server\n"
            f"build_server(ToolService(Path({str(data_repo)!r}), load_settings(Path({str(data_repo)!r}))))\n"
            "print('litellm' in sys.modules, 'textual' in sys.modules)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_bad_config_is_a_clear_error(data_repo, de_agent_home):
    (de_agent_home / "config.toml").write_text("approval_mode = 3x\n")
    out = subprocess.run([sys.executable, "-m", "de_agent", "mcp"], cwd=data_repo, env=cli_env(de_agent_home),
                         capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert out.returncode == 2 and out.stderr.startswith("de-agent mcp:")
