"""Putting an engine together for a repository: settings, tools, sandbox, policy, model, session.

Every front end (headless, plain REPL, TUI) builds its engine here, so they all behave alike.
It lives with the front ends, not in the engine: it wires the engine to the packages that
fill its contracts (sessions, git checkpoints, the sandbox, the model client).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from de_agent import protocol as P
from de_agent.config import Settings
from de_agent.engine.interact import Delegation
from de_agent.engine.loop import Engine
from de_agent.engine.policy import Policy
from de_agent.engine.prompt import build_system_prompt
from de_agent.extensions.skills import skills_section
from de_agent.gitops.checkpoints import Checkpoints
from de_agent.llm.adapter import LLMClient
from de_agent.security import hardened_git
from de_agent.sessions.budget import ContextBudget
from de_agent.sessions.context import project_sections
from de_agent.sessions.store import SessionRecorder, new_session_id
from de_agent.tools.base import ToolContext
from de_agent.tools.registry import load_tools
from de_agent.workspace import Workspace, find_repo_root  # noqa: F401 - re-exported


@dataclass
class EngineParts:
    engine: Engine
    sandbox_name: str
    notices: list[str]


def build_engine(settings: Settings, root: Path, sink: Callable[[P.Event], None], *,
                 approvals: P.Approvals = P.Approvals.PERSON, session_id: str | None = None, llm: Any = None,
                 record: bool = True, cwd: Path | None = None,
                 wrap_runner: Callable[[Any], Any] | None = None, files: Any = None) -> EngineParts:
    """The engine for ``root``. ``wrap_runner`` may put the sandbox runner behind another
    (the ACP front end runs commands in the editor's terminal, still through the sandbox);
    ``files`` is an editor's file access for the file tools (``tools.text_files.TextFiles``)."""
    from de_agent.security.sandbox import resolve_sandbox

    workspace = Workspace(root)
    sandbox = resolve_sandbox(settings)
    notices: list[str] = list(settings.warnings)
    if sandbox.fallback_reason:
        notices.append(f"Commands run without the bubblewrap sandbox ({sandbox.fallback_reason}); "
                       "only resource limits apply.")
    runner = wrap_runner(sandbox) if wrap_runner is not None else sandbox
    ctx = ToolContext(workspace=workspace, settings=settings, sandbox_name=sandbox.name, runner=runner, files=files)
    tools = load_tools()
    delegation = build_delegation(settings, workspace.root, notices)
    policy = Policy(settings.approval_mode, workspace.root, approvals)
    sid = session_id or new_session_id()
    checkpoints: Checkpoints | None = Checkpoints(workspace.root, sid)
    if checkpoints is not None and not checkpoints.available:
        notices.append(checkpoints.notice)
        checkpoints = None
    git_notice = hardened_git.notice(workspace.root)
    if git_notice:
        notices.append(git_notice)
    prompt = build_system_prompt(workspace.root, mode=settings.approval_mode, sandbox=sandbox.name,
                                 extra=[*project_sections(workspace.root, Path(cwd or Path.cwd())),
                                        skills_section(workspace.root), delegation_prompt(delegation)])
    client = llm or LLMClient(settings.model, api_base=settings.api_base, stream=settings.stream,
                              timeout_s=settings.request_timeout_s, max_retries=settings.max_retries,
                              base_delay_s=settings.retry_base_delay_s)
    recorder = SessionRecorder(sid, workspace.root, settings.model) if record else None
    engine = Engine(llm=client, tools=tools, ctx=ctx, policy=policy, sink=sink, system_prompt=prompt,
                    session_id=sid, max_turns=settings.max_turns,
                    recorder=recorder, checkpoints=checkpoints, hooks=ContextBudget(), delegation=delegation)
    from de_agent.extensions.runtime import attach

    attach(engine, settings, workspace.root, notices)
    return EngineParts(engine, sandbox.name, notices)


def build_delegation(settings: Settings, root: Path, notices: list[str]) -> Delegation:
    """The specialists of this repository and how their transcripts are kept."""
    from de_agent.specialists.catalog import load_catalog

    catalog = load_catalog(root)
    notices.extend(catalog.warnings)

    def make_recorder(child_id: str, parent_id: str, specialist: str, call_id: str) -> SessionRecorder:
        return SessionRecorder(child_id, root, settings.model, parent=parent_id,
                               extra_meta={"specialist": specialist, "handoff_call_id": call_id})

    return Delegation(catalog=catalog, make_recorder=make_recorder, max_depth=settings.max_handoff_depth,
                      max_parallel=settings.max_parallel_handoffs, max_turns=settings.specialist_max_turns)


def delegation_prompt(delegation: Delegation) -> str:
    """What the system prompt says about questions, specialists and follow-ups."""
    from de_agent.engine.prompt import read_prompt

    text = read_prompt("specialists.md")
    catalog = delegation.catalog
    listing = catalog.describe() if catalog is not None and len(catalog) else "(none)"
    return text.replace("{specialists}", listing) if text else ""
