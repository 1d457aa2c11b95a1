"""The de-agent TUI: chat, plan and diff panes, input and status bar over the engine.

Start-up is kept light: this module imports textual and the pane widgets only. The engine
(and everything it pulls in) is built on its own thread after the first frame, and the model
client's imports are made in the background (litellm only for providers not spoken directly,
see de_agent.llm.routes); a configuration problem becomes a message in the chat.

Data flow: the engine's sink puts events on a queue; one thread worker (the pump) reads it,
merges text deltas and posts :class:`EngineEvents` messages; the ``@on`` handler below is
the only code that changes widgets in response. Ops go back through :class:`EngineHost`.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input
from textual.worker import get_current_worker

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.tui import runtime, themes
from de_agent.tui.commands import TuiCommands, prefill
from de_agent.tui.host import EngineHost
from de_agent.tui.keys import KEY_BINDINGS, KeyActions
from de_agent.tui.pump import EngineEvents, merge_deltas
from de_agent.tui.specialists import apply_specialist_event, start_follow_up, turn_finished
from de_agent.tui.widgets.chat import ChatPane
from de_agent.tui.widgets.diff import DiffPane
from de_agent.tui.widgets.plan import PlanPane
from de_agent.tui.widgets.prompt import PromptInput, SlashHint
from de_agent.tui.widgets.status import StatusBar

COALESCE_S = 0.012
IDLE_COLLECT_AFTER_S = 1.5
QUIET_S = 2.0
WELCOME = ("Type a task and press Enter. /help lists the commands; Shift+Tab changes the approval "
           "mode; Ctrl+C stops a turn (twice quits); F2 shows or hides the side panes.")


def _palette_provider():
    from de_agent.tui.palette import DeAgentCommands

    return DeAgentCommands


class DeAgentApp(KeyActions, App[int]):
    TITLE = "de-agent"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    COMMANDS = App.COMMANDS | {_palette_provider}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    BINDINGS = KEY_BINDINGS

    def __init__(self, settings: Settings, root: Path, *, resume: Any = None, host: Any = None,
                 session_id: str | None = None, theme: str | None = None,
                 cursor_blink: bool = True, pick_session: bool = False) -> None:
        super().__init__()
        self.pick_session = pick_session
        self.settings = settings
        self.root = Path(root)
        self.host = host or EngineHost(settings, self.root, session_id=session_id, resume=resume)
        self.cursor_blink = cursor_blink
        self.first_frame_at: float | None = None
        self._last_ctrl_c = 0.0
        self._last_escape = 0.0
        self._side_forced = False
        self._paths_loaded = False  # F2 or /plan asked for the side panes: never hide them as empty
        self._queued_text: str | None = None
        self._approval: Any = None  # the ApprovalScreen on show, if any
        self._partial: dict[str, str] = {}  # call id -> which hunks a partial approval applies
        self.follow_up: dict[str, str] | None = None  # {specialist, task} the last answer named
        self.turns_finished = 0
        self.events_shown = 0  # engine events handled, to compare with host.events.put_count
        self.slash = TuiCommands(self)
        self.chat = ChatPane(id="chat")
        self.plan_pane = PlanPane(id="plan")
        self.diff_pane = DiffPane(id="diff")
        self.status = StatusBar()
        self.prompt = PromptInput(id="prompt", placeholder="Ask de-agent…  (/ for commands)")
        self.theme_specs, self.theme_problems = themes.discover()
        for spec in self.theme_specs.values():
            self.register_theme(themes.to_textual(spec))
            css = themes.scoped_css(spec)
            if css:
                self.stylesheet.add_source(css, read_from=(str(spec.path), "tcss"), is_default_css=False)
        self._set_initial_theme(self._pick_theme(theme or settings.theme))

    def watch_theme(self, name: str) -> None:
        """A theme switched at run time: redraw what carries theme-chosen styles."""
        if self.plan_pane.is_mounted:
            self.call_after_refresh(self.plan_pane.refresh_plan)

    def _set_initial_theme(self, name: str) -> None:
        """Choose the theme before the first frame without the watcher's second CSS pass
        (the stylesheet is parsed once, at start, with this theme's variables)."""
        self.set_reactive(App.theme, name)
        dark = self.current_theme.dark
        self.update_classes({f"-theme-{name}": True, "-dark-mode": dark, "-light-mode": not dark}, update=False)
        self._refresh_truecolor_filter(self.ansi_theme)
        self.stylesheet.set_variables(self.get_css_variables())

    def _pick_theme(self, name: str) -> str:
        if name in self.available_themes:
            return name
        self.theme_problems.append(f"Unknown theme {name!r}; using {themes.DEFAULT_THEME}. "
                                   f"Available: {', '.join(sorted(self.theme_specs))}.")
        return themes.DEFAULT_THEME if themes.DEFAULT_THEME in self.available_themes else "textual-dark"

    # -- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        self.chat.border_title = "Chat"
        self.plan_pane.border_title = "Plan"
        self.diff_pane.border_title = "Diff"
        with Horizontal(id="main"):
            yield self.chat
            with Vertical(id="side"):
                yield self.plan_pane
                yield self.diff_pane
        yield SlashHint(id="slash-hint")
        yield self.prompt
        yield self.status

    def on_mount(self) -> None:
        status = self.status
        status.model = self.settings.model
        status.mode = self.settings.approval_mode
        status.theme_name = self.theme
        status.starting = True
        self.prompt.cursor_blink = self.cursor_blink
        self.prompt.focus()
        self.note_empty_panes()
        self.chat.add_notice(WELCOME)
        for problem in self.theme_problems:
            self.chat.add_notice(problem, "warning")
        self.call_after_refresh(self._after_first_frame)
        self.set_interval(5.0, self._collect_if_quiet)

    def _after_first_frame(self) -> None:
        self.first_frame_at = time.perf_counter()
        runtime.tune_threads()
        if isinstance(self.host, EngineHost):
            threading.Thread(target=runtime.preload_then_freeze, args=(self.settings,), name="preload-freeze",
                             daemon=True).start()
        self.host.start()
        self._pump()

    # -- the pump: engine events in, Textual messages out ----------------------------------------

    @work(thread=True, exclusive=True, group="engine-events", exit_on_error=False)
    def _pump(self) -> None:
        worker = get_current_worker()
        events = self.host.events
        while not worker.is_cancelled:
            try:
                first = events.get(timeout=0.2)
            except queue.Empty:
                continue
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + COALESCE_S
            stop = False
            while True:
                try:
                    event = events.get_nowait()
                except queue.Empty:
                    if isinstance(batch[-1], P.AssistantDelta) and time.monotonic() < deadline:
                        time.sleep(0.003)
                        continue
                    break
                if event is None:
                    stop = True
                    break
                batch.append(event)
            self.post_message(EngineEvents(merge_deltas(batch), len(batch)))
            if stop:
                return

    @on(EngineEvents)
    def _on_engine_events(self, message: EngineEvents) -> None:
        for event in message.events:
            self.apply_event(event)
        self.events_shown += message.count

    def quiet(self) -> bool:
        """Nothing is on its way to the screen: the host has started, every engine event queued
        so far is shown, no streamed text waits for its flush and no slash command waits for the
        engine. Tests wait on this rather than sleep."""
        return (self.first_frame_at is not None and self.chat.settled
                and self.events_shown == self.host.events.put_count and not self.slash.waiting)

    def apply_event(self, event: P.Event) -> None:
        """Show one engine event in the panes (UI thread only)."""
        chat, status = self.chat, self.status
        if (event.specialist or isinstance(event, P.Question)) and apply_specialist_event(self, event):
            return
        match event:
            case P.AssistantDelta():
                chat.append_delta(event.text)
            case P.AssistantMessage():
                chat.finish_answer(event.text)
            case P.UserMessage():
                chat.add_user(event.text)
            case P.ToolCall():
                chat.add_tool_call(event.call_id, event.name, event.arguments, event.summary)
            case P.ApprovalRequest():
                chat.tool_state(event.call_id, "asking", "waiting for you")
                self._ask(event)
            case P.Approval(decision="denied"):
                chat.tool_state(event.call_id, "denied", f"denied by {event.by}")
                self.diff_pane.mark(event.call_id, "denied")
            case P.Approval():
                block = chat.tool(event.call_id)
                if block is not None:
                    from de_agent.tui.widgets.toolblock import short_arguments

                    status.activity = f"{block.tool_name} {short_arguments(block.tool_name, block.arguments, block.summary)}"[:60]
                note = "" if event.by == "policy" else f"approved ({event.reason or 'once'})"
                if event.call_id in self._partial:
                    note = f"approved {self._partial.pop(event.call_id)}"
                chat.tool_state(event.call_id, "running", note)
            case P.ToolOutput():
                chat.tool_output(event.call_id, event.text)
            case P.ToolResult():
                status.activity = ""
                chat.tool_result(event.call_id, event.name, event.ok, event.output, event.display, event.summary)
            case P.PlanUpdated():
                self.plan_pane.show_plan(event.plan, event.explanation)
                self.note_empty_panes()
            case P.Diff(impact=dict() as impact):
                self.diff_pane.show_impact(event.file_path, impact, event.call_id)
                self.note_empty_panes()
            case P.Diff():
                self.diff_pane.show_diff(event.file_path, event.diff, event.stage, event.call_id)
                self.note_empty_panes()
            case P.Usage():
                status.tokens = event.session_prompt_tokens + event.session_completion_tokens
                status.cost = event.session_cost
            case P.Error():
                status.starting = status.starting and not self.host.failed
                chat.add_notice(event.message, "error")
            case P.Notice():
                chat.add_notice(event.message, event.level)
            case P.SessionStarted():
                self._session_started(event)
            case P.SessionCleared():
                self.reset_panes()
            case P.TurnFinished():
                chat.close_answer()
                status.busy = False
                self.turns_finished += 1
                turn_finished(self, event.handoff)
                self.set_timer(IDLE_COLLECT_AFTER_S, self._collect_if_idle)
                if self._approval is not None:
                    self._approval.dismiss(None)
                    self._approval = None

    def _session_started(self, event: P.SessionStarted) -> None:
        status = self.status
        status.starting = False
        status.session_id = event.session_id
        status.sandbox = event.sandbox
        status.mode = event.approval_mode
        status.model = event.model
        if event.resumed:
            self.chat.add_notice(f"Resumed session {event.session_id}.")
        if self._queued_text is not None:
            text, self._queued_text = self._queued_text, None
            self.send(text)
        if self.pick_session:
            self.pick_session = False
            self.run_slash_soon("/resume")

    def reset_panes(self) -> None:
        """Another session takes over: chat, plan, diff and counters start afresh."""
        self.chat.clear_all()
        self.plan_pane.show_plan([])
        self.diff_pane.show_session_diff("")
        self.status.tokens = 0
        self.status.cost = 0.0
        self.note_empty_panes()

    def run_slash_soon(self, line: str) -> None:
        self.slash.run_soon(line)

    def prefill(self, text: str) -> None:
        prefill(self, text)

    def _collect_if_idle(self) -> None:
        if not self.host.busy and not self.status.busy:
            runtime.collect_when_idle()

    def _collect_if_quiet(self) -> None:
        """During a long turn: collect while a tool runs or an approval waits, never mid-stream."""
        if time.monotonic() - self.chat.last_text_at > QUIET_S and runtime.collection_due():
            runtime.collect_when_idle()

    # -- approvals ------------------------------------------------------------------------------

    def _ask(self, request: P.ApprovalRequest) -> None:
        from de_agent.tui.screens.approval import ApprovalScreen

        block = self.chat.tool(request.call_id)
        screen = ApprovalScreen(request, block.arguments if block is not None else None)
        self._approval = screen

        def answered(decision: P.ApprovalDecision | None) -> None:
            if self._approval is screen:
                self._approval = None
            if decision is not None and decision.hunks is not None:
                from de_agent.frontends.render import hunks_applied

                self._partial[decision.call_id] = hunks_applied(decision.hunks, len(screen.hunks))
            if decision is not None:
                self.host.submit(decision)

        self.push_screen(screen, answered)

    # -- input ----------------------------------------------------------------------------------

    @on(Input.Changed, "#prompt")
    def _typing(self, event: Input.Changed) -> None:
        if "@" in event.value and not self._paths_loaded:
            self._paths_loaded = True
            self._load_paths()
        self.query_one(SlashHint).show_for(event.value, self.prompt.paths)

    @work(thread=True, exclusive=True, group="paths", exit_on_error=False)
    def _load_paths(self) -> None:
        """The repository's files for ``@`` completion (.gitignore respected), once per session."""
        from de_agent.engine.mentions import repository_paths

        paths = repository_paths(self.root)
        self.call_from_thread(self._paths_ready, paths)

    def _paths_ready(self, paths: list[str]) -> None:
        self.prompt.suggester.paths = paths  # type: ignore[union-attr]
        self.query_one(SlashHint).show_for(self.prompt.value, paths)

    @on(Input.Submitted, "#prompt")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        self.prompt.remember(text)
        self.prompt.value = ""
        if text.startswith("/") and not text.startswith("//"):
            self.run_slash_soon(text)
            return
        if text.startswith("!") and text[1:].strip():
            self.run_user_command(text[1:].strip())
            return
        self.send(text[1:] if text.startswith("//") else text)

    def run_user_command(self, command: str) -> None:
        """``!command``: the engine runs it through the Shell tool, its policy and sandbox."""
        host = self.host
        if host.engine is None or host.busy or self.slash.running:
            self.chat.add_notice("Wait for the engine to be ready and idle before running a command.", "warning")
            return
        self.status.busy = True
        host.submit(P.RunCommand(command))

    def send(self, text: str) -> None:
        host = self.host
        if host.failed:
            self.chat.add_notice(host.failed, "error")
            return
        if host.engine is None:
            self._queued_text = text
            self.chat.add_notice("Starting up; your request runs as soon as the engine is ready.")
            return
        if host.busy:
            self.chat.add_notice("A turn is running: wait for it, or press Ctrl+C to stop it first.",
                                 "warning")
            return
        if self.slash.running:
            self.chat.add_notice(f"Wait for {self.slash.running} to finish.", "warning")
            return
        self.status.busy = True
        host.start_turn(text)

    def action_follow_up(self) -> None:
        start_follow_up(self)

    async def on_unmount(self) -> None:
        if isinstance(self.host, EngineHost):
            await asyncio.to_thread(self.host.shutdown)


def run_tui(settings: Settings, root: Path, *, resume: Any = None, pick_session: bool = False) -> int:
    """Open the TUI in ``root``; returns the exit code. ``pick_session`` opens the session
    picker at start (``-r`` without an id); ``resume`` continues a chosen session."""
    app = DeAgentApp(settings, root, resume=resume, pick_session=pick_session)
    app.run()
    engine = app.host.engine
    if engine is not None and engine.messages:
        from de_agent.frontends.render import resume_hint

        print(resume_hint(engine.session_id))
    return app.return_code or 0
