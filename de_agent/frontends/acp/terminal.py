"""Shell commands in the editor's terminal, when the ACP client offers terminals.

The command goes through the same policy as always (the Shell tool classifies and asks before
it gets here), and it is wrapped by the same sandbox (``Sandbox.wrap``: bubblewrap when in
force) with the same secret-free environment; only the process is started by the editor, so
the person watches it live in the tool call. The per-process resource limits of our own runner
(rlimits) cannot be set on a process the editor starts; the sandbox and the time limit still apply.

The sandbox hands bubblewrap its seccomp program (no unix sockets) through an inherited file
descriptor, which a process the editor starts cannot inherit: the program is written to a
private temporary file and a small ``sh`` prelude opens it on the descriptor bwrap is told.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from typing import Any

from acp.schema import EnvVariable

from de_agent.security.runner import HEAD_BYTES, TAIL_BYTES, CommandResult


class ClientTerminalRunner:
    """A stand-in for the sandbox runner (``ctx.runner``) that runs commands in ACP terminals."""

    def __init__(self, sandbox: Any, conn: Any, session: Any):
        self.sandbox = sandbox
        self.conn = conn
        self.session = session  # AcpSession: its id, and the tool call now running

    def __getattr__(self, name: str) -> Any:  # name, kind, sandboxed, describe() ... of the sandbox
        return getattr(self.sandbox, name)

    async def run(self, command: str, cwd: Any, timeout_s: float, env: Any = None,
                  on_output: Any = None) -> CommandResult:
        """Run ``command`` in an editor terminal. ``on_output`` (live output for our own front
        ends) is not fed: the editor shows the terminal live in the tool call itself."""
        argv = self.sandbox.wrap(["bash", "-c", command], str(cwd))
        argv, scratch = _pass_descriptors(argv, self.sandbox.take_fds() if hasattr(self.sandbox, "take_fds") else [])
        try:
            return await self._run(argv, cwd, timeout_s, env)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)

    async def _run(self, argv: list[str], cwd: Any, timeout_s: float, env: Any) -> CommandResult:
        from de_agent.security.env import clean_env

        variables = clean_env(self.sandbox.env_allow) if env is None else dict(env)
        started = time.monotonic()
        sid = self.session.session_id
        try:
            created = await self.conn.create_terminal(
                session_id=sid, command=argv[0], args=argv[1:], cwd=str(cwd),
                env=[EnvVariable(name=k, value=v) for k, v in variables.items()],
                output_byte_limit=HEAD_BYTES + TAIL_BYTES)
        except Exception as exc:  # noqa: BLE001 - the editor could not start it: say so
            return CommandResult(None, f"the editor could not start the command: {exc}", False, False,
                                 time.monotonic() - started, note=str(exc))
        terminal_id = created.terminal_id
        await self.session.show_terminal(terminal_id)
        timed_out = False
        try:
            try:
                status = await asyncio.wait_for(
                    self.conn.wait_for_terminal_exit(session_id=sid, terminal_id=terminal_id), timeout_s)
                exit_code = status.exit_code if status.exit_code is not None else -_signal_number(status.signal)
            except TimeoutError:
                timed_out = True
                await self.conn.kill_terminal(session_id=sid, terminal_id=terminal_id)
                exit_code = -9
            out = await self.conn.terminal_output(session_id=sid, terminal_id=terminal_id)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(sid, terminal_id))
        return CommandResult(exit_code, out.output, timed_out, bool(out.truncated), time.monotonic() - started,
                             total_bytes=len(out.output.encode("utf-8", "replace")),
                             note="output cut by the editor's terminal limit" if out.truncated else "")

    async def _release(self, sid: str, terminal_id: str) -> None:
        with contextlib.suppress(Exception):
            await self.conn.kill_terminal(session_id=sid, terminal_id=terminal_id)
        await self.conn.release_terminal(session_id=sid, terminal_id=terminal_id)


def _pass_descriptors(argv: list[str], fds: list[int]) -> tuple[list[str], str | None]:
    """``argv`` made to open, by itself, the descriptors the sandbox meant to pass (their
    contents copied to files in a private temporary folder, which the caller removes)."""
    if not fds:
        return argv, None
    scratch = tempfile.mkdtemp(prefix="de-agent-acp-")
    argv = list(argv)
    files: list[str] = []
    renumber: dict[str, str] = {}
    for n, fd in enumerate(fds):
        path = os.path.join(scratch, f"fd{3 + n}")
        with os.fdopen(fd, "rb") as source, open(path, "wb") as target:
            target.write(source.read())
        files.append(path)
        renumber[str(fd)] = str(3 + n)
    for i in range(len(argv) - 1):
        if argv[i] in ("--seccomp", "--file", "--bind-data", "--ro-bind-data") and argv[i + 1] in renumber:
            argv[i + 1] = renumber[argv[i + 1]]
    redirects = " ".join(f'{3 + n}<"${n + 1}"' for n in range(len(files)))
    prelude = f'shift_by={len(files)}; exec "${{@:$((shift_by + 1))}}" {redirects}'
    return ["bash", "-c", prelude, "de-agent-acp", *files, *argv], scratch


def _signal_number(name: str | None) -> int:
    import signal

    try:
        return int(signal.Signals[name or "SIGKILL"])
    except (KeyError, ValueError):
        return 9
