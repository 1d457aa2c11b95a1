"""End to end: the real de-agent command, a real git repository, the local SSE model server."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import FAKE_KEY, cli_env, run_cli, stream_events
from tests.support.openai_server import ScriptedServer, tool_messages

DOCSTRING_EDIT = {"file_path": "etl/load.py", "old_string": "def load(rows):\n",
                  "new_string": 'def load(rows):\n    """Load rows into a list."""\n'}


def test_task_end_to_end_with_edit_command_and_plan(repo, de_agent_home):
    script = [
        {"text": "I'll read the file first.", "tool_calls": [
            {"name": "update_plan", "arguments": {"plan": [{"step": "read", "status": "in_progress"},
                                                           {"step": "edit", "status": "pending"}]}},
            {"name": "ReadFile", "arguments": {"file_path": "etl/load.py"}}]},
        {"tool_calls": [{"name": "Edit", "arguments": DOCSTRING_EDIT}]},
        {"tool_calls": [{"name": "Shell", "arguments": {"command": "python -c \"import etl.load; print('tests ok')\""}}]},
        {"text": "Added the docstring; `tests ok` was printed."},
    ]
    with ScriptedServer(script, chunk=4) as server:
        proc = run_cli(repo, de_agent_home, "-p", "add a docstring to etl/load.py and run the tests",
                       "--output-format", "stream-json", "--approval-mode", "yolo", server=server)
    assert proc.returncode == 0, proc.stderr
    events = stream_events(proc.stdout)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "session_started" and kinds[-1] == "result"
    assert '"""Load rows into a list."""' in (repo / "etl" / "load.py").read_text()
    assert [e["name"] for e in events if e["type"] == "tool_call"] == ["update_plan", "ReadFile", "Edit", "Shell"]
    assert all(e["decision"] == "approved" for e in events if e["type"] == "approval")
    assert any(e["type"] == "diff" and e["file_path"] == "etl/load.py" for e in events)
    assert any(e["type"] == "plan_updated" for e in events)
    assert events[-1]["text"] == "Added the docstring; `tests ok` was printed."
    # what the model was sent back
    results = tool_messages(server.requests[3])
    assert "return list(rows)" in results[1]["content"]  # ReadFile output
    assert "tests ok" in results[-1]["content"]  # Shell output
    assert len(server.requests) == 4


def test_default_mode_headless_denies_edit_and_tells_the_model(repo, de_agent_home):
    before = (repo / "etl" / "load.py").read_text()
    script = [{"tool_calls": [{"name": "Edit", "arguments": DOCSTRING_EDIT}]},
              {"text": "The edit needs approval; please run me with --approval-mode auto-edit."}]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "add a docstring", "--output-format", "stream-json", server=server)
    assert proc.returncode == 0, proc.stderr
    assert (repo / "etl" / "load.py").read_text() == before
    events = stream_events(proc.stdout)
    approval = [e for e in events if e["type"] == "approval"][0]
    assert approval["decision"] == "denied" and approval["by"] == "headless"
    assert "headless" in tool_messages(server.requests[1])[0]["content"]
    # the proposed diff was still shown
    assert any(e["type"] == "diff" for e in events)


def test_text_output_prints_answer_on_stdout_and_progress_on_stderr(repo, de_agent_home):
    script = [{"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "README.md"}}]},
              {"text": "The README says demo."}]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "what is in the readme", server=server)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "The README says demo."
    assert "ReadFile" in proc.stderr


def test_json_output_is_one_object(repo, de_agent_home):
    with ScriptedServer([{"text": "hello"}]) as server:
        proc = run_cli(repo, de_agent_home, "-p", "hi", "--output-format", "json", server=server)
    body = json.loads(proc.stdout)
    assert body["type"] == "result" and body["text"] == "hello" and body["turns"] == 1
    assert body["session_id"] and isinstance(body["events"], list)


def test_max_turns_stops_with_exit_code_3(repo, de_agent_home):
    script = [{"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "README.md", "start_line": i + 1}}]}
              for i in range(5)]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "loop", "--max-turns", "2", server=server)
    assert proc.returncode == 3
    assert "limit of 2" in proc.stderr and len(server.requests) == 2


@pytest.mark.xdist_group("litellm")  # the unknown provider goes to litellm
def test_unknown_model_is_a_one_line_error(repo, de_agent_home):
    proc = run_cli(repo, de_agent_home, "-p", "x", "--model", "nosuchprovider/abc")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown model" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_api_key_is_a_one_line_error(repo, de_agent_home):
    env = cli_env(de_agent_home)
    env.pop("ANTHROPIC_API_KEY", None)
    proc = run_cli(repo, de_agent_home, "-p", "x", "--model", "anthropic/claude-sonnet-4-5", env=env)
    assert proc.returncode == 2 and "ANTHROPIC_API_KEY" in proc.stderr and "Traceback" not in proc.stderr


def test_unreachable_endpoint_is_a_clear_error(repo, de_agent_home):
    env = cli_env(de_agent_home, DE_AGENT_MAX_RETRIES="1")
    proc = run_cli(repo, de_agent_home, "-p", "x", "--model", "openai/test-model", "--api-base",
                   "http://127.0.0.1:9/v1", env=env)
    assert proc.returncode == 2
    assert "cannot reach the model endpoint" in proc.stderr and "Traceback" not in proc.stderr
    # json output is still the one object a script parses
    proc = run_cli(repo, de_agent_home, "-p", "x", "--model", "openai/test-model", "--api-base",
                   "http://127.0.0.1:9/v1", "--output-format", "json", env=env)
    assert proc.returncode == 2
    body = json.loads(proc.stdout)
    assert body["type"] == "result" and body["stop_reason"] == "error"
    assert any(e["type"] == "error" and "cannot reach" in e["message"] for e in body["events"])


def test_api_key_never_reaches_session_files_or_output(repo, de_agent_home):
    script = [{"tool_calls": [{"name": "Shell", "arguments": {"command": "env"}}]},
              {"text": f"the key is {FAKE_KEY}"}]
    with ScriptedServer(script) as server:
        proc = run_cli(repo, de_agent_home, "-p", "print env", "--approval-mode", "yolo",
                       "--output-format", "stream-json", server=server)
    assert proc.returncode == 0, proc.stderr
    assert FAKE_KEY not in json.dumps(tool_messages(server.requests[1]))  # the command never saw it
    assert FAKE_KEY not in proc.stdout
    for f in (de_agent_home / "sessions").glob("*.jsonl"):
        assert FAKE_KEY not in f.read_text()


def test_help_lists_the_flags(repo, de_agent_home):
    proc = run_cli(repo, de_agent_home, "--help")
    assert proc.returncode == 0 and "--approval-mode" in proc.stdout


@pytest.mark.e2e  # a real process: only it shows what a closed stdout does
def test_closed_output_pipe_finishes_quietly(repo, de_agent_home):
    import subprocess
    import sys

    script = [{"text": "x" * 4000, "tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "README.md"}}]},
              {"text": "y" * 4000}]
    with ScriptedServer(script, chunk=2) as server:
        proc = subprocess.Popen([sys.executable, "-m", "de_agent", "-p", "go", "--output-format", "stream-json",
                                 "--model", "openai/test-model", "--api-base", server.url],
                                cwd=repo, env=cli_env(de_agent_home), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        first = proc.stdout.readline()
        proc.stdout.close()  # like `| head -1`
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=90)
    assert json.loads(first)["type"] == "session_started"
    assert code == 0 and "Traceback" not in err and "BrokenPipe" not in err
    assert len(server.requests) == 2  # the task still ran to the end
