"""An in-process fake model for engine unit tests (end-to-end tests use the HTTP server)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from de_agent.llm.adapter import AssistantReply, LLMError


class FakeLLM:
    def __init__(self, script: list[Any]):
        self.script = list(script)
        self.calls: list[list[dict[str, Any]]] = []
        self.model = "fake/model"

    def check_config(self) -> None:
        pass

    async def complete(self, messages, tools, on_text=None) -> AssistantReply:
        self.calls.append(json.loads(json.dumps(messages)))
        item = self.script.pop(0) if self.script else {"text": "done"}
        if callable(item):
            item = item(messages)
        if isinstance(item, Exception):
            raise item
        if item.get("sleep"):
            await asyncio.sleep(item["sleep"])
        text = item.get("text", "")
        for i in range(0, len(text), 5):
            if on_text:
                await on_text(text[i:i + 5])
        calls = [{"id": c.get("id", f"c{n}_{len(self.calls)}"), "name": c["name"],
                  "arguments": c["arguments"] if isinstance(c["arguments"], str) else json.dumps(c["arguments"])}
                 for n, c in enumerate(item.get("tool_calls", []))]
        return AssistantReply(text=text, tool_calls=calls, prompt_tokens=10, completion_tokens=5,
                              cost=item.get("cost"))


def overflow() -> LLMError:
    return LLMError("context too long", context_overflow=True)
