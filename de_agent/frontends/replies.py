"""What a slash command comes to, as typed values; the TUI and the plain REPL only render them.

:class:`~de_agent.frontends.controller.Controller` returns one of these for every
command. A front end matches on the type (``match reply:``) and shows it its own way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

Level = Literal["info", "warning", "error"]


@dataclass
class Say:
    """A message for the person."""

    text: str
    level: Level = "info"


@dataclass
class Help:
    """The command list; the front end adds its own keys."""

    text: str


@dataclass
class ModeChanged:
    mode: str
    text: str


@dataclass
class ModelChanged:
    model: str
    text: str


@dataclass
class ShowPlan:
    plan: list[dict[str, str]]
    explanation: str = ""


@dataclass
class ShowDiff:
    """The session's total change (a unified diff)."""

    diff: str

    @property
    def files(self) -> int:
        return self.diff.count("\ndiff --git ") + self.diff.startswith("diff --git ")

    @property
    def files_text(self) -> str:
        return f"{self.files} file{'' if self.files == 1 else 's'}"


@dataclass
class SessionList:
    """This repository's sessions: a header line and (id, line) rows, newest first."""

    header: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    pick: bool = False  # /resume without an id: let the person choose one
    # (id, "title\nturns · model · tokens · cost") per row, for front ends that lay out a grid
    details: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SessionSwitched:
    """The engine now runs another session (/clear, /resume, /compact)."""

    session_id: str
    text: str = ""


@dataclass
class Confirm:
    """A yes/no question before the command goes on (yolo mode). On yes the front end awaits
    ``then()`` on the engine's loop and shows its reply; on no it shows ``declined``."""

    question: str
    yes: str
    no: str
    then: Callable[[], Awaitable[Reply]]
    declined: str = ""


@dataclass
class PickRewind:
    """/rewind without a number: the person's earlier messages, oldest first, as
    (number, text, files changed since). The front end lets the person choose one and whether
    to put the files back, then awaits ``then(number, restore_files)`` on the engine's loop."""

    points: list[tuple[int, str, bool]]
    then: Callable[[int, bool], Awaitable[Reply]]
    chosen: int | None = None  # /rewind N: the message is chosen; only the files are left to ask


@dataclass
class Rewound:
    """The conversation went back to before an earlier message (the view was cleared and the
    part that stays replayed, as events); ``text`` is that message, offered for editing."""

    session_id: str
    text: str


@dataclass
class Done:
    """The command did its work and the engine has said so in events already."""


@dataclass
class SendPrompt:
    """A custom command came to a request: the front end sends ``text`` as a user turn."""

    text: str
    command: str = ""


@dataclass
class SetTheme:
    name: str


@dataclass
class CopyAnswer:
    pass


@dataclass
class Quit:
    pass


Reply = (Say | Help | ModeChanged | ModelChanged | ShowPlan | ShowDiff | SessionList | SessionSwitched | Done
         | SendPrompt | SetTheme | CopyAnswer | Quit | Confirm | PickRewind | Rewound)
