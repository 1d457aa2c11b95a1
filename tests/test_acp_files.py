"""ACP end to end: the editor's file system. A client that offers ``fs/read_text_file`` and
``fs/write_text_file`` (the package's own client side, serving unsaved buffers and recording
every request) drives a real ``de-agent --acp`` process against the local model server."""

from __future__ import annotations

import pytest
from acp import text_block

from tests.support.acp_client import EditorFilesClient, acp_agent
from tests.support.openai_server import ScriptedServer, tool_messages

pytestmark = pytest.mark.e2e

DISK = "def load(rows):\n    return list(rows)\n"
BUFFER = "def load(rows):\n    return sorted(rows)  # not saved yet\n"
EDIT = {"file_path": "etl/load.py", "old_string": "def load(rows):\n",
        "new_string": 'def load(rows):\n    """Load rows."""\n'}


async def run_turn(client, repo, home, script, *, reads=True, writes=True, extra=()):
    """One prompt in a new session whose client announces the given fs capabilities."""
    with ScriptedServer(script) as server:
        async with acp_agent(client, repo, home, server, *extra) as conn:
            await conn.initialize(protocol_version=1,
                                  client_capabilities=EditorFilesClient.capabilities(reads, writes))
            session = await conn.new_session(cwd=str(repo), mcp_servers=[])
            reply = await conn.prompt(session_id=session.session_id, prompt=[text_block("go")])
    assert reply.stop_reason == "end_turn"
    return server, session.session_id


async def test_readfile_shows_the_editors_unsaved_buffer(repo, de_agent_home):
    target = str(repo / "etl" / "load.py")
    client = EditorFilesClient(buffers={target: BUFFER})
    script = [{"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "etl/load.py"}}]}, {"text": "ok"}]
    server, _ = await run_turn(client, repo, de_agent_home, script)
    result = tool_messages(server.requests[1])[0]["content"]
    assert "sorted(rows)  # not saved yet" in result and "list(rows)" not in result
    assert "changes not saved to disk yet" in result  # the model knows commands see the disk
    assert client.reads == [target]
    assert (repo / "etl" / "load.py").read_text() == DISK


async def test_approved_edit_is_written_by_the_editor_and_undo_restores_the_disk(repo, de_agent_home):
    from de_agent.gitops.checkpoints import Checkpoints

    target = str(repo / "etl" / "load.py")
    client = EditorFilesClient(answer="once", buffers={target: BUFFER})
    script = [{"tool_calls": [{"name": "Edit", "arguments": EDIT}]}, {"text": "Done."}]
    server, session_id = await run_turn(client, repo, de_agent_home, script)
    expected = 'def load(rows):\n    """Load rows."""\n    return sorted(rows)  # not saved yet\n'
    assert client.writes == [(target, expected)]  # the edit was made on the buffer, written whole
    assert len(client.permission_requests) == 1  # asked first, as always
    assert (repo / "etl" / "load.py").read_text() == expected  # the editor saved it
    assert tool_messages(server.requests[1])[0]["content"].startswith("Edited etl/load.py (+1 -0)")
    diffs = [c for u in client.of("tool_call_update") for c in (u.content or []) if c.type == "diff"]
    assert diffs[0].path == target and diffs[0].old_text == BUFFER and diffs[0].new_text == expected
    assert client.of("tool_call_update")[-1].status == "completed"
    # The checkpoint was taken from the disk before the editor wrote: undo puts that back.
    undone = Checkpoints(repo, session_id).undo()
    assert undone.ok and undone.restored == ["etl/load.py"]
    assert (repo / "etl" / "load.py").read_text() == DISK


async def test_paths_outside_the_repository_never_reach_the_editor(repo, de_agent_home, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret outside\n")
    (repo / "link.txt").symlink_to(outside)
    calls = [{"name": "ReadFile", "arguments": {"file_path": "../outside.txt"}},
             {"name": "ReadFile", "arguments": {"file_path": "/etc/passwd"}},
             {"name": "ReadFile", "arguments": {"file_path": "link.txt"}},
             {"name": "Edit", "arguments": {"file_path": "../x.py", "old_string": "", "new_string": "x = 1\n"}},
             {"name": "WriteFile", "arguments": {"file_path": str(outside), "content": "changed\n"}}]
    client = EditorFilesClient(answer="once")
    server, _ = await run_turn(client, repo, de_agent_home, [{"tool_calls": calls}, {"text": "ok"}],
                               extra=("--approval-mode", "yolo"))
    results = [m["content"] for m in tool_messages(server.requests[1])]
    assert len(results) == 5 and all("outside the repository" in r for r in results), results
    assert client.reads == [] and client.writes == []
    assert outside.read_text() == "secret outside\n" and not (tmp_path / "x.py").exists()


async def test_without_fs_capabilities_files_are_read_and_written_on_disk(repo, de_agent_home):
    target = str(repo / "etl" / "load.py")
    client = EditorFilesClient(answer="once", buffers={target: BUFFER})
    script = [{"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "etl/load.py"}},
                              {"name": "Edit", "arguments": EDIT}]}, {"text": "Done."}]
    server, _ = await run_turn(client, repo, de_agent_home, script, reads=False, writes=False)
    read, edited = (m["content"] for m in tool_messages(server.requests[1]))
    assert "list(rows)" in read and "sorted" not in read
    assert edited.startswith("Edited etl/load.py")
    assert client.reads == [] and client.writes == []  # never asked: the client did not offer them
    assert (repo / "etl" / "load.py").read_text() == 'def load(rows):\n    """Load rows."""\n    return list(rows)\n'


async def test_a_client_offering_reads_only_gets_no_writes(repo, de_agent_home):
    target = str(repo / "etl" / "load.py")
    client = EditorFilesClient(answer="once", buffers={target: BUFFER})
    script = [{"tool_calls": [{"name": "Edit", "arguments": EDIT}]}, {"text": "Done."}]
    await run_turn(client, repo, de_agent_home, script, reads=True, writes=False)
    assert client.reads == [target, target]  # when the edit is prepared, and checked again before writing
    assert client.writes == []
    # made from the buffer, written by our own tool
    assert (repo / "etl" / "load.py").read_text() == 'def load(rows):\n    """Load rows."""\n' + BUFFER[16:]


async def test_an_editor_refusing_the_write_is_a_clear_tool_error_and_nothing_is_written(repo, de_agent_home):
    target = str(repo / "etl" / "load.py")
    client = EditorFilesClient(answer="once", fail_writes=True)
    script = [{"tool_calls": [{"name": "Edit", "arguments": EDIT}]}, {"text": "It failed."}]
    server, _ = await run_turn(client, repo, de_agent_home, script)
    result = tool_messages(server.requests[1])[0]["content"]
    assert "the editor refused to write it" in result and "the buffer is read-only" in result
    assert "nothing was written" in result
    assert len(client.writes) == 1 and client.writes[0][0] == target
    assert (repo / "etl" / "load.py").read_text() == DISK  # no silent local write
    assert client.of("tool_call_update")[-1].status == "failed"
