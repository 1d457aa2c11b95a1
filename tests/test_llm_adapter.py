"""The litellm adapter against the local OpenAI-compatible server (real HTTP, real litellm)."""

from __future__ import annotations

import json

import pytest

from de_agent.llm.adapter import LLMClient, LLMError, ToolCallAssembler, load_litellm
from tests.support.openai_server import ScriptedServer

pytestmark = pytest.mark.xdist_group("litellm")  # litellm is imported by one test worker only

MESSAGES = [{"role": "user", "content": "hi"}]


def client(server, **kw):
    kw.setdefault("base_delay_s", 0.01)
    return LLMClient("openai/test-model", api_base=server.url, **kw)


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000")


async def test_stream_assembles_text_and_split_tool_call_arguments():
    args = {"file_path": "etl/load.py", "old_string": "a" * 50, "new_string": "b \"quoted\" ü"}
    with ScriptedServer([{"text": "Let me look at it.", "tool_calls": [
            {"name": "Edit", "arguments": args}, {"name": "ReadFile", "arguments": {"file_path": "x"}}]}],
            chunk=3) as server:
        deltas = []
        reply = await client(server).complete(MESSAGES, [], on_text=deltas.append)
    assert reply.text == "Let me look at it." and len(deltas) > 3
    assert [c["name"] for c in reply.tool_calls] == ["Edit", "ReadFile"]
    assert json.loads(reply.tool_calls[0]["arguments"]) == args
    assert reply.prompt_tokens == 11 and reply.completion_tokens == 7
    assert server.requests[0]["stream"] is True


async def test_parallel_calls_streamed_at_one_index_stay_separate():
    # Ollama (and litellm's ollama_chat) streams every call of a reply at index 0, each with its id.
    with ScriptedServer([{"same_index": True, "tool_calls": [
            {"name": "ReadFile", "arguments": {"file_path": "a.py"}},
            {"name": "ReadFile", "arguments": {"file_path": "b.py"}}]}], chunk=4) as server:
        reply = await client(server).complete(MESSAGES, [])
    assert [json.loads(c["arguments"]) for c in reply.tool_calls] == [{"file_path": "a.py"},
                                                                     {"file_path": "b.py"}]
    assert len({c["id"] for c in reply.tool_calls}) == 2


async def test_non_streaming_provider_works():
    with ScriptedServer([{"text": "whole", "tool_calls": [{"name": "ReadFile", "arguments": {"file_path": "a"}}]}]) \
            as server:
        reply = await client(server, stream=False).complete(MESSAGES, [])
    assert reply.text == "whole"
    assert json.loads(reply.tool_calls[0]["arguments"]) == {"file_path": "a"}
    assert not server.requests[0].get("stream")


async def test_retries_5xx_and_rate_limits_then_succeeds():
    with ScriptedServer([{"status": 500}, {"status": 429}, {"text": "ok"}]) as server:
        reply = await client(server, max_retries=3).complete(MESSAGES, [])
    assert reply.text == "ok" and len(server.requests) == 3


async def test_gives_up_with_clear_error_after_retries():
    with ScriptedServer([{"status": 503}] * 5) as server:
        with pytest.raises(LLMError) as info:
            await client(server, max_retries=2).complete(MESSAGES, [])
    assert "gave up after 3 attempts" in str(info.value)
    assert "Traceback" not in str(info.value)
    assert len(server.requests) == 3


async def test_bad_request_is_not_retried():
    with ScriptedServer([{"status": 400, "body": "bad tool schema"}]) as server:
        with pytest.raises(LLMError) as info:
            await client(server).complete(MESSAGES, [])
    assert len(server.requests) == 1 and "rejected" in str(info.value)


async def test_context_overflow_is_flagged():
    with ScriptedServer([{"status": 400, "body": "This model's maximum context length is 10 tokens "
                                                  "(context_length_exceeded)"}]) as server:
        with pytest.raises(LLMError) as info:
            await client(server).complete(MESSAGES, [])
    assert info.value.context_overflow


async def test_unreachable_endpoint_is_a_config_error():
    c = LLMClient("openai/test-model", api_base="http://127.0.0.1:9/v1", max_retries=1, base_delay_s=0.01)
    with pytest.raises(LLMError) as info:
        await c.complete(MESSAGES, [])
    assert info.value.config


async def test_unknown_cost_for_local_model_is_none():
    with ScriptedServer([{"text": "ok"}]) as server:
        reply = await client(server).complete(MESSAGES, [])
    assert reply.cost is None


def test_unknown_model_is_a_config_error():
    with pytest.raises(LLMError) as info:
        LLMClient("nosuchprovider/model-x").check_config()
    assert info.value.config and "unknown model" in str(info.value)


def test_missing_api_key_is_a_config_error(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(LLMError) as info:
        LLMClient("anthropic/claude-sonnet-4-5").check_config()
    assert "ANTHROPIC_API_KEY" in str(info.value)


def test_assembler_joins_fragments_by_index():
    asm = ToolCallAssembler()
    asm.add({"index": 0, "id": "a", "function": {"name": "Re", "arguments": '{"x"'}})
    asm.add({"index": 1, "id": "b", "function": {"name": "Shell", "arguments": "{}"}})
    asm.add({"index": 0, "function": {"name": "adFile", "arguments": ': 1}'}})
    assert asm.calls() == [{"id": "a", "name": "ReadFile", "arguments": '{"x": 1}'},
                           {"id": "b", "name": "Shell", "arguments": "{}"}]


def test_token_count_uses_the_models_tokenizer_and_caches_it():
    load_litellm()  # once litellm is loaded, counts use the model's own tokenizer (before: a quick estimate)
    c = LLMClient("openai/gpt-4o")
    messages = [{"role": "user", "content": "hello world " * 100}]
    first = c.count_tokens(messages)
    assert 200 <= first <= 220  # "hello world " is two tokens with tiktoken, plus framing
    assert c._tokenizer_for == "openai/gpt-4o" and c._tokenizer_cache is not None
    assert c.count_tokens(messages) == first
