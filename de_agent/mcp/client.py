"""The MCP client side: one background thread and event loop holding every server session.

Why a dedicated loop rather than the engine's: the servers outlive a single front-end loop
(``/clear`` builds a new engine; headless ends its loop when the task ends), the SDK's anyio
cancel scopes and task groups then never mix with the engine's turn cancellation, and
starting several subprocesses or HTTP handshakes can never delay the TUI's first frame.
The engine reaches a session only through :meth:`McpManager.call`, which hands the call to
this loop and awaits it; interrupting the turn cancels the call there.

Servers start in the background as soon as the manager starts. A server that fails to
start, times out or dies becomes ``failed`` with the tail of its stderr in a notice; nothing
here raises into the engine. A server from the repository's own config waits in
``needs approval`` until the person approves it once (``/mcp approve NAME``).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import tempfile
import threading
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from de_agent.mcp.config import ServerConfigError, ServerSpec, expand, missing_vars, parse_spec
from de_agent.tools.base import ToolError

STDERR_TAIL_LINES = 12


@dataclass
class ServerState:
    spec: ServerSpec
    status: str = "stopped"  # disabled | needs approval | starting | ready | failed | stopped
    error: str = ""
    tools: list[Any] = field(default_factory=list)  # mcp.types.Tool, after allow/deny
    session: Any = None
    stop: asyncio.Event | None = None
    stderr: Any = None
    task: concurrent.futures.Future | None = None
    running: asyncio.Task | None = None  # the same work, as seen on the MCP loop
    handshake: Any = None  # the anyio cancel scope of a handshake in progress
    stop_requested: bool = False


class McpManager:
    def __init__(self, specs: list[ServerSpec], root: Path, env_allow: list[str],
                 notify: Callable[[str, str], None] | None = None, problems: list[str] | None = None):
        from de_agent.security.extension_approvals import ExtensionApprovals

        self.root = root
        self.env_allow = list(env_allow)
        self.notify = notify or (lambda _text, _level: None)
        self.approvals = ExtensionApprovals(root)
        self.servers: dict[str, ServerState] = {s.name: ServerState(s) for s in specs}
        self.problems = list(problems or [])
        self.version = 0  # changes whenever the set of tools changes
        self.start_pending = False  # built, not started yet (de_agent.extensions.runtime)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- life cycle (any thread) -----------------------------------------------------------

    def start(self) -> None:
        """Start every enabled, approved server in the background; returns at once."""
        for state in self.servers.values():
            if not state.spec.enabled:
                state.status = "disabled"
            elif state.spec.origin == "project" and not self.is_approved(state.spec):
                state.status = "needs approval"
                self.notify(f"MCP server '{state.spec.name}' comes from this repository's config "
                            f"({state.spec.describe()}); it starts only after you approve it: "
                            f"/mcp approve {state.spec.name}", "warning")
            else:
                self._launch(state)

    def is_approved(self, spec: ServerSpec) -> bool:
        return self.approvals.is_approved(f"mcp:{spec.name}", spec.approval_value())

    def approve(self, name: str) -> str:
        state = self.servers.get(name)
        if state is None:
            return f"No MCP server named '{name}'."
        if state.status != "needs approval":
            return f"MCP server '{name}' does not need approval ({state.status})."
        self.approvals.approve(f"mcp:{name}", state.spec.approval_value())
        self._launch(state)
        return f"Approved MCP server '{name}' for this repository; starting it."

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def main() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=main, name="de-agent-mcp", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
                atexit.register(self.close)
            return self._loop

    def _launch(self, state: ServerState) -> None:
        state.status, state.error = "starting", ""
        state.task = asyncio.run_coroutine_threadsafe(self._serve(state), self._ensure_loop())

    def close(self, timeout: float = 3.0) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None or self._thread is None or not self._thread.is_alive():
            return
        atexit.unregister(self.close)

        async def stop_all() -> None:
            # Each session leaves its contexts the ordinary way (not cancelled), so the SDK can
            # close the process's stdin, wait briefly and then terminate it; a handshake still
            # running is cut short first.
            tasks = [s.running for s in self.servers.values() if s.running is not None and not s.running.done()]
            for state in self.servers.values():
                state.stop_requested = True
                if state.stop is not None:
                    state.stop.set()
                if state.handshake is not None:
                    state.handshake.cancel()
            if tasks:
                _done, late = await asyncio.wait(tasks, timeout=timeout)
                for task in late:  # last resort; the SDK then cannot wait for the process
                    task.cancel()

        try:
            asyncio.run_coroutine_threadsafe(stop_all(), loop).result(timeout + 1)
        except Exception:  # noqa: BLE001 - closing never raises
            pass
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)

    # -- what the engine sees -------------------------------------------------------------

    def tools(self) -> list[Any]:
        from de_agent.mcp.tools import McpTool

        out: list[Any] = []
        for state in list(self.servers.values()):
            if state.status == "ready":
                out.extend(McpTool(self, state.spec.name, t, state.spec.trust) for t in state.tools)
        return out

    def starting(self) -> list[str]:
        return [name for name, state in self.servers.items() if state.status == "starting"]

    def trusted_tools(self) -> set[str]:
        return self.approvals.trusted_tools()

    async def call(self, server: str, tool: str, args: dict[str, Any]) -> Any:
        state = self.servers.get(server)
        if state is None or state.status != "ready" or self._loop is None:
            why = state.error if state is not None and state.error else (state.status if state else "unknown")
            raise ToolError(f"MCP server '{server}' is not available ({why})")
        future = asyncio.run_coroutine_threadsafe(self._call(state, tool, args), self._loop)
        return await asyncio.wrap_future(future)

    def listing(self) -> str:
        """What /mcp shows: each server, its state, and its tools."""
        lines = list(self.problems)
        if not self.servers:
            lines.append("No MCP servers configured. Add [mcp_servers.NAME] to your config.toml.")
        for state in self.servers.values():
            spec = state.spec
            trust = ", trusted" if spec.trust else ""
            lines.append(f"{spec.name} ({spec.transport}, {spec.origin}{trust}): {state.status}"
                         + (f" — {state.error}" if state.error else ""))
            lines.append(f"  {spec.describe()}")
            for t in state.tools:
                ro = " [read-only]" if t.annotations is not None and t.annotations.readOnlyHint else ""
                lines.append(f"  - {t.name}{ro}: {(t.description or '').strip().splitlines()[0][:90] if t.description else ''}")
        return "\n".join(lines)

    # -- on the MCP loop ------------------------------------------------------------------

    async def _serve(self, state: ServerState) -> None:
        spec = state.spec
        state.stop = asyncio.Event()
        state.running = asyncio.current_task()
        state.stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        try:
            missing = missing_vars(spec)
            if missing:
                raise RuntimeError(f"environment variable(s) not set: {', '.join(missing)}")
            async with AsyncExitStack() as stack:
                session = await self._connect(stack, state)
                state.session, state.status = session, "ready"
                self.version += 1
                self.notify(f"MCP server '{spec.name}' is ready with {len(state.tools)} tool(s).", "info")
                await state.stop.wait()
        except (asyncio.CancelledError, _Stopped):
            state.status = "stopped"
        except BaseException as exc:  # noqa: BLE001 - a server's failure is a notice, never a crash
            if state.stop_requested:
                state.status = "stopped"
            elif isinstance(_first_cause(exc), TimeoutError):
                self._failed(state, f"did not start within {spec.startup_timeout_s:g} s (startup_timeout_s)")
            else:
                self._failed(state, _describe(exc))
        finally:
            if state.status == "ready":
                state.status = "stopped"
            state.session = None
            self.version += 1

    async def _connect(self, stack: AsyncExitStack, state: ServerState) -> Any:
        import anyio
        from mcp import ClientSession

        spec = state.spec
        if spec.url:
            import httpx
            from mcp.client import streamable_http

            headers = {k: expand(v) for k, v in spec.headers.items()}
            if hasattr(streamable_http, "streamable_http_client"):  # SDK 1.24 and later
                client = await stack.enter_async_context(httpx.AsyncClient(
                    headers=headers, follow_redirects=True,
                    timeout=httpx.Timeout(spec.startup_timeout_s, read=max(300.0, spec.tool_timeout_s))))
                read, write, _ = await stack.enter_async_context(
                    streamable_http.streamable_http_client(spec.url, http_client=client))
            else:
                read, write, _ = await stack.enter_async_context(
                    streamable_http.streamablehttp_client(spec.url, headers=headers, timeout=spec.startup_timeout_s))
        else:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            from de_agent.security.env import clean_env

            env = clean_env(self.env_allow)
            env.update({k: expand(v) for k, v in spec.env.items()})
            cwd = str((self.root / spec.cwd).resolve()) if spec.cwd else str(self.root)
            params = StdioServerParameters(command=spec.command or "", args=spec.args, env=env, cwd=cwd)
            read, write = await stack.enter_async_context(stdio_client(params, errlog=state.stderr))
        session = await stack.enter_async_context(ClientSession(read, write))
        # anyio's timeout, not asyncio.wait_for: the SDK's cancel scopes must stay in this task
        # and nest properly, so only the handshake is timed, not the contexts entered above.
        tools, cursor = [], None
        with anyio.fail_after(spec.startup_timeout_s) as scope:
            state.handshake = scope
            await session.initialize()
            while True:
                page = await session.list_tools(cursor=cursor) if cursor else await session.list_tools()
                tools.extend(page.tools)
                cursor = page.nextCursor
                if not cursor:
                    break
        state.handshake = None
        if state.stop_requested:
            raise _Stopped
        state.tools = [t for t in tools if spec.tool_allowed(t.name)]
        return session

    async def _call(self, state: ServerState, tool: str, args: dict[str, Any]) -> Any:
        from mcp.shared.exceptions import McpError

        timeout = state.spec.tool_timeout_s
        try:
            return await state.session.call_tool(tool, args, read_timeout_seconds=timedelta(seconds=timeout))
        except McpError as exc:
            message = str(exc.error.message if hasattr(exc, "error") else exc)
            if "timed out" in message.lower() or "timeout" in message.lower():
                raise ToolError(f"MCP server '{state.spec.name}' did not answer within {timeout:g} s "
                                "(tool_timeout_s)") from None
            if "closed" in message.lower():
                self._failed(state, "the server closed the connection during a call")
                raise ToolError(f"MCP server '{state.spec.name}' died during the call. "
                                f"{self.stderr_tail(state)}".strip()) from None
            raise ToolError(f"MCP server '{state.spec.name}': {message}") from None
        except (OSError, EOFError) as exc:
            self._failed(state, _describe(exc))
            raise ToolError(f"MCP server '{state.spec.name}' failed: {_describe(exc)}") from None

    def _failed(self, state: ServerState, why: str) -> None:
        if state.status == "failed":
            return
        state.status, state.error = "failed", why
        if state.stop is not None:
            state.stop.set()
        self.version += 1
        tail = self.stderr_tail(state)
        self.notify(f"MCP server '{state.spec.name}' failed: {why}." + (f"\n{tail}" if tail else ""), "warning")

    def stderr_tail(self, state: ServerState) -> str:
        from de_agent.security.env import redact

        handle = state.stderr
        if handle is None:
            return ""
        try:
            handle.flush()
            handle.seek(0)
            lines = [ln.rstrip() for ln in handle.read()[-20_000:].splitlines() if ln.strip()]
            lines = lines[-STDERR_TAIL_LINES:]
            handle.seek(0, os.SEEK_END)
        except (OSError, ValueError):
            return ""
        return redact("stderr:\n" + "\n".join("  " + line for line in lines)) if lines else ""


class _Stopped(Exception):
    """The manager is closing while this server was still starting."""


def _first_cause(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    """A one-line reason, looking inside exception groups for the first real cause."""
    exc = _first_cause(exc)
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text


def build_manager(settings: Any, root: Path) -> McpManager | None:
    """The manager for the configured servers (None when there are none); not started."""
    if not settings.mcp_servers:
        return None
    specs, problems = [], []
    for name, table in settings.mcp_servers.items():
        try:
            specs.append(parse_spec(name, table))
        except ServerConfigError as exc:
            problems.append(f"{table.get('source', 'config')}: {exc}")
    return McpManager(specs, root, settings.env_allow, problems=problems)
