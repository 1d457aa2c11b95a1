"""Shell: run one ``bash -c`` command in the repository root, through the sandbox in force.

``prepare`` runs nothing: it classifies the command (with the repository root, so path
arguments that lead out of it make even a read-only command ask) and hands the policy an
EXECUTE action. ``run`` refuses deny-listed commands again, whatever the mode, then runs the
command with a timeout, bounded output, a cleaned environment and no terminal, and reports
the exit code (and a timeout clearly). The description tells the model honestly which
sandbox, if any, is in force.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from de_agent.tools.base import EXECUTE, Action, Outcome, Tool, ToolContext, ToolError, key_argument
from de_agent.tools.schema import ToolArgs

MAX_TIMEOUT_S = 3600.0

_BASE = (
    "Run a shell command with `bash -c` from the repository root ({root}). There is no terminal: "
    "stdin is closed, so interactive programs and prompts fail; pagers are off. The command is "
    "killed with all its child processes after timeout_s seconds (default {timeout:g}). Output "
    "(stdout and stderr together) is cut in the middle when long; the exit code is reported. "
    "Prefer the read and search tools for reading files. Read-only commands (ls, cat, grep, rg, "
    "find, git status/diff/log/show...) may run without asking; anything else is approved by "
    "the person first, and some destructive commands are always refused. {sandbox}"
)


def _sandbox_for(ctx: ToolContext | None) -> Any:
    """The runner in force: ``ctx.runner`` when the engine set one, else resolved from settings."""
    if ctx is not None and ctx.runner is not None:
        return ctx.runner
    from de_agent.security.sandbox import plain, resolve_sandbox

    if ctx is None:
        return plain()
    return resolve_sandbox(ctx.settings)


def _unavailable(exc: Exception) -> str:
    return f"Commands cannot run: {exc}."


def where_commands_run(ctx: ToolContext | None) -> dict[str, Any]:
    """The root and default timeout a command tool's description names."""
    if ctx is None:
        return {"root": "the repository root", "timeout": 120.0}
    return {"root": str(ctx.workspace.root), "timeout": ctx.settings.shell_timeout_s}


def refused(command: str, reason: str) -> Outcome:
    """A deny-listed command: refused whatever the approval mode."""
    return Outcome(False, f"Refused in every approval mode: {reason}. Do not retry it.",
                   display={"kind": "shell", "command": command, "refused": reason})


def command_display(command: str, result: Any, output: str, sandbox: str) -> dict[str, Any]:
    """What front ends show of a command that ran (a ``RunResult`` of the runner)."""
    return {"kind": "shell", "command": command, "exit_code": result.exit_code, "timed_out": result.timed_out,
            "truncated": result.truncated, "duration_s": round(result.duration_s, 3), "sandbox": sandbox,
            "output": output}


class CommandArgs(ToolArgs):
    """A command line to run (Shell, LocalShell): never blank, no NUL byte."""

    command: str = Field(description="The bash command line to run.")
    description: str | None = Field(None, description="A few words on what the command does, shown to the person.")
    timeout_s: float | None = Field(None, description="Seconds before the command is killed.")

    @field_validator("command")
    @classmethod
    def _runnable(cls, command: str) -> str:
        if "\x00" in command:
            raise ValueError("contains a NUL byte")
        if not command.strip():
            raise ValueError("must not be blank")
        return command

    def timeout(self, ctx: ToolContext) -> float:
        """timeout_s, or the configured default; between 0 and MAX_TIMEOUT_S."""
        timeout = float(ctx.settings.shell_timeout_s) if self.timeout_s is None else self.timeout_s
        if not 0 < timeout <= MAX_TIMEOUT_S:
            raise ToolError(f"timeout_s must be between 0 and {MAX_TIMEOUT_S:g} seconds")
        return timeout


class CommandTool(Tool):
    """A tool that runs one command line (``command``), as Shell and LocalShell do."""

    kind = EXECUTE

    def call_summary(self, arguments: dict[str, Any]) -> str:
        """The command line itself (the description is the person's gloss, shown on approval)."""
        return key_argument(arguments, ("command",))

    def result_summary(self, ok: bool, output: str, display: dict[str, Any] | None) -> str:
        """A command that ran, failed or not: "exit 2 · 0.3 s"; one refused or not started: its first line."""
        from de_agent.tools.summaries import command_summary, first_line

        if isinstance(display, dict) and display.get("exit_code") is not None:
            return command_summary(display)
        return first_line(output, 200)


class Shell(CommandTool):
    name = "Shell"
    description = _BASE
    Args = CommandArgs

    def describe(self, ctx: ToolContext | None) -> str:
        from de_agent.security.sandbox import SandboxUnavailable

        try:
            sandbox = _sandbox_for(ctx)
            describe = getattr(sandbox, "describe", None)
            text = describe() if callable(describe) else (
                f"Sandbox in force: {getattr(sandbox, 'name', 'unknown')}.")
        except SandboxUnavailable as exc:
            text = _unavailable(exc)
        return _BASE.format(sandbox=text, **where_commands_run(ctx))

    async def act(self, args: CommandArgs, ctx: ToolContext) -> Action:
        from de_agent.security.commands import classify

        command, description, timeout = args.command, args.description or "", args.timeout(ctx)
        verdict = classify(command, root=ctx.workspace.root)

        async def run(_hunks: list[int] | None) -> Outcome:
            return await self._run(command, timeout, ctx)

        summary = description.strip() or command
        return Action(kind=EXECUTE, summary=summary[:200], run=run, command=command,
                      asks=verdict.verdict != "allow", ask_reason=verdict.reason)

    async def _run(self, command: str, timeout: float, ctx: ToolContext) -> Outcome:
        from de_agent.security.commands import classify
        from de_agent.security.env import redact

        verdict = classify(command, root=ctx.workspace.root)
        if verdict.verdict == "deny":
            return refused(command, verdict.reason)
        from de_agent.security.sandbox import SandboxUnavailable

        try:
            sandbox = _sandbox_for(ctx)
        except SandboxUnavailable as exc:
            raise ToolError(_unavailable(exc)) from None
        live = ctx.on_output
        if live is not None:
            import codecs

            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            result = await sandbox.run(command, ctx.workspace.root, timeout,
                                       on_output=lambda chunk: live(decoder.decode(chunk)))
        else:
            result = await sandbox.run(command, ctx.workspace.root, timeout)
        output = redact(result.output)
        if result.exit_code is None:
            head = "The command could not be started."
        elif result.timed_out:
            head = (f"Timed out after {timeout:g} s: the command and all its child processes were "
                    f"killed (exit status {result.exit_code}). Output so far:")
        else:
            head = f"Exit code: {result.exit_code}"
        lines = [head]
        if result.note:
            lines.append(f"Note: {result.note}")
        lines.append(output.rstrip("\n") if output.strip() else "(no output)")
        ok = result.exit_code == 0 and not result.timed_out
        return Outcome(ok, "\n".join(lines), display=command_display(command, result, output,
                                                                      getattr(sandbox, "name", "")))
