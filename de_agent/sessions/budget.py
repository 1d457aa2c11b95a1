"""The context budget: count tokens before each model call, trim old tool outputs, compact.

:class:`ContextBudget` is the engine's ``hooks`` object. Before each call it counts the
request (the model's own tokenizer through litellm, each message counted once and
cached) against the model's context window (litellm's model info, or the
``context_window`` setting when the model is unknown). At 80% of the window it first
trims huge tool outputs the model has already read, then, if that is not enough,
compacts the conversation (:mod:`de_agent.sessions.compact`). A provider's
context-length error triggers a compaction and one retry.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from de_agent import protocol as P

COMPACT_AT = 0.8
TRIM_OVER = 4_000  # characters: an older tool output longer than this is trimmed when space runs short
TRIM_HEAD = 1_500
TRIM_TAIL = 800


def message_chars(message: dict[str, Any]) -> int:
    n = len(message.get("content") or "") if isinstance(message.get("content"), str) else \
        len(json.dumps(message.get("content") or ""))
    for call in message.get("tool_calls") or []:
        n += len((call.get("function") or {}).get("arguments") or "") + 40
    return n


def trim_tool_outputs(messages: list[dict[str, Any]], over: int = TRIM_OVER) -> int:
    """Shorten long tool results the model has already answered to; returns how many were cut.

    The head and tail of each output stay, with a note in the middle saying how much went.
    Results after the last assistant message (not yet seen by the model) are left whole.
    """
    last_assistant = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=-1)
    cut = 0
    for message in messages[:last_assistant]:
        content = message.get("content")
        if message.get("role") != "tool" or not isinstance(content, str) or len(content) <= over:
            continue
        if "[de-agent trimmed " in content:
            continue
        removed = len(content) - TRIM_HEAD - TRIM_TAIL
        message["content"] = (f"{content[:TRIM_HEAD]}\n[de-agent trimmed {removed:,} characters from the "
                              "middle of this earlier tool output to save context; run the tool again "
                              f"if you need them]\n{content[-TRIM_TAIL:]}")
        cut += 1
    return cut


class ContextBudget:
    """Engine hooks: keep each request under the model's context window."""

    def __init__(self, threshold: float = COMPACT_AT):
        self.threshold = threshold
        self._window: tuple[str, int] | None = None
        self._fixed: tuple[tuple[int, int], int] | None = None  # (system, tools) size -> tokens
        self._counts: dict[int, tuple[int, int]] = {}  # id(message) -> (chars, tokens)
        self.compactions = 0
        self._floor = 0  # tokens right after the last compaction: compact again only well above it
        self._warned = False

    # -- counting --------------------------------------------------------------------------

    def window(self, engine: Any) -> int:
        fallback = int(getattr(engine.ctx.settings, "context_window", 128_000) or 128_000)
        model = str(getattr(engine.llm, "model", ""))
        if self._window is None or self._window[0] != model:
            get = getattr(engine.llm, "context_window", None)
            self._window = (model, int(get(fallback)) if get else fallback)
        return self._window[1]

    def _count_list(self, engine: Any, messages: list[dict[str, Any]]) -> int:
        count = getattr(engine.llm, "count_tokens", None)
        if count is None:
            return sum(message_chars(m) for m in messages) // 4 + 4 * len(messages)
        return int(count(messages))

    def count(self, engine: Any) -> int:
        """Tokens of the next request: system prompt, tool schemas and every message."""
        schemas = engine.tool_schemas()
        key = (len(engine.system_prompt), id(schemas))
        if self._fixed is None or self._fixed[0] != key:
            fixed = self._count_list(engine, [{"role": "system", "content": engine.system_prompt}])
            fixed += self._count_list(engine, [{"role": "user", "content": json.dumps(schemas)}])
            self._fixed = (key, fixed)
        total = self._fixed[1]
        seen: dict[int, tuple[int, int]] = {}
        for message in engine.messages:
            chars = message_chars(message)
            cached = self._counts.get(id(message))
            if cached is None or cached[0] != chars:
                cached = (chars, self._count_list(engine, [message]))
            seen[id(message)] = cached
            total += cached[1]
        self._counts = seen
        return total

    # -- hooks ------------------------------------------------------------------------------

    async def before_model_call(self, engine: Any) -> None:
        # The first look-up may import litellm: keep it off the event loop. Later ones are cached,
        # and counting only tokenizes messages not seen before, so it runs inline.
        window = self.window(engine) if self._window else await asyncio.to_thread(self.window, engine)
        limit = int(window * self.threshold)
        used = self.count(engine) if self._fixed else await asyncio.to_thread(self.count, engine)
        if used < limit:
            return
        trimmed = trim_tool_outputs(engine.messages)
        if trimmed:
            used = await asyncio.to_thread(self.count, engine)
            if used < limit:
                engine.emit(P.Notice(f"Trimmed {trimmed} long earlier tool output(s) to stay within the "
                                     f"context window ({used:,} of {window:,} tokens)."))
                return
        if not _compactable(engine) or used < self._floor + window // 10:
            if not self._warned:
                self._warned = True
                engine.emit(P.Notice(f"The request uses {used:,} of {window:,} tokens even after compaction "
                                     "(a large system prompt or latest output); the model may refuse it.",
                                     "warning"))
            return
        from de_agent.sessions.compact import compact

        if await compact(engine, in_turn=True, reason=f"the conversation reached {used:,} of {window:,} "
                                                      f"tokens ({used * 100 // max(window, 1)}% of the window)"):
            self.compactions += 1
            self._floor = await asyncio.to_thread(self.count, engine)
            self._warned = False

    async def compact(self, engine: Any, instructions: str = "") -> bool:
        """/compact: summarise the conversation into a new session (the Compact op)."""
        from de_agent.sessions.compact import compact

        return await compact(engine, instructions)

    def fork(self, engine: Any, messages: list[dict[str, Any]], title: str) -> tuple[str, Any]:
        """/rewind: a new session file holding ``messages``, linked to the current one."""
        from de_agent.sessions.fork import fork_session

        return fork_session(engine, messages, title)

    async def on_context_overflow(self, engine: Any) -> bool:
        """The provider said the request was too long: compact, and let the engine retry once."""
        trim_tool_outputs(engine.messages, over=TRIM_HEAD + TRIM_TAIL + 200)
        if not _compactable(engine):
            return False
        from de_agent.sessions.compact import compact

        done = await compact(engine, in_turn=True,
                             reason="the provider refused the request as longer than the model's context window")
        if done:
            self.compactions += 1
            self._floor = await asyncio.to_thread(self.count, engine)
        return done


def _compactable(engine: Any) -> bool:
    """Worth compacting: more than the summary of an earlier compaction and the current request."""
    return sum(1 for m in engine.messages if m.get("role") in ("assistant", "tool")) >= 1
