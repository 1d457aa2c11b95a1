"""Headless mode (``-p``): run one task to the end and print it as text, JSON or a JSON stream.

Nobody can be asked in headless mode (the policy's ``Approvals.NOBODY``): the engine denies
whatever the approval mode would ask about, tells the model, and the output shows the denial.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from de_agent import protocol as P
from de_agent.config import Settings

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_STOPPED = 0, 1, 2, 3


class HeadlessPrinter:
    """Turns engine events into the chosen output format."""

    def __init__(self, fmt: str, out: TextIO, err: TextIO):
        self.fmt = fmt
        self.out = out
        self.err = err
        self.events: list[dict] = []
        self.closed = False

    def __call__(self, event: P.Event) -> None:
        if self.closed:
            return
        try:
            self._print(event)
        except BrokenPipeError:
            self.closed = True  # the reader went away (e.g. `| head`): finish the task quietly

    def _print(self, event: P.Event) -> None:
        if self.fmt == "stream-json":
            if event.type in P.PUBLIC_STREAM_TYPES:
                self.out.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
                self.out.flush()
            return
        if self.fmt == "json":
            if event.type in P.PUBLIC_STREAM_TYPES and event.type not in ("assistant_delta", "result"):
                self.events.append(event.to_dict())
            return
        self._text(event)

    def _text(self, event: P.Event) -> None:
        err = self.err
        tag = f"  @{event.specialist} " if event.specialist and not isinstance(
            event, P.HandoffStarted | P.HandoffFinished) else ""

        def w(text: str) -> None:
            err.write(tag + text if tag else text)

        match event:
            case P.Question():
                w(f"question (nobody can answer headless): {event.question}\n")
            case P.HandoffStarted():
                w(f"  @{event.specialist} started ({'read-only' if event.read_only else 'may edit'}, "
                  f"transcript {event.session_id})\n")
            case P.HandoffFinished():
                w(f"  @{event.specialist} {event.stop_reason} after {event.turns} model call(s)\n")
            case P.AssistantMessage() if event.specialist:
                lines = event.text.strip().splitlines() or [""]
                w(f"{lines[0][:300]}{' …' if len(lines) > 1 else ''}\n")
            case P.SessionStarted():
                w(f"de-agent · {event.model} · mode {event.approval_mode} · sandbox {event.sandbox} · "
                  f"session {event.session_id}\n")
            case P.ToolCall():
                summary = event.summary or json.dumps(event.arguments, ensure_ascii=False)
                w(f"→ {event.name} {summary[:300]}{'…' if len(summary) > 300 else ''}\n")
            case P.Approval():
                if event.decision == "denied" or event.by == "user":
                    w(f"  {event.decision} by {event.by}" + (f": {event.reason}" if event.reason else "") + "\n")
            case P.Diff(impact=dict() as impact):
                from de_agent.tools.data.helpers.impact import impact_lines

                w("".join(f"  {line}\n" for line in impact_lines(impact)))
            case P.Diff(stage="applied"):
                w(f"  diff {event.file_path}\n" + "".join(f"  {line}\n" for line in event.diff.splitlines()))
            case P.ToolResult():
                first = event.output.strip().splitlines()[0] if event.output.strip() else ""
                w(f"  {'ok' if event.ok else 'failed'}: {first[:200]}\n")
            case P.PlanUpdated():
                w("  plan:\n" + "".join(f"    {P.PLAN_MARKS.get(s['status'], '[ ]')} {s['step']}\n"
                                        for s in event.plan))
            case P.Error():
                w(f"error: {event.message}\n")
            case P.Notice():
                w(f"note: {event.message}\n")
            case P.Result():
                if event.text:
                    self.out.write(event.text.rstrip() + "\n")
                self.out.flush()
        self.err.flush()

    def finish(self, result: P.Result) -> None:
        if self.fmt != "json":
            self(result)
            return
        body = result.to_dict()
        body["events"] = self.events
        try:
            self.out.write(json.dumps(body, ensure_ascii=False) + "\n")
            self.out.flush()
        except BrokenPipeError:
            self.closed = True


def run_headless(settings: Settings, root: Path, prompt: str, fmt: str, *,
                 out: TextIO | None = None, err: TextIO | None = None, session_id: str | None = None,
                 resume: Any = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    printer = HeadlessPrinter(fmt, out, err)
    code = asyncio.run(_run(settings, root, prompt, printer, session_id, resume))
    if printer.closed and out is sys.stdout:
        # Python flushes stdout again at exit; point it at /dev/null so a closed pipe stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return code


async def _run(settings: Settings, root: Path, prompt: str, printer: HeadlessPrinter,
               session_id: str | None, resume: Any) -> int:
    from de_agent.engine.loop import redact_event
    from de_agent.frontends.factory import build_engine
    from de_agent.llm.adapter import LLMError, fast_start, quick_config_problem

    problem = quick_config_problem(settings.model, settings.api_base)  # before litellm's slow import
    if problem is not None:
        printer.err.write(f"de-agent: {problem}\n")
        return EXIT_CONFIG
    fast_start()  # scripts pay start-up on every call: never wait for litellm's import

    parts = build_engine(settings, root, printer, approvals=P.Approvals.NOBODY, session_id=session_id)
    engine = parts.engine
    try:
        await asyncio.to_thread(engine.llm.check_config)
    except LLMError as exc:
        printer.err.write(f"de-agent: {exc}\n")
        return EXIT_CONFIG
    engine.emit(P.SessionStarted(engine.session_id, settings.model, str(root), settings.approval_mode,
                                 parts.sandbox_name, resumed=resume is not None))
    if resume is not None:
        engine.apply(P.RestoreSession(resume.snapshot(root)))  # may report calls a kill interrupted
    for notice in parts.notices:
        engine.emit(P.Notice(notice))
    outcome = await engine.request(P.UserTurn(prompt))
    result = redact_event(P.Result(outcome.text, engine.session_id, outcome.model_calls, outcome.reason,
                                   engine.usage.as_dict(), handoff=outcome.handoff))
    engine.record("record_event", result)
    engine.close()
    if outcome.config_error:
        if printer.fmt != "text":  # text mode already printed the error event on stderr
            printer.err.write(f"de-agent: {outcome.error}\n")
        if printer.fmt != "text":  # json and stream-json still end with the result object
            printer.finish(result)
        return EXIT_CONFIG
    printer.finish(result)
    if outcome.reason == P.StopReason.COMPLETED:
        return EXIT_OK
    if outcome.reason in (P.StopReason.MAX_TURNS, P.StopReason.REPEATED_CALLS):
        return EXIT_STOPPED
    return EXIT_FAILED
