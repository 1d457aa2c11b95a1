"""The chat pane: user messages, streamed answers, tool-call blocks and notices.

Assistant text arrives as many small deltas; the pane keeps them in a buffer and hands
them to the answer's Markdown widget on a timer (every :data:`FLUSH_S` seconds), never per
token. At most :data:`MAX_LIVE` entries stay mounted; older ones are kept as cheap clones
and come back on demand ("show earlier"), so long sessions stay fast.
"""

from __future__ import annotations

import time
from typing import Any, cast

from textual import on
from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import Click
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

FLUSH_S = 0.05
BUSY_LATE_S = 0.03  # the flush timer firing this late means the screen is falling behind
MAX_HOLD_S = 0.25  # but text never waits longer than this
MAX_LIVE = 40  # entries kept mounted ...
LIVE_WEIGHT = 120  # ... and widgets inside them: every widget costs each layout pass
KEEP_LIVE = 4  # the newest entries always stay
PRUNE_STEP = 10
RESTORE_STEP = 40
SEGMENT_CHARS = 2000  # a streamed answer starts a new entry after about this much text


def split_point(text: str, low: int, high: int) -> int | None:
    """Just after a blank line outside code fences: the last one between ``low`` and ``high``,
    else the first one after ``high``; None when there is none past ``low``."""
    best = None
    pos = text.find("\n\n", low)
    while pos != -1:
        if text.count("```", 0, pos) % 2 == 0:
            if pos > high:
                return best if best is not None else pos + 2
            best = pos + 2
        pos = text.find("\n\n", pos + 2)
    return best


def weight(widget: Widget) -> int:
    """What an entry costs the layout: one per widget in it (answers remember theirs once done)."""
    known = getattr(widget, "weight", None)
    if known:
        return known
    return 1 + sum(1 for _ in widget.walk_children())


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

    def __init__(self, text: str, level: str = "info", view: Any = None) -> None:
        """``view``: a renderable laid out for the chat's width (a grid), ``text`` its plain form."""
        super().__init__(view if view is not None else Content(text), markup=False, classes=f"-{level}")
        self.text = text
        self.level = level
        self.view = view

    def clone(self) -> NoticeEntry:
        return NoticeEntry(self.text, self.level, self.view)


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
        self._answer: Any = None  # the AnswerEntry (segment) being streamed into
        self._streamed = ""  # the reply so far, across its segments
        self._segment_start = 0  # where the current segment starts in _streamed
        self._last_tick = self._last_flush = time.monotonic()
        self.last_text_at = 0.0  # when streamed text last reached the screen (monotonic)
        self._tools: dict[str, Any] = {}
        self._handoffs: dict[str, Any] = {}  # HandoffBlock by the parent's Handoff call id
        self.last_answer = ""
        self.entry_count = 0

    def compose(self):
        yield ShowEarlier("", id="show-earlier")

    def on_mount(self) -> None:
        self.anchor()
        self.set_interval(FLUSH_S, self._tick)

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

    def add_notice(self, text: str, level: str = "info", view: Any = None) -> None:
        self.close_answer()
        self._add(NoticeEntry(text, level, view))

    @property
    def settled(self) -> bool:
        """No streamed text waits for the flush timer and no answer is still rendering."""
        return not self._pending and all(getattr(entry, "idle", True) for entry in self._live)

    def append_delta(self, text: str) -> None:
        if text:
            self._pending.append(text)

    def _new_segment(self, text: str = "") -> Any:
        from de_agent.tui.widgets.answer import AnswerEntry

        entry = AnswerEntry(text)
        self._answer = self._add(entry)
        return entry

    def _tick(self) -> None:
        """The flush timer. When the screen is falling behind (the timer fires late), text is
        held back for a few ticks so that layout work happens less often, up to MAX_HOLD_S."""
        now = time.monotonic()
        late = now - self._last_tick - FLUSH_S
        self._last_tick = now
        if self._pending and late > BUSY_LATE_S and now - self._last_flush < MAX_HOLD_S:
            return
        self.flush()

    def flush(self) -> None:
        """Hand buffered text to the answer. A long answer is cut into segments at blank
        lines outside code fences, so no single widget grows without bound."""
        if not self._pending:
            if self._answer is not None:
                self._answer.pump()
            return
        self._last_flush = self.last_text_at = time.monotonic()
        chunk = "".join(self._pending)
        self._pending.clear()
        self._streamed += chunk
        answer = self._answer or self._new_segment()
        shown = len(answer.text)  # what the widget already has
        segment = answer.text + chunk
        while len(segment) > SEGMENT_CHARS:
            cut = split_point(segment, SEGMENT_CHARS // 2, SEGMENT_CHARS)
            if cut is None:
                break
            if cut >= shown:
                answer.feed(segment[shown:cut])
                answer.finish(answer.text)
            else:
                answer.finish(segment[:cut])
            self._segment_start += cut
            segment, shown = segment[cut:], 0
            if not segment:
                self._answer = None
                return
            answer = self._new_segment()
        answer.feed(segment[shown:])

    def finish_answer(self, text: str) -> None:
        """The whole reply is in: show exactly it and stop streaming into that entry."""
        if not self._streamed and not self._pending and self._answer is None:
            if text:
                from de_agent.tui.widgets.answer import AnswerEntry

                self._add(AnswerEntry(text))
        else:
            self._pending.clear()
            head = self._streamed[:self._segment_start]
            rest = text[len(head):] if text.startswith(head) else text
            if self._answer is not None:
                self._answer.finish(rest)
            elif rest:
                self._new_segment(rest)
        self._reset_stream()
        if text:
            self.last_answer = text

    def close_answer(self) -> None:
        """Finish the streamed answer with what arrived (before a tool call, or on an interrupt)."""
        if self._pending or self._answer is not None:
            self.flush()
            if self._answer is not None:
                self._answer.finish(self._answer.text)
        if self._streamed:
            self.last_answer = self._streamed
        self._reset_stream()

    def _reset_stream(self) -> None:
        self._answer = None
        self._streamed = ""
        self._segment_start = 0

    def add_tool_call(self, call_id: str, name: str, arguments: dict[str, Any], summary: str = "") -> None:
        from de_agent.tui.widgets.toolblock import ToolBlock

        self.close_answer()
        self._tools[call_id] = self._add(ToolBlock(call_id, name, arguments, summary=summary))

    def tool(self, call_id: str) -> Any:
        return self._tools.get(call_id)

    def tool_state(self, call_id: str, state: str, note: str = "") -> None:
        block = self._tools.get(call_id)
        if block is not None:
            block.set_state(state, note)

    def tool_output(self, call_id: str, text: str) -> None:
        block = self._tools.get(call_id)
        if block is not None:
            block.add_live_output(text)

    def tool_result(self, call_id: str, name: str, ok: bool, output: str, display: dict | None,
                    summary: str = "") -> None:
        block = self._tools.get(call_id)
        if block is None:
            from de_agent.tui.widgets.toolblock import ToolBlock

            block = self._add(ToolBlock(call_id, name, {}))
            self._tools[call_id] = block
        cast(Any, block).set_result(ok, output, display, summary)

    # -- specialists ----------------------------------------------------------------------------

    def add_handoff(self, call_id: str, specialist: str, task: str, read_only: bool) -> None:
        from de_agent.tui.widgets.handoff import HandoffBlock

        self.close_answer()
        self._handoffs[call_id] = self._add(HandoffBlock(call_id, specialist, task, read_only=read_only))

    def handoff(self, call_id: str) -> Any:
        return self._handoffs.get(call_id)

    def handoff_count(self) -> int:
        return len(self._handoffs)

    def finish_handoff(self, call_id: str, status: str, report: str) -> None:
        block = self._handoffs.get(call_id)
        if block is not None:
            block.finish(status, report)

    def child_step(self, handoff_id: str, kind: str, key: str, text: str = "") -> None:
        """A specialist's step, shown in its block: ``kind`` a tool state, or ``text``/``update``."""
        block = self._handoffs.get(handoff_id)
        if block is None:
            return
        if kind.startswith("update:"):
            block.set_step(key, kind.split(":", 1)[1], text or None)
        else:
            block.add_step(key, kind, text)

    def clear_all(self) -> None:
        self._pending.clear()
        self._reset_stream()
        self._tools.clear()
        self._handoffs.clear()
        self._earlier.clear()
        self.entry_count = 0
        self.last_answer = ""
        self.remove_children(self._live)
        self._live.clear()
        self.query_one(ShowEarlier).set_class(False, "-shown")

    # -- keeping the live view small ----------------------------------------------------------

    def _prune(self) -> None:
        live = self._live
        if self._anchored and self._anchor_released:
            return  # the person is reading older entries: leave them in place
        total = sum(weight(w) for w in live)
        if len(live) <= MAX_LIVE and total <= LIVE_WEIGHT:
            return
        old: list[Widget] = []
        for widget in live[:max(0, len(live) - KEEP_LIVE)]:
            if len(old) >= PRUNE_STEP and len(live) - len(old) <= MAX_LIVE and total <= LIVE_WEIGHT:
                break
            if widget is not self._answer:
                old.append(widget)
                total -= weight(widget)
        gone = {id(w) for w in old}
        self._live = [w for w in live if id(w) not in gone]
        for widget in old:
            self._earlier.append(cast(Any, widget).clone())
            for registry in (self._tools, self._handoffs):
                for call_id, block in list(registry.items()):
                    if block is widget:
                        del registry[call_id]
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
                (self._handoffs if hasattr(widget, "specialist") else self._tools)[call_id] = widget
        self._update_marker()

    def key_home(self) -> None:
        if self._earlier and self.scroll_y <= 0:
            self.show_earlier()
        self.scroll_home(animate=False)
