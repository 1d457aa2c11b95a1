"""The ACP agent: initialize, new and loaded sessions, modes, prompt turns and cancel.

Session ids are de-agent's own, so a session started in an editor can be resumed with
``de-agent -r ID`` and the other way round. The ACP session mode is the approval mode.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, RequestError
from acp import helpers as H
from acp.schema import (
    AgentCapabilities,
    Implementation,
    InitializeResponse,
    LoadSessionResponse,
    McpCapabilities,
    NewSessionResponse,
    PromptCapabilities,
    PromptResponse,
    SessionMode,
    SessionModeState,
    SetSessionModeResponse,
    StopReason,
)

from de_agent import __version__
from de_agent import protocol as P
from de_agent.frontends.acp.files import offered
from de_agent.frontends.acp.session import AcpSession
from de_agent.frontends.acp.updates import prompt_text

MODES = {
    "default": "Ask before edits and commands",
    "auto-edit": "Apply edits; ask before commands",
    "plan": "Read-only: look and plan, change nothing",
    "yolo": "Run everything (still sandboxed)",
}
STOP_REASONS: dict[str, StopReason] = {"completed": "end_turn", "max_turns": "max_turn_requests", "interrupted": "cancelled",
                "repeated_calls": "end_turn", "error": "end_turn"}


def mode_state(current: str) -> SessionModeState:
    return SessionModeState(current_mode_id=current,
                            available_modes=[SessionMode(id=k, name=k, description=v) for k, v in MODES.items()])


class DeAgentAcp:
    """Implements ``acp.interfaces.Agent`` over de-agent engines (one per ACP session)."""

    def __init__(self, flags: dict[str, Any], root: Path):
        self.flags = flags
        self.root = root
        self.conn: Any = None
        self.client_capabilities: Any = None
        self.sessions: dict[str, AcpSession] = {}

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def initialize(self, protocol_version: int, client_capabilities: Any = None,
                         client_info: Any = None, **_: Any) -> InitializeResponse:
        self.client_capabilities = client_capabilities
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                load_session=True, prompt_capabilities=PromptCapabilities(image=True, embedded_context=True),
                mcp_capabilities=McpCapabilities(http=True, sse=False)),
            agent_info=Implementation(name="de-agent", title="de-agent", version=__version__))

    async def authenticate(self, method_id: str, **_: Any) -> None:
        return None

    # -- sessions -------------------------------------------------------------------------------

    def _open(self, cwd: str, session_id: str | None, resume: Any = None, mcp_servers: Any = None) -> AcpSession:
        from de_agent.config import ConfigError, load_settings
        from de_agent.frontends.acp.mcp import add_editor_servers
        from de_agent.frontends.controller import StartFailed
        from de_agent.workspace import find_repo_root

        root = find_repo_root(cwd or self.root)
        try:
            settings = load_settings(root, self.flags)
        except ConfigError as exc:
            raise RequestError.invalid_params({"reason": str(exc)}) from None
        add_editor_servers(settings, mcp_servers)
        session = AcpSession(self.conn, root, hold=resume is None)
        try:
            session.open(settings, Path(cwd or root), session_id, resume,
                         terminals=bool(getattr(self.client_capabilities, "terminal", False)),
                         files=offered(self.client_capabilities))
        except StartFailed as exc:
            raise RequestError.internal_error({"reason": str(exc)}) from None
        return session

    async def new_session(self, cwd: str, mcp_servers: Any = None, **_: Any) -> NewSessionResponse:
        session = self._open(cwd, None, mcp_servers=mcp_servers)
        self.sessions[session.session_id] = session
        return NewSessionResponse(session_id=session.session_id, modes=mode_state(session.controller.mode))

    async def load_session(self, cwd: str, session_id: str, mcp_servers: Any = None,
                           **_: Any) -> LoadSessionResponse:
        from de_agent.sessions.cli import resume_by_id
        from de_agent.workspace import find_repo_root

        try:
            resume = resume_by_id(find_repo_root(cwd or self.root), session_id)
        except LookupError as exc:
            raise RequestError.resource_not_found(session_id) from exc
        old = self.sessions.pop(resume.session_id, None)
        if old is not None:
            await old.close()
        session = self._open(cwd, resume.session_id, resume, mcp_servers=mcp_servers)
        self.sessions[session.session_id] = session
        await session.drain()  # the history reaches the editor before the answer
        return LoadSessionResponse(modes=mode_state(session.controller.mode))

    async def set_session_mode(self, session_id: str, mode_id: str, **_: Any) -> SetSessionModeResponse:
        session = self._session(session_id)
        if mode_id not in MODES:
            raise RequestError.invalid_params({"mode_id": mode_id, "modes": list(MODES)})
        result = session.controller.set_mode(mode_id)
        if not result.ok:
            raise RequestError.invalid_params({"mode_id": mode_id, "reason": result.message})
        await self.conn.session_update(session_id=session_id, update=H.update_current_mode(mode_id))
        return SetSessionModeResponse()

    def _session(self, session_id: str) -> AcpSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise RequestError.invalid_params({"session_id": session_id, "reason": "unknown session"})
        return session

    # -- turns ----------------------------------------------------------------------------------

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> PromptResponse:
        session = self._session(session_id)
        session.release()  # start-up notices: with the first turn, once the client knows the session
        text, images = prompt_text(prompt)
        task = session.submit(P.UserTurn(text, images=images))
        if task is None:
            raise RequestError.invalid_request({"reason": "a turn is already running in this session"})
        try:
            outcome = await task
            reason: StopReason = STOP_REASONS.get(str(outcome.reason), "end_turn")
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
            reason = "cancelled"  # cancelled before the turn began
        await session.drain()
        return PromptResponse(stop_reason=reason)

    async def cancel(self, session_id: str, **_: Any) -> None:
        session = self.sessions.get(session_id)
        if session is not None:
            session.submit(P.Interrupt())
