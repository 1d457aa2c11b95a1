"""The chat pane: user messages, streamed answers, tool-call blocks and notices.

Assistant text arrives as many small deltas; the pane keeps them in a buffer and hands
them to the answer's Markdown widget on a timer (every :data:`FLUSH_S` seconds), never per
token. At most :data:`MAX_LIVE` entries stay mounted; older ones are kept as cheap clones
and come back on demand ("show earlier"), so long sessions stay fast.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import Click
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

FLUSH_S = 0.05
MAX_LIVE = 120
PRUNE_STEP = 20
RESTORE_STEP = 40


class UserEntry(Static):
    DEFAULT_CSS = """
    UserEntry {
        margin: 0 0 1 0;
        padding: 0 1;
        background: $primary 12%;
        border-left: outer $primary;
    }
    """

    def __init__(self, text: str) -> None:
        super().__init__(Content(text), markup=False)
        self.text = text

    def clone(self) -> UserEntry:
        return UserEntry(self.text)


class NoticeEntry(Static):
    DEFAULT_CSS = """
    NoticeEntry { margin: 0 0 1 0; padding: 0 1; color: $foreground 70%; }
    NoticeEntry.-warning { color: $warning; }
    NoticeEntry.-error { color: $error; background: $error 10%; border-left: outer $error; }
    """

    def __init__(self, text: str, level: str = "info") -> None:
        super().__init__(Content(text), markup=False, classes=f"-{level}")
        self.text = text
        self.level = level

    def clone(self) -> NoticeEntry:
        return NoticeEntry(self.text, self.level)


class ShowEarlier(Static):
    """The line at the top that brings back entries taken out of the live view."""

    DEFAULT_CSS = """
    ShowEarlier { display: none; color: $foreground 60%; text-align: center; width: 1fr; }
    ShowEarlier.-shown { display: block; }
    ShowEarlier:hover { color: $primary; }
    """

    class Pressed(Message):
        pass

    def on_click(self, event: Click) -> None:
        event.stop()
        self.post_message(self.Pressed())


class ChatPane(VerticalScroll):
    """Owns the chat entries; the app calls its methods from its event handlers only."""

    DEFAULT_CSS = """
    ChatPane { padding: 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._earlier: list[Widget] = []  # detached clones, oldest first
        self._live: list[Widget] = []  # mounted entries, oldest first
        self._pending: list[str] = []
        self._answer: Any = None  # the AnswerEntry being streamed into
        self._tools: dict[str, Any] = {}
        self.last_answer = ""
        self.entry_count = 0

    def compose(self):
        yield ShowEarlier("", id="show-earlier")

    def on_mount(self) -> None:
        self.anchor()
        self.set_interval(FLUSH_S, self.flush)

    # -- entries ------------------------------------------------------------------------------

    @property
    def entries(self) -> list[Widget]:
        """The entries in the live view, oldest first."""
        return list(self._live)

    def _add(self, widget: Widget) -> Widget:
        self.entry_count += 1
        self._live.append(widget)
        self.mount(widget)
        self._prune()
        return widget

    def add_user(self, text: str) -> None:
        self.close_answer()
        self._add(UserEntry(text))

    def add_notice(self, text: str, level: str = "info") -> None:
        self.close_answer()
        self._add(NoticeEntry(text, level))

    def append_delta(self, text: str) -> None:
        if not text:
            return
        if self._answer is None:
            from de_agent.tui.widgets.answer import AnswerEntry

            self._answer = self._add(AnswerEntry())
        self._pending.append(text)

    def flush(self) -> None:
        """Hand buffered text to the answer widget (runs on the timer)."""
        if self._answer is None:
            return
        if self._pending:
            chunk = "".join(self._pending)
            self._pending.clear()
            self._answer.feed(chunk)
        else:
            self._answer.pump()

    def finish_answer(self, text: str) -> None:
        """The whole reply is in: show exactly it and stop streaming into that entry."""
        if self._answer is None:
            if text:
                from de_agent.tui.widgets.answer import AnswerEntry

                self._add(AnswerEntry(text))
        else:
            self._pending.clear()
            self._answer.finish(text)
            self._answer = None
        if text:
            self.last_answer = text

    def close_answer(self) -> None:
        if self._answer is not None:
            self.flush()
            self._answer.finish(self._answer.text + "".join(self._pending))
            self._pending.clear()
            self.last_answer = self._answer.text or self.last_answer
            self._answer = None

    def add_tool_call(self, call_id: str, name: str, arguments: dict[str, Any]) -> None:
        from de_agent.tui.widgets.toolblock import ToolBlock

        self.close_answer()
        self._tools[call_id] = self._add(ToolBlock(call_id, name, arguments))

    def tool(self, call_id: str) -> Any:
        return self._tools.get(call_id)

    def tool_state(self, call_id: str, state: str, note: str = "") -> None:
        block = self._tools.get(call_id)
        if block is not None:
            block.set_state(state, note)

    def tool_result(self, call_id: str, name: str, ok: bool, output: str, display: dict | None) -> None:
        block = self._tools.get(call_id)
        if block is None:
            from de_agent.tui.widgets.toolblock import ToolBlock

            block = self._add(ToolBlock(call_id, name, {}))
            self._tools[call_id] = block
        block.set_result(ok, output, display)

    def clear_all(self) -> None:
        self._pending.clear()
        self._answer = None
        self._tools.clear()
        self._earlier.clear()
        self.entry_count = 0
        self.last_answer = ""
        self.remove_children(self._live)
        self._live.clear()
        self.query_one(ShowEarlier).set_class(False, "-shown")

    # -- keeping the live view small ----------------------------------------------------------

    def _prune(self) -> None:
        live = self._live
        if len(live) <= MAX_LIVE or (self._anchored and self._anchor_released):
            return
        old = [w for w in live[:PRUNE_STEP] if w is not self._answer]
        gone = {id(w) for w in old}
        self._live = [w for w in live if id(w) not in gone]
        for widget in old:
            self._earlier.append(widget.clone())
            for call_id, block in list(self._tools.items()):
                if block is widget:
                    del self._tools[call_id]
        self.remove_children(old)
        self._update_marker()

    def _update_marker(self) -> None:
        marker = self.query_one(ShowEarlier)
        marker.set_class(bool(self._earlier), "-shown")
        if self._earlier:
            marker.update(f"▲ {len(self._earlier)} earlier entries — click or press Home to show more")

    @on(ShowEarlier.Pressed)
    def show_earlier(self) -> None:
        if not self._earlier:
            return
        batch = self._earlier[-RESTORE_STEP:]
        del self._earlier[-RESTORE_STEP:]
        self.release_anchor()
        self.mount_all(batch, after=self.query_one(ShowEarlier))
        self._live[:0] = batch
        for widget in batch:
            call_id = getattr(widget, "call_id", None)
            if call_id:
                self._tools[call_id] = widget
        self._update_marker()

    def key_home(self) -> None:
        if self._earlier and self.scroll_y <= 0:
            self.show_earlier()
        self.scroll_home(animate=False)
