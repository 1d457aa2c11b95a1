"""The base of the TUI's dialogs: a box centred over the dimmed screen behind it.

Each dialog composes one container with the ``dialog`` class and sets only what differs in
its own CSS: width, height limits and the border's colour.
"""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

ResultT = TypeVar("ResultT")


class Dialog(ModalScreen[ResultT]):
    DEFAULT_CSS = """
    Dialog { align: center middle; background: $background 60%; }
    Dialog .dialog { height: auto; background: $surface; padding: 0 1; }
    """
