"""The session flags of the command line: ``--list-sessions``, ``-c/--continue``, ``-r/--resume [ID]``.

Only this repository's sessions (by ``repo_root`` in their metadata) are listed and
resumed. Without an id, ``-r`` shows a numbered list on the terminal to pick from; where
nobody can pick (headless, no terminal) it prints the list and fails with a clear reason.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from de_agent.sessions.reader import SessionFileError, SessionInfo
from de_agent.sessions.reader import list_sessions as find_sessions
from de_agent.sessions.resume import Resume, resume_file

PICK_LIMIT = 20


def _when(info: SessionInfo) -> str:
    return datetime.fromtimestamp(info.updated).strftime("%Y-%m-%d %H:%M")


def format_tokens(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    if n >= 1000:
        return f"{n / 1000:.1f}k"
    return str(n)


def format_cost(cost: float | None) -> str:
    """The one way every screen writes a cost (None: the provider's price is not known)."""
    if cost is None:
        return "cost unknown"
    return f"${cost:.4f}" if cost < 1 else f"${cost:.2f}"


def session_rows(infos: list[SessionInfo], numbered: bool = False) -> list[str]:
    """One aligned line per session (id, date, turns, model, tokens, cost, title)."""
    header = ["ID", "UPDATED", "TURNS", "MODEL", "TOKENS", "COST", "TITLE"]
    rows = []
    for info in infos:
        tokens = int(info.usage.get("prompt_tokens") or 0) + int(info.usage.get("completion_tokens") or 0)
        title = info.title or "(no request yet)"
        if info.parent:
            title += f"  [continues {info.parent}]"
        rows.append([info.id, _when(info), str(info.turns), info.model, format_tokens(tokens),
                     format_cost(info.usage.get("cost")), title])
    if numbered:
        header.insert(0, "#")
        for i, row in enumerate(rows, 1):
            row.insert(0, f"{i}")
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header) - 1)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
            for row in [header, *rows]]


def list_sessions(root: Path, out: TextIO) -> int:
    """Print this repository's sessions, newest first; unreadable files are named on stderr."""
    infos, problems = find_sessions(root)
    for problem in problems:
        print(f"de-agent: skipped {problem}", file=sys.stderr)
    if not infos:
        out.write(f"No sessions yet for {root}.\n")
        return 0
    out.write("\n".join(session_rows(infos)) + "\n")
    return 0


def resume_by_id(root: Path, ident: str) -> Resume:
    """The session whose id is ``ident`` or starts with it; LookupError when none or several do."""
    ident = ident.strip()
    infos, _ = find_sessions(root)
    exact = [i for i in infos if i.id == ident]
    matches = exact or [i for i in infos if i.id.startswith(ident)]
    if not matches:
        others, _ = find_sessions(None)
        elsewhere = [i for i in others if i.id.startswith(ident)]
        if len(elsewhere) == 1:
            raise LookupError(f"session {elsewhere[0].id} belongs to {elsewhere[0].repo_root}; "
                              "run de-agent there to resume it")
        raise LookupError(f"no session of this repository matches {ident!r} "
                          "(de-agent --list-sessions shows them)")
    if len(matches) > 1:
        ids = ", ".join(i.id for i in matches[:8])
        raise LookupError(f"{ident!r} matches {len(matches)} sessions ({ids}); give more of the id")
    return _load(matches[0])


def _load(info: SessionInfo) -> Resume:
    try:
        return resume_file(info.path)
    except SessionFileError as exc:
        raise LookupError(f"cannot resume: {exc}") from None


def choose_resume(root: Path, latest: bool, ident: str | None, interactive: bool, *,
                  stdin: TextIO | None = None, err: TextIO | None = None) -> Resume:
    """Pick the session that ``-c`` or ``-r [ID]`` names; LookupError with a clear reason otherwise."""
    err = err or sys.stderr
    if ident:
        return resume_by_id(root, ident)
    infos, problems = find_sessions(root)
    for problem in problems:
        print(f"de-agent: skipped {problem}", file=err)
    if not infos:
        raise LookupError(f"no session to resume in {root} (start one first; --list-sessions shows them)")
    if latest:
        return _load(infos[0])
    shown = infos[:PICK_LIMIT]
    err.write("Sessions of this repository (newest first):\n" + "\n".join(session_rows(shown, True)) + "\n")
    stdin = stdin or sys.stdin
    if not interactive or not stdin.isatty():
        raise LookupError("-r without an id needs a terminal to choose from the list above; "
                          "pass the id (or a unique prefix): -r ID")
    while True:
        err.write(f"Resume which session? [1-{len(shown)}, Enter to cancel] ")
        err.flush()
        answer = stdin.readline()
        if not answer or not answer.strip():
            raise LookupError("no session chosen")
        choice = answer.strip()
        if choice.isdigit() and 1 <= int(choice) <= len(shown):
            return _load(shown[int(choice) - 1])
        try:
            return resume_by_id(root, choice)
        except LookupError as exc:
            err.write(f"{exc}\n")
