"""ImageGenerator: litellm image generation against the local server's /v1/images/generations,
written into a real git repository as an edit (asked, confined, checkpointed, undoable)."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.frontends.factory import build_engine
from de_agent.frontends.render import render_display
from de_agent.tools.base import ToolContext, ToolError
from de_agent.tools.image_gen import ImageGenerator
from de_agent.workspace import Workspace
from tests.support.cli import cli_env, run_cli, stream_events
from tests.support.openai_server import ScriptedServer, tool_messages

pytestmark = pytest.mark.xdist_group("litellm")  # litellm is imported by one test worker only

CALL = {"name": "ImageGenerator", "arguments": {"prompt": "a box-and-arrow sketch of the orders pipeline",
                                                "file_path": "docs/orders.png", "size": "256x128"}}


def engine_for(repo, server, events, mode="default"):
    settings = Settings(model="openai/test-model", api_base=server.url, image_model="openai/dall-e-3",
                        approval_mode=mode, sandbox="none", retry_base_delay_s=0.01)
    return build_engine(settings, repo, events.append).engine


async def answer_approvals(engine, events, choice):
    """Answer the first approval request with choice, as a front end would."""
    while not any(isinstance(e, P.ApprovalRequest) for e in events):
        await asyncio.sleep(0.02)
    request = next(e for e in events if isinstance(e, P.ApprovalRequest))
    engine.submit(P.ApprovalDecision(request.call_id, choice))
    return request


async def test_approved_image_is_written_shown_as_binary_file_and_undone(repo, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    events: list[P.Event] = []
    with ScriptedServer([{"tool_calls": [CALL]}, {"text": "Saved the sketch."}]) as server:
        engine = engine_for(repo, server, events)
        turn = engine.submit(P.UserTurn("draw the orders pipeline"))
        request = await answer_approvals(engine, events, "once")
        outcome = await turn
    assert outcome.reason == "completed"
    assert request.kind == "edit" and "docs/orders.png" in request.summary
    # nothing was generated (or paid for) before the approval: one image request, after it
    assert len(server.image_requests) == 1
    sent = server.image_requests[0]
    assert sent["model"] == "dall-e-3" and sent["size"] == "256x128" and "orders pipeline" in sent["prompt"]
    image = Image.open(repo / "docs" / "orders.png")
    assert (image.format, image.size) == ("PNG", (256, 128))
    applied = [e for e in events if isinstance(e, P.Diff) and e.stage == "applied"]
    assert applied[0].file_path == "docs/orders.png"
    assert "new file mode" in applied[0].diff and "Binary file docs/orders.png added: PNG image, 256x128" in applied[0].diff
    result = next(e for e in events if isinstance(e, P.ToolResult))
    assert result.ok and result.display["kind"] == "image" and result.display["width"] == 256
    assert "Saved docs/orders.png" in tool_messages(server.requests[1])[0]["content"]
    # /undo removes the new file
    message = await engine.undo()
    assert not (repo / "docs" / "orders.png").exists(), message


async def test_denied_image_is_neither_generated_nor_written(repo, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    events: list[P.Event] = []
    with ScriptedServer([{"tool_calls": [CALL]}, {"text": "Skipped."}]) as server:
        engine = engine_for(repo, server, events)
        turn = engine.submit(P.UserTurn("draw it"))
        await answer_approvals(engine, events, "deny")
        await turn
    assert server.image_requests == []
    assert not (repo / "docs" / "orders.png").exists()
    assert "denied" in tool_messages(server.requests[1])[0]["content"]


@pytest.mark.e2e
def test_headless_generates_in_auto_edit_and_is_denied_in_default(repo, de_agent_home):
    env = cli_env(de_agent_home, DE_AGENT_IMAGE_MODEL="openai/dall-e-3")
    with ScriptedServer([{"tool_calls": [CALL]}, {"text": "Done."}]) as server:
        proc = run_cli(repo, de_agent_home, "-p", "draw it", "--output-format", "stream-json",
                       "--approval-mode", "auto-edit", server=server, env=env)
    assert proc.returncode == 0, proc.stderr
    assert Image.open(repo / "docs" / "orders.png").size == (256, 128)
    diffs = [e for e in stream_events(proc.stdout) if e["type"] == "diff" and e["stage"] == "applied"]
    assert "PNG image, 256x128" in diffs[0]["diff"]

    (repo / "docs" / "orders.png").unlink()
    with ScriptedServer([{"tool_calls": [CALL]}, {"text": "Needs approval."}]) as server:
        proc = run_cli(repo, de_agent_home, "-p", "draw it", "--output-format", "stream-json",
                       server=server, env=env)
    assert proc.returncode == 0, proc.stderr
    approval = [e for e in stream_events(proc.stdout) if e["type"] == "approval"][0]
    assert approval["decision"] == "denied" and approval["by"] == "headless"
    assert server.image_requests == [] and not (repo / "docs" / "orders.png").exists()


def ctx_for(repo, **settings):
    return ToolContext(workspace=Workspace(repo), settings=Settings(**settings))


async def test_without_image_model_the_message_says_how_to_set_it(repo):
    with pytest.raises(ToolError, match="image_model"):
        await ImageGenerator().prepare(CALL["arguments"], ctx_for(repo))


@pytest.mark.parametrize("args, message", [
    ({"prompt": "x", "file_path": "../outside.png"}, "outside the repository"),
    ({"prompt": "x", "file_path": "docs/a.jpg"}, "must end in .png"),
    ({"prompt": "x", "file_path": "a.png", "size": "big"}, "1024x1024"),
])
async def test_bad_paths_and_sizes_are_refused_before_asking(repo, args, message):
    with pytest.raises((ToolError, PermissionError), match=message):
        await ImageGenerator().prepare(args, ctx_for(repo, image_model="openai/dall-e-3"))


async def test_provider_error_is_one_clear_failure(repo, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    with ScriptedServer([]) as server:
        server.image_status = 400
        ctx = ctx_for(repo, image_model="openai/dall-e-3", api_base=server.url, request_timeout_s=30)
        action = await ImageGenerator().prepare(CALL["arguments"], ctx)
        with pytest.raises(ToolError, match="image generation with openai/dall-e-3 failed"):
            await action.run(None)
    assert not (repo / "docs" / "orders.png").exists()


def test_image_display_renders_a_half_block_preview(tmp_path):
    from rich.console import Console

    from tests.support.openai_server import gradient_png

    path = tmp_path / "p.png"
    path.write_bytes(gradient_png(40, 20))
    console = Console(file=io.StringIO(), width=80, color_system="truecolor", force_terminal=True)
    console.print(render_display({"kind": "image", "path": "p.png", "abs_path": str(path),
                                  "width": 40, "height": 20, "bytes": path.stat().st_size}))
    out = console.file.getvalue()
    assert "p.png" in out and "40x20" in out
    assert out.count("▀") == 40 * 10  # 20 pixel rows drawn two to a cell
    assert "\x1b[38;2;" in out  # true colour cells


def test_tui_tool_block_previews_and_plain_mode_names_the_file(tmp_path):
    from rich.console import Console

    from de_agent.frontends.plain_render import PlainRenderer
    from de_agent.tui.widgets.toolblock import result_renderable
    from tests.support.openai_server import gradient_png

    path = tmp_path / "p.png"
    path.write_bytes(gradient_png(20, 10))
    display = {"kind": "image", "path": "docs/p.png", "abs_path": str(path), "width": 20, "height": 10,
               "bytes": path.stat().st_size}
    console = Console(file=io.StringIO(), width=80, color_system="truecolor", force_terminal=True)
    console.print(result_renderable("Saved docs/p.png", display))
    assert console.file.getvalue().count("▀") == 20 * 5
    plain = Console(file=io.StringIO(), width=80)
    plain.print(PlainRenderer(plain).display_view(display))
    assert plain.file.getvalue().strip() == "image: docs/p.png (20x10)"
