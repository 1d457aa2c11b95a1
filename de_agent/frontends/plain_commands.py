"""How the plain REPL shows what a slash command came to (the commands live in controller.py).

:func:`show_reply` renders each typed reply of :class:`~de_agent.frontends.controller.Controller`;
only the clipboard is plain mode's own work.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from typing import TYPE_CHECKING

from rich.text import Text

from de_agent.frontends import replies as R
from de_agent.frontends.plain_render import diff_view, plan_view

if TYPE_CHECKING:
    from de_agent.frontends.plain import PlainRepl

KEYS_HELP = """Keys:
  Enter           send
  Esc Enter       new line (also Alt+Enter, or end the line with a backslash)
  Tab             complete a /command
  Shift+Tab       cycle the approval mode
  Ctrl+C          interrupt the running turn; twice on an empty prompt quits
  Ctrl+D          quit
Approvals: y once · a session · A always (a saved rule) · n deny · f deny with
a note for the model · h choose hunks of an edit one by one"""


async def show_reply(repl: PlainRepl, reply: R.Reply) -> None:
    out = repl.out
    match reply:
        case R.Say(text=text, level="info"):
            out.print(Text(text), soft_wrap=True) if "\n" in text else out.info(text)
        case R.Say(text=text, level="warning"):
            out.warn(text)
        case R.Say(text=text):
            out.print(Text(text, style="red"), soft_wrap=True)
        case R.Help(text=text):
            out.print(Text(text + "\n\n" + KEYS_HELP))
        case R.ModeChanged(text=text) | R.ModelChanged(text=text):
            out.info(text)
        case R.ShowPlan(plan=plan, explanation=explanation):
            if not plan:
                out.info("No plan yet: the model writes one with update_plan for tasks of several steps.")
            else:
                out.print(Text("Plan", style="bold"))
                out.print(plan_view(plan, explanation))
        case R.ShowDiff(diff=diff):
            out.print(diff_view(diff))
        case R.SessionList(header=header, rows=rows, problems=problems, pick=pick):
            for problem in problems:
                out.warn(f"Skipped {problem}")
            out.print(Text("\n".join([header, *(line for _id, line in rows)])), soft_wrap=True)
            if pick:
                out.info("Use /resume ID (or a unique prefix of it).")
        case R.SessionSwitched(text=text):
            if text:
                out.info(text)
        case R.SetTheme():
            out.info("Themes apply to the full-screen app; plain mode uses your terminal's colours "
                     "(set NO_COLOR to turn them off).")
        case R.CopyAnswer():
            await copy_answer(repl)
        case R.SendPrompt(text=text):
            await repl.run_turn(text)
        case R.Done() | R.Quit():
            pass


async def copy_answer(repl: PlainRepl) -> None:
    out = repl.out
    text = out.last_answer
    if not text:
        out.info("Nothing to copy yet: no answer in this session.")
        return
    tool = clipboard_command()
    if tool is None:
        out.warn("The clipboard is unavailable in plain mode here (no wl-copy, xclip, xsel or "
                 "pbcopy found); select the answer above in your terminal instead.")
        return
    try:
        await asyncio.to_thread(subprocess.run, tool, input=text.encode(), check=True, timeout=5,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        out.warn(f"Could not copy with {tool[0]}: {exc}")
        return
    out.info(f"Copied the last answer ({len(text)} characters) with {tool[0]}.")


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
