"""One controller for the interactive front ends: the engine's life cycle and every slash command.

The TUI and the plain REPL both own a :class:`Controller`. It builds the engine (and
restores a session into it), restarts it for ``/clear`` and ``/resume``, closes it, and
runs each slash command, returning a typed reply (:mod:`de_agent.frontends.replies`)
that the front end only renders. It talks to the engine through ops alone. It runs on
the engine's event loop (the TUI's engine thread; the REPL's own loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.frontends import replies as R
from de_agent.frontends import slash

# (settings, root, sink, session_id) -> an object with .engine, .sandbox_name and .notices
EngineFactory = Callable[[Settings, Path, Callable[[P.Event], None], "str | None"], Any]


class FrontEndHost(Protocol):
    """What a front end gives the controller: where events go, and how history is replayed."""

    def on_event(self, event: P.Event) -> None: ...

    def replay(self, events: list[P.Event]) -> None: ...


def default_factory(settings: Settings, root: Path, sink: Callable[[P.Event], None],
                    session_id: str | None) -> Any:
    from de_agent.frontends.factory import build_engine

    return build_engine(settings, root, sink, session_id=session_id)


class StartFailed(Exception):
    """The engine could not be built or the session not restored (the message says why)."""


class Controller:
    def __init__(self, settings: Settings, root: Path, host: FrontEndHost, *,
                 factory: EngineFactory | None = None) -> None:
        self.settings = settings
        self.root = Path(root)
        self.host = host
        self.factory = factory or default_factory
        self.engine: Any = None
        self.sandbox_name = "none"
        self._held: list[P.Event] | None = None

    # -- life cycle --------------------------------------------------------------------------

    def _sink(self, event: P.Event) -> None:
        if self._held is not None and not isinstance(event, P.ApprovalRequest):
            self._held.append(event)
        else:
            self.host.on_event(event)

    def start(self, session_id: str | None = None, resume: Any = None) -> Any:
        """Build an engine and make it current; StartFailed (old engine kept) when that fails.

        Order of what the front end sees: the resumed history (``host.replay``), what
        restoring says (interrupted calls, warnings), ``session_started``, then notices.
        """
        held: list[P.Event] = []
        self._held = held
        try:
            parts = self.factory(self.settings, self.root, self._sink, session_id)
            engine = parts.engine
            if resume is not None:
                result = resume(engine)
                if isinstance(result, P.OpResult) and not result.ok:
                    raise StartFailed(result.message)
        except StartFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - a setup failure is a message, never a traceback
            what = "resume the session" if resume is not None else "start"
            raise StartFailed(f"could not {what}: {exc}") from exc
        finally:
            self._held = None
        from de_agent.frontends.extension_commands import install_custom_commands

        custom = install_custom_commands(self.root)  # before the engine shows: its commands are ready
        old, self.engine, self.sandbox_name = self.engine, engine, parts.sandbox_name
        if old is not None:
            old.close()
            self.host.on_event(P.SessionCleared())  # the panes start afresh
        if resume is not None:
            self.host.replay([e for e in getattr(resume, "events", None) or [] if e.type not in NOT_REPLAYED])
            usage = engine.usage  # the counters go on from where the session left them
            self.host.on_event(P.Usage(0, 0, 0.0, usage.prompt_tokens, usage.completion_tokens,
                                       usage.cost if usage.cost_known else None))
        for event in held:
            self.host.on_event(event)
        engine.emit(P.SessionStarted(engine.session_id, self.model, str(self.root), engine.mode,
                                     parts.sandbox_name, resumed=resume is not None))
        for notice in [*parts.notices, *custom]:
            engine.emit(P.Notice(notice, "warning"))
        return engine

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()

    async def shutdown(self, timeout: float = 3.0) -> None:
        """Stop any turn and close the session (the TUI's exit)."""
        if self.engine is not None:
            await self.engine.stop(timeout)
            self.engine.close()

    @property
    def model(self) -> str:
        return self.engine.model if self.engine is not None and self.engine.model else self.settings.model

    @property
    def mode(self) -> str:
        return self.engine.mode if self.engine is not None else self.settings.approval_mode

    @property
    def session_id(self) -> str:
        return self.engine.session_id if self.engine is not None else ""

    def set_mode(self, mode: str | None) -> P.OpResult:
        """Set the approval mode (None cycles it); the setting follows for new sessions."""
        if self.engine is None:
            return P.OpResult(False, "The engine is still starting.", P.ErrorKind.BUSY, self.settings.approval_mode)
        result = self.engine.apply(P.SetApprovalMode(mode))
        if result.ok:
            self.settings.approval_mode = result.value
        return result

    # -- slash commands ----------------------------------------------------------------------

    async def command(self, line: str) -> R.Reply:
        """Run one slash line; unknown commands and failures are replies too."""
        try:
            parsed = slash.parse(line)
        except slash.UnknownCommand as exc:
            return R.Say(str(exc), "error")
        if parsed is None:
            return R.Say(f"{line!r} is not a slash command.", "error")
        command, arg = parsed
        if command.prompt is not None:  # a custom command: its prompt, sent as a request
            return R.SendPrompt(slash.expand(command, arg), command.name)
        handler = getattr(self, f"cmd_{command.name}")
        try:
            return await handler(arg)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed command is a message, not a crash
            return R.Say(f"/{command.name} failed: {type(exc).__name__}: {exc}", "error")

    def _idle(self, what: str) -> R.Say | None:
        """A reply saying why the engine cannot do ``what`` now, or None when it can."""
        if self.engine is None:
            return R.Say(f"The engine is still starting; try {what} again in a moment.", "warning")
        if self.engine.busy:
            return R.Say(f"A turn is running; wait for it or press Ctrl+C before {what}.", "warning")
        return None

    async def cmd_help(self, arg: str) -> R.Reply:
        return R.Help(slash.help_text())

    async def cmd_quit(self, arg: str) -> R.Reply:
        return R.Quit()

    async def cmd_theme(self, arg: str) -> R.Reply:
        return R.SetTheme(arg)

    async def cmd_copy(self, arg: str) -> R.Reply:
        return R.CopyAnswer()

    async def cmd_mode(self, arg: str) -> R.Reply:
        if not arg:
            return R.Say(f"Approval mode: {self.mode}. Choose one of {', '.join(P.APPROVAL_MODES)} "
                         "(/mode NAME or Shift+Tab).")
        if arg == P.ApprovalMode.YOLO and self.mode != P.ApprovalMode.YOLO:
            kept = self.mode

            async def turn_on() -> R.Reply:
                return self._mode_reply(self.set_mode(arg))

            return R.Confirm(slash.YOLO_QUESTION, "Turn on yolo", f"Keep {kept}", turn_on,
                             f"Approval mode stays {kept}.")
        return self._mode_reply(self.set_mode(arg))

    @staticmethod
    def _mode_reply(result: P.OpResult) -> R.Reply:
        return R.ModeChanged(result.value, result.message) if result.ok else R.Say(result.message, "error")

    async def cmd_model(self, arg: str) -> R.Reply:
        if not arg:
            return R.Say(f"Model: {self.model}. Switch with /model NAME (any litellm name, e.g. openai/gpt-4o).")
        if busy := self._idle("/model"):
            return busy
        result = await self.engine.request(P.SetModel(arg))
        if not result.ok:
            return R.Say(result.message, "error")
        self.settings.model = result.value
        return R.ModelChanged(result.value, result.message)

    async def cmd_plan(self, arg: str) -> R.Reply:
        if self.engine is None:
            return R.ShowPlan([])
        state = self.engine.ctx.state
        return R.ShowPlan([dict(s) for s in state.plan], state.plan_explanation)

    async def cmd_diff(self, arg: str) -> R.Reply:
        if busy := self._idle("/diff"):
            return busy
        checkpoints = self.engine.checkpoints
        if checkpoints is None:
            return R.Say("Checkpoints are off (not a git repository?), so there is no session diff to show.",
                         "warning")
        text = await asyncio.to_thread(checkpoints.session_diff)
        return R.ShowDiff(text) if text.strip() else R.Say("No changes in this session yet.")

    async def cmd_undo(self, arg: str) -> R.Reply:
        if busy := self._idle("/undo"):
            return busy
        result = await self.engine.request(P.Undo())
        if result.code == P.ErrorKind.UNAVAILABLE:
            return R.Say("Nothing to undo: checkpoints are off for this session (they need a git "
                         "repository).", "warning")
        return R.Done() if result.ok or result.code != P.ErrorKind.BUSY else R.Say(result.message, "warning")

    async def cmd_rewind(self, arg: str) -> R.Reply:
        """List the person's messages, or go back to before message N (the Rewind op)."""
        if busy := self._idle("/rewind"):
            return busy
        from de_agent.engine.rewind import rewind_points

        points = rewind_points(self.engine)
        if not points:
            return R.Say("Nothing to rewind: you have not sent a message in this conversation yet.")
        chosen = None
        if arg:
            if not arg.isdigit():
                return R.Say("Use /rewind to choose from a list, or /rewind N for your message N.", "error")
            chosen = int(arg)
            if not any(p.number == chosen for p in points):
                return R.Say(f"There is no message {chosen} to rewind to (you sent {len(points)}).", "error")
        checkpoints = self.engine.checkpoints
        turns = set(await asyncio.to_thread(checkpoints.turns)) if checkpoints is not None else set()
        rows = [(p.number, p.text, any(t >= p.turn for t in turns)) for p in points]
        return R.PickRewind(rows, self.rewind, chosen)

    async def rewind(self, number: int, restore_files: bool) -> R.Reply:
        """Go back to before the person's message ``number``; the front end shows what stays."""
        if busy := self._idle("/rewind"):
            return busy
        from de_agent.engine.rewind import events_from_messages, rewind_points

        points = rewind_points(self.engine)
        point = next((p for p in points if p.number == number), None)
        if point is None:
            return R.Say(f"There is no message {number} to rewind to (you sent {len(points)}).", "error")
        # The view starts afresh with the part that stays; the engine's own events (its notice,
        # the plan, files put back) follow it in order.
        self.host.on_event(P.SessionCleared())
        self.host.replay(events_from_messages(self.engine.messages[:point.position]))
        result = await self.engine.request(P.Rewind(number, restore_files))
        usage = self.engine.usage  # the counters go on
        self.host.on_event(P.Usage(0, 0, 0.0, usage.prompt_tokens, usage.completion_tokens,
                                   usage.cost if usage.cost_known else None))
        if result is None or not result.ok:
            return R.Done()  # the engine said why, as a notice
        return R.Rewound(result.value, point.text)

    async def cmd_compact(self, arg: str) -> R.Reply:
        if busy := self._idle("/compact"):
            return busy
        result = await self.engine.request(P.Compact(arg))
        if result is None or not result.ok:
            return R.Done()  # the engine said why in a notice
        return R.SessionSwitched(result.value)

    async def cmd_queries(self, arg: str) -> R.Reply:
        from de_agent.tools.data.warehouse.ledger import queries_text

        if self.engine is None:
            return R.Say("The engine is still starting; try /queries again in a moment.", "warning")
        return R.Say(await asyncio.to_thread(queries_text, self.engine.session_id))

    async def cmd_mcp(self, arg: str) -> R.Reply:
        from de_agent.frontends.extension_commands import mcp_text

        if self.engine is None:
            return R.Say("The engine is still starting; try /mcp again in a moment.", "warning")
        return R.Say(await asyncio.to_thread(mcp_text, self.engine, arg))

    async def cmd_hooks(self, arg: str) -> R.Reply:
        from de_agent.frontends.extension_commands import hooks_text

        if self.engine is None:
            return R.Say("The engine is still starting; try /hooks again in a moment.", "warning")
        return R.Say(await asyncio.to_thread(hooks_text, self.engine, arg))

    async def cmd_skills(self, arg: str) -> R.Reply:
        from de_agent.frontends.extension_commands import skills_text

        return R.Say(await asyncio.to_thread(skills_text, self.root, arg))

    async def cmd_commands(self, arg: str) -> R.Reply:
        from de_agent.frontends.extension_commands import commands_text

        return R.Say(await asyncio.to_thread(commands_text, self.root, arg))

    async def cmd_memory(self, arg: str) -> R.Reply:
        from de_agent.sessions.context import show_memory

        return R.Say(await asyncio.to_thread(show_memory, self.root))

    async def cmd_specialists(self, arg: str) -> R.Reply:
        catalog = self.engine.interact.catalog if self.engine is not None else None
        if catalog is None or not len(catalog):
            return R.Say("No specialists are available.")
        lines = [f"  {line}" for line in catalog.describe().splitlines()]
        return R.Say("Specialists (type @name TASK to hand a task to one):\n" + "\n".join(lines))

    async def cmd_sessions(self, arg: str) -> R.Reply:
        return await self._sessions(pick=False)

    async def _sessions(self, pick: bool) -> R.Reply:
        from de_agent.sessions.cli import session_rows
        from de_agent.sessions.reader import list_sessions

        infos, problems = await asyncio.to_thread(list_sessions, self.root)
        if pick:
            infos = [i for i in infos if i.id != self.session_id]
        infos = infos[:50 if pick else 30]
        if not infos:
            what = "No other session of this repository to resume." if pick else \
                "No saved sessions for this repository yet."
            return R.Say(what)
        lines = session_rows(infos)
        rows = [(info.id, line) for info, line in zip(infos, lines[1:], strict=True)]
        return R.SessionList(lines[0], rows, [str(p) for p in problems], pick, session_details(infos))

    async def cmd_resume(self, arg: str) -> R.Reply:
        if busy := self._idle("/resume"):
            return busy
        if not arg:
            return await self._sessions(pick=True)
        from de_agent.sessions.cli import resume_by_id

        try:
            resume = await asyncio.to_thread(resume_by_id, self.root, arg)
        except LookupError as exc:
            return R.Say(str(exc), "error")
        return self._restart(resume.session_id, resume)

    async def cmd_clear(self, arg: str) -> R.Reply:
        if busy := self._idle("/clear"):
            return busy
        old = self.session_id
        reply = self._restart(None, None)
        if isinstance(reply, R.SessionSwitched):  # an event: it must come after the panes are cleared
            self.host.on_event(P.Notice(f"New session. The previous one ({old}) stays saved; /resume brings "
                                        "it back."))
        return reply

    def _restart(self, session_id: str | None, resume: Any) -> R.Reply:
        try:
            engine = self.start(session_id, resume)
        except StartFailed as exc:
            return R.Say(f"de-agent: {exc}", "error")  # the old session simply goes on
        return R.SessionSwitched(engine.session_id)


def session_details(infos: list[Any]) -> list[tuple[str, str]]:
    """(id, "title\nturns · model · tokens · cost") for each session, for a two-column grid."""
    from de_agent.sessions.cli import format_cost, format_tokens

    rows = []
    for info in infos:
        tokens = int(info.usage.get("prompt_tokens") or 0) + int(info.usage.get("completion_tokens") or 0)
        turns = f"{info.turns} turn{'' if info.turns == 1 else 's'}"
        rows.append((info.id, f"{info.title or '(no request yet)'}\n{turns} · {info.model} · "
                              f"{format_tokens(tokens)} tokens · {format_cost(info.usage.get('cost'))}"))
    return rows


# Replayed history must not ask again (approvals, questions), restart turns or announce the session twice.
NOT_REPLAYED = frozenset({"approval_request", "question", "session_started", "turn_finished", "result"})
