"""Rendering engine events for the plain REPL with rich: streamed Markdown, tool lines, diffs.

The assistant's answer streams into a live Markdown view (repainted at most every
``STREAM_REFRESH_S``) that stays on screen as the final rendering, so the text is shown
once. Tool calls get one compact line each, their result one more; diffs are
syntax-coloured; the plan is a checklist; each turn ends with a usage and cost line.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console, RenderableType
from rich.live import Live
from rich.markdown import Markdown
from rich.segment import SegmentLines
from rich.syntax import Syntax
from rich.text import Text

from de_agent import protocol as P
from de_agent.frontends.render import (
    PLAN_MARKS,
    is_binary_read,
    render_display,
    request_detail,
    result_summary,
)
from de_agent.sessions.cli import format_cost  # noqa: F401 - the one cost format, re-exported
from de_agent.tools.base import key_argument
from de_agent.tools.summaries import first_line

STREAM_REFRESH_S = 0.08
STREAM_MIN_WINDOW = 5
REPLAY_MESSAGES = 10
SHELL_TAIL_LINES = 8


def diff_view(diff: str) -> Syntax:
    return Syntax(diff.rstrip("\n"), "diff", theme="ansi_dark", background_color="default",
                  word_wrap=True)


def plan_view(plan: list[dict[str, str]], explanation: str = "") -> Text:
    text = Text()
    if explanation:
        text.append(explanation + "\n", style="italic")
    for step in plan:
        mark, style = PLAN_MARKS.get(step.get("status", "pending"), PLAN_MARKS["pending"])
        text.append(f"  {mark} ", style=style)
        text.append(step.get("step", "") + "\n",
                    style="dim strike" if step.get("status") == "completed" else "")
        if step.get("verification"):
            text.append(f"      verified: {step['verification']} (diff in {step.get('verified_by', '')})\n", style="cyan")
    text.rstrip()
    return text


def call_summary(summary: str, arguments: dict[str, Any], width: int = 100) -> str:
    """The tool's one-line summary of a call (events from before summaries: the key argument)."""
    text = summary or key_argument(arguments, width=10_000)
    return text if len(text) <= width else text[: width - 1] + "…"


def output_tail(output: str, keep: int = SHELL_TAIL_LINES) -> Text | None:
    """The last lines of a command's output, dimmed and indented."""
    lines = output.rstrip("\n").splitlines()
    if not lines:
        return None
    text = Text(style="dim")
    if len(lines) > keep:
        text.append(f"    … {len(lines) - keep} earlier lines\n")
    text.append("\n".join("    " + line for line in lines[-keep:]))
    return text


class MarkdownStream:
    """Assistant text as it arrives, repainted as Markdown; the last paint is the final answer.

    Only the last lines stay live (repainted); lines that scroll past the live window are
    printed for good above it, so a long answer never needs a repaint taller than the
    screen. Consoles that are not terminals get the final Markdown once, at the end.
    """

    def __init__(self, console: Console):
        self.console = console
        self.text = ""
        self.started = False
        self.committed = 0  # rendered lines already printed for good above the live view
        self.live_height = 0
        self._live: Live | None = None
        self._last_paint = 0.0
        self._timer: asyncio.TimerHandle | None = None

    @property
    def active(self) -> bool:
        return self.started

    def window(self) -> int:
        return max(STREAM_MIN_WINDOW, self.console.height - 4)

    def add(self, delta: str) -> None:
        self.text += delta
        self.started = True
        if not self.console.is_terminal:
            return
        if self._live is None:
            self._live = Live(Text(""), console=self.console, auto_refresh=False,
                              redirect_stdout=False, redirect_stderr=False, transient=False)
            self._live.start()
        if time.monotonic() - self._last_paint >= STREAM_REFRESH_S:
            self._paint()
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(STREAM_REFRESH_S, self._paint)
            except RuntimeError:
                self._paint()

    def _paint(self, text: str | None = None) -> None:
        self._timer = None
        if self._live is None:
            return
        self._last_paint = time.monotonic()
        lines = self.console.render_lines(Markdown(self.text if text is None else text),
                                          self.console.options, pad=False)
        stable = len(lines) - self.window()
        if stable > self.committed:
            self.console.print(SegmentLines(lines[self.committed:stable], new_lines=True))
            self.committed = stable
        shown = lines[self.committed:]
        self.live_height = len(shown)
        self._live.update(SegmentLines(shown, new_lines=True), refresh=True)

    def finish(self, final: str | None = None) -> str:
        """Stop streaming; ``final`` (the complete message) replaces what streamed."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        text = final if final is not None else self.text
        if self._live is not None:
            self._paint(text)
            self._live.stop()
            self._live = None
        elif self.started and text.strip():
            self.console.print(Markdown(text))
        self.text = ""
        self.started = False
        self.committed = self.live_height = 0
        return text


class PlainRenderer:
    """Callable sink for engine events (approval requests are handled by the REPL itself)."""

    def __init__(self, console: Console):
        self.console = console
        self.stream = MarkdownStream(console)
        self.last_answer = ""
        self.shown_diffs: set[str] = set()  # call ids whose diff was shown in an approval
        self._turn_prompt = 0
        self._turn_completion = 0
        self._turn_cost: float | None = 0.0
        self._session_cost: float | None = None
        self._session_tokens = 0
        self._calls: dict[str, str] = {}
        self._arguments: dict[str, dict[str, Any]] = {}
        self._streamed: str | None = None  # streamed text whose complete message has not come yet
        self._render_display = render_display
        # One handler per event type (deltas, messages and usage are handled above).
        self._handlers: dict[type[P.Event], Callable[[Any], None]] = {
            P.SessionStarted: self._on_session_started, P.UserMessage: self._on_user_message,
            P.ToolCall: self._on_tool_call, P.Approval: self._on_approval, P.Diff: self._on_diff,
            P.ToolResult: self._on_tool_result, P.PlanUpdated: self._on_plan_updated,
            P.Error: self._on_error, P.Notice: self._on_notice, P.TurnFinished: self._on_turn_finished,
        }

    def print(self, *objects: Any, **kw: Any) -> None:
        self.stop_stream()
        self.console.print(*objects, **kw)

    def info(self, message: str) -> None:
        self.print(Text(message, style="cyan"), soft_wrap=True)

    def warn(self, message: str) -> None:
        self.print(Text(message, style="yellow"), soft_wrap=True)

    def stop_stream(self) -> None:
        if self.stream.active:
            self._streamed = self.last_answer = self.stream.finish()

    def __call__(self, event: P.Event) -> None:
        if event.specialist and not isinstance(event, P.Usage | P.AssistantDelta):
            self.stop_stream()
            if self._child(event):
                return
        if isinstance(event, P.AssistantDelta):
            if event.specialist:
                return  # a specialist's text shows as one line once complete
            self.stream.add(event.text)
            return
        if isinstance(event, P.AssistantMessage):
            if self.stream.active:
                self.stream.finish(event.text)
            elif event.text.strip() and event.text != self._streamed:
                self.console.print(Markdown(event.text))
            self._streamed = None
            self.last_answer = event.text
            return
        if isinstance(event, P.Usage):
            self._on_usage(event)  # not shown until the turn ends: the stream goes on
            return
        self.stop_stream()
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _child(self, e: P.Event) -> bool:
        """A specialist's event, shown indented under its name; True when fully handled here."""
        tag = f"  │ @{e.specialist} "
        if isinstance(e, P.HandoffStarted):
            access = "read-only" if e.read_only else "may edit"
            self.console.print(Text.assemble(("● ", "magenta"), (f"@{e.specialist}", "bold magenta"),
                                             f" ({access}) {first_line(e.task, 100)}"))
        elif isinstance(e, P.HandoffFinished):
            files = f" · changed {', '.join(e.changed_files)}" if e.changed_files else ""
            self.console.print(Text(f"  └ @{e.specialist} {e.stop_reason} after {e.turns} model call(s)"
                                    f"{files}", style="magenta"))
        elif isinstance(e, P.AssistantMessage) and e.text.strip():
            self.console.print(Text(tag + first_line(e.text, 200), style="dim"))
        elif isinstance(e, P.ToolCall) and e.name != "update_plan":
            self.console.print(Text.assemble((tag, "magenta"), ("● ", "blue"), (e.name, "bold"), "  ",
                                             first_line(e.summary or "", 100)), no_wrap=True)
        elif isinstance(e, P.ToolResult) and e.name != "update_plan":
            mark, style = ("⎿ ", "dim") if e.ok else ("✗ ", "red")
            self.console.print(Text(tag + mark + first_line(e.output, 100), style=style), no_wrap=True)
        elif isinstance(e, P.PlanUpdated):
            self.console.print(Text(f"Plan of @{e.specialist}", style="bold"))
            self.console.print(plan_view(e.plan, e.explanation))
        elif isinstance(e, P.Diff | P.Approval | P.Error | P.Notice):
            return False  # shown as the main agent's are
        return True

    # -- one method per event type -----------------------------------------------------

    def _on_session_started(self, e: P.SessionStarted) -> None:
        word = "resumed" if e.resumed else "session"
        self.console.print(Text.assemble(
            ("de-agent", "bold"), f" · {e.model} · mode {e.approval_mode} · sandbox {e.sandbox} · "
            f"{word} {e.session_id}"))
        self.console.print(Text("/help for commands · Esc Enter or a trailing \\ for a newline · "
                                "Shift+Tab cycles the mode · Ctrl+C interrupts · Ctrl+D quits",
                                style="dim"))

    def _on_user_message(self, e: P.UserMessage) -> None:
        self._turn_prompt = self._turn_completion = 0
        self._turn_cost = 0.0
        self._streamed = None

    def _on_tool_call(self, e: P.ToolCall) -> None:
        self._calls[e.call_id] = e.name
        self._arguments[e.call_id] = e.arguments
        if e.name == "update_plan":
            return
        summary = call_summary(e.summary, e.arguments, max(20, self.console.width - len(e.name) - 6))
        self.console.print(Text.assemble(("● ", "blue"), (e.name, "bold"), "  ", (summary, "")),
                           overflow="ellipsis", no_wrap=True)

    def _on_approval(self, e: P.Approval) -> None:
        if e.decision == "denied" and e.by != "user":
            why = f": {e.reason}" if e.reason else ""
            self.console.print(Text(f"  ⊘ denied by {e.by}{why}", style="yellow"))

    def _on_diff(self, e: P.Diff) -> None:
        if e.impact:
            from de_agent.tools.data.helpers.impact import impact_lines

            self.console.print(Text("\n".join(impact_lines(e.impact)), style="cyan"))
            return
        if e.stage != "applied" or e.call_id in self.shown_diffs or not e.diff.strip():
            return
        self.console.print(Text(f"  {e.file_path}", style="bold"))
        self.console.print(diff_view(e.diff))

    def _on_tool_result(self, e: P.ToolResult) -> None:
        if e.name == "update_plan" and e.ok:
            return
        line = result_summary(e.name, e.ok, e.output, e.display, max(20, self.console.width - 6), e.summary)
        if e.ok or is_binary_read(e.display):
            self.console.print(Text.assemble(("  ⎿ ", "dim"), (line, "dim")), overflow="ellipsis",
                               no_wrap=True)
        else:
            self.console.print(Text.assemble(("  ✗ ", "red"), (line, "red")), overflow="ellipsis",
                               no_wrap=True)
        if e.display:
            view = self.display_view(e.display)
            if view is not None:
                self.console.print(view)

    def display_view(self, display: dict[str, Any]) -> RenderableType | None:
        kind = display.get("kind")
        if kind in ("plan", "diff"):
            return None  # shown by the plan_updated and diff events
        if kind == "shell":
            return output_tail(str(display.get("output") or ""))
        if kind == "image":  # plain mode names the file; the TUI draws a preview
            return Text(f"  image: {display.get('path')} ({display.get('width')}x{display.get('height')})",
                        style="bold")
        try:
            return self._render_display(display)
        except Exception as exc:  # noqa: BLE001 - a display that cannot render is not worth a crash
            return Text(f"  (could not show this result: {exc})", style="dim")

    def _on_plan_updated(self, e: P.PlanUpdated) -> None:
        self.console.print(Text("Plan", style="bold"))
        self.console.print(plan_view(e.plan, e.explanation))

    def _on_usage(self, e: P.Usage) -> None:
        self._turn_prompt += e.prompt_tokens
        self._turn_completion += e.completion_tokens
        if e.cost is None or self._turn_cost is None:
            self._turn_cost = None
        else:
            self._turn_cost += e.cost
        self._session_cost = e.session_cost
        self._session_tokens = e.session_prompt_tokens + e.session_completion_tokens

    def _on_error(self, e: P.Error) -> None:
        self.console.print(Text(f"error: {e.message}", style="bold red"))

    def _on_notice(self, e: P.Notice) -> None:
        self.console.print(Text(e.message, style="yellow" if e.level == "warning" else "dim"))

    def _on_turn_finished(self, e: P.TurnFinished) -> None:
        if e.handoff:
            self.console.print(Text(f"Next: @{e.handoff['specialist']} {e.handoff['task']}  "
                                    "(type that line to hand it off)", style="bold magenta"))
        if not (self._turn_prompt or self._turn_completion):
            return
        session = f" · session: {self._session_tokens:,} tokens, {format_cost(self._session_cost)}"
        self.console.print(Text(
            f"turn: {self._turn_prompt:,} in, {self._turn_completion:,} out, {format_cost(self._turn_cost)}"
            f"{session}", style="dim"))

    def replay(self, events: list[P.Event], keep: int = REPLAY_MESSAGES) -> None:
        """The end of a resumed conversation: its last messages and its plan."""
        own = [e for e in events if not e.specialist]  # a specialist's steps stay in its own transcript
        messages = [e for e in own if isinstance(e, P.UserMessage | P.AssistantMessage) and e.text.strip()]
        plans = [e for e in own if isinstance(e, P.PlanUpdated)]
        if not messages:
            return
        skipped = len(messages) - keep
        older = f" ({skipped} older messages not shown)" if skipped > 0 else ""
        self.console.print(Text(f"── earlier in this session{older} ──", style="dim"))
        for e in messages[-keep:]:
            if isinstance(e, P.UserMessage):
                self.console.print(Text("› " + e.text.strip(), style="bold"))
            else:
                self.console.print(Markdown(e.text))
                self.last_answer = e.text
        if plans:
            self._on_plan_updated(plans[-1])
        self.console.print(Text("── resumed ──", style="dim"))

    # -- approval requests (the REPL asks; this shows what is asked) ---------------------

    def show_request(self, r: P.ApprovalRequest) -> None:
        self.stop_stream()
        why = f" ({r.reason})" if r.reason else ""
        if r.command is not None:
            what = "run a command" if r.summary.strip() == r.command.strip() else f"run a command: {r.summary}"
        else:
            what = r.summary
        who = f"@{r.specialist}: " if r.specialist else ""
        self.console.print(Text.assemble(("? ", "bold magenta"), who, (r.name, "bold"), f" wants to {what}{why}"))
        if r.command is not None:
            self.console.print(Syntax(r.command, "bash", theme="ansi_dark", background_color="default",
                                      word_wrap=True, padding=(0, 2)))
            where = ([f"in {r.cwd}"] if r.cwd else []) + [f"sandbox {r.sandbox or 'none'}"]
            self.console.print(Text("  " + " · ".join(where), style="dim"))
        detail = request_detail(r, self._arguments.get(r.call_id))
        if detail is not None:
            self.console.print(Syntax(detail, "sql", theme="ansi_dark", background_color="default",
                                      word_wrap=True, padding=(0, 2)))
        for change in r.diffs:
            self.console.print(Text(f"  {change.get('file_path', '')}", style="bold"))
            self.console.print(diff_view(change.get("diff", "")))
        if r.diffs:
            self.shown_diffs.add(r.call_id)
        if r.data_diff:
            self.console.print(Text(r.data_diff.rstrip(), style="cyan"))
