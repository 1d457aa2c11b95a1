"""Which wire format reaches a model, and what litellm's price list says about it, without
importing litellm.

Importing litellm costs seconds (see benchmarks/RESULTS.md), so the three endpoints most
people use are spoken directly (:mod:`de_agent.llm.wire`): OpenAI-compatible chat
completions, Anthropic's Messages API and Ollama's native chat API. :func:`route_for` says
whether a model name is one of them; every other provider goes through litellm as before.
``DE_AGENT_LITELLM=1`` sends everything through litellm.

Context windows and prices come from the JSON price list that ships inside the litellm
package (the same data litellm itself uses offline), read as a file.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OPENAI_BASE = "https://api.openai.com/v1"
ANTHROPIC_BASE = "https://api.anthropic.com"
OLLAMA_BASE = "http://localhost:11434"
_OPENAI_BARE = ("gpt-", "o1", "o3", "o4", "chatgpt-")


@dataclass(frozen=True)
class Route:
    kind: str  # "openai" | "anthropic" | "ollama"
    model: str  # the name the endpoint knows (provider prefix removed)
    base_url: str
    api_key: str | None
    key_name: str | None  # the environment variable the key comes from (for messages)

    def url(self) -> str:
        base = self.base_url.rstrip("/")
        if self.kind == "openai":
            return base + "/chat/completions"
        if self.kind == "anthropic":
            return base + ("/messages" if base.endswith("/v1") else "/v1/messages")
        return (base[:-3] if base.endswith("/v1") else base) + "/api/chat"


def route_for(model: str, api_base: str | None, env: Mapping[str, str] | None = None) -> Route | None:
    """The direct route for ``model``, or None when litellm should handle it."""
    environ: Mapping[str, str] = os.environ if env is None else env
    if environ.get("DE_AGENT_LITELLM") == "1":
        return None
    prefix, _, rest = model.partition("/")
    if not rest:
        prefix, rest = "", model
    if prefix == "openai" or (not prefix and rest.startswith(_OPENAI_BARE)):
        base = api_base or environ.get("OPENAI_API_BASE") or environ.get("OPENAI_BASE_URL") or OPENAI_BASE
        key = environ.get("OPENAI_API_KEY") or None
        return Route("openai", rest, base, key, "OPENAI_API_KEY")
    if prefix == "anthropic" or (not prefix and rest.startswith("claude-")):
        base = api_base or environ.get("ANTHROPIC_API_BASE") or environ.get("ANTHROPIC_BASE_URL") or ANTHROPIC_BASE
        return Route("anthropic", rest, base, environ.get("ANTHROPIC_API_KEY") or None, "ANTHROPIC_API_KEY")
    if prefix in ("ollama", "ollama_chat"):
        base = api_base or environ.get("OLLAMA_API_BASE") or OLLAMA_BASE
        return Route("ollama", rest, base, None, None)
    return None


_info_cache: dict[str, dict[str, Any]] = {}
_info_lock = threading.Lock()


def _price_file() -> Path | None:
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    if not spec or not spec.origin:
        return None
    return Path(spec.origin).parent / "model_prices_and_context_window_backup.json"


def model_info(model: str) -> dict[str, Any]:
    """litellm's entry for ``model`` (with or without its provider prefix), or {}.

    The list is parsed once per model name and not kept (it is ~5,000 entries; a session
    asks about one or two models).
    """
    with _info_lock:
        if model not in _info_cache:
            path = _price_file()
            try:
                prices = json.loads(path.read_text(encoding="utf-8")) if path else {}
            except (OSError, ValueError):
                prices = {}
            prefix, _, rest = model.partition("/")
            entry: dict[str, Any] = {}
            for name in (model, rest, f"{prefix}/{rest}"):
                if name and isinstance(prices.get(name), dict):
                    entry = prices[name]
                    break
            _info_cache[model] = entry
        return _info_cache[model]


# Families whose models all take images, for names the price list does not know yet.
_VISION_FAMILIES = {"anthropic": ("claude-3", "claude-opus-4", "claude-sonnet-4", "claude-haiku-4"),
                    "openai": ("gpt-4o", "gpt-4.1", "gpt-4-turbo", "gpt-4-vision", "gpt-5", "o1", "o3", "o4",
                               "chatgpt-4o"),
                    "ollama": ("llava", "bakllava", "llama3.2-vision", "qwen2.5vl", "qwen2.5-vl", "gemma3",
                               "minicpm-v", "moondream", "granite3.2-vision")}


def supports_vision(route: Route, model: str) -> bool:
    """Whether a directly spoken model takes images: the price list's ``supports_vision``,
    else the model family (all Claude 3+ and GPT-4o+ models do, and Ollama's vision models).
    Other local models say no;
    the ``vision = "on"`` setting overrides that."""
    for name in (model, f"{route.kind}/{route.model}", route.model):
        info = model_info(name)
        if "supports_vision" in info:
            return bool(info["supports_vision"])
    return route.model.lower().startswith(_VISION_FAMILIES.get(route.kind, ()))


def cost(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Dollars for a call by the price list, or None when the model is not priced there."""
    info = model_info(model)
    if "input_cost_per_token" not in info and "output_cost_per_token" not in info:
        return None
    return (prompt_tokens * float(info.get("input_cost_per_token") or 0.0)
            + completion_tokens * float(info.get("output_cost_per_token") or 0.0))


_encoding: Any = None
_warming: threading.Thread | None = None


def _load_encoding() -> None:
    global _encoding
    try:
        prices = _price_file()
        if prices is not None and "TIKTOKEN_CACHE_DIR" not in os.environ:
            os.environ["TIKTOKEN_CACHE_DIR"] = str(prices.parent / "litellm_core_utils" / "tokenizers")
        import tiktoken

        _encoding = tiktoken.get_encoding("cl100k_base")
    except Exception:  # noqa: BLE001 - no tiktoken or no bundled file: keep estimating
        _encoding = False


def warm_tokenizer() -> None:
    """Load the tokenizer on a daemon thread (~0.1 s); call it once the first request is out."""
    global _warming
    if _warming is None and _encoding is None:
        _warming = threading.Thread(target=_load_encoding, name="tokenizer-warm", daemon=True)
        _warming.start()


def count_tokens(messages: list[dict[str, Any]]) -> int:
    """Tokens of ``messages`` with tiktoken's cl100k encoding (the one litellm falls back to,
    read from the copy bundled with litellm so nothing is downloaded) once :func:`warm_tokenizer`
    has loaded it; until then (the first request) an estimate of 4 characters per token."""
    total = 0
    for m in messages:
        content = m.get("content")
        text = content if isinstance(content, str) else json.dumps(content or "")
        extra = json.dumps(m["tool_calls"]) if m.get("tool_calls") else ""
        if _encoding:
            total += 4 + len(_encoding.encode(text + extra, disallowed_special=()))
        else:
            total += 4 + (len(text) + len(extra)) // 4
    return total
