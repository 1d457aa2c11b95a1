"""Images on their way to the model: prompt attachments, pictures tools read, and vision.

A part of :class:`de_agent.engine.loop.Engine` (``engine.images``). The conversation keeps
image *references* (parts pointing into the image store of :mod:`de_agent.images`), so
session files stay small; :meth:`ImageInput.expand` turns them into ``image_url`` parts
just before a request, or into a clear note when the model does not take images.

Whether it does is decided at request time, once per model: the ``vision`` setting when it
is ``on``/``off``, else the model client's ``supports_vision()`` (which asks litellm only
when litellm is loaded anyway or routes the model; see ``llm/adapter.py``).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from de_agent import protocol as P

if TYPE_CHECKING:
    from de_agent.engine.loop import Engine


class ImageInput:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._from_tools: list[tuple[str, list[dict[str, Any]]]] = []
        self._vision: tuple[str, bool] | None = None  # (model, answer): asked once per model

    def new_turn(self) -> None:
        self._from_tools.clear()

    async def user_content(self, text: str, attached: list[dict[str, Any]] | None, body: str | None = None) -> Any:
        """The prompt (``body``: its text with ``@path`` text files attached, default ``text``), with
        the images ``text`` names (``@diagram.png``, a pasted path) or that the front end attached
        ({path} or {mime_type, data}) as reference parts."""
        from de_agent import images

        root = self.engine.ctx.workspace.root
        body = text if body is None else body
        if not attached and not images.attachment_paths(text, root):
            return body
        content, notes = await asyncio.to_thread(images.user_content, text, root, attached, body)
        for note in notes:
            self.engine.emit(P.Notice(note, "warning" if note.startswith("could not") else "info"))
        return content

    def collect(self, name: str, call: dict[str, Any], refs: list[dict[str, Any]]) -> None:
        """Images a tool call read (ReadFile on a picture), shown after the tool results."""
        try:
            where = str(json.loads(call.get("arguments") or "{}").get("file_path", ""))
        except (ValueError, AttributeError):
            where = ""
        self._from_tools.append((f"{name} {where}".strip(), refs))

    def flush(self) -> None:
        """Providers take images only in user messages: the pictures the tool calls of a reply
        read go in one user message after their results."""
        if not self._from_tools:
            return
        parts: list[dict[str, Any]] = [{"type": "text", "text": "[de-agent] The images read by the tool calls above:"}]
        for where, refs in self._from_tools:
            parts.append({"type": "text", "text": f"{where}:"})
            parts.extend(refs)
        self._from_tools.clear()
        self.engine.add_message({"role": "user", "content": parts})

    def expand(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The messages as the model gets them (unchanged when they hold no images)."""
        from de_agent import images

        if not images.has_images(messages):
            return messages
        return images.expand(messages, self.accepts_images(), self.engine.model or "?")

    def accepts_images(self) -> bool:
        """Whether the current model takes images: the ``vision`` setting, or the client's word."""
        setting = self.engine.ctx.settings.vision
        if setting in ("on", "off"):
            return setting == "on"
        model = self.engine.model
        if self._vision is None or self._vision[0] != model:
            ask = getattr(self.engine.llm, "supports_vision", None)
            try:
                answer = bool(ask()) if ask is not None else False
            except Exception:  # noqa: BLE001 - not knowing means a note instead of the picture
                answer = False
            self._vision = (model, answer)
        return self._vision[1]
