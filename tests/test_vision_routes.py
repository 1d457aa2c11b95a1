"""Vision for directly spoken models (no litellm import), and images in the Anthropic and
Ollama request bodies; the engine asks whether the model takes images once per model."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from de_agent.engine.vision import ImageInput
from de_agent.llm.routes import Route, supports_vision
from de_agent.llm.wire import anthropic_body, ollama_body, openai_body

PNG_URL = "data:image/png;base64,iVBORw0KGgo="


def test_direct_routes_answer_vision_without_importing_litellm():
    code = ("import sys\nfrom de_agent.llm.adapter import LLMClient\n"
            "for m in ('openai/gpt-4o', 'anthropic/claude-sonnet-4-5', 'openai/test-model', 'gpt-3.5-turbo'):\n"
            "    print(m, LLMClient(m, api_base='http://127.0.0.1:9').supports_vision())\n"
            "print('litellm loaded', 'litellm' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "DE_AGENT_HOME": "/nonexistent"}).stdout
    assert out.splitlines() == ["openai/gpt-4o True", "anthropic/claude-sonnet-4-5 True",
                                "openai/test-model False", "gpt-3.5-turbo False", "litellm loaded False"]


@pytest.mark.parametrize(("kind", "model", "expected"), [
    ("anthropic", "claude-sonnet-4-99-20991231", True),   # not in the price list yet: the family says yes
    ("openai", "gpt-5-future-mini", True),
    ("ollama", "llava:13b", True),
    ("ollama", "qwen2.5-coder", False),
    ("openai", "my-local-model", False),
])
def test_unknown_names_fall_back_to_the_model_family(kind, model, expected):
    route = Route(kind, model, "http://127.0.0.1:9", None, None)
    assert supports_vision(route, f"{kind}/{model}") is expected


def user_with_image():
    return {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                        {"type": "image_url", "image_url": {"url": PNG_URL}}]}


def test_anthropic_body_sends_images_as_base64_image_blocks():
    route = Route("anthropic", "claude-sonnet-4-5", "http://127.0.0.1:9", "k", "ANTHROPIC_API_KEY")
    body = anthropic_body(route, [{"role": "system", "content": "sys"}, user_with_image()], [])
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]}]


def test_ollama_body_sends_images_beside_the_text():
    route = Route("ollama", "llava", "http://127.0.0.1:9", None, None)
    body = ollama_body(route, [user_with_image(), {"role": "user", "content": "plain"}], [])
    assert body["messages"][0] == {"role": "user", "content": "what is this?", "images": ["iVBORw0KGgo="]}
    assert "images" not in body["messages"][1]


def test_openai_body_keeps_image_url_parts():
    route = Route("openai", "gpt-4o", "http://127.0.0.1:9", "k", "OPENAI_API_KEY")
    assert openai_body(route, [user_with_image()], [])["messages"][0]["content"][1]["type"] == "image_url"


class CountingClient:
    def __init__(self, answer: bool):
        self.answer, self.asked = answer, 0

    def supports_vision(self) -> bool:
        self.asked += 1
        return self.answer


def engine_with(llm, vision="auto", model="openai/gpt-4o"):
    return SimpleNamespace(llm=llm, model=model, ctx=SimpleNamespace(settings=SimpleNamespace(vision=vision)))


def test_the_engine_asks_once_per_model_and_the_setting_overrides():
    client = CountingClient(True)
    engine = engine_with(client)
    images = ImageInput(engine)  # type: ignore[arg-type]
    assert images.accepts_images() and images.accepts_images()
    assert client.asked == 1
    engine.model = "openai/other"  # a /model switch: asked again
    assert images.accepts_images() and client.asked == 2
    assert ImageInput(engine_with(CountingClient(True), vision="off")).accepts_images() is False  # type: ignore[arg-type]
    never = CountingClient(False)
    assert ImageInput(engine_with(never, vision="on")).accepts_images() is True  # type: ignore[arg-type]
    assert never.asked == 0


def test_a_client_that_cannot_say_means_no_images():
    assert ImageInput(engine_with(object())).accepts_images() is False  # type: ignore[arg-type]
