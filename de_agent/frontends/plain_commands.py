"""What the slash commands do in the plain REPL (names, help and parsing live in slash.py).

Each handler takes the REPL and the command's argument and returns False only to quit.
Features that other packages provide (sessions, compaction, checkpoints) are used when
they are present and otherwise explained in one line.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import io
import os
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text

from de_agent import paths
from de_agent.engine.policy import MODES
from de_agent.frontends import slash
from de_agent.frontends.plain_render import diff_view, plan_view

if TYPE_CHECKING:
    from de_agent.frontends.plain import PlainRepl

Handler = Callable[["PlainRepl", str], Awaitable[bool]]
HANDLERS: dict[str, Handler] = {}

KEYS_HELP = """Keys:
  Enter           send
  Esc Enter       new line (also Alt+Enter, or end the line with a backslash)
  Tab             complete a /command
  Shift+Tab       cycle the approval mode
  Ctrl+C          interrupt the running turn; twice on an empty prompt quits
  Ctrl+D          quit
Approvals: y once · a session · A always (a saved rule) · n deny · f deny with
a note for the model · h choose hunks of an edit one by one"""


def command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn
    return register


async def run_command(repl: PlainRepl, name: str, arg: str) -> bool:
    handler = HANDLERS.get(name)
    if handler is None:
        repl.out.warn(f"/{name} is not available in plain mode.")
        return True
    return await handler(repl, arg)


@command("help")
async def _help(repl: PlainRepl, arg: str) -> bool:
    repl.out.print(Text(slash.help_text() + "\n\n" + KEYS_HELP))
    return True


@command("quit")
async def _quit(repl: PlainRepl, arg: str) -> bool:
    return False


@command("mode")
async def _mode(repl: PlainRepl, arg: str) -> bool:
    policy = repl.engine.policy
    if not arg:
        repl.out.info(f"Approval mode: {policy.mode} (choices: {', '.join(MODES)}; Shift+Tab cycles).")
    elif arg not in MODES:
        repl.out.warn(f"Unknown mode {arg!r}; choose one of {', '.join(MODES)}.")
    else:
        repl.set_mode(arg)
        repl.out.info(f"Approval mode: {arg}.")
    return True


@command("model")
async def _model(repl: PlainRepl, arg: str) -> bool:
    llm = repl.engine.llm
    if not arg:
        repl.out.info(f"Model: {getattr(llm, 'model', repl.settings.model)}. Use /model NAME to switch "
                      "(any litellm name, e.g. openai/gpt-4o).")
        return True
    old = getattr(llm, "model", repl.settings.model)
    llm.model = arg
    problem = await repl.config_problem()
    if problem:
        llm.model = old
        repl.out.warn(f"Kept {old}: {problem}")
    else:
        repl.settings.model = arg
        repl.out.info(f"Model: {arg}.")
    return True


@command("plan")
async def _plan(repl: PlainRepl, arg: str) -> bool:
    state = repl.engine.ctx.state
    if not state.get("plan"):
        repl.out.info("No plan yet: the model writes one with update_plan for tasks of several steps.")
    else:
        repl.out.print(Text("Plan", style="bold"))
        repl.out.print(plan_view(state["plan"], state.get("plan_explanation", "")))
    return True


def _checkpoints(repl: PlainRepl) -> Any:
    cp = repl.engine.checkpoints
    if cp is None:
        repl.out.warn("Git checkpoints are not available in this session (is this a git repository?).")
    return cp


@command("diff")
async def _diff(repl: PlainRepl, arg: str) -> bool:
    cp = _checkpoints(repl)
    if cp is not None:
        diff = await asyncio.to_thread(cp.session_diff)
        if diff.strip():
            repl.out.print(diff_view(diff))
        else:
            repl.out.info("No changes in this session yet.")
    return True


@command("undo")
async def _undo(repl: PlainRepl, arg: str) -> bool:
    engine = repl.engine
    if _checkpoints(repl) is None:
        return True
    if hasattr(engine, "undo"):
        await engine.undo()  # it reports the result as a notice, and tells the model
    else:
        result = await asyncio.to_thread(engine.checkpoints.undo)
        (repl.out.info if result.ok else repl.out.warn)(result.message)
    return True


@command("sessions")
async def _sessions(repl: PlainRepl, arg: str) -> bool:
    try:
        from de_agent.sessions.cli import list_sessions
    except ImportError:
        repl.out.warn("Listing sessions is not available in this build.")
        return True
    buffer = io.StringIO()
    await asyncio.to_thread(list_sessions, repl.root, buffer)
    repl.out.print(Text(buffer.getvalue().rstrip() or "No saved sessions for this repository."), soft_wrap=True)
    return True


@command("resume")
async def _resume(repl: PlainRepl, arg: str) -> bool:
    try:
        from de_agent.sessions.cli import choose_resume
    except ImportError:
        repl.out.warn("Resuming sessions is not available in this build.")
        return True
    if not arg:
        await _sessions(repl, "")
        repl.out.info("Use /resume ID (or a unique prefix of it).")
        return True
    try:
        resume = await asyncio.to_thread(choose_resume, repl.root, latest=False, ident=arg,
                                         interactive=False)
    except LookupError as exc:
        repl.out.warn(str(exc))
        return True
    await repl.restart(session_id=getattr(resume, "session_id", None), resume=resume)
    return True


@command("compact")
async def _compact(repl: PlainRepl, arg: str) -> bool:
    compact = _find_compact()
    if compact is None:
        repl.out.warn("Compaction is not available in this build.")
        return True
    result = compact(repl.engine, arg)
    if inspect.isawaitable(result):
        await repl.cancellable(result)  # the engine reports what happened as notices
    return True


def _find_compact() -> Callable[..., Any] | None:
    for module in ("de_agent.sessions.compact", "de_agent.sessions.budget"):
        try:
            return importlib.import_module(module).compact
        except (ImportError, AttributeError):
            continue
    return None


@command("clear")
async def _clear(repl: PlainRepl, arg: str) -> bool:
    await repl.restart()
    return True


@command("theme")
async def _theme(repl: PlainRepl, arg: str) -> bool:
    repl.out.info("Themes apply to the full-screen app; plain mode uses your terminal's colours "
                  "(set NO_COLOR to turn them off).")
    return True


@command("copy")
async def _copy(repl: PlainRepl, arg: str) -> bool:
    text = repl.out.last_answer
    if not text:
        repl.out.info("Nothing to copy yet: no answer in this session.")
        return True
    tool = clipboard_command()
    if tool is None:
        repl.out.warn("The clipboard is unavailable in plain mode here (no wl-copy, xclip, xsel or "
                      "pbcopy found); select the answer above in your terminal instead.")
        return True
    try:
        await asyncio.to_thread(subprocess.run, tool, input=text.encode(), check=True, timeout=5,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        repl.out.warn(f"Could not copy with {tool[0]}: {exc}")
        return True
    repl.out.info(f"Copied the last answer ({len(text)} characters) with {tool[0]}.")
    return True


def clipboard_command() -> list[str] | None:
    candidates = []
    if os.environ.get("WAYLAND_DISPLAY"):
        candidates.append(["wl-copy"])
    if os.environ.get("DISPLAY"):
        candidates += [["xclip", "-selection", "clipboard"], ["xsel", "--clipboard", "--input"]]
    candidates.append(["pbcopy"])
    for candidate in candidates:
        if shutil.which(candidate[0]):
            return candidate
    return None


@command("memory")
async def _memory(repl: PlainRepl, arg: str) -> bool:
    try:
        from de_agent.sessions.context import show_memory
    except ImportError:
        repl.out.warn(f"Memory is not available in this build (it would live in {paths.memory_dir()}).")
        return True
    repl.out.print(Text(await asyncio.to_thread(show_memory, repl.root)), soft_wrap=True)
    return True


@command("mcp")
async def _mcp(repl: PlainRepl, arg: str) -> bool:
    from de_agent.extensions.slash_text import mcp_command

    repl.out.print(Text(await asyncio.to_thread(mcp_command, repl.engine, arg)), soft_wrap=True)
    return True


@command("hooks")
async def _hooks(repl: PlainRepl, arg: str) -> bool:
    from de_agent.extensions.slash_text import hooks_command

    repl.out.print(Text(await asyncio.to_thread(hooks_command, repl.engine, arg)), soft_wrap=True)
    return True


@command("skills")
async def _skills(repl: PlainRepl, arg: str) -> bool:
    from de_agent.extensions.slash_text import skills_command

    repl.out.print(Text(await asyncio.to_thread(skills_command, repl.root, arg)), soft_wrap=True)
    return True


@command("commands")
async def _commands(repl: PlainRepl, arg: str) -> bool:
    from de_agent.extensions.slash_text import commands_command

    repl.out.print(Text(await asyncio.to_thread(commands_command, repl.root, arg)), soft_wrap=True)
    return True
