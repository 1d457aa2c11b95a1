"""A local OpenAI-compatible chat-completions server for tests and benchmarks.

It listens on 127.0.0.1, answers ``POST /v1/chat/completions`` (and ``/chat/completions``)
with scripted replies, streamed as real providers do (SSE; text in small pieces and
tool-call arguments split over many chunks) or whole when ``stream`` is false, and records
every request body it receives.

A script item is a dict:
    {"text": "...", "tool_calls": [{"name": "ReadFile", "arguments": {...} or "raw json"}]}
    {"status": 500, "body": "..."}            an HTTP error
    {"delay": 0.5, ...}                       wait before answering
    {"hang": True}                            stream one chunk then stall (for kill tests)
    {"drop": True, "text": "..."}              stream the text, then cut the connection (a server killed mid-stream)
    {"same_index": True, "tool_calls": [...]}  every streamed call at index 0 (as Ollama does)
or a callable ``f(request_body) -> dict`` computing the reply from what was sent.
When the script runs out, the server answers with plain text "done".

``POST /v1/images/generations`` answers with one generated PNG as ``b64_json`` (a gradient of
the requested ``size``, 64x48 by default; ``image_status`` set to an HTTP code fails it) and
records the request in ``image_requests``.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


def split(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def send_json(h: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
    """One JSON response with its length."""
    data = json.dumps(payload).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)


class ScriptedServer:
    def __init__(self, script: list[Reply] | None = None, *, chunk: int = 7):
        self.script: list[Reply] = list(script or [])
        self.requests: list[dict[str, Any]] = []
        self.image_requests: list[dict[str, Any]] = []
        self.image_status: int | None = None
        self.chunk = chunk
        self.handle_seconds = 0.0  # time spent inside the handler, for overhead benchmarks
        self._lock = threading.Lock()
        self._counter = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                started = time.perf_counter()
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/").endswith("/images/generations"):
                    server._image(self, body)
                    return
                reply = server._next(body)
                try:
                    server._respond(self, body, reply)
                finally:
                    server.handle_seconds += time.perf_counter() - started

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _next(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(body)
            item = self.script.pop(0) if self.script else {"text": "done"}
        return item(body) if callable(item) else item

    def _image(self, h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        with self._lock:
            self.image_requests.append(body)
        if self.image_status:
            payload = {"error": {"message": "scripted image error", "type": "server_error"}}
            status = self.image_status
        else:
            width, height = (int(v) for v in str(body.get("size") or "64x48").split("x"))
            payload = {"created": int(time.time()), "data": [{"b64_json": base64.b64encode(
                gradient_png(width, height)).decode("ascii")}]}
            status = 200
        send_json(h, status, payload)

    def _ids(self) -> str:
        with self._lock:
            self._counter += 1
            return f"call_{self._counter}"

    def _respond(self, h: BaseHTTPRequestHandler, body: dict[str, Any], reply: dict[str, Any]) -> None:
        if reply.get("delay"):
            time.sleep(reply["delay"])
        if "status" in reply:
            send_json(h, reply["status"], {"error": {"message": reply.get("body", "scripted error"),
                                                     "type": "server_error", "code": reply["status"]}})
            return
        calls = []
        for c in reply.get("tool_calls", []):
            args = c.get("arguments", {})
            calls.append({"id": c.get("id") or self._ids(), "name": c["name"],
                          "arguments": args if isinstance(args, str) else json.dumps(args)})
        text = reply.get("text", "")
        usage = {"prompt_tokens": reply.get("prompt_tokens", 11), "completion_tokens": reply.get("completion_tokens", 7),
                 "total_tokens": reply.get("prompt_tokens", 11) + reply.get("completion_tokens", 7)}
        model = body.get("model", "test-model")
        finish = "tool_calls" if calls else "stop"
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text or None}
            if calls:
                message["tool_calls"] = [{"id": c["id"], "type": "function",
                                          "function": {"name": c["name"], "arguments": c["arguments"]}}
                                         for c in calls]
            send_json(h, 200, {"id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()),
                               "model": model, "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                               "usage": usage})
            return

        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True

        def send(delta: dict[str, Any], finish_reason: str | None = None, extra: dict | None = None) -> None:
            chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": int(time.time()),
                     "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
            if extra:
                chunk.update(extra)
            h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            h.wfile.flush()

        try:
            send({"role": "assistant", "content": ""})
            for piece in split(text, self.chunk) if text else []:
                send({"content": piece})
                if reply.get("piece_delay"):
                    time.sleep(reply["piece_delay"])
            if reply.get("hang"):
                time.sleep(3600)
            if reply.get("drop"):
                import socket

                h.wfile.flush()
                h.connection.shutdown(socket.SHUT_RDWR)
                return
            for index, c in enumerate(calls):
                index = 0 if reply.get("same_index") else index
                send({"tool_calls": [{"index": index, "id": c["id"], "type": "function",
                                      "function": {"name": c["name"], "arguments": ""}}]})
                for piece in split(c["arguments"], max(1, self.chunk // 2)):
                    send({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            send({}, finish)
            usage_chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": int(time.time()),
                           "model": model, "choices": [], "usage": usage}
            h.wfile.write(f"data: {json.dumps(usage_chunk)}\n\n".encode())
            h.wfile.write(b"data: [DONE]\n\n")
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


def gradient_png(width: int, height: int) -> bytes:
    """A PNG of the given size (a colour gradient), made with Pillow."""
    from PIL import Image

    image = Image.new("RGB", (width, height))
    image.putdata([(x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), 128)
                   for y in range(height) for x in range(width)])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool results a request carried back to the model."""
    return [m for m in request.get("messages", []) if m.get("role") == "tool"]
