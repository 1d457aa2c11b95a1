"""Three wire formats spoken directly over httpx: OpenAI-compatible chat completions (SSE),
Anthropic's Messages API (SSE events ``message_start``, ``content_block_start/delta/stop``
with ``text_delta`` and ``input_json_delta``, ``message_delta``, ``message_stop``, ``error``)
and Ollama's native ``/api/chat`` (one JSON object per line).

The conversation is kept in the OpenAI format everywhere else in de-agent; the Anthropic
and Ollama shapes are made here, just before sending. Every call streams; the reply comes
back as an :class:`~de_agent.llm.adapter.AssistantReply`. Failures raise :class:`WireError`
with the HTTP status and the provider's own message, which the adapter classifies (retry or
not, one line naming the endpoint).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from de_agent.llm.adapter import AssistantReply, ToolCallAssembler
from de_agent.llm.routes import Route, model_info

ANTHROPIC_VERSION = "2023-06-01"
_STOP = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls", "max_tokens": "length"}

Deliver = Callable[[str], Awaitable[None]]


class WireError(Exception):
    """A failed call: ``status`` is the HTTP status (0 when the connection itself failed)."""

    def __init__(self, message: str, status: int = 0, *, kind: str = ""):
        super().__init__(message)
        self.status = status
        self.kind = kind  # "connect", "timeout", "protocol" or the provider's error type


_clients: dict[tuple[int, bool], Any] = {}


def _client(timeout_s: float, tls: bool) -> Any:
    """One httpx client per event loop (connections cannot cross loops). Plain-http endpoints
    (Ollama, local servers) get a client without certificate loading, which costs ~50 ms."""
    import httpx

    key = (id(asyncio.get_running_loop()), tls)
    client = _clients.get(key)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0)), verify=tls)
        for other in [k for k in _clients if k[0] != key[0]]:
            del _clients[other]  # a former loop's client is unusable now
        _clients[key] = client
    return client


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content)


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


_OVERFLOW_WORDS = ("context length", "context_length_exceeded", "context window", "prompt is too long",
                   "too many tokens", "maximum context")


def classify_wire_error(exc: Exception, url: str) -> tuple[bool, str, bool, bool]:
    """(retryable, one-line message naming the endpoint, context overflow, configuration error)
    for a failure of a directly spoken endpoint (worded as :mod:`de_agent.llm.diagnose` words
    litellm's)."""
    from de_agent.llm.diagnose import broke_midway, error_text, server_error, unreachable

    where = f" {url}"
    if not isinstance(exc, WireError):
        return False, f"model call to {url} failed ({type(exc).__name__}): {error_text(exc)}", False, False
    text = error_text(str(exc) or "(no message)")
    status, kind = exc.status, exc.kind
    if kind == "connect":
        return True, unreachable(where, text), False, True
    if kind == "timeout":
        return True, f"the model request to {url} timed out: {text}", False, False
    if kind == "protocol":
        return True, broke_midway(where, text), False, False
    if any(w in text.lower() for w in _OVERFLOW_WORDS):
        return False, f"the conversation is longer than the model's context window: {text}", True, False
    if status in (401, 403):
        return False, f"the provider rejected the API key ({url}): {text}", False, True
    if status == 404:
        return False, f"model not found at the provider ({url}): {text}", False, True
    if status == 429:
        return True, f"rate limited by the provider ({url}): {text}", False, False
    if status == 408 or status >= 500 or kind in ("overloaded_error", "api_error"):
        return True, server_error(where, status or kind, text), False, False
    if 400 <= status < 500:
        return False, f"the provider rejected the request ({url}): {text}", False, False
    return False, f"model call to {url} failed: {text}", False, False


# --- request bodies ----------------------------------------------------------------------

def openai_body(route: Route, messages: list[dict], tools: list[dict]) -> dict[str, Any]:
    body: dict[str, Any] = {"model": route.model, "messages": messages, "stream": True,
                            "stream_options": {"include_usage": True}}
    if tools:
        body["tools"] = tools
    return body


def _data_images(content: Any) -> list[tuple[str, str]]:
    """(media type, base64) of the ``data:`` image parts of an OpenAI-format content list."""
    found = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict) and part.get("type") == "image_url":
            url = str((part.get("image_url") or {}).get("url", ""))
            head, _, data = url.partition(",")
            if head.startswith("data:") and head.endswith(";base64") and data:
                found.append((head[len("data:"):-len(";base64")], data))
    return found


def _anthropic_user_blocks(content: Any) -> list[dict[str, Any]]:
    """A user message's text and images as Anthropic content blocks."""
    if not isinstance(content, list):
        return [{"type": "text", "text": _text(content) or "(empty)"}]
    blocks: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "image_url":
            for media_type, data in _data_images([part]):
                blocks.append({"type": "image", "source": {"type": "base64", "media_type": media_type,
                                                           "data": data}})
        elif part.get("text"):
            blocks.append({"type": "text", "text": str(part["text"])})
    return blocks or [{"type": "text", "text": "(empty)"}]


def anthropic_body(route: Route, messages: list[dict], tools: list[dict]) -> dict[str, Any]:
    system: list[str] = []
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if out and out[-1]["role"] == role:  # the API wants user and assistant turns to alternate
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})

    for m in messages:
        role = m.get("role")
        if role == "system":
            system.append(_text(m.get("content")))
        elif role == "tool":
            add("user", [{"type": "tool_result", "tool_use_id": m.get("tool_call_id", ""),
                          "content": _text(m.get("content")) or "(no output)"}])
        elif role == "assistant":
            blocks: list[dict[str, Any]] = []
            if _text(m.get("content")):
                blocks.append({"type": "text", "text": _text(m.get("content"))})
            for call in m.get("tool_calls") or []:
                fn = call.get("function", {})
                blocks.append({"type": "tool_use", "id": call.get("id", ""), "name": fn.get("name", ""),
                               "input": _arguments(fn.get("arguments"))})
            add("assistant", blocks or [{"type": "text", "text": "(no content)"}])
        else:
            add("user", _anthropic_user_blocks(m.get("content")))
    info = model_info(f"anthropic/{route.model}")
    body: dict[str, Any] = {"model": route.model, "messages": out, "stream": True,
                            "max_tokens": int(info.get("max_output_tokens") or 8192)}
    if system:
        body["system"] = "\n\n".join(system)
    if tools:
        body["tools"] = [{"name": t["function"]["name"], "description": t["function"].get("description", ""),
                          "input_schema": t["function"].get("parameters") or {"type": "object"}}
                         for t in tools]
    return body


def ollama_body(route: Route, messages: list[dict], tools: list[dict]) -> dict[str, Any]:
    names: dict[str, str] = {}
    out = []
    for m in messages:
        m2: dict[str, Any] = {"role": m.get("role"), "content": _text(m.get("content"))}
        pictures = [data for _, data in _data_images(m.get("content"))]
        if pictures:
            m2["images"] = pictures  # Ollama takes base64 images beside the text
        if m.get("tool_calls"):
            m2["tool_calls"] = []
            for call in m["tool_calls"]:
                fn = call.get("function", {})
                names[call.get("id", "")] = fn.get("name", "")
                m2["tool_calls"].append({"function": {"name": fn.get("name", ""),
                                                      "arguments": _arguments(fn.get("arguments"))}})
        if m.get("role") == "tool":
            m2["tool_name"] = names.get(m.get("tool_call_id", ""), "")
        out.append(m2)
    body: dict[str, Any] = {"model": route.model, "messages": out, "stream": True}
    if tools:
        body["tools"] = tools
    return body


def headers(route: Route) -> dict[str, str]:
    h = {"Content-Type": "application/json"}
    if route.kind == "anthropic":
        h["anthropic-version"] = ANTHROPIC_VERSION
        if route.api_key:
            h["x-api-key"] = route.api_key
    elif route.api_key:
        h["Authorization"] = f"Bearer {route.api_key}"
    return h


# --- streaming -----------------------------------------------------------------------------

async def call(route: Route, messages: list[dict], tools: list[dict], deliver: Deliver,
               timeout_s: float) -> AssistantReply:
    """One streamed call; raises :class:`WireError` on failure."""
    import httpx

    make = {"openai": openai_body, "anthropic": anthropic_body, "ollama": ollama_body}[route.kind]
    body = make(route, messages, tools)
    try:
        url = route.url()
        async with _client(timeout_s, url.startswith("https:")).stream("POST", url, json=body,
                                                                       headers=headers(route)) as resp:
            if resp.status_code >= 400:
                raise WireError(_error_text(await resp.aread()), resp.status_code)
            lines = resp.aiter_lines()
            if route.kind == "anthropic":
                return await _read_anthropic(_sse(lines), deliver)
            if route.kind == "ollama":
                return await _read_ollama(lines, deliver)
            return await _read_openai(_sse(lines), deliver)
    except httpx.TimeoutException as exc:
        raise WireError(f"no answer in {timeout_s:g} s ({type(exc).__name__})", kind="timeout") from None
    except httpx.ConnectError as exc:
        raise WireError(str(exc) or "connection refused", kind="connect") from None
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise WireError(f"the connection broke: {exc}", kind="protocol") from None


def _error_text(raw: bytes) -> str:
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip()[:300] or "(empty response)"
    err = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(err, dict):
        return str(err.get("message") or err.get("type") or err)[:300]
    return str(err)[:300]


async def _sse(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """The JSON payloads of a server-sent event stream (``[DONE]`` ends it)."""
    data: list[str] = []
    async for line in lines:
        if line.startswith("data:"):
            data.append(line[5:].lstrip())
            continue
        if line.strip() or not data:
            continue
        payload, data = "\n".join(data), []
        if payload == "[DONE]":
            return
        yield _json_event(payload)
    if data and "\n".join(data) != "[DONE]":
        yield _json_event("\n".join(data))


def _json_event(payload: str) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except ValueError:
        raise WireError(f"the endpoint sent something that is not JSON: {payload[:120]!r}", kind="protocol") from None
    if isinstance(event, dict) and event.get("error") and not event.get("choices"):
        err = event["error"]
        kind = err.get("type", "") if isinstance(err, dict) else ""
        message = err.get("message", str(err)) if isinstance(err, dict) else str(err)
        raise WireError(str(message)[:300], 529 if kind == "overloaded_error" else 0, kind=kind or "stream")
    return event if isinstance(event, dict) else {}


async def _read_openai(events: AsyncIterator[dict[str, Any]], deliver: Deliver) -> AssistantReply:
    reply, asm, parts = AssistantReply(), ToolCallAssembler(), []
    async for chunk in events:
        usage = chunk.get("usage")
        if usage:
            reply.prompt_tokens = int(usage.get("prompt_tokens") or 0)
            reply.completion_tokens = int(usage.get("completion_tokens") or 0)
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or choice.get("message") or {}
            if delta.get("content"):
                parts.append(delta["content"])
                await deliver(delta["content"])
            for fragment in delta.get("tool_calls") or []:
                asm.add(fragment)
            if choice.get("finish_reason"):
                reply.finish_reason = choice["finish_reason"]
    if reply.finish_reason is None:  # the server went away mid-answer (killed, restarted, cut off)
        raise WireError("the stream ended before the answer was complete", kind="protocol")
    reply.text, reply.tool_calls = "".join(parts), asm.calls()
    return reply


async def _read_anthropic(events: AsyncIterator[dict[str, Any]], deliver: Deliver) -> AssistantReply:
    reply, asm, parts = AssistantReply(), ToolCallAssembler(), []
    async for event in events:
        kind = event.get("type")
        if kind == "message_start":
            usage = (event.get("message") or {}).get("usage") or {}
            reply.prompt_tokens = sum(int(usage.get(k) or 0) for k in (
                "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
            reply.completion_tokens = int(usage.get("output_tokens") or 0)
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                asm.add({"index": event.get("index"), "id": block.get("id"),
                         "function": {"name": block.get("name", ""), "arguments": ""}})
            elif block.get("type") == "text" and block.get("text"):
                parts.append(block["text"])
                await deliver(block["text"])
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                parts.append(delta["text"])
                await deliver(delta["text"])
            elif delta.get("type") == "input_json_delta":
                asm.add({"index": event.get("index"), "function": {"arguments": delta.get("partial_json", "")}})
        elif kind == "message_delta":
            stop = (event.get("delta") or {}).get("stop_reason")
            if stop:
                reply.finish_reason = _STOP.get(stop, stop)
            usage = event.get("usage") or {}
            if usage.get("output_tokens") is not None:
                reply.completion_tokens = int(usage["output_tokens"])
        elif kind == "message_stop":
            break
    reply.text, reply.tool_calls = "".join(parts), asm.calls()
    return reply


async def _read_ollama(lines: AsyncIterator[str], deliver: Deliver) -> AssistantReply:
    reply = AssistantReply()
    calls: list[dict[str, Any]] = []
    parts: list[str] = []
    async for line in lines:
        if not line.strip():
            continue
        event = _json_event(line)
        message = event.get("message") or {}
        if message.get("content"):
            parts.append(message["content"])
            await deliver(message["content"])
        for call in message.get("tool_calls") or []:
            fn = call.get("function") or {}
            args = fn.get("arguments")
            calls.append({"id": call.get("id") or f"call_{len(calls)}", "name": fn.get("name", ""),
                          "arguments": args if isinstance(args, str) else json.dumps(args or {})})
        if event.get("done"):
            reply.prompt_tokens = int(event.get("prompt_eval_count") or 0)
            reply.completion_tokens = int(event.get("eval_count") or 0)
            reason = event.get("done_reason") or "stop"
            reply.finish_reason = "tool_calls" if calls else reason
            break
    reply.text, reply.tool_calls = "".join(parts), calls
    return reply
