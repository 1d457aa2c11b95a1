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
from de_agent.engine.policy import Policy
from de_agent.llm.adapter import AssistantReply, LLMError, parse_arguments
from de_agent.security.env import redact
from de_agent.tools.base import EDIT, EXECUTE, Action, Outcome, Tool, ToolContext, ToolError, bound_text

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
class _Pending:
    future: asyncio.Future
    request: P.ApprovalRequest


@dataclass
class Engine:
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
    turn_index: int = 0
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _task: asyncio.Task | None = None
    _changed_this_turn: bool = False
    _schemas: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        self._by_name = {t.name: t for t in self.tools}

    # -- events and ops --------------------------------------------------------------------

    def emit(self, event: P.Event) -> None:
        event = redact_event(event)
        if self.recorder is not None:
            self.recorder.record_event(event)
        self.sink(event)

    def add_message(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if self.recorder is not None:
            self.recorder.record_message(message)

    def submit(self, op: P.Op) -> None:
        """Hand the engine an op from a front end (approval decisions, interrupts)."""
        if isinstance(op, P.ApprovalDecision):
            pending = self._pending.get(op.call_id)
            if pending and not pending.future.done():
                pending.future.set_result(op)
        elif isinstance(op, P.Interrupt):
            self.interrupt()

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
        if self.recorder is not None:
            self.recorder.begin_turn(text)
        self.emit(P.UserMessage(text))
        self.add_message({"role": "user", "content": text})
        outcome = TurnOutcome("completed")
        try:
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
                await self._end_checkpoint(text)
        self.emit(P.TurnFinished(outcome.reason, outcome.model_calls))
        if self.recorder is not None:
            self.recorder.end_turn(outcome.reason, self.usage.as_dict())
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
                await self.hooks.before_model_call(self)
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
            self.add_message(reply.message())
            if reply.text:
                self.emit(P.AssistantMessage(reply.text))
                outcome.text = reply.text
            if not reply.tool_calls:
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

        reply = await self.llm.complete(self.model_messages(), self.tool_schemas(), on_text=on_text)
        self.usage.add(reply)
        self.emit(P.Usage(reply.prompt_tokens, reply.completion_tokens, reply.cost,
                          self.usage.prompt_tokens, self.usage.completion_tokens,
                          self.usage.cost if self.usage.cost_known else None))
        return reply

    # -- one tool call ---------------------------------------------------------------------

    def _answer(self, call: dict, ok: bool, output: str, display: dict | None = None,
                name: str | None = None) -> None:
        output = bound_text(output, what="tool output")
        self.emit(P.ToolResult(call["id"], name or call["name"], ok, output, display))
        self.add_message({"role": "tool", "tool_call_id": call["id"], "content": output})

    async def _run_call(self, call: dict) -> tuple[bool, Action | None]:
        name = call["name"]
        try:
            args = parse_arguments(call["arguments"])
        except ValueError as exc:
            self.emit(P.ToolCall(call["id"], name, {"_raw": call["arguments"][:2000]}))
            self._answer(call, False, f"Could not run {name}: {exc}. Send the call again with valid JSON.")
            return False, None
        self.emit(P.ToolCall(call["id"], name, args))
        tool = self._by_name.get(name)
        if tool is None:
            self._answer(call, False, f"Unknown tool {name!r}. Available tools: "
                                      f"{', '.join(sorted(self._by_name))}.")
            return False, None
        try:
            action = await tool.prepare(args, self.ctx)
        except ToolError as exc:
            self._answer(call, False, f"{name} failed: {exc}")
            return False, None
        except PermissionError as exc:
            self._answer(call, False, f"{name} refused: {exc}")
            return False, None
        except Exception as exc:  # noqa: BLE001 - a tool bug is a result, never a crash
            self._answer(call, False, f"{name} failed unexpectedly: {type(exc).__name__}: {exc}")
            return False, None
        for change in action.changes:
            self.emit(P.Diff(change.file_path, change.diff, "proposed", call["id"]))

        decision = self.policy.decide(name, args, action)
        hunks: list[int] | None = None
        if decision.verdict == "deny":
            self.emit(P.Approval(call["id"], "denied", "policy", decision.reason))
            self._answer(call, False, f"Denied by policy: {decision.reason}.")
            return False, action
        if decision.verdict == "ask":
            if self.headless:
                self.emit(P.Approval(call["id"], "denied", "headless", decision.reason))
                self._answer(call, False,
                             f"Denied: de-agent is running headless, so nobody can approve this "
                             f"({decision.reason}) in approval mode '{self.policy.mode}'. Do not retry it; "
                             "carry on without it and tell the user what to run or approve.")
                self.policy.remember(name, args, action, "deny", None)
                return False, action
            answer = await self._ask(call, name, action, decision.reason, decision.always_pattern)
            self.policy.remember(name, args, action, answer.choice, decision.always_pattern)
            if not answer.approved:
                self.emit(P.Approval(call["id"], "denied", "user", answer.note))
                note = f" The user said: {answer.note}" if answer.note else ""
                self._answer(call, False, f"The user denied this {name} call.{note} Do not repeat it "
                                          "unchanged; adjust your approach or ask the user.")
                return False, action
            self.emit(P.Approval(call["id"], "approved", "user", answer.choice))
            hunks = answer.hunks
        else:
            self.emit(P.Approval(call["id"], "approved", "policy", decision.reason))

        if action.kind in (EDIT, EXECUTE) and self.checkpoints is not None and not self._changed_this_turn:
            try:
                await asyncio.to_thread(self.checkpoints.begin_turn, self.turn_index)
            except Exception as exc:  # noqa: BLE001
                self.emit(P.Notice(f"checkpoint failed: {exc}", "warning"))
        if action.kind in (EDIT, EXECUTE):
            self._changed_this_turn = True
        try:
            outcome = await action.run(hunks)
        except asyncio.CancelledError:
            self._answer(call, False, "Interrupted by the user before it finished.")
            raise
        except ToolError as exc:
            outcome = Outcome(False, f"{name} failed: {exc}")
        except PermissionError as exc:
            outcome = Outcome(False, f"{name} refused: {exc}")
        except Exception as exc:  # noqa: BLE001
            outcome = Outcome(False, f"{name} failed unexpectedly: {type(exc).__name__}: {exc}")
        for path, diff in outcome.applied_diffs:
            self.emit(P.Diff(path, diff, "applied", call["id"]))
        if outcome.changed and self.checkpoints is not None:
            try:
                self.checkpoints.record_changes(self.turn_index, outcome.changed)
            except Exception:  # noqa: BLE001
                pass
        self._answer(call, outcome.ok, outcome.output, outcome.display)
        if name == "update_plan" and outcome.ok:
            self.emit(P.PlanUpdated(list(self.ctx.state.get("plan", [])),
                                    self.ctx.state.get("plan_explanation", "")))
        return outcome.ok, action

    async def _ask(self, call: dict, name: str, action: Action, reason: str,
                   pattern: str | None) -> P.ApprovalDecision:
        request = P.ApprovalRequest(
            call_id=call["id"], name=name, kind=action.kind, summary=action.summary,
            command=action.command, cwd=str(self.ctx.workspace.root) if action.command else None,
            sandbox=self.ctx.sandbox_name if action.command else None,
            diffs=[{"file_path": c.file_path, "diff": c.diff} for c in action.changes],
            always_pattern=pattern, reason=reason)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[call["id"]] = _Pending(future, request)
        self.emit(request)
        try:
            return await future
        finally:
            self._pending.pop(call["id"], None)

    def _fail_pending(self) -> None:
        for pending in list(self._pending.values()):
            if not pending.future.done():
                pending.future.cancel()
        self._pending.clear()

    def _note_edit_fates(self, fates: list[tuple[dict, bool, Action | None]]) -> None:
        """When one reply carries several edits and only some applied, say which, once."""
        edits = [(c, ok) for c, ok, a in fates if a is not None and a.kind == EDIT]
        applied = [c for c, ok in edits if ok]
        failed = [c for c, ok in edits if not ok]
        if len(edits) < 2 or not applied or not failed:
            return
        listing = ", ".join(f"{c['name']} {_short_path(c)} ({c['id']})" for c in applied)
        note = (f"\n\nOf the {len(edits)} edits in your last reply, these applied: {listing}. "
                "Do not resend them; send only corrected versions of the failed ones.")
        for message in reversed(self.messages):
            if message.get("role") == "tool" and message.get("tool_call_id") == failed[-1]["id"]:
                message["content"] += note
                break

    def _close_dangling_calls(self, why: str) -> None:
        """Give every tool call of the last assistant message a result (providers require it)."""
        answered = {m.get("tool_call_id") for m in self.messages if m.get("role") == "tool"}
        for message in reversed(self.messages):
            if message.get("role") == "assistant":
                for tc in message.get("tool_calls") or []:
                    if tc["id"] not in answered:
                        call = {"id": tc["id"], "name": tc["function"]["name"]}
                        self._answer(call, False, f"Not completed: {why}.")
                break


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


def _short_path(call: dict) -> str:
    try:
        return str(json.loads(call.get("arguments") or "{}").get("file_path", ""))
    except json.JSONDecodeError:
        return ""
