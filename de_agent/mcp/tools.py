"""MCP tools as de-agent tools: ``mcp__SERVER__TOOL`` with the server's own JSON schema.

A call is an ``mcp`` action: the policy asks in ``default`` and ``auto-edit`` unless the
person trusts the server (``trust = true`` in their config) or the tool (an "always" answer,
or "for this session"); ``plan`` runs only tools the server marks read-only that the person
trusts; ``yolo`` runs everything. Results (text, structured content, images, embedded
resources and resource links) become bounded, redacted text for the model.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from de_agent.tools.base import MCP, Action, Outcome, Tool, ToolContext, bound_text

MAX_TOOL_NAME = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def tool_name(server: str, tool: str) -> str:
    return f"mcp__{server}__{_UNSAFE.sub('_', tool)}"[:MAX_TOOL_NAME]


class McpTool(Tool):
    kind = MCP

    def __init__(self, manager: Any, server: str, remote: Any, trusted_server: bool):
        self.manager = manager
        self.server = server
        self.remote_name = remote.name
        self.name = tool_name(server, remote.name)
        self.description = (remote.description or remote.title or remote.name).strip()[:4000] + \
            f"\n(MCP server '{server}')"
        schema = remote.inputSchema if isinstance(remote.inputSchema, dict) else {}
        self.input_schema = schema if schema.get("type") == "object" else {"type": "object", "properties": {}}
        hints = remote.annotations
        self.read_only = bool(hints is not None and hints.readOnlyHint)
        self.trusted_server = trusted_server

    def json_parameters(self) -> dict[str, Any]:
        return self.input_schema  # the server's own schema, as it sent it

    async def prepare(self, args: dict[str, Any], ctx: ToolContext) -> Action:
        trusted = self.trusted_server or self.name in self.manager.trusted_tools()

        async def run(_hunks: list[int] | None) -> Outcome:
            result = await self.manager.call(self.server, self.remote_name, args)
            return render_result(result, f"{self.server}: {self.remote_name}")

        shown = json.dumps(args, ensure_ascii=False)
        summary = f"MCP {self.server}: {self.remote_name} {shown[:300]}"
        return Action(kind=MCP, summary=summary, run=run, asks=not trusted, read_only=self.read_only,
                      ask_reason=f"calls the '{self.remote_name}' tool of MCP server '{self.server}'"
                                 + (" (marked read-only)" if self.read_only else ""))


def render_result(result: Any, label: str = "MCP tool") -> Outcome:
    """Text for the model from a CallToolResult, plus a display of what else came back. Images
    go to the model as images (bounded and downscaled like ReadFile's; a note for models that
    cannot take them); audio is described."""
    from de_agent.security.env import redact

    parts: list[str] = []
    media: list[dict[str, Any]] = []
    pictures: list[dict[str, Any]] = []
    for block in result.content or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            data = base64.b64decode(block.data, validate=False) if block.data else b""
            picture = _picture(data, f"image from {label}") if kind == "image" else None
            shown = ("follows in the next message" if picture is not None else "not shown to the model")
            parts.append(f"[{kind}: {block.mimeType}, {len(data)} bytes; {shown}]")
            media.append({"type": kind, "mime_type": block.mimeType, "bytes": len(data)})
            pictures += [picture] if picture is not None else []
        elif kind == "resource_link":
            parts.append(f"[resource link: {block.name} {block.uri}"
                         + (f" — {block.description}" if block.description else "") + "]")
        elif kind == "resource":
            res = block.resource
            text = getattr(res, "text", None)
            parts.append(f"[resource {res.uri}]\n{text}" if text is not None
                         else f"[resource {res.uri}: binary {getattr(res, 'mimeType', '') or ''}]")
    # Servers that send structured content should also send it as text; use it only when not.
    structured = getattr(result, "structuredContent", None)
    if structured is not None and not any(getattr(b, "type", "") == "text" for b in result.content or []):
        parts.append(json.dumps(structured, ensure_ascii=False, indent=1))
    text = "\n".join(parts) if parts else "(the tool returned nothing)"
    text = redact(bound_text(text, what="MCP tool output"))
    display = {"kind": "mcp", "media": media} if media else None
    return Outcome(not result.isError, text, display, images=pictures)


def _picture(data: bytes, label: str) -> dict[str, Any] | None:
    """The image's reference part for the model, or None when it is not a readable image."""
    from de_agent import images

    if not data or len(data) > images.MAX_FILE_BYTES:
        return None
    try:
        return images.store(data, label)
    except images.ImageError:
        return None

