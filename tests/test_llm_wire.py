"""The directly spoken wire formats (Anthropic Messages, Ollama chat, OpenAI-compatible)
against local servers that speak them, through the real LLMClient."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from de_agent.llm.adapter import LLMClient, LLMError
from de_agent.llm.routes import route_for
from tests.support.openai_server import ScriptedServer
from tests.support.wire_servers import AnthropicServer, OllamaServer

ROOT = Path(__file__).resolve().parents[1]
TOOLS = [{"type": "function", "function": {"name": "ReadFile", "description": "Read a file.",
                                           "parameters": {"type": "object",
                                                          "properties": {"file_path": {"type": "string"}}}}}]
HISTORY = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "read a.py and b.py"},
    {"role": "assistant", "content": "Reading.", "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "ReadFile", "arguments": '{"file_path": "a.py"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "ReadFile", "arguments": '{"file_path": "b.py"}'}}]},
    {"role": "tool", "tool_call_id": "call_a", "content": "x = 1"},
    {"role": "tool", "tool_call_id": "call_b", "content": "y = 2"},
]
CALL = {"text": "Let me look.", "tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "some/long/path.py"}}]}


@pytest.fixture(autouse=True)
def _keys(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-000")
    monkeypatch.delenv("DE_AGENT_LITELLM", raising=False)


def _v1(server) -> str:
    return server.url  # ends with /v1


async def test_anthropic_streams_text_and_tool_call_split_over_input_json_deltas():
    seen: list[str] = []
    with AnthropicServer([CALL], chunk=3) as server:
        reply = await LLMClient("anthropic/claude-sonnet-4-5", api_base=_v1(server)).complete(
            HISTORY, TOOLS, on_text=seen.append)
    assert reply.text == "Let me look." and "".join(seen) == "Let me look." and len(seen) > 2
    assert [(c["name"], json.loads(c["arguments"])) for c in reply.tool_calls] == [
        ("ReadFile", {"file_path": "some/long/path.py"})]
    assert reply.finish_reason == "tool_calls"
    assert (reply.prompt_tokens, reply.completion_tokens) == (13, 9)
    assert reply.cost == pytest.approx(13 * 3e-06 + 9 * 1.5e-05)


async def test_anthropic_request_has_the_messages_api_shape():
    with AnthropicServer([{"text": "ok"}]) as server:
        await LLMClient("anthropic/claude-sonnet-4-5", api_base=_v1(server)).complete(HISTORY, TOOLS)
    body, headers = server.requests[0], server.headers[0]
    assert server.paths[0] == "/v1/messages"
    assert headers["x-api-key"] == "sk-ant-test-000" and headers["anthropic-version"] == "2023-06-01"
    assert body["system"] == "You are terse." and body["stream"] is True and body["max_tokens"] > 0
    assert body["tools"][0]["input_schema"]["properties"] == {"file_path": {"type": "string"}}
    assistant, results = body["messages"][1], body["messages"][2]
    assert [b["type"] for b in assistant["content"]] == ["text", "tool_use", "tool_use"]
    assert assistant["content"][1]["input"] == {"file_path": "a.py"}
    assert results["role"] == "user" and [b["tool_use_id"] for b in results["content"]] == ["call_a", "call_b"]


async def test_anthropic_overloaded_is_retried_then_succeeds():
    with AnthropicServer([{"status": 529}, {"status": 429}, {"text": "fine"}]) as server:
        reply = await LLMClient("anthropic/claude-sonnet-4-5", api_base=_v1(server), base_delay_s=0.01).complete(
            HISTORY, [])
    assert reply.text == "fine" and len(server.requests) == 3


async def test_anthropic_bad_key_is_a_one_line_config_error_naming_the_endpoint():
    with AnthropicServer([{"status": 401, "body": "invalid x-api-key"}]) as server:
        with pytest.raises(LLMError) as info:
            await LLMClient("anthropic/claude-sonnet-4-5", api_base=_v1(server)).complete(HISTORY, [])
    message = str(info.value)
    assert info.value.config and "rejected the API key" in message and server.url in message
    assert "\n" not in message and len(server.requests) == 1


async def test_anthropic_error_event_mid_stream_is_an_error_not_a_short_answer():
    with AnthropicServer([{"text": "partial", "stream_error": "overloaded_error"}]) as server:
        with pytest.raises(LLMError) as info:
            await LLMClient("anthropic/claude-sonnet-4-5", api_base=_v1(server), base_delay_s=0.01).complete(
                HISTORY, [])
    assert "Overloaded" in str(info.value)
    assert len(server.requests) == 1  # text had streamed: not retried (it would be shown twice)


async def test_anthropic_prompt_too_long_is_flagged_as_overflow():
    with AnthropicServer([{"status": 400, "body": "prompt is too long: 250000 tokens > 200000 maximum"}]) as server:
        with pytest.raises(LLMError) as info:
            await LLMClient("anthropic/claude-sonnet-4-5", api_base=_v1(server)).complete(HISTORY, [])
    assert info.value.context_overflow


async def test_ollama_native_chat_streams_text_and_whole_tool_calls():
    seen: list[str] = []
    with OllamaServer([CALL], chunk=4) as server:
        reply = await LLMClient("ollama/qwen2.5-coder", api_base=server.url.removesuffix("/v1")).complete(
            HISTORY, TOOLS, on_text=seen.append)
    assert reply.text == "Let me look." and len(seen) > 1
    assert [(c["name"], json.loads(c["arguments"])) for c in reply.tool_calls] == [
        ("ReadFile", {"file_path": "some/long/path.py"})]
    assert (reply.prompt_tokens, reply.completion_tokens) == (17, 5) and reply.finish_reason == "tool_calls"
    body = server.requests[0]
    assert server.paths[0] == "/api/chat" and body["model"] == "qwen2.5-coder"
    assert body["messages"][2]["tool_calls"][0]["function"]["arguments"] == {"file_path": "a.py"}
    assert body["messages"][3]["tool_name"] == "ReadFile" and "authorization" not in server.headers[0]


async def test_ollama_missing_model_is_a_config_error():
    with OllamaServer([{"status": 404, "body": "model 'nope' not found"}]) as server:
        with pytest.raises(LLMError) as info:
            await LLMClient("ollama_chat/nope", api_base=server.url).complete(HISTORY, [])
    assert info.value.config and "not found" in str(info.value)


async def test_openai_compatible_error_names_the_endpoint():
    with ScriptedServer([{"status": 400, "body": "bad tool schema"}]) as server:
        with pytest.raises(LLMError) as info:
            await LLMClient("openai/local", api_base=server.url).complete(HISTORY, [])
    assert f"{server.url}/chat/completions" in str(info.value)


async def test_timeout_is_retried_and_reported():
    with ScriptedServer([{"delay": 2, "text": "late"}, {"delay": 2, "text": "late"}]) as server:
        client = LLMClient("openai/local", api_base=server.url, timeout_s=0.3, max_retries=1, base_delay_s=0.01)
        with pytest.raises(LLMError) as info:
            await client.complete(HISTORY, [])
    assert "timed out" in str(info.value) and "gave up after 2 attempts" in str(info.value)


def test_routes():
    env = {"OPENAI_API_KEY": "k"}
    assert route_for("openai/gpt-4o", None, env).url() == "https://api.openai.com/v1/chat/completions"
    assert route_for("gpt-4o-mini", None, env).kind == "openai"
    assert route_for("claude-sonnet-4-5", None, env).url() == "https://api.anthropic.com/v1/messages"
    assert route_for("ollama/llama3", None, env).url() == "http://localhost:11434/api/chat"
    assert route_for("ollama/llama3", "http://box:11434/v1", env).url() == "http://box:11434/api/chat"
    assert route_for("bedrock/anthropic.claude-v2", None, env) is None
    assert route_for("gemini/gemini-2.0-flash", None, env) is None
    assert route_for("openai/gpt-4o", None, {**env, "DE_AGENT_LITELLM": "1"}) is None


def test_other_providers_still_go_through_litellm():
    assert LLMClient("gemini/gemini-2.0-flash").route is None
    assert LLMClient("openai/gpt-4o", stream=False).route is None


@pytest.mark.parametrize("model,server_cls,suffix", [
    ("anthropic/claude-sonnet-4-5", AnthropicServer, "/v1"),
    ("ollama/qwen2.5-coder", OllamaServer, ""),
    ("openai/local-model", ScriptedServer, "/v1"),
])
def test_headless_runs_a_tool_loop_without_importing_litellm(tmp_path, model, server_cls, suffix):
    (tmp_path / "a.py").write_text("x = 1\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    script = [{"tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "a.py"}}]}, {"text": "x is 1"}]
    probe = ("import sys; sys.argv = ['de-agent'] + sys.argv[1:]\n"
             "from de_agent.cli import main\ncode = main(sys.argv[1:])\n"
             "sys.stderr.write('LITELLM=%s\\n' % ('litellm' in sys.modules)); sys.exit(code)\n")
    with server_cls(script) as server:
        base = server.url.removesuffix("/v1") + suffix
        env = {**os.environ, "DE_AGENT_HOME": str(tmp_path / "home"), "DE_AGENT_SANDBOX": "none",
               "ANTHROPIC_API_KEY": "sk-ant-test", "OPENAI_API_KEY": "sk-test", "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-c", probe, "-p", "what is x?", "--model", model, "--api-base", base,
                               "--approval-mode", "yolo"], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "x is 1"
    assert "LITELLM=False" in done.stderr
    assert len(server.requests) == 2
    second = json.dumps(server.requests[1])
    assert "x = 1" in second  # the tool result went back in the provider's own format


def test_fast_start_counts_estimate_until_the_tokenizer_is_warm():
    from de_agent.llm import routes

    messages = [{"role": "user", "content": "hello world " * 100}]
    saved = routes._encoding
    try:
        routes._encoding = None
        assert routes.count_tokens(messages) == 4 + 1200 // 4
        routes._load_encoding()
        assert routes._encoding  # the copy bundled with litellm, nothing downloaded
        assert 200 <= routes.count_tokens(messages) <= 210
    finally:
        routes._encoding = saved
