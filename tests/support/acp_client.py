"""An ACP client for tests: the ``agent-client-protocol`` package's own client side, driving a
real ``de-agent --acp`` process, recording every session update and answering permission
requests as told."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from acp import spawn_agent_process
from acp.schema import AllowedOutcome, DeniedOutcome, RequestPermissionResponse

from tests.support.cli import cli_env


class RecordingClient:
    def __init__(self, answer: str | None = "once"):
        self.answer = answer  # option id to choose; None: answer "cancelled"
        self.updates: list[Any] = []
        self.permission_requests: list[tuple[Any, list[Any]]] = []
        self.first_chunk = asyncio.Event()

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append(update)
        if update.session_update == "agent_message_chunk":
            self.first_chunk.set()

    async def request_permission(self, session_id: str, tool_call: Any, options: list[Any],
                                 **_: Any) -> RequestPermissionResponse:
        self.permission_requests.append((tool_call, options))
        if self.answer is None:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(outcome=AllowedOutcome(option_id=self.answer, outcome="selected"))

    def of(self, kind: str) -> list[Any]:
        return [u for u in self.updates if u.session_update == kind]

    def agent_text(self) -> str:
        return "".join(u.content.text for u in self.of("agent_message_chunk"))


@contextlib.asynccontextmanager
async def acp_agent(client: RecordingClient, repo: Path, home: Path, server: Any,
                    *extra: str, env: dict[str, str] | None = None) -> AsyncIterator[Any]:
    """Start ``de-agent --acp`` on the local model server; yield the client-side connection."""
    env = env or cli_env(home)
    args = ["-m", "de_agent", "--acp", "--model", "openai/test-model", "--api-base", server.url, *extra]
    async with spawn_agent_process(client, sys.executable, *args, env=env, cwd=repo) as (conn, _proc):
        yield conn


class TerminalClient(RecordingClient):
    """A client that offers terminals and runs them as real local processes (as an editor would)."""

    def __init__(self, answer: str | None = "once"):
        super().__init__(answer)
        self.created: list[dict[str, Any]] = []
        self.released: list[str] = []
        self._procs: dict[str, Any] = {}
        self._outputs: dict[str, bytes] = {}

    async def create_terminal(self, session_id: str, command: str, args: list[str] | None = None,
                              env: list[Any] | None = None, cwd: str | None = None,
                              output_byte_limit: int | None = None, **_: Any) -> Any:
        from acp.schema import CreateTerminalResponse

        variables = {v.name: v.value for v in env or []}
        self.created.append({"command": command, "args": list(args or []), "env": variables, "cwd": cwd})
        proc = await asyncio.create_subprocess_exec(command, *(args or []), cwd=cwd, env=variables,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        terminal_id = f"term-{len(self.created)}"
        self._procs[terminal_id] = proc
        return CreateTerminalResponse(terminal_id=terminal_id)

    async def wait_for_terminal_exit(self, session_id: str, terminal_id: str, **_: Any) -> Any:
        from acp.schema import WaitForTerminalExitResponse

        proc = self._procs[terminal_id]
        self._outputs[terminal_id] = await proc.stdout.read()
        return WaitForTerminalExitResponse(exit_code=await proc.wait())

    async def terminal_output(self, session_id: str, terminal_id: str, **_: Any) -> Any:
        from acp.schema import TerminalOutputResponse

        return TerminalOutputResponse(output=self._outputs.get(terminal_id, b"").decode(), truncated=False)

    async def kill_terminal(self, session_id: str, terminal_id: str, **_: Any) -> None:
        proc = self._procs[terminal_id]
        if proc.returncode is None:
            proc.kill()

    async def release_terminal(self, session_id: str, terminal_id: str, **_: Any) -> None:
        self.released.append(terminal_id)


class EditorFilesClient(RecordingClient):
    """A client that serves its own file system as an editor does: ``buffers`` are open files
    with unsaved text (returned instead of the disk's); a write replaces the buffer and saves
    it to disk, unless ``fail_writes`` makes the editor refuse. Every request is recorded."""

    def __init__(self, answer: str | None = "once", *, buffers: dict[str, str] | None = None,
                 fail_writes: bool = False):
        super().__init__(answer)
        self.buffers = dict(buffers or {})
        self.fail_writes = fail_writes
        self.reads: list[str] = []
        self.writes: list[tuple[str, str]] = []

    @staticmethod
    def capabilities(reads: bool = True, writes: bool = True) -> Any:
        from acp.schema import ClientCapabilities, FileSystemCapabilities

        return ClientCapabilities(fs=FileSystemCapabilities(read_text_file=reads, write_text_file=writes))

    async def read_text_file(self, session_id: str, path: str, line: int | None = None,
                             limit: int | None = None, **_: Any) -> Any:
        from acp import RequestError
        from acp.schema import ReadTextFileResponse

        self.reads.append(path)
        if path in self.buffers:
            return ReadTextFileResponse(content=self.buffers[path])
        try:
            with open(path, encoding="utf-8", newline="") as fh:
                return ReadTextFileResponse(content=fh.read())
        except OSError as exc:
            raise RequestError.resource_not_found(path) from exc

    async def write_text_file(self, session_id: str, path: str, content: str, **_: Any) -> Any:
        from acp import RequestError

        self.writes.append((path, content))
        if self.fail_writes:
            raise RequestError.internal_error({"reason": "the buffer is read-only"})
        self.buffers[path] = content
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(content)
        return None
