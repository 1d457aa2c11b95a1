"""The engine loop: user turn -> model -> tool calls -> policy -> approval -> run -> model ...

UI-free (never imports textual). Front ends submit ops and consume the typed events of
:mod:`de_agent.protocol`; an approval request is an event whose answer arrives as an
:class:`ApprovalDecision` op, resolving a future the loop awaits.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

from de_agent import protocol as P
from de_agent.engine.calls import ToolCallRunner
from de_agent.engine.contracts import Checkpoints, Hooks, ModelClient, Recorder
from de_agent.engine.extension_steps import ExtensionSteps
from de_agent.engine.interact import Delegation, Interactions
from de_agent.engine.ops import SYNC_OPS, OpHandler
from de_agent.engine.policy import Policy
from de_agent.engine.session import Session, SessionUsage
from de_agent.engine.vision import ImageInput
from de_agent.llm.errors import LLMError
from de_agent.security.env import redact
from de_agent.specialists.catalog import follow_up, parse_direct
from de_agent.tools.base import Tool, ToolContext
from de_agent.tools.registry import ToolRegistry

REPEAT_LIMIT = 4
E = TypeVar("E", bound=P.Event)

__all__ = ["Engine", "SessionUsage", "TurnOutcome", "redact_event"]


@dataclass
class TurnOutcome:
    reason: P.StopReason
    text: str = ""
    model_calls: int = 0
    error: str = ""
    code: P.ErrorKind | None = None
    handoff: dict[str, str] | None = None  # the follow-up the final answer names: {specialist, task}

    @property
    def config_error(self) -> bool:
        return self.code == P.ErrorKind.CONFIG


class Engine:
    """One conversation with one model over one repository.

    Front ends talk to it only through :meth:`submit` (ops in, events out through ``sink``);
    the conversation itself lives in :attr:`session`.
    """

    def __init__(self, *, llm: ModelClient, tools: list[Tool] | ToolRegistry, ctx: ToolContext,
                 policy: Policy, sink: Callable[[P.Event], None], system_prompt: str = "",
                 session_id: str = "", max_turns: int = 50, recorder: Recorder | None = None,
                 checkpoints: Checkpoints | None = None, hooks: Hooks | None = None,
                 delegation: Delegation | None = None, parent: Engine | None = None, depth: int = 0,
                 name: str = "") -> None:
        self.llm = llm
        self.tools = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
        self.ctx = ctx
        self.policy = policy
        self.sink = sink
        self.system_prompt = system_prompt
        self.max_turns = max_turns
        self.checkpoints = checkpoints
        self.hooks = hooks
        self.session = Session(id=session_id, recorder=recorder, state=ctx.state)
        self.calls = ToolCallRunner(self)
        self.ops = OpHandler(self)
        # A specialist's engine has a parent (the engine that handed off), a depth and a name.
        self.parent = parent
        self.depth = depth
        self.name = name
        self.interact = Interactions(self, delegation)
        ctx.interact = self.interact
        self.images = ImageInput(self)
        self.extensions = ExtensionSteps(self)  # MCP servers and hooks (empty until attached)
        self._task: asyncio.Task | None = None
        self._record_failed = False
        if ctx.on_output is None:
            ctx.on_output = self.calls.live_output  # a running command's output, live

    # -- read-only views of the session ------------------------------------------------------

    @property
    def session_id(self) -> str:
        return self.session.id

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.session.messages

    @property
    def usage(self) -> SessionUsage:
        return self.session.usage

    @property
    def recorder(self) -> Recorder | None:
        return self.session.recorder

    @property
    def turn_index(self) -> int:
        return self.session.turn_index

    @property
    def mode(self) -> str:
        return self.policy.mode

    @property
    def model(self) -> str:
        return str(getattr(self.llm, "model", ""))

    # -- events and ops --------------------------------------------------------------------

    def emit(self, event: P.Event) -> None:
        event = redact_event(event)
        self.record("record_event", event)
        self.sink(event)

    def add_message(self, message: dict[str, Any]) -> None:
        self.session.add_message(message)
        self.record("record_message", message)

    def record(self, method: str, *args: Any) -> None:
        """Write to the session file; a failing disk is reported once and never breaks the turn."""
        recorder = self.session.recorder
        if recorder is None:
            return
        try:
            getattr(recorder, method)(*args)
        except OSError as exc:
            if not self._record_failed:
                self._record_failed = True
                self.sink(P.Notice(f"The session file cannot be written ({exc}); this session may not be "
                                   "resumable from here on.", "warning"))

    def submit(self, op: P.Op) -> asyncio.Task | None:
        """Hand the engine an op from a front end; ops that do work return their task.

        The task's result is the op's typed answer (a :class:`~de_agent.protocol.OpResult`,
        or a :class:`TurnOutcome` for a user turn).
        """
        return self.ops.submit(op)

    async def request(self, op: P.Op) -> Any:
        """Submit an op and wait for its answer (None for ops that have none)."""
        if isinstance(op, SYNC_OPS):
            return self.ops.apply(op)
        task = self.submit(op)
        return await task if task is not None else None

    def apply(self, op: P.SetApprovalMode | P.RestoreSession) -> P.OpResult:
        """Ops that take effect at once (mode, restoring a session), with their answer."""
        return self.ops.apply(op)

    def interrupt(self) -> bool:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            return True
        return False

    async def stop(self, timeout: float) -> None:
        """Interrupt a running turn and wait (at most ``timeout``) for it to wind down."""
        task = self._task
        if self.interrupt() and task is not None:
            await asyncio.wait([task], timeout=timeout)

    def close(self) -> None:
        """Close the session file and the checkpoints (the session stays saved and resumable)."""
        for part in (self.session.recorder, self.checkpoints):
            if part is not None:
                try:
                    part.close()
                except Exception:  # noqa: BLE001 - closing never fails the exit
                    pass

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def tool_schemas(self) -> list[dict[str, Any]]:
        """The tools as the model sees them (the registry caches them until a tool is added)."""
        self.extensions.sync_mcp_tools()
        return self.tools.schemas(self.ctx)

    def register_tool(self, tool: Tool) -> None:
        """Add (or replace) a tool at run time; the next model call sees it."""
        self.tools.register(tool)

    def model_messages(self) -> list[dict[str, Any]]:
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return system + self.images.expand(self.session.messages)

    # -- changes of the session (called by compaction and resume, through methods) -----------

    def replace_history(self, messages: list[dict[str, Any]]) -> None:
        self.session.replace_history([])
        for message in messages:
            self.add_message(message)

    def switch_session(self, session_id: str, recorder: Recorder | None) -> None:
        self.session.switch(session_id, recorder)

    def set_changed_files(self, files: list[str]) -> None:
        self.session.set_changed_files(files)

    # -- the turn --------------------------------------------------------------------------

    def start_turn(self, text: str, images: list[dict[str, Any]] | None = None) -> asyncio.Task:
        self._task = asyncio.create_task(self.run_turn(text, images))
        return self._task

    async def run_turn(self, text: str, images: list[dict[str, Any]] | None = None) -> TurnOutcome:
        """Run one user request to the end; never raises for model or tool failures."""
        if self._task is None or self._task.done() or self._task is not asyncio.current_task():
            self._task = asyncio.current_task()
        self.session.begin_turn()
        self.calls.new_turn()
        self.images.new_turn()
        if self.parent is None:  # a specialist shares its parent's policy and its turn
            self.policy.new_turn()
        self.record("begin_turn", text)
        self.emit(P.UserMessage(text))
        outcome = TurnOutcome(P.StopReason.COMPLETED)
        catalog = self.interact.catalog
        try:
            hooked, blocked = await self.extensions.prompt_hooks(text)
            if hooked is None:
                self._stop(outcome, P.StopReason.ERROR, P.ErrorKind.BLOCKED,
                           f"The prompt was blocked by a UserPromptSubmit hook: {blocked}")
            else:
                content = await self.images.user_content(text, images, self._with_attachments(hooked))
                last = self.messages[-1] if self.messages else {}
                if not (last.get("role") == "user" and last.get("content") == content):
                    self.add_message({"role": "user", "content": content})  # a retry is not sent twice
                direct = parse_direct(text, catalog) if catalog is not None else None
                if direct is not None:
                    outcome = await self.interact.direct_handoff(outcome, *direct)
                else:
                    outcome = await self._loop(outcome)
                if catalog is not None and outcome.reason == P.StopReason.COMPLETED and direct is None:
                    outcome.handoff = follow_up(outcome.text, catalog)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            self.calls.close_dangling("interrupted by the user")
            self.calls.fail_pending()
            outcome.reason = P.StopReason.INTERRUPTED
            self.emit(P.Notice("Turn interrupted; the session is consistent and can go on.", "warning"))
        finally:
            if self.checkpoints is not None and self.calls.changed_this_turn:
                await _despite_interrupts(self._end_checkpoint(text))
        self.emit(P.TurnFinished(outcome.reason, outcome.model_calls, handoff=outcome.handoff))
        self.record("end_turn", outcome.reason, self.usage.as_dict())
        return outcome

    def _with_attachments(self, text: str) -> str:
        """The message as the model gets it: ``@path`` files attached (engine/mentions.py)."""
        if "@" not in text:
            return text
        from de_agent.engine.mentions import attach_mentions

        found = attach_mentions(self.ctx.workspace, text)
        for problem in found.problems:
            self.emit(P.Notice(problem, "warning"))
        if found.attached:
            self.emit(P.Notice(f"Attached {', '.join(found.attached)}."))
        return found.text

    async def _end_checkpoint(self, request: str) -> None:
        checkpoints = self.checkpoints
        if checkpoints is None:
            return
        try:
            changed = await asyncio.to_thread(checkpoints.end_turn, self.turn_index)
            if changed and self.ctx.settings.auto_commit:
                from de_agent.gitops.commit import commit_message

                result = await asyncio.to_thread(checkpoints.auto_commit, commit_message(request, changed))
                self.emit(P.Notice(f"auto-commit: {result.message}", "info" if result.ok else "warning"))
        except Exception as exc:  # noqa: BLE001 - checkpoints never break a turn
            self.emit(P.Notice(f"checkpoint failed: {exc}", "warning"))

    async def undo(self) -> str:
        """Restore the files the last not-yet-undone turn changed (the Undo op)."""
        return (await self.ops.undo()).message

    def _stop(self, outcome: TurnOutcome, reason: P.StopReason, code: P.ErrorKind, message: str) -> TurnOutcome:
        self.emit(P.Error(message, code))
        outcome.reason, outcome.error, outcome.code = reason, message, code
        return outcome

    async def _loop(self, outcome: TurnOutcome) -> TurnOutcome:
        last_signature: str | None = None
        repeats = 0
        while True:
            if outcome.model_calls >= self.max_turns:
                return self._stop(outcome, P.StopReason.MAX_TURNS, P.ErrorKind.MAX_TURNS,
                                  f"Stopped: the task reached the limit of {self.max_turns} model calls "
                                  "(--max-turns). Ask again to continue.")
            outcome.model_calls += 1
            if self.hooks is not None:
                try:
                    await self.hooks.before_model_call(self)
                except Exception as exc:  # noqa: BLE001 - a budget problem must not end the turn
                    self.emit(P.Notice(f"context budget check failed: {type(exc).__name__}: {exc}", "warning"))
            try:
                reply = await self._call_model()
            except LLMError as exc:
                if exc.kind == P.ErrorKind.CONTEXT_OVERFLOW and self.hooks is not None and \
                        await self.hooks.on_context_overflow(self):
                    try:
                        reply = await self._call_model()
                    except LLMError as exc2:
                        return self._stop(outcome, P.StopReason.ERROR, exc2.kind, str(exc2))
                else:
                    return self._stop(outcome, P.StopReason.ERROR, exc.kind, str(exc))
            if not reply.tool_calls and (note := self.calls.verification_note(reply.text)):
                reply.text = f"{reply.text.rstrip()}\n\n{note}" if reply.text.strip() else note
            if reply.text or reply.tool_calls:  # an empty message is refused by some providers
                self.add_message(reply.message())
            if reply.text:
                self.emit(P.AssistantMessage(reply.text))
                outcome.text = reply.text
            if not reply.tool_calls:
                stop = await self.extensions.run_hooks("Stop", text=reply.text, model_calls=outcome.model_calls)
                if stop is not None and stop.blocked:  # the hook wants more work: the model reads why
                    self.add_message({"role": "user", "content": f"[Stop hook] {stop.reason}"})
                    continue
                return outcome
            stop_message = None
            fates: list[tuple[dict, bool]] = []
            batch: list[dict] = []  # read-only handoffs of this reply, run together
            for call in reply.tool_calls:
                signature = call["name"] + ":" + _normalise_args(call["arguments"])
                if stop_message is None:
                    repeats = repeats + 1 if signature == last_signature else 1
                    last_signature = signature
                    if repeats >= REPEAT_LIMIT:
                        stop_message = (f"Stopped: the model made the same call ({call['name']}) "
                                        f"{REPEAT_LIMIT} times in a row. Rephrase the task or give more detail.")
                if stop_message is not None:
                    self.calls.skip(call, "Not run: the turn was stopped because the same call "
                                          "repeated without progress.")
                    continue
                if self.calls.parallel_safe(call):
                    batch.append(call)
                    continue
                fates += await self.calls.run_batch(batch)
                batch = []
                fates.append((call, await self.calls.run(call)))
            fates += await self.calls.run_batch(batch)
            self.calls.note_edit_fates(fates)
            self.images.flush()
            if stop_message is not None:
                return self._stop(outcome, P.StopReason.REPEATED_CALLS, P.ErrorKind.REPEATED_CALLS,
                                  stop_message)

    async def _call_model(self) -> Any:
        async def on_text(text: str) -> None:
            self.emit(P.AssistantDelta(text))

        await self.extensions.await_mcp_servers()
        reply = await self.llm.complete(self.model_messages(), self.tool_schemas(), on_text=on_text)
        self.note_usage(reply)
        return reply

    def note_usage(self, reply: Any) -> None:
        """Count a model reply's tokens and cost in the session, and say so (a usage event)."""
        usage = self.session.usage
        usage.add(reply)
        self.emit(P.Usage(reply.prompt_tokens, reply.completion_tokens, reply.cost,
                          usage.prompt_tokens, usage.completion_tokens,
                          usage.cost if usage.cost_known else None))


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


def redact_event(event: E) -> E:
    """The event with the values of secret environment variables masked in every text field."""
    changes: dict[str, Any] = {}
    for f in fields(event):
        value = getattr(event, f.name)
        clean: Any
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
