"""ACP end to end: the package's own client drives a real ``de-agent --acp`` process against
the local model server (streamed answers, permissions, plans, cancel, modes, loaded sessions)."""

from __future__ import annotations

import asyncio

import pytest
from acp import text_block

from tests.support.acp_client import RecordingClient, acp_agent
from tests.support.openai_server import ScriptedServer, tool_messages

pytestmark = pytest.mark.e2e

EDIT = {"file_path": "etl/load.py", "old_string": "def load(rows):\n",
        "new_string": 'def load(rows):\n    """Load rows."""\n'}


async def start(conn, repo):
    init = await conn.initialize(protocol_version=1)
    assert init.agent_capabilities.load_session is True
    assert init.agent_capabilities.prompt_capabilities.image is True
    return await conn.new_session(cwd=str(repo), mcp_servers=[])


async def test_streamed_answer_in_chunks(repo, de_agent_home):
    client = RecordingClient()
    with ScriptedServer([{"text": "Orders come from the raw.orders table."}], chunk=5) as server:
        async with acp_agent(client, repo, de_agent_home, server) as conn:
            session = await start(conn, repo)
            assert session.modes.current_mode_id == "default"
            assert {m.id for m in session.modes.available_modes} == {"default", "auto-edit", "plan", "yolo"}
            reply = await conn.prompt(session_id=session.session_id, prompt=[text_block("where do orders come from?")])
    assert reply.stop_reason == "end_turn"
    chunks = client.of("agent_message_chunk")
    assert len(chunks) > 3  # streamed, not one block
    assert client.agent_text() == "Orders come from the raw.orders table."
    assert server.requests[0]["messages"][-1]["content"] == "where do orders come from?"


async def test_edit_asks_permission_and_applies_when_allowed(repo, de_agent_home):
    client = RecordingClient(answer="once")
    with ScriptedServer([{"tool_calls": [{"name": "Edit", "arguments": EDIT}]}, {"text": "Done."}]) as server:
        async with acp_agent(client, repo, de_agent_home, server) as conn:
            session = await start(conn, repo)
            reply = await conn.prompt(session_id=session.session_id, prompt=[text_block("add a docstring")])
    assert reply.stop_reason == "end_turn"
    assert '"""Load rows."""' in (repo / "etl" / "load.py").read_text()
    start_update = client.of("tool_call")[0]
    assert start_update.kind == "edit"
    assert start_update.locations[0].path == str(repo / "etl" / "load.py")
    diffs = [c for u in client.of("tool_call_update") for c in (u.content or []) if c.type == "diff"]
    assert diffs and diffs[0].path == str(repo / "etl" / "load.py")
    assert diffs[0].old_text == "def load(rows):\n    return list(rows)\n"
    assert diffs[0].new_text == 'def load(rows):\n    """Load rows."""\n    return list(rows)\n'
    (tool_call, options), = client.permission_requests
    assert tool_call.tool_call_id == start_update.tool_call_id
    assert [o.kind for o in options][:2] == ["allow_once", "allow_always"] and options[-1].kind == "reject_once"
    assert client.of("tool_call_update")[-1].status == "completed"


@pytest.mark.parametrize("answer", ["deny", None])
async def test_edit_refused_or_cancelled_permission_leaves_the_file(repo, de_agent_home, answer):
    before = (repo / "etl" / "load.py").read_text()
    client = RecordingClient(answer=answer)
    with ScriptedServer([{"tool_calls": [{"name": "Edit", "arguments": EDIT}]}, {"text": "Left it."}]) as server:
        async with acp_agent(client, repo, de_agent_home, server) as conn:
            session = await start(conn, repo)
            reply = await conn.prompt(session_id=session.session_id, prompt=[text_block("add a docstring")])
    assert reply.stop_reason == "end_turn"
    assert (repo / "etl" / "load.py").read_text() == before
    assert len(client.permission_requests) == 1
    assert "denied" in tool_messages(server.requests[1])[0]["content"]
    assert any(u.status == "failed" for u in client.of("tool_call_update"))


async def test_plan_update_and_mode_switch_to_yolo_skips_permission(repo, de_agent_home):
    client = RecordingClient(answer="deny")
    plan = {"plan": [{"step": "read the loader", "status": "completed"},
                     {"step": "add a docstring", "status": "in_progress"}]}
    script = [{"tool_calls": [{"name": "update_plan", "arguments": plan}, {"name": "Edit", "arguments": EDIT}]},
              {"text": "Done."}]
    with ScriptedServer(script) as server:
        async with acp_agent(client, repo, de_agent_home, server) as conn:
            session = await start(conn, repo)
            await conn.set_session_mode(session_id=session.session_id, mode_id="yolo")
            await conn.prompt(session_id=session.session_id, prompt=[text_block("plan and edit")])
    assert client.of("current_mode_update")[0].current_mode_id == "yolo"
    entries = client.of("plan")[0].entries
    assert [(e.content, e.status) for e in entries] == [("read the loader", "completed"),
                                                        ("add a docstring", "in_progress")]
    assert client.permission_requests == []  # yolo: nothing asked, and the edit applied
    assert '"""Load rows."""' in (repo / "etl" / "load.py").read_text()


async def test_cancel_mid_turn(repo, de_agent_home):
    client = RecordingClient()
    with ScriptedServer([{"text": "Thinking about it", "hang": True}]) as server:
        async with acp_agent(client, repo, de_agent_home, server) as conn:
            session = await start(conn, repo)
            turn = asyncio.create_task(conn.prompt(session_id=session.session_id, prompt=[text_block("go")]))
            await asyncio.wait_for(client.first_chunk.wait(), 60)
            await conn.cancel(session_id=session.session_id)
            reply = await asyncio.wait_for(turn, 60)
            assert reply.stop_reason == "cancelled"
            # the session goes on after a cancel
            server.script.append({"text": "Still here."})
            again = await conn.prompt(session_id=session.session_id, prompt=[text_block("still there?")])
    assert again.stop_reason == "end_turn"
    assert client.agent_text().endswith("Still here.")


async def test_load_saved_session_replays_and_continues(repo, de_agent_home):
    first = RecordingClient()
    with ScriptedServer([{"text": "The loader returns a list."}, {"text": "Yes, still a list."}]) as server:
        async with acp_agent(first, repo, de_agent_home, server) as conn:
            session = await start(conn, repo)
            await conn.prompt(session_id=session.session_id, prompt=[text_block("what does load return?")])
        second = RecordingClient()
        async with acp_agent(second, repo, de_agent_home, server) as conn:
            await conn.initialize(protocol_version=1)
            loaded = await conn.load_session(cwd=str(repo), session_id=session.session_id, mcp_servers=[])
            assert loaded.modes.current_mode_id == "default"
            replayed_user = [u.content.text for u in second.of("user_message_chunk")]
            replayed_agent = second.agent_text()
            await conn.prompt(session_id=session.session_id, prompt=[text_block("still?")])
    assert replayed_user == ["what does load return?"]
    assert replayed_agent == "The loader returns a list."
    history = [(m["role"], m["content"]) for m in server.requests[1]["messages"] if m["role"] != "system"]
    assert history == [("user", "what does load return?"), ("assistant", "The loader returns a list."),
                       ("user", "still?")]


async def test_load_unknown_session_is_an_error(repo, de_agent_home):
    from acp import RequestError

    with ScriptedServer([]) as server:
        async with acp_agent(RecordingClient(), repo, de_agent_home, server) as conn:
            await conn.initialize(protocol_version=1)
            with pytest.raises(RequestError):
                await conn.load_session(cwd=str(repo), session_id="nope-0000", mcp_servers=[])


async def test_image_block_in_a_prompt_reaches_the_model(repo, de_agent_home):
    import base64

    from acp import image_block

    from tests.support.openai_server import gradient_png

    client = RecordingClient()
    data = base64.b64encode(gradient_png(40, 30)).decode("ascii")
    with ScriptedServer([{"text": "A gradient."}]) as server:
        async with acp_agent(client, repo, de_agent_home, server) as conn:
            session = await start(conn, repo)
            await conn.prompt(session_id=session.session_id,
                              prompt=[text_block("what is this?"), image_block(data, "image/png")])
    # openai/test-model is not known to take images: without DE_AGENT_VISION the model gets a note
    content = server.requests[0]["messages"][-1]["content"]
    assert isinstance(content, str) and "pasted image (PNG 40x30) not shown" in content


async def test_image_block_goes_as_an_image_part_to_a_vision_model(repo, de_agent_home):
    import base64

    from acp import image_block

    from tests.support.cli import cli_env
    from tests.support.openai_server import gradient_png

    data = base64.b64encode(gradient_png(40, 30)).decode("ascii")
    env = cli_env(de_agent_home, DE_AGENT_VISION="on")
    with ScriptedServer([{"text": "A gradient."}]) as server:
        async with acp_agent(RecordingClient(), repo, de_agent_home, server, env=env) as conn:
            session = await start(conn, repo)
            await conn.prompt(session_id=session.session_id,
                              prompt=[text_block("what is this?"), image_block(data, "image/png")])
    parts = server.requests[0]["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "what is this?"}
    assert parts[1]["type"] == "image_url" and parts[1]["image_url"]["url"].startswith("data:image/png;base64,")


async def test_commands_run_in_the_editors_terminal_when_offered(repo, de_agent_home):
    from acp.schema import ClientCapabilities

    from tests.support.acp_client import TerminalClient
    from tests.support.cli import FAKE_KEY

    client = TerminalClient(answer="once")
    command = "echo hello-from-terminal; echo key=${OPENAI_API_KEY:-unset}"
    script = [{"tool_calls": [{"name": "Shell", "arguments": {"command": command}}]}, {"text": "Ran it."}]
    with ScriptedServer(script) as server:
        async with acp_agent(client, repo, de_agent_home, server) as conn:
            await conn.initialize(protocol_version=1, client_capabilities=ClientCapabilities(terminal=True))
            session = await conn.new_session(cwd=str(repo), mcp_servers=[])
            reply = await conn.prompt(session_id=session.session_id, prompt=[text_block("run it")])
    assert reply.stop_reason == "end_turn"
    assert len(client.permission_requests) == 1  # the policy still asks first (a command with $ expansion)
    (created,) = client.created
    assert created["args"][-2:] == ["-c", command] and created["cwd"] == str(repo)
    assert "OPENAI_API_KEY" not in created["env"]  # secrets never reach the command
    result = tool_messages(server.requests[1])[0]["content"]
    assert "Exit code: 0" in result and "hello-from-terminal" in result and "key=unset" in result
    assert FAKE_KEY not in result
    assert client.released == ["term-1"]
    terminal_refs = [c for u in client.of("tool_call_update") for c in (u.content or []) if c.type == "terminal"]
    assert terminal_refs and terminal_refs[0].terminal_id == "term-1"


async def test_editor_terminal_commands_stay_in_the_bubblewrap_sandbox(repo, de_agent_home, tmp_path):
    from acp.schema import ClientCapabilities

    from tests.support.acp_client import TerminalClient
    from tests.support.cli import cli_env

    client = TerminalClient()
    marker = tmp_path / "host-only-marker"
    marker.write_text("x")
    probe = (f"test -e {marker} && echo host-tmp-visible || echo host-tmp-hidden; "
             "python3 -c 'import socket; socket.socket(socket.AF_UNIX)' 2>/dev/null "
             "&& echo unix-socket-allowed || echo unix-socket-refused")
    script = [{"tool_calls": [{"name": "Shell", "arguments": {"command": probe}}]}, {"text": "ok"}]
    env = cli_env(de_agent_home, DE_AGENT_SANDBOX="bwrap")
    with ScriptedServer(script) as server:
        async with acp_agent(client, repo, de_agent_home, server, "--approval-mode", "yolo", env=env) as conn:
            await conn.initialize(protocol_version=1, client_capabilities=ClientCapabilities(terminal=True))
            session = await conn.new_session(cwd=str(repo), mcp_servers=[])
            await conn.prompt(session_id=session.session_id, prompt=[text_block("run it")])
    (created,) = client.created
    # bwrap behind a bash prelude that opens the seccomp program on the descriptor bwrap is told
    bwrap_at = next(i for i, a in enumerate(created["args"]) if a.endswith("bwrap"))
    sandboxed = created["args"][bwrap_at:]
    assert created["command"] == "bash" and "--unshare-net" in sandboxed
    assert sandboxed[sandboxed.index("--seccomp") + 1] == "3"
    result = tool_messages(server.requests[1])[0]["content"]
    assert "Exit code: 0" in result and "host-tmp-hidden" in result  # the sandbox has a private /tmp
    assert "unix-socket-refused" in result  # the seccomp filter reached bwrap


async def test_a_stray_print_goes_to_stderr_not_into_the_protocol(repo, de_agent_home):
    import sys

    from acp import spawn_agent_process

    from tests.support.cli import cli_env

    script = ("import sys\n"
              "from de_agent.frontends.acp.agent import DeAgentAcp\n"
              "original = DeAgentAcp.initialize\n"
              "async def noisy(self, *a, **k):\n"
              "    print('stray output from a library')\n"
              "    return await original(self, *a, **k)\n"
              "DeAgentAcp.initialize = noisy\n"
              "from de_agent.cli import main\n"
              "sys.exit(main(['--acp', '--model', 'openai/test-model', '--api-base', sys.argv[1]]))\n")
    with ScriptedServer([{"text": "fine"}]) as server:
        async with spawn_agent_process(RecordingClient(), sys.executable, "-c", script, server.url,
                                       env=cli_env(de_agent_home), cwd=repo) as (conn, proc):
            init = await conn.initialize(protocol_version=1)
            session = await conn.new_session(cwd=str(repo), mcp_servers=[])
            reply = await conn.prompt(session_id=session.session_id, prompt=[text_block("hi")])
            await conn.close()
            proc.stdin.close()
            err = await proc.stderr.read()
    assert init.protocol_version == 1 and reply.stop_reason == "end_turn"
    assert b"stray output from a library" in err


@pytest.mark.parametrize(("answer", "said"), [("pick:1", "The person answered: parquet"),
                                              ("dismiss", "dismissed the question")])
async def test_askuser_becomes_a_permission_prompt_with_its_options(repo, de_agent_home, answer, said):
    client = RecordingClient(answer=answer)
    ask = {"question": "Which format?", "options": [{"label": "csv"}, {"label": "parquet"}]}
    script = [{"tool_calls": [{"name": "AskUser", "arguments": ask}]}, {"text": "ok"}]
    with ScriptedServer(script) as server:
        async with acp_agent(client, repo, de_agent_home, server) as conn:
            session = await start(conn, repo)
            await conn.prompt(session_id=session.session_id, prompt=[text_block("export it")])
    (tool_call, options), = client.permission_requests
    assert tool_call.title == "Which format?"
    assert [o.name for o in options] == ["csv", "parquet", "Dismiss"]
    assert said in tool_messages(server.requests[1])[0]["content"]
