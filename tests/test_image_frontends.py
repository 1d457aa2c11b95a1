"""Image attachments through the interactive front ends: the plain REPL and the TUI (the
engine reads ``@path`` and pasted paths for every front end; here each one is driven for real)."""

from __future__ import annotations

from de_agent.config import Settings
from de_agent.tools.plan import UpdatePlan
from de_agent.tui.app import DeAgentApp
from tests.support.fake_llm import FakeLLM
from tests.support.openai_server import ScriptedServer, gradient_png
from tests.support.plain_driver import PlainDriver
from tests.support.tui import screen_text
from tests.test_tui_pilot import api_key, run_task, settings_for, turn_done  # noqa: F401 - fixture


async def test_plain_repl_attaches_an_image_named_with_at(tmp_path):
    (tmp_path / "shot.png").write_bytes(gradient_png(20, 10))
    llm = FakeLLM([{"text": "A gradient."}])
    settings = Settings(model="fake/model", vision="on")
    async with PlainDriver(tmp_path, llm, [UpdatePlan()], settings=settings) as d:
        d.send("what is in @shot.png\r")
        await d.expect("attached image shot.png \\(PNG 20x10\\)")
        await d.expect("A gradient.")
        d.send("\x04")
        assert await d.exit_code() == 0
    content = llm.calls[0][-1]["content"]
    assert content[0] == {"type": "text", "text": "what is in @shot.png"}
    assert content[1]["type"] == "image_url" and content[1]["image_url"]["url"].startswith("data:image/png;base64,")


async def test_tui_prompt_attaches_an_image(repo, api_key):  # noqa: F811
    (repo / "shot.png").write_bytes(gradient_png(24, 12))
    with ScriptedServer([{"text": "Looks fine."}]) as server:
        app = DeAgentApp(settings_for(server, vision="on"), repo, cursor_blink=False)
        async with app.run_test(size=(120, 36)) as pilot:
            await run_task(pilot, app, "is the chart in @shot.png right?")
            await turn_done(pilot, app)
            assert "attached image shot.png (PNG 24x12)" in screen_text(app)
    parts = server.requests[0]["messages"][-1]["content"]
    assert parts[0]["text"] == "is the chart in @shot.png right?"
    assert parts[1]["type"] == "image_url"
