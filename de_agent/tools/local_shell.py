"""LocalShell: the one explicit door out of the sandbox.

``LocalShell {command, description?, timeout_s?}`` runs ``bash -c COMMAND`` on the host, in the
repository root, OUTSIDE the sandbox, with the person's own environment (credentials, network,
``~/.dbt/profiles.yml`` and the like): what ``dbt run`` against a warehouse needs. Because of
that it asks in every approval mode but ``yolo``, even for a command ``Shell`` would run
unasked, and never by a session or "always" approval; it is refused in ``plan`` mode, and in
headless runs unless ``yolo`` (the engine turns every "ask" into a denial there). The deny
list holds as for Shell. Its output is masked like every tool's. Processes it starts end with
the call (subreaper launcher, cgroup where available).
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import Field

from de_agent.tools.base import EXECUTE, Action, Outcome, ToolContext
from de_agent.tools.shell import (
    CommandArgs,
    CommandTool,
    command_display,
    refused,
    where_commands_run,
)

HOST_WARNING = ("runs on your machine OUTSIDE the sandbox, with your own environment, credentials "
                "and network access")

DESCRIPTION = (
    "Run a command on the person's machine OUTSIDE the sandbox, with their own environment, "
    "credentials and network, from the repository root ({root}). Use it only for what the "
    "sandboxed Shell cannot do: commands that need warehouse or cloud credentials or the network "
    "(dbt run/test against a real warehouse, cloud CLIs). Use Shell for everything else. Every "
    "call is approved by the person (refused in plan mode and in headless runs unless yolo). No "
    "terminal; killed with its child processes after timeout_s seconds (default {timeout:g})."
)


class HostCommandArgs(CommandArgs):
    command: str = Field(description="The bash command line to run on the host.")
    description: str | None = Field(None, description="Why it must run outside the sandbox, shown to the person.")


class LocalShell(CommandTool):
    name = "LocalShell"
    description = DESCRIPTION
    Args = HostCommandArgs

    def describe(self, ctx: ToolContext | None) -> str:
        return DESCRIPTION.format(**where_commands_run(ctx))

    def call_summary(self, arguments: dict[str, Any]) -> str:
        return "on the host: " + super().call_summary(arguments)

    async def act(self, args: HostCommandArgs, ctx: ToolContext) -> Action:
        command, description, timeout = args.command, (args.description or "").strip(), args.timeout(ctx)

        async def run(_hunks: list[int] | None) -> Outcome:
            return await self._run(command, timeout, ctx)

        summary = f"{command}  [{description}]" if description else command
        return Action(kind=EXECUTE, summary=f"ON THE HOST: {summary}"[:200], run=run, asks=True,
                      ask_reason=f"`{command[:120]}` {HOST_WARNING}", host=True, host_command=command)

    async def _run(self, command: str, timeout: float, ctx: ToolContext) -> Outcome:
        from de_agent.security import denylist
        from de_agent.security.env import redact
        from de_agent.security.runner import run_command

        reason = denylist.deny_reason(command)
        if reason:
            return refused(command, reason)
        result = await run_command(command, ctx.workspace.root, timeout, env=dict(os.environ))
        output = redact(result.output)
        if result.exit_code is None:
            head = "The command could not be started."
        elif result.timed_out:
            head = f"Timed out after {timeout:g} s: the command and its child processes were killed."
        else:
            head = f"Exit code: {result.exit_code} (ran on the host, outside the sandbox)"
        body = output.rstrip("\n") if output.strip() else "(no output)"
        return Outcome(result.exit_code == 0 and not result.timed_out, f"{head}\n{body}",
                       display=command_display(command, result, output, "none (host)"))
