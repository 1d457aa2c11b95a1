"""What a failed model call says: one true line naming the endpoint, as a typed error.

:func:`classify_error` turns a litellm exception into ``(retryable, LLMError)``; the
direct wire path (:func:`de_agent.llm.wire.classify_wire_error`) words its failures the
same way. :func:`error_text` strips litellm's nested class-name prefixes and cuts long
provider texts at a word. :func:`quick_config_problem` finds a missing key or an unknown
model in milliseconds, without importing litellm.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from de_agent.llm.errors import LLMError, ModelConfigError, error_for
from de_agent.protocol import ErrorKind

# The key each well-known provider prefix needs, to report a missing key without importing
# litellm (seconds); anything else is left to the adapter's own check.
PROVIDER_KEYS = {"openai": ("OPENAI_API_KEY",), "anthropic": ("ANTHROPIC_API_KEY",),
                 "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "mistral": ("MISTRAL_API_KEY",),
                 "groq": ("GROQ_API_KEY",), "deepseek": ("DEEPSEEK_API_KEY",),
                 "openrouter": ("OPENROUTER_API_KEY",), "xai": ("XAI_API_KEY",)}

UNKNOWN_MODEL_HINT = "use a litellm model name such as openai/gpt-4o, anthropic/claude-sonnet-4-5 or ollama/qwen2.5-coder"


def quick_config_problem(model: str, api_base: str | None) -> LLMError | None:
    """A missing key or an unknown model found without importing litellm: a known provider
    prefix without its key, or a bare model name that litellm's bundled model list does not
    hold. None when nothing is certain (an --api-base endpoint decides for itself)."""
    if api_base:
        return None
    provider, sep, _ = model.partition("/")
    if sep and provider in PROVIDER_KEYS:
        keys = PROVIDER_KEYS[provider]
        if not any(os.environ.get(k) for k in keys):
            return ModelConfigError(f"no API key for {provider}: set {keys[0]} in the environment")
        return None
    if not sep and not model.startswith("ft:"):
        known = _known_models()
        if known is not None and model not in known:
            return ModelConfigError(f"unknown model {model!r}: {UNKNOWN_MODEL_HINT}")
    return None


def _known_models() -> set[str] | None:
    """The model names in litellm's bundled price list (read as JSON; litellm is not imported)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("litellm")
        folder = os.path.dirname(spec.origin) if spec and spec.origin else ""
        with open(os.path.join(folder, "model_prices_and_context_window_backup.json"), encoding="utf-8") as fh:
            return set(json.load(fh))
    except (OSError, ValueError, ImportError):
        return None


_WRAPPERS = re.compile(r"^(?:litellm\.\w+:\s*|\w+(?:Error|Exception)(?: - |:\s*))+")


def error_text(exc: BaseException | str, limit: int = 240) -> str:
    """The telling part of a provider error on one line: litellm's nested class-name prefixes
    and "Original exception" repeats removed, cut at a word (never mid-word)."""
    raw = " ".join(str(exc).split()) or (type(exc).__name__ if not isinstance(exc, str) else "(no message)")
    raw = raw.split(" Original exception", 1)[0]
    text = _WRAPPERS.sub("", raw).strip() or raw
    if len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        text = text[:cut if cut > limit // 2 else limit].rstrip(" ,;:") + " …"
    return text


# The wording shared by the litellm and the direct wire paths.
def broke_midway(where: str, text: str) -> str:
    return f"the connection to the model endpoint{where} broke in the middle of the answer ({text}); send the message again"


def unreachable(where: str, text: str) -> str:
    return (f"cannot reach the model endpoint{where}: {text.rstrip(' .')}. Check that the server is running "
            "and --api-base is right")


def server_error(where: str, status: Any, text: str) -> str:
    return f"the model endpoint{where} returned an error {status}: {text}"


def classify_error(litellm: Any, exc: Exception, endpoint: str = "") -> tuple[bool, LLMError]:
    """(retryable, the failure as a typed LLMError with a one-line message). ``endpoint``
    (the --api-base URL or the provider's name) is named where it helps."""
    retryable, message, kind = _classify(litellm, exc, endpoint)
    return retryable, error_for(kind, message)


def _classify(litellm: Any, exc: Exception, endpoint: str) -> tuple[bool, str, ErrorKind]:
    name = type(exc).__name__
    text = error_text(exc)
    where = f" {endpoint}" if endpoint else ""
    lowered = text.lower()
    if name == "MidStreamFallbackError" or "stream ended before" in lowered:
        return True, broke_midway(where, text), ErrorKind.MODEL
    if isinstance(exc, getattr(litellm, "ContextWindowExceededError", ())) or \
            "context length" in lowered or "context_length_exceeded" in lowered:
        return (False, f"the conversation is longer than the model's context window: {text}",
                ErrorKind.CONTEXT_OVERFLOW)
    if isinstance(exc, getattr(litellm, "AuthenticationError", ())):
        return False, f"the provider rejected the API key: {text}", ErrorKind.CONFIG
    if isinstance(exc, getattr(litellm, "NotFoundError", ())):
        return False, f"model not found at the provider: {text}", ErrorKind.CONFIG
    if isinstance(exc, getattr(litellm, "RateLimitError", ())):
        return True, f"rate limited by the provider: {text}", ErrorKind.MODEL
    if isinstance(exc, getattr(litellm, "Timeout", ())) or isinstance(exc, TimeoutError):
        return True, f"the model request timed out: {text}", ErrorKind.MODEL
    if isinstance(exc, getattr(litellm, "APIConnectionError", ())) or "connection error" in lowered \
            or "connection refused" in lowered or "name or service not known" in lowered:
        return True, unreachable(where, text), ErrorKind.CONFIG
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 500:
        return True, server_error(where, status, text), ErrorKind.MODEL
    if isinstance(exc, getattr(litellm, "InternalServerError", ())) or \
            isinstance(exc, getattr(litellm, "ServiceUnavailableError", ())):
        return True, f"the provider had an internal error: {text}", ErrorKind.MODEL
    if isinstance(exc, getattr(litellm, "BadRequestError", ())):
        return False, f"the provider rejected the request: {text}", ErrorKind.MODEL
    return False, f"model call failed ({name}): {text}", ErrorKind.MODEL
