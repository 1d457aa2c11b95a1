"""Running one tool call under the policy: prepare, show the diff, decide, ask, run, answer.

A mixin of :class:`de_agent.engine.loop.Engine`; it uses the engine's ``emit``,
``add_message``, ``ctx``, ``policy``, ``checkpoints`` and ``headless``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from de_agent import protocol as P
from de_agent.llm.adapter import parse_arguments
from de_agent.tools.base import EDIT, EXECUTE, Action, Outcome, ToolError, bound_text


@dataclass
class Pending:
    future: asyncio.Future
    request: P.ApprovalRequest


class ToolCallRunner:
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
        pre = await self.run_hooks("PreToolUse", name, tool_input=args)
        if pre is not None and pre.blocked:
            self._answer(call, False, f"Blocked by a PreToolUse hook: {pre.reason}")
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
        post = await self.run_hooks("PostToolUse", name, tool_input=args, ok=outcome.ok,
                                    tool_output=outcome.output[:20_000])
        if post is not None:
            notes = ([f"[PostToolUse hook] {post.reason}"] if post.blocked else []) + \
                [f"[hook context] {c}" for c in post.context]
            if notes:
                outcome.output = outcome.output.rstrip("\n") + "\n\n" + "\n".join(notes)
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
        self._pending[call["id"]] = Pending(future, request)
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
        # By the tool's kind: an edit whose old_string was not found fails before it has an action.
        edits = [(c, ok) for c, ok, _a in fates
                 if getattr(self._by_name.get(c["name"]), "kind", None) == EDIT]
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
                self.record("record_amend", failed[-1]["id"], note)
                break

    def _close_dangling_calls(self, why: str) -> None:
        """Give every tool call of the last assistant message a result (providers require it)."""
        answered: set[str] = set()  # only results after that message count: ids can repeat
        for message in reversed(self.messages):
            if message.get("role") == "tool":
                answered.add(message.get("tool_call_id"))
            elif message.get("role") == "assistant":
                for tc in message.get("tool_calls") or []:
                    if tc["id"] not in answered:
                        call = {"id": tc["id"], "name": tc["function"]["name"]}
                        self._answer(call, False, f"Not completed: {why}.")
                break


def _short_path(call: dict) -> str:
    try:
        return str(json.loads(call.get("arguments") or "{}").get("file_path", ""))
    except json.JSONDecodeError:
        return ""
