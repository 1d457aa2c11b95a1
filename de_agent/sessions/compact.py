"""Compaction: replace a long conversation with a summary, in a new session linked to its parent.

The model writes the summary in a separate call (no tools) from a transcript of the
conversation; the plan and the list of changed files are carried over verbatim. The new
session gets a new id and file whose metadata names its parent, the engine's history
becomes the summary message (which tells the model what happened), and the person sees a
notice. ``/compact [instructions]`` calls :func:`compact` directly.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from de_agent import protocol as P
from de_agent.engine.prompt import read_prompt
from de_agent.sessions.store import SessionRecorder, new_session_id

TOOL_RESULT_CHARS = 1_500  # per tool result in the transcript sent for summarising
TRANSCRIPT_SHARE = 0.5  # of the context window, for the transcript
CHARS_PER_TOKEN = 3

FALLBACK_PROMPT = ("Summarise this coding session so that the work can continue from the summary alone: "
                   "the goal, what was done (with paths), decisions, and the next step.")


def render_transcript(messages: list[dict[str, Any]], limit_chars: int) -> str:
    """A plain-text transcript, newest part kept when it is too long (the first request always)."""
    names: dict[str, str] = {}
    blocks: list[str] = []
    for message in messages:
        role = message.get("role")
        content = message.get("content")
        text = content if isinstance(content, str) else json.dumps(content or "", ensure_ascii=False)
        if role == "user":
            blocks.append(f"PERSON: {text}")
        elif role == "assistant":
            if text:
                blocks.append(f"ASSISTANT: {text}")
            for call in message.get("tool_calls") or []:
                fn = call.get("function") or {}
                names[call.get("id", "")] = fn.get("name", "?")
                blocks.append(f"TOOL CALL {fn.get('name', '?')}: {(fn.get('arguments') or '')[:TOOL_RESULT_CHARS]}")
        elif role == "tool":
            if len(text) > TOOL_RESULT_CHARS:
                text = text[:TOOL_RESULT_CHARS] + f"\n[... {len(text) - TOOL_RESULT_CHARS:,} more characters]"
            blocks.append(f"TOOL RESULT {names.get(message.get('tool_call_id', ''), '')}: {text}")
    if not blocks:
        return ""
    first, rest = blocks[0], blocks[1:]
    kept: list[str] = []
    used = len(first)
    for block in reversed(rest):
        if used + len(block) + 2 > limit_chars:
            kept.append(f"[... {len(rest) - len(kept)} earlier messages omitted to fit the context window ...]")
            break
        kept.append(block)
        used += len(block) + 2
    return "\n\n".join([first[:limit_chars], *reversed(kept)])


def render_plan(plan: list[dict[str, str]], explanation: str = "") -> str:
    lines = [explanation] if explanation else []
    lines += [f"- [{step.get('status', 'pending')}] {step.get('step', '')}" for step in plan]
    return "\n".join(lines)


def _changed_files(engine: Any) -> list[str]:
    files: dict[str, None] = dict.fromkeys(engine.ctx.state.changed_files)
    recorder = engine.recorder
    if recorder is not None and recorder.path.exists():
        from de_agent.sessions.reader import SessionFileError, load_session

        try:
            files.update(dict.fromkeys(load_session(recorder.path).changed_files))
        except SessionFileError:
            pass
    return list(files)


def _last_request(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return ""


async def summarise(engine: Any, instructions: str = "") -> tuple[str, str | None]:
    """(summary, problem): the model's summary of the conversation, or a plain fallback and why."""
    from de_agent.llm.adapter import LLMError

    fallback = int(getattr(engine.ctx.settings, "context_window", 128_000) or 128_000)
    get_window = getattr(engine.llm, "context_window", None)
    window = await asyncio.to_thread(get_window, fallback) if get_window else fallback
    transcript = render_transcript(engine.messages, int(window * TRANSCRIPT_SHARE) * CHARS_PER_TOKEN)
    ask = "Write the summary now."
    if instructions.strip():
        ask = f"The person asks the summary to focus on: {instructions.strip()}\n\n{ask}"
    request = [{"role": "system", "content": read_prompt("compact.md") or FALLBACK_PROMPT},
               {"role": "user", "content": f"The conversation so far:\n\n{transcript}\n\n{ask}"}]
    try:
        reply = await engine.llm.complete(request, [], on_text=None)
    except LLMError as exc:
        return _plain_summary(engine.messages), str(exc)
    engine.note_usage(reply)
    if not reply.text.strip():
        return _plain_summary(engine.messages), "the model returned an empty summary"
    return reply.text.strip(), None


def _plain_summary(messages: list[dict[str, Any]]) -> str:
    """Without the model: the person's requests and the last answer, verbatim."""
    requests = [m["content"] for m in messages if m.get("role") == "user" and isinstance(m.get("content"), str)]
    answers = [m["content"] for m in messages if m.get("role") == "assistant" and m.get("content")]
    lines = ["(The model could not write a summary; these are the person's requests and the last answer.)"]
    lines += [f"- Request: {r[:1000]}" for r in requests[-10:]]
    if answers:
        lines.append(f"- Last answer: {str(answers[-1])[:2000]}")
    return "\n".join(lines)


def summary_message(summary: str, plan: list[dict[str, str]], explanation: str, changed: list[str],
                    parent: str, child: str, request: str | None) -> str:
    parts = [f"[de-agent: this conversation was compacted to fit the model's context window. Session "
             f"{parent} continues as session {child}. The summary below replaces the earlier messages; "
             "the plan and the changed files are carried over exactly.]",
             "## Summary of the conversation so far\n" + summary]
    if plan:
        parts.append("## Plan (carried over verbatim)\n" + render_plan(plan, explanation))
    parts.append("## Files changed so far\n" + ("\n".join(f"- {f}" for f in changed) if changed else "(none)"))
    if request:
        parts.append("## Request in progress\n" + request +
                     "\n\nContinue working on it from where the summary leaves off.")
    return "\n\n".join(parts)


async def compact(engine: Any, instructions: str = "", *, in_turn: bool = False, reason: str = "") -> bool:
    """Summarise the conversation into a new session linked to the current one; True when done."""
    if not any(m.get("role") in ("assistant", "tool") for m in engine.messages):
        engine.emit(P.Notice("Nothing to compact yet: the conversation has no answers."))
        return False
    extensions = getattr(engine, "extensions", None)  # test doubles of the engine may lack it
    pre = await extensions.run_hooks("PreCompact", instructions=instructions, automatic=in_turn) \
        if extensions is not None else None
    if pre is not None and pre.blocked:
        engine.emit(P.Notice(f"Compaction skipped: a PreCompact hook blocked it ({pre.reason}).", "warning"))
        return False
    tokens_before = _rough_tokens(engine.messages)
    summary, problem = await summarise(engine, instructions)
    if problem:
        engine.emit(P.Notice(f"The model could not summarise the conversation ({problem}); "
                             "compacting with a plain list of the requests instead.", "warning"))
    plan = [dict(s) for s in engine.ctx.state.plan]
    explanation = engine.ctx.state.plan_explanation
    changed = _changed_files(engine)
    request = _last_request(engine.messages) if in_turn else None
    parent = engine.session_id
    child = new_session_id()
    while child == parent:
        child = new_session_id()

    old = engine.recorder
    if old is not None:
        old.record_event(P.Notice(f"Context compacted: this session continues as {child}."))
        if in_turn:
            old.end_turn("compacted", engine.usage.as_dict())
        old.close()
        new = SessionRecorder(child, engine.ctx.workspace.root, old.model, directory=old.directory,
                              parent=parent, extra_meta={"plan": plan, "plan_explanation": explanation,
                                                         "changed_files": changed,
                                                         "checkpoints": _checkpoint_id(engine, parent)})
        new.turns = 1 if in_turn else 0
        recorder: SessionRecorder | None = new
        try:
            new.open(old.title or request or "compacted session")
        except OSError as exc:
            recorder = None
            engine.emit(P.Notice(f"The compacted session's file cannot be written ({exc}); the "
                                 "conversation goes on but is no longer saved.", "warning"))
        engine.switch_session(child, recorder)
    else:
        engine.switch_session(child, None)
    engine.set_changed_files(changed)
    engine.replace_history([{"role": "user", "content": summary_message(summary, plan, explanation, changed,
                                                                         parent, child, request)}])
    if plan:
        engine.emit(P.PlanUpdated(plan, explanation))
    why = f" because {reason}" if reason else ""
    engine.emit(P.Notice(
        f"Context compacted{why}: the conversation so far (about {tokens_before:,} tokens) was summarised "
        f"by the model and continues in session {child} (parent {parent}); the plan and "
        f"{len(changed)} changed file(s) were carried over."))
    return True


def _checkpoint_id(engine: Any, parent: str) -> str:
    """The session id the git checkpoints live under; kept across compactions so /undo reaches them."""
    return str(getattr(engine.checkpoints, "session_id", "") or parent)


def _rough_tokens(messages: list[dict[str, Any]]) -> int:
    from de_agent.sessions.budget import message_chars

    return sum(message_chars(m) for m in messages) // 4
