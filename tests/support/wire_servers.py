"""Local servers that speak Anthropic's Messages API and Ollama's native chat API.

Same scripts as :class:`~tests.support.openai_server.ScriptedServer` (text, tool calls,
``status`` errors, ``delay``), answered in each provider's own wire format:

- :class:`AnthropicServer`: ``POST /v1/messages``, SSE events ``message_start``,
  ``content_block_start``, ``content_block_delta`` (``text_delta`` in small pieces,
  ``input_json_delta`` with the arguments split over many events), ``content_block_stop``,
  ``message_delta`` (stop reason, output tokens), ``message_stop``, a ``ping`` in between;
  errors as ``{"type": "error", "error": {...}}``; ``{"stream_error": "overloaded_error"}``
  sends an ``error`` event in the middle of the stream.
- :class:`OllamaServer`: ``POST /api/chat``, one JSON object per line, whole tool calls with
  object arguments, ``done`` with ``prompt_eval_count``/``eval_count``; errors as
  ``{"error": "..."}``.

Each records the request headers next to the bodies (``headers``).
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.openai_server import ScriptedServer, send_json, split


class _Recording(ScriptedServer):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []

    def _start(self, h: BaseHTTPRequestHandler, content_type: str) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True

    def _error(self, h: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        send_json(h, status, payload)

    def _begin(self, h: BaseHTTPRequestHandler, reply: dict[str, Any]) -> bool:
        """Record the request; wait if asked; False when the reply is an error (already sent)."""
        self.headers.append({k.lower(): v for k, v in h.headers.items()})
        self.paths.append(h.path)
        if reply.get("delay"):
            time.sleep(reply["delay"])
        if "status" in reply:
            self._error(h, reply["status"], self._error_body(reply))
            return False
        return True

    def _error_body(self, reply: dict[str, Any]) -> dict[str, Any]:
        return {"error": reply.get("body", "scripted")}

    def _calls(self, reply: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"id": c.get("id") or self._ids(), "name": c["name"], "arguments": c.get("arguments", {})}
                for c in reply.get("tool_calls", [])]


class AnthropicServer(_Recording):
    def _error_body(self, reply: dict[str, Any]) -> dict[str, Any]:
        kind = {429: "rate_limit_error", 529: "overloaded_error", 401: "authentication_error"}.get(
            reply["status"], "api_error" if reply["status"] >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": reply.get("body", "scripted")}}

    def _respond(self, h: BaseHTTPRequestHandler, body: dict[str, Any], reply: dict[str, Any]) -> None:
        if not self._begin(h, reply):
            return
        self._start(h, "text/event-stream")

        def event(name: str, data: dict[str, Any]) -> None:
            h.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            h.wfile.flush()

        try:
            event("message_start", {"type": "message_start", "message": {
                "id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": body.get("model"),
                "stop_reason": None, "usage": {"input_tokens": reply.get("prompt_tokens", 13), "output_tokens": 1}}})
            index = 0
            text = reply.get("text", "")
            if text:
                event("content_block_start", {"type": "content_block_start", "index": index,
                                              "content_block": {"type": "text", "text": ""}})
                event("ping", {"type": "ping"})
                for piece in split(text, self.chunk):
                    event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "text_delta", "text": piece}})
                event("content_block_stop", {"type": "content_block_stop", "index": index})
                index += 1
            if reply.get("stream_error"):
                event("error", {"type": "error", "error": {"type": reply["stream_error"], "message": "Overloaded"}})
                return
            calls = self._calls(reply)
            for call in calls:
                event("content_block_start", {"type": "content_block_start", "index": index, "content_block": {
                    "type": "tool_use", "id": call["id"].replace("call_", "toolu_"), "name": call["name"],
                    "input": {}}})
                args = call["arguments"] if isinstance(call["arguments"], str) else json.dumps(call["arguments"])
                for piece in split(args, max(1, self.chunk // 2)):
                    event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "input_json_delta", "partial_json": piece}})
                event("content_block_stop", {"type": "content_block_stop", "index": index})
                index += 1
            event("message_delta", {"type": "message_delta",
                                    "delta": {"stop_reason": "tool_use" if calls else "end_turn"},
                                    "usage": {"output_tokens": reply.get("completion_tokens", 9)}})
            event("message_stop", {"type": "message_stop"})
        except (BrokenPipeError, ConnectionResetError):
            pass


class OllamaServer(_Recording):
    def _respond(self, h: BaseHTTPRequestHandler, body: dict[str, Any], reply: dict[str, Any]) -> None:
        if not self._begin(h, reply):
            return
        self._start(h, "application/x-ndjson")
        model = body.get("model")

        def line(data: dict[str, Any]) -> None:
            h.wfile.write((json.dumps(data) + "\n").encode())
            h.wfile.flush()

        try:
            for piece in split(reply.get("text", ""), self.chunk) if reply.get("text") else []:
                line({"model": model, "message": {"role": "assistant", "content": piece}, "done": False})
            calls = self._calls(reply)
            if calls:
                line({"model": model, "done": False, "message": {"role": "assistant", "content": "", "tool_calls": [
                    {"function": {"name": c["name"], "arguments": c["arguments"] if isinstance(c["arguments"], dict)
                                  else json.loads(c["arguments"])}} for c in calls]}})
            line({"model": model, "message": {"role": "assistant", "content": ""}, "done": True,
                  "done_reason": "stop", "prompt_eval_count": reply.get("prompt_tokens", 17),
                  "eval_count": reply.get("completion_tokens", 5)})
        except (BrokenPipeError, ConnectionResetError):
            pass
