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
  Tab             complete a /command or an @path
  Shift+Tab       cycle the approval mode: default, auto-edit, plan (yolo: /mode yolo)
  @path           attach a file to your message
  !command        run a command yourself (same policy and sandbox)
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
            out.info(f"The session's changes: {reply.files_text}.")
        case R.Confirm():
            if await _confirm(repl, reply):
                await show_reply(repl, await reply.then())
            elif reply.declined:
                out.info(reply.declined)
        case R.PickRewind():
            await _pick_rewind(repl, reply)
        case R.Rewound(text=text):
            out.info(f"Your message was: {text}  (Up recalls it)")
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


async def _confirm(repl: PlainRepl, reply: R.Confirm) -> bool:
    repl.out.warn(reply.question)
    try:
        answer = await repl.approvals.key(f"[y] {reply.yes.lower()}  [n] {reply.no.lower()}",
                                          {"y": "y", "n": "n"}, escape="n")
    except KeyboardInterrupt:
        answer = "n"
    return answer == "y"


async def _pick_rewind(repl: PlainRepl, reply: R.PickRewind) -> None:
    """List the person's messages; ask for a number, then whether the files go back too."""
    out, approvals = repl.out, repl.approvals
    if reply.chosen is not None:
        await _rewind_files(repl, reply, str(reply.chosen))
        return
    for number, text, changed in reply.points[-20:]:
        line = " ".join(text.split())
        out.print(Text.assemble((f"{number:>3}  ", "dim"), line if len(line) <= 90 else line[:89] + "…",
                                ("   · files changed since" if changed else "", "yellow")))
    try:
        arg = (await approvals.line("rewind to before message number (Enter cancels) › ")).strip()
    except (KeyboardInterrupt, EOFError):
        arg = ""
    if not arg:
        out.info("Nothing rewound.")
        return
    if not arg.isdigit() or not any(number == int(arg) for number, _text, _changed in reply.points):
        out.warn(f"There is no message {arg} to rewind to (you sent {len(reply.points)}).")
        return
    await _rewind_files(repl, reply, arg)


async def _rewind_files(repl: PlainRepl, reply: R.PickRewind, arg: str) -> None:
    """The message is chosen: ask whether the files go back too, then rewind."""
    out, approvals = repl.out, repl.approvals
    try:
        files = await approvals.key("[c] the conversation only  [f] also put back the files changed since  "
                                    "[Esc] cancel", {"c": "c", "f": "f"}, escape="cancel")
    except KeyboardInterrupt:
        files = "cancel"
    if files == "cancel":
        out.info("Nothing rewound.")
        return
    await show_reply(repl, await reply.then(int(arg), files == "f"))


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
