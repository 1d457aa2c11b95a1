"""The model adapter: streaming, tool-call assembly, retries, usage and cost.

OpenAI-compatible, Anthropic and Ollama endpoints are spoken directly
(:mod:`de_agent.llm.wire`, routed by :mod:`de_agent.llm.routes`); every other provider goes
through litellm, imported lazily (it costs seconds and reads the network at import unless
``LITELLM_LOCAL_MODEL_COST_MAP`` is set, which :func:`load_litellm` does first). Front ends
that care about start-up call :func:`fast_start`: token counts are then made without litellm
until it happens to be loaded, so the first request never waits for its import.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from de_agent.llm.diagnose import UNKNOWN_MODEL_HINT, classify_error, error_text, quick_config_problem
from de_agent.llm.errors import ContextOverflowError, LLMError, ModelConfigError, error_for
from de_agent.protocol import ErrorKind

__all__ = ["AssistantReply", "ContextOverflowError", "LLMClient", "LLMError", "ModelConfigError",
           "classify_error", "error_text", "parse_arguments", "quick_config_problem"]

_lock = threading.Lock()
_litellm: Any = None
_fast_start = False


def fast_start(enabled: bool = True) -> None:
    """Never import litellm just to count tokens for a directly spoken endpoint."""
    global _fast_start
    _fast_start = enabled


def litellm_loaded() -> bool:
    return _litellm is not None


def load_litellm() -> Any:
    """Import litellm once, offline and quiet. Safe to call from a background thread."""
    global _litellm
    if _litellm is not None:
        return _litellm
    with _lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_LOG", "ERROR")
            from de_agent.security.env import block_dotenv

            block_dotenv()  # litellm would load a .env into our environment
            import litellm

            litellm.suppress_debug_info = True
            litellm.set_verbose = False
            litellm.drop_params = True
            # de-agent keeps its own usage and cost; litellm's per-stream logging (callbacks,
            # its own cost calculation) would cost ~10 ms per model call for nothing.
            litellm.disable_streaming_logging = True
            litellm.telemetry = False
            for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "httpx"):
                logging.getLogger(name).setLevel(logging.ERROR)
            _litellm = litellm
    return _litellm


def preload_in_background() -> threading.Thread:
    """Start importing litellm on a daemon thread (the TUI draws its first frame meanwhile)."""
    thread = threading.Thread(target=load_litellm, name="litellm-preload", daemon=True)
    thread.start()
    return thread


@dataclass
class AssistantReply:
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {id, name, arguments(str)}
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    finish_reason: str | None = None

    def message(self) -> dict[str, Any]:
        """The OpenAI-format assistant message for the conversation history."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            msg["tool_calls"] = [
                {"id": c["id"], "type": "function",
                 "function": {"name": c["name"], "arguments": c["arguments"] or "{}"}}
                for c in self.tool_calls
            ]
        return msg


class ToolCallAssembler:
    """Joins streamed tool-call fragments (by index) into whole calls."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, Any]] = {}
        self._slot_of_index: dict[Any, int] = {}  # the provider's index -> its latest call
        self._slot_of_id: dict[str, int] = {}

    def add(self, fragment: Any) -> None:
        index, call_id = _get(fragment, "index"), _get(fragment, "id")
        if call_id and call_id in self._slot_of_id:
            slot = self._slot_of_id[call_id]
        elif index is None:
            slot = len(self._calls) if call_id else max(self._calls, default=0)
        else:
            known = self._slot_of_index.get(index)
            # Some providers (Ollama) stream every call of a reply at index 0: a new id there
            # starts a new call instead of joining the previous one's arguments.
            fresh = known is None or (call_id and self._calls[known]["id"] not in ("", call_id))
            slot = len(self._calls) if fresh or known is None else known
            self._slot_of_index[index] = slot
        call = self._calls.setdefault(slot, {"id": "", "name": "", "arguments": ""})
        if call_id:
            call["id"] = call_id
            self._slot_of_id[call_id] = slot
        fn = _get(fragment, "function")
        if fn is not None:
            if _get(fn, "name"):
                call["name"] += _get(fn, "name")
            if _get(fn, "arguments"):
                call["arguments"] += _get(fn, "arguments")

    def calls(self) -> list[dict[str, Any]]:
        out = []
        for i, index in enumerate(sorted(self._calls)):
            call = dict(self._calls[index])
            call["id"] = call["id"] or f"call_{i}"
            out.append(call)
        return out


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def parse_arguments(raw: str) -> dict[str, Any]:
    """Decode a call's JSON arguments; raises ValueError with a readable reason."""
    if not raw or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"arguments are not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(value, dict):
        raise ValueError("arguments must be a JSON object")
    return value


@dataclass(eq=False)
class LLMClient:
    """One model, reached directly (:mod:`de_agent.llm.routes`) or through litellm."""

    model: str
    _: KW_ONLY
    api_base: str | None = None
    stream: bool = True
    timeout_s: float = 120.0
    max_retries: int = 4
    base_delay_s: float = 1.0
    # What was worked out for the current model (and base), cached until either changes.
    _tokenizer_for: str | None = field(default=None, init=False, repr=False)
    _tokenizer_cache: Any = field(default=None, init=False, repr=False)
    _route_for: tuple[str, str | None] | None = field(default=None, init=False, repr=False)
    _route: Any = field(default=None, init=False, repr=False)

    @property
    def route(self) -> Any:
        """The direct route (:class:`~de_agent.llm.routes.Route`) for this model, or None for litellm.
        Non-streaming clients always use litellm."""
        if self._route_for != (self.model, self.api_base):
            from de_agent.llm.routes import route_for

            self._route = route_for(self.model, self.api_base) if self.stream else None
            self._route_for = (self.model, self.api_base)
        return self._route

    # -- configuration checks ---------------------------------------------------------------

    def check_config(self) -> None:
        """Raise LLMError(config=True) for an unknown model or a missing API key."""
        problem = quick_config_problem(self.model, self.api_base)  # a model that cannot work is never used
        if problem is not None:
            raise problem
        route = self.route
        if route is not None:
            if route.kind != "ollama" and not route.api_key and not self.api_base:
                raise LLMError(f"no API key for {route.kind}: set {route.key_name} in the environment",
                               config=True)
            return
        litellm = load_litellm()
        try:
            _, provider, _, _ = litellm.get_llm_provider(self.model, api_base=self.api_base)
        except Exception:
            raise ModelConfigError(f"unknown model {self.model!r}: {UNKNOWN_MODEL_HINT}") from None
        if self.api_base:
            return
        try:
            env = litellm.validate_environment(model=self.model)
        except Exception:
            return
        missing = env.get("missing_keys") or []
        if missing and not env.get("keys_in_environment", True):
            raise ModelConfigError(f"no API key for {provider}: set {', '.join(missing)} in the environment")

    def supports_vision(self) -> bool:
        """Whether this model accepts images (asked at request time, never at start-up).

        Models spoken directly (OpenAI-compatible, Anthropic, Ollama) are looked up in the
        price list litellm ships, read as a file, unless litellm is loaded anyway; only
        litellm-routed models make us import it (their request needs it next anyway).
        """
        route = self.route
        if route is not None and _litellm is None:
            from de_agent.llm.routes import supports_vision

            return supports_vision(route, self.model)
        try:
            return bool(load_litellm().supports_vision(model=self.model))
        except Exception:
            return False

    def context_window(self, fallback: int) -> int:
        if self.route is not None:
            from de_agent.llm.routes import model_info

            info = model_info(self.model)
            return int(info.get("max_input_tokens") or info.get("max_tokens") or fallback)
        litellm = load_litellm()
        try:
            info = litellm.get_model_info(self.model)
            return int(info.get("max_input_tokens") or info.get("max_tokens") or fallback)
        except Exception:
            return fallback

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        if _fast_start and _litellm is None and self.route is not None:
            from de_agent.llm.routes import count_tokens

            return count_tokens(messages)
        litellm = load_litellm()
        try:
            return int(litellm.token_counter(model=self.model, messages=messages,
                                             custom_tokenizer=self._tokenizer(litellm)))
        except Exception:
            return sum(len(json.dumps(m)) for m in messages) // 4

    def _tokenizer(self, litellm: Any) -> Any:
        """litellm picks a tokenizer anew on every count (5-15 ms); pick it once per model."""
        if self._tokenizer_for != self.model:
            try:
                from litellm.utils import _select_tokenizer

                self._tokenizer_cache = _select_tokenizer(self.model)
            except Exception:
                self._tokenizer_cache = None
            self._tokenizer_for = self.model
        return self._tokenizer_cache

    # -- calls -----------------------------------------------------------------------------

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                       on_text: Callable[[str], Awaitable[None] | None] | None = None) -> AssistantReply:
        """One model call with retries; text deltas go to on_text as they arrive."""
        route = self.route
        litellm = None if route is not None else await asyncio.to_thread(load_litellm)
        delay = self.base_delay_s
        attempt = 0
        while True:
            streamed_any = False

            async def deliver(text: str) -> None:
                nonlocal streamed_any
                streamed_any = True
                if on_text is not None:
                    res = on_text(text)
                    if asyncio.iscoroutine(res):
                        await res

            try:
                if route is not None:
                    return await self._direct_once(route, messages, tools, deliver)
                return await self._call_once(litellm, messages, tools, deliver)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every provider error is classified below
                if route is not None:
                    from de_agent.llm.wire import classify_wire_error

                    retryable, message, overflow, config = classify_wire_error(exc, route.url())
                    kind = (ErrorKind.CONTEXT_OVERFLOW if overflow else ErrorKind.CONFIG if config
                            else ErrorKind.MODEL)
                    error = error_for(kind, message)
                else:
                    retryable, error = classify_error(litellm, exc, self.endpoint())
                if isinstance(error, ContextOverflowError):
                    raise error from None
                # An endpoint that refuses connections gets one retry, not the whole backoff.
                limit = min(self.max_retries, 1) if error.config else self.max_retries
                if not retryable or streamed_any or attempt >= limit:
                    if retryable and attempt >= limit and attempt > 0:
                        error = error_for(error.kind, f"{error} (gave up after {attempt + 1} attempts)")
                    raise error from None
                attempt += 1
                await asyncio.sleep(delay)
                delay *= 2

    async def _direct_once(self, route, messages, tools, deliver) -> AssistantReply:
        from de_agent.llm import routes, wire

        reply = await wire.call(route, messages, tools, deliver, self.timeout_s)
        if _fast_start:
            routes.warm_tokenizer()  # the first request is out: exact counts from now on
        if not reply.prompt_tokens:
            reply.prompt_tokens = self.count_tokens(messages)
            reply.completion_tokens = reply.completion_tokens or (max(1, len(reply.text) // 4) if reply.text else 0)
        reply.cost = routes.cost(self.model, reply.prompt_tokens, reply.completion_tokens)
        return reply

    def endpoint(self) -> str:
        """Where requests go, for messages: the --api-base URL, else the provider's name."""
        if self.api_base:
            return self.api_base
        provider = self.model.split("/", 1)[0] if "/" in self.model else ""
        return f"({provider})" if provider else ""

    def _kwargs(self, messages, tools) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "timeout": self.timeout_s,
                                  "num_retries": 0}
        if tools:
            kwargs["tools"] = tools
        if self.api_base:
            kwargs["api_base"] = self.api_base
            if self.model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
                kwargs["api_key"] = "not-needed"
        return kwargs

    async def _call_once(self, litellm, messages, tools, deliver) -> AssistantReply:
        kwargs = self._kwargs(messages, tools)
        reply = AssistantReply()
        if not self.stream:
            response = await litellm.acompletion(**kwargs)
            choice = response.choices[0]
            reply.text = choice.message.content or ""
            if reply.text:
                await deliver(reply.text)
            asm = ToolCallAssembler()
            for i, call in enumerate(choice.message.tool_calls or []):
                asm.add({"index": i, "id": call.id, "function": call.function})
            reply.tool_calls = asm.calls()
            reply.finish_reason = choice.finish_reason
            self._usage(litellm, reply, getattr(response, "usage", None), messages)
            return reply

        kwargs["stream"] = True
        kwargs["stream_options"] = {"include_usage": True}
        stream = await litellm.acompletion(**kwargs)
        asm = ToolCallAssembler()
        parts: list[str] = []
        usage = None
        async for chunk in stream:
            if getattr(chunk, "usage", None):
                usage = chunk.usage
            for choice in chunk.choices or []:
                delta = choice.delta
                if delta is None:
                    continue
                if delta.content:
                    parts.append(delta.content)
                    await deliver(delta.content)
                for fragment in delta.tool_calls or []:
                    asm.add(fragment)
                if choice.finish_reason:
                    reply.finish_reason = choice.finish_reason
        reply.text = "".join(parts)
        reply.tool_calls = asm.calls()
        self._usage(litellm, reply, usage, messages)
        return reply

    def _usage(self, litellm, reply: AssistantReply, usage: Any, messages) -> None:
        if usage:
            reply.prompt_tokens = int(_get(usage, "prompt_tokens") or 0)
            reply.completion_tokens = int(_get(usage, "completion_tokens") or 0)
        else:
            reply.prompt_tokens = self.count_tokens(messages)
            reply.completion_tokens = max(1, len(reply.text) // 4) if reply.text else 0
        try:
            prompt_cost, completion_cost = litellm.cost_per_token(
                model=self.model, prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens)
            reply.cost = float(prompt_cost + completion_cost)
        except Exception:
            reply.cost = None  # not in litellm's price list (local or custom models)
