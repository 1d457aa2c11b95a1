"""Model-call failures as types: one class per kind, each carrying its ErrorKind.

``LLMError`` is a failure for good (the message is one clear line for the person);
``ModelConfigError`` says the model cannot be used as configured (no key, unknown model,
unreachable endpoint); ``ContextOverflowError`` says the request was longer than the
model's window (the engine compacts and retries once).
"""

from __future__ import annotations

from typing import Any

from de_agent.protocol import ErrorKind


class LLMError(Exception):
    kind: ErrorKind = ErrorKind.MODEL

    def __new__(cls, message: str = "", *, context_overflow: bool = False, config: bool = False) -> Any:
        # The older flag form (LLMError(msg, config=True)) builds the matching subclass.
        if cls is LLMError and context_overflow:
            cls = ContextOverflowError
        elif cls is LLMError and config:
            cls = ModelConfigError
        return super().__new__(cls, message)

    def __init__(self, message: str = "", *, context_overflow: bool = False, config: bool = False) -> None:
        super().__init__(message)

    @property
    def context_overflow(self) -> bool:
        return self.kind == ErrorKind.CONTEXT_OVERFLOW

    @property
    def config(self) -> bool:
        return self.kind == ErrorKind.CONFIG


class ModelConfigError(LLMError):
    kind = ErrorKind.CONFIG


class ContextOverflowError(LLMError):
    kind = ErrorKind.CONTEXT_OVERFLOW


def error_for(kind: ErrorKind, message: str) -> LLMError:
    """The exception class for a classified failure."""
    if kind == ErrorKind.CONFIG:
        return ModelConfigError(message)
    if kind == ErrorKind.CONTEXT_OVERFLOW:
        return ContextOverflowError(message)
    return LLMError(message)
