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
