"""The TUI's keys: Ctrl+C, scrolling the chat from the prompt, Esc (back to the prompt, twice:
/rewind), typing anywhere, the result viewer, the approval mode and the side panes.

A mixin of :class:`~de_agent.tui.app.DeAgentApp` (it holds the bindings; the app the panes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import events
from textual.binding import Binding, BindingType

if TYPE_CHECKING:
    from textual.app import App

    _AppBase = App[int]
else:
    _AppBase = object

DOUBLE_PRESS_S = 1.0  # Ctrl+C twice quits
DOUBLE_ESCAPE_S = 1.0  # Esc twice on an empty prompt opens /rewind


KEY_BINDINGS: list[BindingType] = [  # the app's BINDINGS (Textual reads them from DOM classes only)
    Binding("ctrl+c", "interrupt", "Stop turn / quit", priority=True, show=False),
    Binding("shift+tab", "cycle_mode", "Approval mode", priority=True, show=False),
    Binding("f2", "toggle_side", "Side panes", show=False),
    Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
    Binding("pageup", "scroll_chat('page_up')", "Scroll the chat", show=False),
    Binding("pagedown", "scroll_chat('page_down')", "Scroll the chat", show=False),
    Binding("shift+up", "scroll_chat('up')", "Scroll the chat", show=False),
    Binding("shift+down", "scroll_chat('down')", "Scroll the chat", show=False),
    Binding("escape", "escape", "Back to the prompt", show=False),
    Binding("ctrl+o", "view_result", "Open the newest tool result full-screen", show=False),
    Binding("ctrl+n", "follow_up", "Start the follow-up the last answer named", show=False),
]


class KeyActions(_AppBase):
    """Mixed into the app; uses its chat, prompt, status bar, host and screens."""

    _last_ctrl_c: float
    _last_escape: float
    _side_forced: bool
    run_slash_soon: Callable[[str], None]
    chat: Any
    prompt: Any
    status: Any
    host: Any
    settings: Any
    plan_pane: Any
    diff_pane: Any

    def action_interrupt(self) -> None:
        now = time.monotonic()
        if now - self._last_ctrl_c < DOUBLE_PRESS_S:
            self.exit(0)
            return
        self._last_ctrl_c = now
        if self.host.interrupt():
            self.notify("Stopping the turn… press Ctrl+C again to quit.", timeout=2)
        else:
            self.notify("Press Ctrl+C again to quit.", timeout=2)

    def action_scroll_chat(self, how: str) -> None:
        """Scroll the chat from wherever focus is (the prompt keeps it)."""
        chat = self.chat
        if how in ("up", "page_up"):
            chat.release_anchor()
        {"page_up": chat.scroll_page_up, "page_down": chat.scroll_page_down, "up": chat.scroll_up,
         "down": chat.scroll_down}[how](animate=False)
        if how in ("down", "page_down") and chat.scroll_y >= chat.max_scroll_y:
            chat.anchor()

    def action_escape(self) -> None:
        """Esc always comes back to the prompt; Esc twice on an empty prompt opens /rewind."""
        now = time.monotonic()
        if not self.prompt.has_focus:
            self.prompt.focus()
            self._last_escape = 0.0
            return
        if not self.prompt.value and now - self._last_escape < DOUBLE_ESCAPE_S:
            self._last_escape = 0.0
            self.run_slash_soon("/rewind")
            return
        self._last_escape = now

    def on_key(self, event: events.Key) -> None:
        """Typing anywhere on the main screen goes to the prompt (``v`` on a tool call opens
        its result instead)."""
        if self.screen is not self.screen_stack[0] or self.focused is self.prompt:
            return
        block = self.focused.parent if self.focused is not None else None
        if event.character == "v" and getattr(block, "call_id", None):
            event.stop()
            event.prevent_default()
            self.view_result(block)
            return
        if event.is_printable and event.character:
            event.stop()
            event.prevent_default()
            self.prompt.focus()
            self.prompt.insert_text_at_cursor(event.character)

    def action_view_result(self) -> None:
        """Ctrl+O: the newest tool call that has a result, full-screen."""
        blocks = [w for w in self.chat.entries if getattr(w, "result", None) is not None]
        if not blocks:
            self.notify("No tool result to open yet.", timeout=2)
            return
        self.view_result(blocks[-1])

    def view_result(self, block: Any) -> None:
        if block.result is None:
            self.notify("This call has no result yet.", timeout=2)
            return
        from de_agent.frontends.render import result_summary
        from de_agent.tui.screens.viewer import ResultViewer
        from de_agent.tui.widgets.toolblock import short_arguments

        ok, output, display = block.result
        title = f"{block.tool_name} {short_arguments(block.tool_name, block.arguments)} — " \
                f"{result_summary(block.tool_name, ok, output, display, 80, block.result_line)}"
        self.push_screen(ResultViewer(title, output, display))

    def action_cycle_mode(self) -> None:
        """Shift+Tab: default → auto-edit → plan → default. Yolo only through /mode yolo,
        which asks first (the engine's policy cycles without it)."""
        mode = self.host.cycle_mode()
        self.status.mode = mode
        self.notify(f"Approval mode: {mode}", timeout=2)

    def action_toggle_side(self) -> None:
        """F2: hide the side panes, or show them (even empty ones on a small screen)."""
        screen = self.screen_stack[0]
        if screen.query_one("#side").display:
            screen.add_class("-hide-side")
        else:
            self.show_side()

    def show_side(self) -> None:
        self._side_forced = True
        self.screen_stack[0].remove_class("-hide-side")
        self.note_empty_panes()

    def note_empty_panes(self) -> None:
        """Mark empty panes on the screen (unless F2 asked for them); on small terminals the
        CSS hides them so the chat gets the room."""
        screen = self.screen_stack[0]
        auto = not self._side_forced
        plan_empty, diff_empty = not self.plan_pane.plan, not self.diff_pane.change.files
        screen.set_class(auto and plan_empty, "-plan-empty")
        screen.set_class(auto and diff_empty, "-diff-empty")
        screen.set_class(auto and plan_empty and diff_empty, "-side-empty")
