"""Running one tool call under the policy: validate, prepare, show the diff, decide, ask, run, answer.

A part of :class:`de_agent.engine.loop.Engine` (composition: the engine owns one
``ToolCallRunner`` and the runner reaches the engine's ``emit``, ``add_message``,
``ctx``, ``policy`` and ``checkpoints`` through it). Every failure becomes a tool result
with an :class:`~de_agent.protocol.ErrorKind` code; a tool's own events (the plan) are
emitted after its result.

SQL edits get their blast radius in the background (a second proposed ``diff`` event with
``impact``), the person may ask for a data diff before deciding, and data diff headlines
are kept for the closing answer and linked to the plan step in progress.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from de_agent import protocol as P
from de_agent.llm.adapter import parse_arguments
from de_agent.security.env import redact
from de_agent.tools.base import CURRENT_CALL, EDIT, EXECUTE, Action, Outcome, ToolError, bound_text

if TYPE_CHECKING:
    from de_agent.engine.loop import Engine

K = P.ErrorKind


@dataclass
class Pending:
    future: asyncio.Future
    request: P.ApprovalRequest


class ToolCallRunner:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pending: dict[str, Pending] = {}
        self.changed_this_turn = False
        self.impacts: dict[str, asyncio.Task] = {}  # call id -> blast radius being computed
        self.verifications: list[dict[str, str]] = []  # DataDiff headlines of this turn
        self.warmed: set[str] = set()  # model files whose project graph was started ahead of an edit
        self.background: set[asyncio.Task] = set()

    def new_turn(self) -> None:
        self.changed_this_turn = False
        self.verifications = []

    def _verified(self, call_id: str, display: dict) -> None:
        """A data diff ran: remember its headline for the closing summary; link the plan step it verifies."""
        headline = str(display.get("headline") or "")
        self.verifications.append({"call_id": call_id, "headline": headline})
        state = self.engine.ctx.state
        step = next((s for s in state.plan if s.get("status") == "in_progress"), None)
        if step is None:
            return
        step["verified_by"] = call_id  # the tool result of this call holds the full diff
        step["verification"] = headline
        self.engine.emit(P.PlanUpdated([dict(s) for s in state.plan], state.plan_explanation))

    def verification_note(self, text: str) -> str:
        """The data diff headlines a closing answer must carry and does not yet."""
        missing = [v for v in self.verifications if v["headline"] and v["headline"] not in text]
        return "\n".join(f"Verification (DataDiff {v['call_id']}): {v['headline']}" for v in missing)

    # -- one tool call ---------------------------------------------------------------------

    def live_output(self, text: str) -> None:
        """A running call's output as it arrives: to the front ends only, never recorded."""
        call_id = CURRENT_CALL.get()
        if call_id and text:
            self.engine.sink(P.ToolOutput(call_id, redact(text)))

    def answer(self, call: dict, ok: bool, output: str, display: dict | None = None,
               code: P.ErrorKind | None = None) -> None:
        output = redact(bound_text(output, what="tool output"))  # the one mask for what is sent out
        if not ok and code is None:
            code = K.TOOL_FAILED
        summary = self.engine.tools.result_summary(call["name"], ok, output, display)
        self.engine.emit(P.ToolResult(call["id"], call["name"], ok, output, display, None if ok else code,
                                      summary))
        self.engine.add_message({"role": "tool", "tool_call_id": call["id"], "content": output})

    def skip(self, call: dict, why: str) -> None:
        """Show a call and answer it without running it (a stopped turn)."""
        try:
            shown_args = parse_arguments(call["arguments"])
        except ValueError:
            shown_args = {"_raw": call["arguments"][:2000]}
        summary = self.engine.tools.call_summary(call["name"], shown_args)
        self.engine.emit(P.ToolCall(call["id"], call["name"], shown_args, summary))  # before its result
        self.answer(call, False, why, code=K.REPEATED_CALLS)

    async def run(self, call: dict) -> bool:
        """Run one call of the model's reply to its result; True when it succeeded."""
        engine = self.engine
        name = call["name"]
        try:
            args = parse_arguments(call["arguments"])
        except ValueError as exc:
            engine.emit(P.ToolCall(call["id"], name, {"_raw": call["arguments"][:2000]}))
            self.answer(call, False, f"Could not run {name}: {exc}. Send the call again with valid JSON.",
                        code=K.INVALID_ARGUMENTS)
            return False
        engine.emit(P.ToolCall(call["id"], name, args, engine.tools.call_summary(name, args)))
        self._warm_graph(args)
        tool = engine.tools.get(name)
        if tool is None:
            self.answer(call, False, f"Unknown tool {name!r}. Available tools: "
                                     f"{', '.join(sorted(engine.tools.names()))}.", code=K.UNKNOWN_TOOL)
            return False
        pre = await engine.extensions.run_hooks("PreToolUse", name, tool_input=args)
        if pre is not None and pre.blocked:
            self.answer(call, False, f"Blocked by a PreToolUse hook: {pre.reason}", code=K.BLOCKED)
            return False
        try:
            action = await engine.tools.prepare(tool, args, engine.ctx)
        except Exception as exc:  # noqa: BLE001 - a tool bug is a result, never a crash
            output, code = failure(name, exc)
            self.answer(call, False, output, code=code)
            return False
        for change in action.changes:
            engine.emit(P.Diff(change.file_path, change.diff, "proposed", call["id"]))
        self._start_impact(call["id"], action)
        try:
            if engine.policy.nobody_answers:  # headless: nobody waits on the approval, so the diff comes whole
                await self._impact_done(call["id"])
            hunks = await self._approve(call, name, args, action)
            if hunks is False:
                return False
            await self._impact_done(call["id"])  # computed on the files as they were, so before the edit
            return await self._execute(call, name, args, action, hunks if isinstance(hunks, list) else None)
        finally:
            self.impacts.pop(call["id"], None)

    def _warm_graph(self, args: dict) -> None:
        """A call that reads or edits a dbt model: build the project graph now, so the blast radius is quick."""
        path = args.get("file_path") if isinstance(args, dict) else None
        if not isinstance(path, str) or not path.lower().endswith(".sql") or path in self.warmed:
            return
        self.warmed.add(path)
        from de_agent.tools.data.helpers.impact import warm

        async def build() -> None:
            try:
                rel = str(self.engine.ctx.workspace.relative(path))
                await asyncio.to_thread(warm, self.engine.ctx.workspace, rel)
            except Exception:  # noqa: BLE001 - only a head start; the impact reports its own errors
                pass

        self.background.add(task := asyncio.get_running_loop().create_task(build()))
        task.add_done_callback(self.background.discard)

    def _start_impact(self, call_id: str, action: Action) -> None:
        """The blast radius of SQL edits, in the background: it comes as a diff event with ``impact``."""
        from de_agent.tools.data.helpers.impact import touches_sql

        changes = [c for c in action.changes if c.new_text is not None and touches_sql(c.file_path)]
        if not changes:
            return
        engine = self.engine

        async def compute() -> None:
            from de_agent.tools.data.helpers.impact import compute_impact, headline

            for change in changes:
                try:
                    impact = await asyncio.to_thread(compute_impact, engine.ctx.workspace, change.file_path,
                                                     change.new_text or "")
                except Exception as exc:  # noqa: BLE001 - a failed blast radius never stops the edit
                    impact = {"file_path": change.file_path, "error": f"{type(exc).__name__}: {exc}"}
                    impact["headline"] = headline(impact)
                if impact is not None:
                    engine.emit(P.Diff(change.file_path, change.diff, "proposed", call_id, impact))

        self.impacts[call_id] = asyncio.get_running_loop().create_task(compute())

    async def _impact_done(self, call_id: str, timeout: float = 30.0) -> None:
        task = self.impacts.get(call_id)
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                self.engine.emit(P.Notice("the blast radius is still being computed; the edit goes ahead", "warning"))

    async def _approve(self, call: dict, name: str, args: dict, action: Action) -> list[int] | bool | None:
        """None or the chosen hunks when the call may run; False (answered already) when not."""
        engine, policy = self.engine, self.engine.policy
        decision = policy.decide(name, args, action)
        if decision.verdict == "deny":
            engine.emit(P.Approval(call["id"], "denied", "policy", decision.reason))
            self.answer(call, False, f"Denied by policy: {decision.reason}.", code=K.DENIED)
            return False
        if decision.verdict == "allow":
            engine.emit(P.Approval(call["id"], "approved", "policy", decision.reason))
            return None
        if policy.nobody_answers:
            engine.emit(P.Approval(call["id"], "denied", "headless", decision.reason))
            self.answer(call, False,
                        f"Denied: de-agent is running headless, so nobody can approve this "
                        f"({decision.reason}) in approval mode '{policy.mode}'. Do not retry it; "
                        "carry on without it and tell the user what to run or approve.", code=K.DENIED)
            policy.remember(name, args, action, "deny", None)
            return False
        answer = await self._ask(call, name, action, decision.reason, decision.always_pattern)
        while answer.choice == "data_diff":  # "diff the data first": build both versions, then ask again
            text = await self._data_diff(call["id"], action, answer.sample)
            answer = await self._ask(call, name, action, decision.reason, decision.always_pattern, text)
        policy.remember(name, args, action, answer.choice, decision.always_pattern)
        if not answer.approved:
            engine.emit(P.Approval(call["id"], "denied", "user", answer.note))
            said = answer.note.strip()
            note = f" The user said: {said}{'' if said[-1:] in '.!?' else '.'}" if said else ""
            self.answer(call, False, f"The user denied this {name} call.{note} Do not repeat it "
                                     "unchanged; adjust your approach or ask the user.", code=K.DENIED)
            return False
        engine.emit(P.Approval(call["id"], "approved", "user", answer.choice))
        return answer.hunks

    async def _execute(self, call: dict, name: str, args: dict, action: Action,
                       hunks: list[int] | None) -> bool:
        engine = self.engine
        checkpoints = engine.checkpoints
        if action.kind in (EDIT, EXECUTE) and checkpoints is not None and not self.changed_this_turn:
            try:
                await asyncio.to_thread(checkpoints.begin_turn, engine.turn_index)
            except Exception as exc:  # noqa: BLE001
                engine.emit(P.Notice(f"checkpoint failed: {exc}", "warning"))
        if action.kind in (EDIT, EXECUTE):
            self.changed_this_turn = True
        token = CURRENT_CALL.set(call["id"])
        try:
            outcome = await action.run(hunks)
        except asyncio.CancelledError:
            self.answer(call, False, "Interrupted by the user before it finished.", code=K.INTERRUPTED)
            raise
        except Exception as exc:  # noqa: BLE001
            output, code = failure(name, exc)
            outcome = Outcome(False, output, code=code)
        finally:
            CURRENT_CALL.reset(token)
        for path, diff in outcome.applied_diffs:
            engine.emit(P.Diff(path, diff, "applied", call["id"]))
        if outcome.changed and checkpoints is not None:
            try:
                checkpoints.record_changes(engine.turn_index, outcome.changed)
            except Exception:  # noqa: BLE001
                pass
        post = await engine.extensions.run_hooks("PostToolUse", name, tool_input=args, ok=outcome.ok,
                                                 tool_output=outcome.output[:20_000])
        if post is not None:
            notes = ([f"[PostToolUse hook] {post.reason}"] if post.blocked else []) + \
                [f"[hook context] {c}" for c in post.context]
            if notes:
                outcome.output = outcome.output.rstrip("\n") + "\n\n" + "\n".join(notes)
        self.answer(call, outcome.ok, outcome.output, outcome.display, outcome.code)
        if outcome.images:
            engine.images.collect(name, call, outcome.images)
        for event in outcome.events:
            engine.emit(event)
        if outcome.ok and outcome.display is not None and outcome.display.get("kind") == "datadiff":
            self._verified(call["id"], outcome.display)
        return outcome.ok

    def parallel_safe(self, call: dict) -> bool:
        """May this call run alongside its neighbours of the same reply (a read-only handoff)?"""
        tool = self.engine.tools.get(call["name"])
        if tool is None:
            return False
        try:
            args = json.loads(call["arguments"] or "{}")
        except json.JSONDecodeError:
            return False
        return isinstance(args, dict) and tool.parallel_safe(args, self.engine.ctx)

    async def run_batch(self, batch: list[dict]) -> list[tuple[dict, bool]]:
        """Run calls that may overlap at the same time; their answers keep the reply's order."""
        if len(batch) <= 1:
            return [(call, await self.run(call)) for call in batch]
        results = await asyncio.gather(*(self.run(call) for call in batch))
        return list(zip(batch, results, strict=True))

    def decide(self, decision: P.ApprovalDecision) -> None:
        """A person's answer to an approval request (the ApprovalDecision op)."""
        pending = self.pending.get(decision.call_id)
        if pending and not pending.future.done():
            pending.future.set_result(decision)

    async def _data_diff(self, call_id: str, action: Action, sample: int | None = None) -> str:
        from de_agent.tools.data.datadiff import diff_change

        parts = []
        for change in action.changes:
            if change.new_text is None:
                continue
            try:
                text, display = await diff_change(self.engine.ctx, change.file_path, change.new_text, sample)
            except Exception as exc:  # noqa: BLE001 - a failed data diff is shown, never a crash
                parts.append(f"Data diff of {change.file_path} failed: {failure('DataDiff', exc)[0]}")
                continue
            parts.append(text)
            self.verifications.append({"call_id": call_id, "headline": str(display.get("headline", ""))})
        return redact("\n".join(parts))

    async def _ask(self, call: dict, name: str, action: Action, reason: str,
                   pattern: str | None, data_diff: str = "") -> P.ApprovalDecision:
        from de_agent.tools.data.helpers.impact import touches_sql

        ctx = self.engine.ctx
        request = P.ApprovalRequest(
            call_id=call["id"], name=name, kind=action.kind, summary=action.summary,
            command=action.command, cwd=str(ctx.workspace.root) if action.command else None,
            sandbox=ctx.sandbox_name if action.command else None,
            diffs=[{"file_path": c.file_path, "diff": c.diff} for c in action.changes],
            always_pattern=pattern, reason=reason, data_diff=data_diff,
            can_diff_data=any(c.new_text is not None and touches_sql(c.file_path) for c in action.changes))
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.pending[call["id"]] = Pending(future, request)
        self.engine.emit(request)
        try:
            return await future
        finally:
            self.pending.pop(call["id"], None)

    def fail_pending(self) -> None:
        for pending in list(self.pending.values()):
            if not pending.future.done():
                pending.future.cancel()
        self.pending.clear()

    def note_edit_fates(self, fates: list[tuple[dict, bool]]) -> None:
        """When one reply carries several edits and only some applied, say which, once."""
        # By the tool's kind: an edit whose old_string was not found fails before it has an action.
        edits = [(c, ok) for c, ok in fates
                 if getattr(self.engine.tools.get(c["name"]), "kind", None) == EDIT]
        applied = [c for c, ok in edits if ok]
        failed = [c for c, ok in edits if not ok]
        if len(edits) < 2 or not applied or not failed:
            return
        listing = ", ".join(f"{c['name']} {_short_path(c)} ({c['id']})" for c in applied)
        note = (f"\n\nOf the {len(edits)} edits in your last reply, these applied: {listing}. "
                "Do not resend them; send only corrected versions of the failed ones.")
        for message in reversed(self.engine.messages):
            if message.get("role") == "tool" and message.get("tool_call_id") == failed[-1]["id"]:
                message["content"] += note
                self.engine.record("record_amend", failed[-1]["id"], note)
                break

    def close_dangling(self, why: str) -> None:
        """Give every tool call of the last assistant message a result (providers require it)."""
        answered: set[str] = set()  # only results after that message count: ids can repeat
        for message in reversed(self.engine.messages):
            if message.get("role") == "tool":
                answered.add(str(message.get("tool_call_id") or ""))
            elif message.get("role") == "assistant":
                for tc in message.get("tool_calls") or []:
                    if tc["id"] not in answered:
                        call = {"id": tc["id"], "name": tc["function"]["name"]}
                        self.answer(call, False, f"Not completed: {why}.", code=K.INTERRUPTED)
                break


def failure(name: str, exc: BaseException) -> tuple[str, P.ErrorKind]:
    """The result text and error kind for an exception a tool raised."""
    if isinstance(exc, ToolError):
        return f"{name} failed: {exc}", exc.kind
    if isinstance(exc, PermissionError):
        return f"{name} refused: {exc}", K.REFUSED
    return f"{name} failed unexpectedly: {type(exc).__name__}: {exc}", K.INTERNAL


def _short_path(call: dict) -> str:
    try:
        return str(json.loads(call.get("arguments") or "{}").get("file_path", ""))
    except json.JSONDecodeError:
        return ""
