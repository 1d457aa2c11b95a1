"""One ACP session: a controller and its engine, the ordered stream of updates, and permission requests.

The session is the controller's front-end host (``on_event``, ``replay``), like the TUI and
plain mode: the controller builds the engine (restoring a loaded session into it), and this
session only submits ops to it and turns its events into ACP updates. The engine's sink is
synchronous; updates are computed at once (an ACP diff needs the file as it is before the
edit) and queued, and one pump task sends them to the client in order.
A permission request is sent after the updates before it and answered in its own task, so a
cancel can still arrive while the editor shows the question.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from acp import helpers as H
from acp.schema import ToolCallUpdate

from de_agent import protocol as P
from de_agent.frontends.acp import updates as U


class AcpSession:
    def __init__(self, conn: Any, root: Path, *, hold: bool = False):
        self.conn = conn
        self.root = root
        self.controller: Any = None  # frontends.controller.Controller, made by open()
        self.session_id = ""
        # A new session's start-up notices wait for its first prompt: before the agent has
        # answered session/new, the client does not know the session they would belong to.
        self._held: list[P.Event] | None = [] if hold else None
        self._queue: asyncio.Queue = asyncio.Queue()
        self._pump: asyncio.Task | None = None
        self._asks: set[asyncio.Task] = set()
        self._last_diff: dict[str, list[Any]] = {}
        self._running_call = ""
        self._terminals: dict[str, str] = {}  # call id -> the editor terminal it ran in
        self.files: Any = None  # files.ClientFiles when the editor offers its file system

    def open(self, settings: Any, cwd: Path, session_id: str | None, resume: Any, *, terminals: bool,
             files: tuple[bool, bool] = (False, False)) -> None:
        """Build the engine through a controller (restoring ``resume`` into it), as the TUI and
        plain mode do; with ``terminals`` commands run in the editor's terminal, and with
        ``files`` (reads, writes) the file tools read and write the editor's buffers."""
        from de_agent.frontends.controller import Controller
        from de_agent.frontends.factory import build_engine

        if any(files):
            from de_agent.frontends.acp.files import ClientFiles

            self.files = ClientFiles(self.conn, self, reads=files[0], writes=files[1])

        def factory(settings: Any, root: Path, sink: Any, session_id: str | None) -> Any:
            return build_engine(settings, root, sink, session_id=session_id, cwd=cwd,
                                wrap_runner=self.terminal_runner if terminals else None, files=self.files)

        self.controller = Controller(settings, self.root, self, factory=factory)
        self.start()
        self.controller.start(session_id, resume=resume)
        self.session_id = self.controller.session_id

    @property
    def engine(self) -> Any:
        return self.controller.engine if self.controller is not None else None

    def submit(self, op: P.Op) -> asyncio.Task | None:
        """Hand the engine an op (a prompt, a cancel, a permission answer)."""
        return self.engine.submit(op) if self.engine is not None else None

    def terminal_runner(self, sandbox: Any) -> Any:
        """The command runner when the editor offers terminals: its terminal, through ``sandbox``."""
        from de_agent.frontends.acp.terminal import ClientTerminalRunner

        return ClientTerminalRunner(sandbox, self.conn, self)

    def release(self) -> None:
        """Send what was held back until the client knew the session."""
        held, self._held = self._held, None
        for event in held or []:
            self.on_event(event)

    # -- the engine's events (the controller's host) ----------------------------------------

    def on_event(self, event: P.Event) -> None:
        if self._held is not None and not isinstance(event, P.ApprovalRequest | P.Question):
            self._held.append(event)
            return
        if isinstance(event, P.ApprovalRequest | P.Question):
            self._queue.put_nowait(("ask", event))
            return
        if isinstance(event, P.ToolCall):
            self._running_call = event.call_id
        updates = U.to_updates(event, self.root, old_text=self._buffer_text(event))
        if isinstance(event, P.ToolResult) and event.call_id in self._terminals and updates:
            terminal = H.tool_terminal_ref(self._terminals.pop(event.call_id))
            updates[0].content = [terminal, *(updates[0].content or [])]
        if isinstance(event, P.Diff) and event.stage == "proposed" and updates:
            self._last_diff.setdefault(event.call_id, []).extend(updates[0].content or [])
        for update in updates:
            self._queue.put_nowait(("update", update))

    def _buffer_text(self, event: P.Event) -> str | None:
        """The editor's text a proposed edit was made from (None: the disk's)."""
        if self.files is None or not isinstance(event, P.Diff):
            return None
        return self.files.texts.get(str(self.root / event.file_path))

    def replay(self, events: list[P.Event]) -> None:
        """Queue a loaded session's history (user and agent messages, tool calls, plans)."""
        for event in events:
            for update in U.to_updates(event, self.root, replay=True):
                self._queue.put_nowait(("update", update))

    async def show_terminal(self, terminal_id: str) -> None:
        """Show the editor terminal a command runs in, in its tool call, while it runs."""
        call_id = self._running_call
        self._terminals[call_id] = terminal_id
        self._queue.put_nowait(("update", H.update_tool_call(call_id, status="in_progress",
                                                             content=[H.tool_terminal_ref(terminal_id)])))
        await self.drain()

    def start(self) -> None:
        if self._pump is None:
            self._pump = asyncio.create_task(self._run_pump())

    async def drain(self) -> None:
        await self._queue.join()

    async def close(self) -> None:
        """Stop a running turn, close the engine's session file, and stop sending."""
        if self.controller is not None:
            with contextlib.suppress(Exception):
                await self.controller.shutdown()
        for task in [self._pump, *self._asks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    # -- sending ------------------------------------------------------------------------------

    async def _run_pump(self) -> None:
        while True:
            kind, item = await self._queue.get()
            try:
                if kind == "update":
                    await self.conn.session_update(session_id=self.session_id, update=item)
                else:
                    task = asyncio.create_task(self._ask(item) if isinstance(item, P.ApprovalRequest)
                                               else self._question(item))
                    self._asks.add(task)
                    task.add_done_callback(self._asks.discard)
            except Exception:  # noqa: BLE001 - a client that went away must not stop the engine
                pass
            finally:
                self._queue.task_done()

    async def _ask(self, request: P.ApprovalRequest) -> None:
        call = ToolCallUpdate(tool_call_id=request.call_id, title=request.summary or request.name,
                              kind=U.tool_kind(request.name), status="pending",
                              content=self._last_diff.pop(request.call_id, None) or None)
        try:
            response = await self.conn.request_permission(session_id=self.session_id, tool_call=call,
                                                          options=U.permission_options(request))
            choice = U.choice_of(response)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - no answer is a denial
            choice = "deny"
        self.submit(P.ApprovalDecision(request.call_id, choice))

    async def _question(self, question: P.Question) -> None:
        """AskUser: ACP has no free-text question, so the options become a permission prompt on
        the tool call (one pick; "Dismiss" or a cancelled request leaves the model to assume)."""
        from acp.schema import PermissionOption

        labels = [str(o.get("label", "")) for o in question.options if o.get("label")]
        options = [PermissionOption(option_id=f"pick:{i}", name=label, kind="allow_once")
                   for i, label in enumerate(labels)]
        options.append(PermissionOption(option_id="dismiss", name="Dismiss", kind="reject_once"))
        call = ToolCallUpdate(tool_call_id=question.call_id, title=question.question, kind="think",
                              status="pending")
        answer: str | None = None
        try:
            response = await self.conn.request_permission(session_id=self.session_id, tool_call=call,
                                                          options=options)
            picked = str(getattr(getattr(response, "outcome", None), "option_id", "") or "")
            if picked.startswith("pick:") and picked[5:].isdigit() and int(picked[5:]) < len(labels):
                answer = labels[int(picked[5:])]
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - no answer: the model states its assumption
            answer = None
        self.submit(P.AnswerQuestion(question.call_id, answer))
