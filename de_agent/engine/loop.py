"""The engine loop: user turn -> model -> tool calls -> policy -> approval -> run -> model ...

UI-free (never imports textual). Front ends submit ops and consume the typed events of
:mod:`de_agent.protocol`; an approval request is an event whose answer arrives as an
:class:`ApprovalDecision` op, resolving a future the loop awaits.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from de_agent import protocol as P
from de_agent.engine.calls import Pending, ToolCallRunner
from de_agent.engine.extension_steps import ExtensionSteps
from de_agent.engine.policy import Policy
from de_agent.llm.adapter import AssistantReply, LLMError, parse_arguments
from de_agent.security.env import redact
from de_agent.tools.base import Action, Tool, ToolContext

REPEAT_LIMIT = 4


@dataclass
class TurnOutcome:
    reason: str  # completed | max_turns | repeated_calls | interrupted | error
    text: str = ""
    model_calls: int = 0
    error: str = ""
    config_error: bool = False


@dataclass
class SessionUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0
    cost_known: bool = True

    def add(self, reply: AssistantReply) -> None:
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        if reply.cost is None:
            self.cost_known = False
        elif self.cost is not None:
            self.cost += reply.cost

    def as_dict(self) -> dict[str, Any]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "cost": self.cost if self.cost_known else None}




@dataclass
class Engine(ToolCallRunner, ExtensionSteps):
    """One conversation with one model over one repository."""

    llm: Any
    tools: list[Tool]
    ctx: ToolContext
    policy: Policy
    sink: Callable[[P.Event], None]
    system_prompt: str = ""
    session_id: str = ""
    max_turns: int = 50
    headless: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)
    usage: SessionUsage = field(default_factory=SessionUsage)
    recorder: Any = None  # session store (append events and messages)
    checkpoints: Any = None  # git checkpoints (begin_turn/record_changes/end_turn)
    hooks: Any = None  # context budget / compaction (before_model_call)
    extensions: Any = None  # MCP servers, hooks (de_agent.extensions.runtime.Extensions)
    turn_index: int = 0
    _pending: dict[str, Pending] = field(default_factory=dict)
    _task: asyncio.Task | None = None
    _changed_this_turn: bool = False
    _schemas: list[dict[str, Any]] | None = None
    _record_failed: bool = False
    _mcp_version: int = -1
    _session_hooks_ran: bool = False

    def __post_init__(self) -> None:
        self._by_name = {t.name: t for t in self.tools}

    # -- events and ops --------------------------------------------------------------------

    def emit(self, event: P.Event) -> None:
        event = redact_event(event)
        self.record("record_event", event)
        self.sink(event)

    def add_message(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.record("record_message", message)

    def record(self, method: str, *args: Any) -> None:
        """Write to the session file; a failing disk is reported once and never breaks the turn."""
        if self.recorder is None:
            return
        try:
            getattr(self.recorder, method)(*args)
        except OSError as exc:
            if not self._record_failed:
                self._record_failed = True
                self.sink(P.Notice(f"The session file cannot be written ({exc}); this session may not be "
                                   "resumable from here on.", "warning"))

    def submit(self, op: P.Op) -> asyncio.Task | None:
        """Hand the engine an op from a front end; ops that start work return their task."""
        if isinstance(op, P.ApprovalDecision):
            pending = self._pending.get(op.call_id)
            if pending and not pending.future.done():
                pending.future.set_result(op)
        elif isinstance(op, P.Interrupt):
            self.interrupt()
        elif isinstance(op, P.UserTurn):
            if self.busy:
                self.emit(P.Notice("A turn is already running; wait for it or interrupt it first.", "warning"))
                return None
            return self.start_turn(op.text)
        elif isinstance(op, P.Undo):
            return asyncio.create_task(self.undo())
        elif isinstance(op, P.Compact):
            if self.busy:
                self.emit(P.Notice("A turn is running; compact after it ends or interrupt it first.", "warning"))
                return None
            from de_agent.sessions.compact import compact

            return asyncio.create_task(compact(self, op.instructions))
        return None

    def interrupt(self) -> bool:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            return True
        return False

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def tool_schemas(self) -> list[dict[str, Any]]:
        """The tools as the model sees them; built once (call refresh_tools after a change)."""
        self._sync_mcp_tools()
        if self._schemas is None:
            self._schemas = [t.schema(self.ctx) for t in self.tools]
        return self._schemas

    def refresh_tools(self) -> None:
        self._by_name = {t.name: t for t in self.tools}
        self._schemas = None

    def model_messages(self) -> list[dict[str, Any]]:
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return system + self.messages

    # -- the turn --------------------------------------------------------------------------

    def start_turn(self, text: str) -> asyncio.Task:
        self._task = asyncio.create_task(self.run_turn(text))
        return self._task

    async def run_turn(self, text: str) -> TurnOutcome:
        """Run one user request to the end; never raises for model or tool failures."""
        if self._task is None or self._task.done() or self._task is not asyncio.current_task():
            self._task = asyncio.current_task()
        self.turn_index += 1
        self._changed_this_turn = False
        self.policy.new_turn()
        self.record("begin_turn", text)
        self.emit(P.UserMessage(text))
        outcome = TurnOutcome("completed")
        try:
            content = await self._prompt_hooks(text)
            if content is None:
                outcome.reason, outcome.error = "error", "blocked by a UserPromptSubmit hook"
            else:
                self.add_message({"role": "user", "content": content})
                outcome = await self._loop(outcome)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            self._close_dangling_calls("interrupted by the user")
            self._fail_pending()
            outcome.reason = "interrupted"
            self.emit(P.Notice("Turn interrupted; the session is consistent and can go on.", "warning"))
        finally:
            if self.checkpoints is not None and self._changed_this_turn:
                await _despite_interrupts(self._end_checkpoint(text))
        self.emit(P.TurnFinished(outcome.reason, outcome.model_calls))
        self.record("end_turn", outcome.reason, self.usage.as_dict())
        return outcome

    async def _end_checkpoint(self, request: str) -> None:
        try:
            changed = await asyncio.to_thread(self.checkpoints.end_turn, self.turn_index)
            if changed and self.ctx.settings.auto_commit:
                from de_agent.gitops.commit import commit_message

                result = await asyncio.to_thread(self.checkpoints.auto_commit,
                                                 commit_message(request, changed))
                self.emit(P.Notice(f"auto-commit: {result.message}", "info" if result.ok else "warning"))
        except Exception as exc:  # noqa: BLE001 - checkpoints never break a turn
            self.emit(P.Notice(f"checkpoint failed: {exc}", "warning"))

    async def undo(self) -> str:
        """Restore the files the last not-yet-undone turn changed (the Undo op)."""
        if self.busy:
            return "A turn is running; interrupt it before /undo."
        if self.checkpoints is None:
            return "Checkpoints are off (not a git repository), so there is nothing to undo."
        result = await asyncio.to_thread(self.checkpoints.undo)
        self.emit(P.Notice(result.message, "info" if result.ok else "warning"))
        if result.ok:
            note = (f"[de-agent] The user undid the last turn's changes; these files are back to their "
                    f"earlier content: {', '.join(result.restored) or 'none'}.")
            self.add_message({"role": "user", "content": note})
        return result.message

    async def _loop(self, outcome: TurnOutcome) -> TurnOutcome:
        last_signature: str | None = None
        repeats = 0
        while True:
            if outcome.model_calls >= self.max_turns:
                msg = (f"Stopped: the task reached the limit of {self.max_turns} model calls "
                       "(--max-turns). Ask again to continue.")
                self.emit(P.Error(msg))
                outcome.reason, outcome.error = "max_turns", msg
                return outcome
            outcome.model_calls += 1
            if self.hooks is not None:
                try:
                    await self.hooks.before_model_call(self)
                except Exception as exc:  # noqa: BLE001 - a budget problem must not end the turn
                    self.emit(P.Notice(f"context budget check failed: {type(exc).__name__}: {exc}", "warning"))
            try:
                reply = await self._call_model()
            except LLMError as exc:
                if exc.context_overflow and self.hooks is not None and \
                        await self.hooks.on_context_overflow(self):
                    try:
                        reply = await self._call_model()
                    except LLMError as exc2:
                        return self._model_failed(outcome, exc2)
                else:
                    return self._model_failed(outcome, exc)
            if reply.text or reply.tool_calls:  # an empty message is refused by some providers
                self.add_message(reply.message())
            if reply.text:
                self.emit(P.AssistantMessage(reply.text))
                outcome.text = reply.text
            if not reply.tool_calls:
                stop = await self.run_hooks("Stop", text=reply.text, model_calls=outcome.model_calls)
                if stop is not None and stop.blocked:  # the hook wants more work: the model reads why
                    self.add_message({"role": "user", "content": f"[Stop hook] {stop.reason}"})
                    continue
                return outcome
            stop_message = None
            fates: list[tuple[dict, bool, Action | None]] = []
            for call in reply.tool_calls:
                signature = call["name"] + ":" + _normalise_args(call["arguments"])
                if stop_message is None:
                    repeats = repeats + 1 if signature == last_signature else 1
                    last_signature = signature
                    if repeats >= REPEAT_LIMIT:
                        stop_message = (f"Stopped: the model made the same call ({call['name']}) "
                                        f"{REPEAT_LIMIT} times in a row. Rephrase the task or give more detail.")
                if stop_message is not None:
                    try:
                        shown_args = parse_arguments(call["arguments"])
                    except ValueError:
                        shown_args = {"_raw": call["arguments"][:2000]}
                    self.emit(P.ToolCall(call["id"], call["name"], shown_args))  # before its result
                    self._answer(call, False, "Not run: the turn was stopped because the same call "
                                              "repeated without progress.")
                    continue
                ok, action = await self._run_call(call)
                fates.append((call, ok, action))
            self._note_edit_fates(fates)
            if stop_message is not None:
                self.emit(P.Error(stop_message))
                outcome.reason, outcome.error = "repeated_calls", stop_message
                return outcome

    def _model_failed(self, outcome: TurnOutcome, exc: LLMError) -> TurnOutcome:
        self.emit(P.Error(str(exc)))
        outcome.reason, outcome.error, outcome.config_error = "error", str(exc), exc.config
        return outcome

    async def _call_model(self) -> AssistantReply:
        async def on_text(text: str) -> None:
            self.emit(P.AssistantDelta(text))

        await self._await_mcp_servers()
        reply = await self.llm.complete(self.model_messages(), self.tool_schemas(), on_text=on_text)
        self.usage.add(reply)
        self.emit(P.Usage(reply.prompt_tokens, reply.completion_tokens, reply.cost,
                          self.usage.prompt_tokens, self.usage.completion_tokens,
                          self.usage.cost if self.usage.cost_known else None))
        return reply

async def _despite_interrupts(coro: Any) -> None:
    """Await coro to its end even when the turn is interrupted meanwhile (the interrupt is
    absorbed): the turn then still finishes, recorded and announced, with its checkpoint."""
    inner = asyncio.ensure_future(coro)
    while not inner.done():
        try:
            await asyncio.shield(inner)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()


def redact_event(event: P.Event) -> P.Event:
    """The event with the values of secret environment variables masked in every text field."""
    changes: dict[str, Any] = {}
    for f in fields(event):
        value = getattr(event, f.name)
        if isinstance(value, str):
            clean = redact(value)
        elif isinstance(value, dict | list):
            raw = json.dumps(value, ensure_ascii=False)
            clean_raw = redact(raw)
            clean = value if clean_raw == raw else json.loads(clean_raw)
        else:
            continue
        if clean is not value and clean != value:
            changes[f.name] = clean
    return replace(event, **changes) if changes else event


def _normalise_args(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw or "{}"), sort_keys=True)
    except json.JSONDecodeError:
        return raw
