"""Approvals at the plain REPL's prompt: show what is asked, take one key, build the decision.

Keys: ``y`` once, ``a`` for the session, ``A`` always (only when the policy offers a
pattern, which is shown), ``n`` deny, ``f`` deny with a note for the model, and ``h`` to
choose the hunks of a one-file edit one by one. Escape and Ctrl+D deny; Ctrl+C raises
KeyboardInterrupt so the REPL can interrupt the turn.
"""

from __future__ import annotations

from typing import Any, cast

from rich.text import Text

from de_agent import protocol as P
from de_agent.frontends.plain_input import PromptIO
from de_agent.frontends.plain_render import PlainRenderer, diff_view
from de_agent.frontends.render import hunks_applied

CHOICE_WORDS = {"once": "approved once", "session": "approved for this session",
                "always": "approved always (saved as a rule)", "deny": "denied",
                "deny_note": "denied with a note", "data_diff": "data diff first"}
SAMPLE_PERCENT = 10  # "on a sample": this percent of the model's keys
ALL_REJECTED = "The user rejected every hunk of this change."


def edit_hunks(request: P.ApprovalRequest) -> list[Any]:
    """The hunks of a one-file edit with several of them (then they can be chosen one by one)."""
    if len(request.diffs) != 1:
        return []
    try:
        from de_agent.tools.helpers.diffs import parse_hunks
    except ImportError:
        return []
    hunks = parse_hunks(request.diffs[0].get("diff", ""))
    return hunks if len(hunks) > 1 else []


class ApprovalPrompt(PromptIO):
    """Asks a person about one approval request (slash commands ask their questions through it too)."""

    out: PlainRenderer

    async def ask(self, request: P.ApprovalRequest) -> P.ApprovalDecision:
        """The person's decision; raises KeyboardInterrupt on Ctrl+C."""
        self.out.show_request(request)
        keys = {"y": "once", "a": "session", "n": "deny", "f": "deny_note"}
        always = ""
        if request.always_pattern:
            keys["A"] = "always"
            always = f"  [A] always ({request.always_pattern})"
        hunks = edit_hunks(request)
        if hunks:
            keys["h"] = "hunks"
        if request.can_diff_data:
            keys["d"] = "data_diff"
            keys["s"] = "data_diff_sample"
        question = (f"[y] once  [a] session{always}  [n] deny  [f] deny with note"
                    + (f"  [h] choose of {len(hunks)} hunks" if hunks else "")
                    + ("  [d] diff the data first  [s] on a 10% sample" if request.can_diff_data else ""))
        note, accepted = "", None
        choice = await self.key(question, keys, escape="deny")
        if choice in ("data_diff", "data_diff_sample"):
            self.out.print(Text("  → building both versions in a scratch database…", style="dim"))
            return P.ApprovalDecision(request.call_id, "data_diff",
                                      sample=SAMPLE_PERCENT if choice == "data_diff_sample" else None)
        if choice == "hunks":
            accepted = await self._choose_hunks(hunks)
            choice = "once" if accepted else "deny_note"
            note = "" if accepted else ALL_REJECTED
        if choice == "deny_note" and not note:
            try:
                note = (await self.line("note for the model › ")).strip()
            except (KeyboardInterrupt, EOFError):
                note = ""
            if not note:
                choice = "deny"
        shown = CHOICE_WORDS[choice] + (f": {note}" if note else "")
        if accepted:
            shown += " " + hunks_applied(accepted, len(hunks))
        style = "green" if choice in ("once", "session", "always") else "yellow"
        self.out.print(Text(f"  → {shown}", style=style))
        return P.ApprovalDecision(request.call_id, cast(P.ApprovalChoice, choice), note, hunks=accepted)

    async def _choose_hunks(self, hunks: list[Any]) -> list[int]:
        """Ask hunk by hunk; the indices of the accepted ones."""
        accepted: list[int] = []
        for index, hunk in enumerate(hunks):
            self.out.print(Text(f"  hunk {index + 1} of {len(hunks)}", style="bold"))
            self.out.print(diff_view("\n".join([hunk.header, *hunk.lines])))
            answer = await self.key("[y] apply  [n] skip  [a] apply this and the rest  [d] skip the rest",
                                     {"y": "y", "n": "n", "a": "a", "d": "d"}, escape="d")
            if answer in ("y", "a"):
                accepted.append(index)
            if answer == "a":
                accepted.extend(range(index + 1, len(hunks)))
            if answer in ("a", "d"):
                break
        return accepted
