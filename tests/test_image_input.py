"""Image input: images named in a prompt or read with ReadFile reach the model as vision-style
content parts (checked at the local server), bounded in size, kept out of session files, and
replaced by a clear note for models that do not take images."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from de_agent import images
from tests.support.cli import cli_env, run_cli
from tests.support.openai_server import ScriptedServer, gradient_png

pytestmark = pytest.mark.e2e


def image_parts(message):
    content = message["content"]
    return [p for p in content if p.get("type") == "image_url"] if isinstance(content, list) else []


def decoded(part) -> Image.Image:
    url = part["image_url"]["url"]
    assert url.startswith("data:image/")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def session_file(home):
    files = list((home / "sessions").rglob("*.jsonl"))
    assert len(files) == 1
    return files[0]


def test_at_path_attaches_image_and_large_one_is_downscaled_and_session_stays_small(repo, de_agent_home):
    (repo / "shots").mkdir()
    (repo / "shots" / "dash.png").write_bytes(gradient_png(120, 80))
    big = Image.new("RGB", (4000, 3000), (200, 30, 30))
    big.save(repo / "shots" / "board.png")
    env = cli_env(de_agent_home, DE_AGENT_VISION="on")
    with ScriptedServer([{"text": "The dashboard shows a gradient."}, {"text": "Same picture."}]) as server:
        proc = run_cli(repo, de_agent_home, "-p", "what is wrong in @shots/dash.png and shots/board.png?",
                       server=server, env=env)
        assert proc.returncode == 0, proc.stderr
        user = server.requests[0]["messages"][-1]
        assert user["role"] == "user" and user["content"][0]["text"].startswith("what is wrong in")
        parts = image_parts(user)
        assert len(parts) == 2
        assert decoded(parts[0]).size == (120, 80)
        assert max(decoded(parts[1]).size) == images.MAX_SIDE  # 4000x3000 downscaled
        # the session file holds references, not the pictures
        assert session_file(de_agent_home).stat().st_size < 30_000
        assert "base64" not in session_file(de_agent_home).read_text()
        # resuming sends the images again with the history
        proc = run_cli(repo, de_agent_home, "-c", "-p", "and now?", server=server, env=env)
        assert proc.returncode == 0, proc.stderr
        first_user = [m for m in server.requests[1]["messages"] if m["role"] == "user"][0]
        assert [decoded(p).size for p in image_parts(first_user)] == [(120, 80), (images.MAX_SIDE, 1176)]


def test_a_text_file_and_an_image_named_with_at_go_together(repo, de_agent_home):
    """@path text attachments (engine/mentions.py) and @image attachments share one message:
    the file's text is appended to the prompt, the picture follows as an image part, and the
    image is not refused as a binary file."""
    (repo / "notes.md").write_text("the orders chart dips on Mondays\n")
    (repo / "dash.png").write_bytes(gradient_png(30, 20))
    env = cli_env(de_agent_home, DE_AGENT_VISION="on")
    with ScriptedServer([{"text": "ok"}]) as server:
        proc = run_cli(repo, de_agent_home, "-p", "compare @notes.md with @dash.png", server=server, env=env)
    assert proc.returncode == 0, proc.stderr
    user = server.requests[0]["messages"][-1]
    text = user["content"][0]["text"]
    assert text.startswith("compare @notes.md with @dash.png")
    assert '<attached_file path="notes.md">' in text and "dips on Mondays" in text
    assert "dash.png" not in text.split("<attached_file", 1)[1]  # the picture is not attached as text
    assert [decoded(p).size for p in image_parts(user)] == [(30, 20)]
    assert "binary file" not in proc.stdout + proc.stderr


def test_pasted_absolute_path_outside_the_repository_attaches(repo, de_agent_home, tmp_path):
    shot = tmp_path / "Screenshot 1.png".replace(" ", "_")
    shot.write_bytes(gradient_png(30, 20))
    env = cli_env(de_agent_home, DE_AGENT_VISION="on")
    with ScriptedServer([{"text": "ok"}]) as server:
        proc = run_cli(repo, de_agent_home, "-p", f"look at '{shot}'", server=server, env=env)
    assert proc.returncode == 0, proc.stderr
    assert [decoded(p).size for p in image_parts(server.requests[0]["messages"][-1])] == [(30, 20)]


def test_model_without_vision_gets_a_clear_note_instead(repo, de_agent_home):
    (repo / "dash.png").write_bytes(gradient_png(30, 20))
    with ScriptedServer([{"text": "I cannot see it."}]) as server:  # openai/test-model: litellm says no vision
        proc = run_cli(repo, de_agent_home, "-p", "what is in @dash.png", server=server)
    assert proc.returncode == 0, proc.stderr
    content = server.requests[0]["messages"][-1]["content"]
    assert isinstance(content, str)
    assert "image dash.png (PNG 30x20) not shown: the model openai/test-model does not accept images" in content


def tool_result_and_images(repo, home, script, prompt, env):
    """Run one headless task; the tool result the model got back and the user message after it
    (where the pictures the tool read go)."""
    with ScriptedServer(script) as server:
        proc = run_cli(repo, home, "-p", prompt, server=server, env=env)
    assert proc.returncode == 0, proc.stderr
    messages = server.requests[1]["messages"]
    tool = [m for m in messages if m["role"] == "tool"][0]
    after = messages[messages.index(tool) + 1]
    assert after["role"] == "user"
    return tool, after


def test_readfile_on_an_image_shows_it_to_a_vision_model(repo, de_agent_home):
    (repo / "docs").mkdir()
    (repo / "docs" / "arch.png").write_bytes(gradient_png(64, 32))
    env = cli_env(de_agent_home, DE_AGENT_VISION="on")
    script = [{"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "docs/arch.png"}}]},
              {"text": "It is a gradient."}]
    tool, after = tool_result_and_images(repo, de_agent_home, script, "describe docs/arch", env)
    assert "docs/arch.png (PNG 64x32)" in tool["content"]
    assert [decoded(p).size for p in image_parts(after)] == [(64, 32)]
    assert any("ReadFile docs/arch.png" in p.get("text", "") for p in after["content"])


def test_an_mcp_tools_image_is_shown_to_a_vision_model(repo, de_agent_home):
    from tests.mcp_support import demo_toml

    (de_agent_home / "config.toml").write_text(demo_toml("demo", extra="trust = true"))
    env = cli_env(de_agent_home, DE_AGENT_VISION="on")
    script = [{"tool_calls": [{"name": "mcp__demo__picture", "arguments": {}}]}, {"text": "One white pixel."}]
    tool, after = tool_result_and_images(repo, de_agent_home, script, "what does the picture show?", env)
    assert "[image: image/png, 70 bytes; follows in the next message]" in tool["content"]
    assert [decoded(p).size for p in image_parts(after)] == [(1, 1)]
    assert any("mcp__demo__picture" in p.get("text", "") for p in after["content"])


def test_unreadable_attachment_is_a_note_not_a_crash(repo, de_agent_home):
    (repo / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    env = cli_env(de_agent_home, DE_AGENT_VISION="on")
    with ScriptedServer([{"text": "ok"}]) as server:
        proc = run_cli(repo, de_agent_home, "-p", "see @broken.png", "--output-format", "stream-json",
                       server=server, env=env)
    assert proc.returncode == 0, proc.stderr
    content = server.requests[0]["messages"][-1]["content"]
    assert "could not attach broken.png" in json.dumps(content)


@pytest.mark.parametrize("text, expected", [
    ("see @a.png, please", ["a.png"]),
    ("compare a.png and sub/b.JPG.", ["a.png", "sub/b.JPG"]),
    ("no such @missing.png here", []),
    ("a.png.txt is text", []),
    ("email me@a.png", []),
])
def test_attachment_paths_in_prompts(tmp_path, text, expected):
    (tmp_path / "sub").mkdir()
    for name in ("a.png", "sub/b.JPG", "a.png.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [str(p.relative_to(tmp_path)) for p in images.attachment_paths(text, tmp_path)] == expected
