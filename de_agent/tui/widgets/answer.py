"""An assistant answer: Markdown that grows as text streams in.

Imported on the first answer, not at start-up (the Markdown widget and its parser cost
tens of milliseconds). The chat pane batches deltas and calls :meth:`AnswerEntry.feed`
on a timer, never per token.
"""

from __future__ import annotations

from textual.await_complete import AwaitComplete
from textual.widgets import Markdown


class AnswerEntry(Markdown):
    DEFAULT_CSS = """
    AnswerEntry {
        margin: 0;  /* the last Markdown block brings its own bottom margin */
        padding: 0 1;
        background: transparent;
    }
    """

    def __init__(self, text: str = "", **kwargs) -> None:
        super().__init__(text, **kwargs)
        self._job: AwaitComplete | None = None
        self._queued: list[str] = []
        self.text = text

    @property
    def weight(self) -> int:
        """Widgets in this answer, for the chat pane's live budget (0 while still streaming)."""
        if self._queued or (self._job is not None and not self._job.is_done) or not self.is_mounted:
            return 0
        return 1 + sum(1 for _ in self.walk_children())

    @property
    def idle(self) -> bool:
        return (self._job is None or self._job.is_done) and not self._queued

    def feed(self, fragment: str) -> None:
        """Append text; while the previous append is still rendering, keep it for the next one."""
        self.text += fragment
        self._queued.append(fragment)
        self.pump()

    def pump(self) -> None:
        if not self._queued or (self._job is not None and not self._job.is_done):
            return
        if self._initial_markdown is not None:  # not mounted yet: Markdown shows this on mount
            self._initial_markdown = self.text
            self._queued.clear()
            return
        chunk = "".join(self._queued)
        self._queued.clear()
        self._job = self.append(chunk)

    def finish(self, full_text: str) -> None:
        """The whole reply is known: make sure the widget ends up showing exactly it."""
        if self._initial_markdown is not None:
            self._initial_markdown = self.text = full_text
            self._queued.clear()
            return
        if full_text != self.text:
            self._queued.clear()
            self.text = full_text
            self._job = self.update(full_text)
            return
        if not self._queued:
            return
        previous = self._job
        chunk = "".join(self._queued)
        self._queued.clear()

        async def drain() -> None:
            if previous is not None:
                await previous
            await self.append(chunk)

        self._job = AwaitComplete(drain())

    def clone(self) -> AnswerEntry:
        return AnswerEntry(self.text)
