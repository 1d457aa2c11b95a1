"""The status bar: model, approval mode, sandbox, session tokens and cost, session id, and
while a turn runs a spinner with the elapsed time (and what is running now)."""

from __future__ import annotations

import time

from textual.content import Content
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget


def human_tokens(count: int) -> str:
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.2f}M"


SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPIN_S = 0.1


def elapsed_text(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds}s" if seconds < 60 else f"{seconds // 60}m{seconds % 60:02d}s"


def cost_text(cost: float | None) -> str:
    from de_agent.sessions.cli import format_cost

    return format_cost(cost)


class StatusBar(Widget):
    """One line at the bottom; every field is a reactive the app sets."""

    DEFAULT_CSS = """
    StatusBar {
        dock: bottom;
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    model: reactive[str] = reactive("")
    mode: reactive[str] = reactive("default")
    sandbox: reactive[str] = reactive("…")
    tokens: reactive[int] = reactive(0)
    cost: reactive[float | None] = reactive(0.0)
    session_id: reactive[str] = reactive("")
    busy: reactive[bool] = reactive(False)
    theme_name: reactive[str] = reactive("")
    activity: reactive[str] = reactive("")  # what runs now, e.g. "Shell pytest -q"
    starting: reactive[bool] = reactive(False)  # the engine is being built
    frozen_clock: float | None = None  # snapshots: a fixed elapsed time, no spinning

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.busy_since = 0.0
        self._frame = 0
        self._spinner: Timer | None = None

    def watch_starting(self, starting: bool) -> None:
        self.watch_busy(starting or self.busy)

    def watch_busy(self, busy: bool) -> None:
        busy = busy or self.starting
        if busy:
            self.busy_since = time.monotonic()
            self._frame = 0
            if self._spinner is None and self.frozen_clock is None:
                self._spinner = self.set_interval(SPIN_S, self._spin)
        else:
            self.activity = ""
            if self._spinner is not None:
                self._spinner.stop()
                self._spinner = None

    def _spin(self) -> None:
        self._frame += 1
        self.refresh()

    def busy_text(self, level: int) -> str:
        took = self.frozen_clock if self.frozen_clock is not None else time.monotonic() - self.busy_since
        head = f"{SPINNER[self._frame % len(SPINNER)]} {elapsed_text(took)}"
        if self.activity:
            room = (60, 60, 24, 16)[level]
            activity = self.activity if len(self.activity) <= room else self.activity[:room - 1] + "…"
            head += f" {activity}"
        return head + (" · ^C stops" if level < 3 else "")

    def _parts(self, level: int) -> list:
        """The bar's pieces; higher levels drop labels and hints to fit narrow terminals."""
        mode_style = {"yolo": "bold $error", "plan": "bold $secondary",
                      "auto-edit": "bold $warning"}.get(self.mode, "bold $success")
        sandbox = self.sandbox.split(" ", 1)[0] if self.sandbox else "…"
        model = self.model if level < 2 else self.model.rsplit("/", 1)[-1]
        session = self.session_id or "new session"
        if level >= 3 and len(session) > 8:
            session = "…" + session[-6:]
        sep = (" │ ", "$foreground 40%")
        labels = level < 2
        parts: list = [
            (model, "bold $primary"), sep,
            ("mode " if labels else "", "dim"), (self.mode, mode_style), sep,
            ("sandbox " if labels else "", "dim"), (sandbox, "bold" if sandbox != "none" else "$warning"), sep,
            (f"{human_tokens(self.tokens)} tok", ""), sep,
            *([(cost_text(self.cost), "dim" if self.cost is None else ""), sep] if self.tokens else []),
            (session, "dim"),
        ]
        if self.busy:
            parts += [sep, (self.busy_text(level), "bold $accent")]
        elif self.starting:
            parts += [sep, (f"{SPINNER[self._frame % len(SPINNER)]} starting the engine…", "bold $accent")]
        elif level == 0:
            parts += [sep, ("⇧⇥ mode · ^P commands · /help", "dim")]
        return parts

    def render(self) -> Content:
        width = self.content_region.width or 200
        for level in range(4):
            content = Content.assemble(*self._parts(level))
            if content.cell_length <= width:
                return content
        return content
