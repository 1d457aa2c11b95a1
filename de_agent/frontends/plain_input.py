"""Reading input for the plain REPL with prompt_toolkit: the main prompt and one-key questions.

The main prompt keeps a history file, completes slash commands, and takes several lines:
Enter sends (also on a chosen completion), Esc Enter (what Alt+Enter sends) or a trailing backslash starts a new line.
Ctrl+C clears typed text, or (on an empty line) raises KeyboardInterrupt; Ctrl+D on an
empty line raises EOFError; Shift+Tab cycles the approval mode. Both prompts take an
explicit input and output, so tests drive them through a pipe instead of a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.layout import Layout
from prompt_toolkit.layout.containers import Window
from prompt_toolkit.layout.controls import FormattedTextControl

from de_agent.frontends import slash


class SlashCompleter(Completer):
    """Completes ``/co`` to ``/compact`` and ``/copy`` while the first word is typed, and
    ``@et`` to repository paths (``root`` given; .gitignore respected, listed once)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self._paths: list[str] | None = None

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        word = text.rsplit(None, 1)[-1] if text.strip() and not text[-1].isspace() else ""
        if word.startswith("@") and self.root is not None:
            if self._paths is None:
                from de_agent.engine.mentions import repository_paths

                self._paths = repository_paths(self.root)
            typed = word[1:]
            for path in [p for p in self._paths if p.startswith(typed)][:50]:
                yield Completion("@" + path, start_position=-len(word))
            return
        if not text.startswith("/") or " " in text or "\n" in text:
            return
        for name in slash.completions(text):
            command = slash.BY_NAME[name[1:]]
            yield Completion(name, start_position=-len(text), display_meta=command.help)


def _bindings(cycle_mode: Callable[[], Any] | None) -> KeyBindings:
    kb = KeyBindings()

    @kb.add("enter")
    def _submit(event: Any) -> None:
        buffer = event.current_buffer
        buffer.complete_state = None  # Enter on a chosen completion runs it
        if buffer.document.text_before_cursor.endswith("\\") and buffer.document.is_cursor_at_the_end:
            buffer.delete_before_cursor(1)
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @kb.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    @kb.add("c-c")
    def _interrupt(event: Any) -> None:
        if event.current_buffer.text:
            event.current_buffer.reset()
        else:
            event.app.exit(exception=KeyboardInterrupt())

    if cycle_mode is not None:
        @kb.add("s-tab")
        def _cycle(event: Any) -> None:
            cycle_mode()
            event.app.invalidate()

    return kb


def make_prompt_session(*, history_path: Path | None, message: Callable[[], Any],
                        cycle_mode: Callable[[], Any] | None = None, input: Any = None,
                        output: Any = None, root: Path | None = None) -> PromptSession:
    """The main prompt. ``history_path`` None keeps history in memory only."""
    history: Any
    if history_path is None:
        history = InMemoryHistory()
    else:
        try:
            history_path.parent.mkdir(parents=True, exist_ok=True)
            history = FileHistory(str(history_path))
        except OSError:
            history = InMemoryHistory()
    return PromptSession(
        message=message, multiline=True, history=history, completer=SlashCompleter(root),
        complete_while_typing=True, key_bindings=_bindings(cycle_mode),
        prompt_continuation=lambda width, line, wrap: "… ".rjust(width), enable_history_search=False,
        input=input, output=output)


async def ask_key(question: str, keys: dict[str, str], *, input: Any = None, output: Any = None,
                  escape: str | None = None) -> str:
    """Show ``question`` and wait for one of ``keys`` (key -> answer); returns the answer.

    Other keys are ignored. ``escape`` (if given) is the answer for Escape and Ctrl+D.
    Ctrl+C raises KeyboardInterrupt.
    """
    kb = KeyBindings()
    for key, answer in keys.items():
        kb.add(key, eager=True)(lambda event, answer=answer: event.app.exit(result=answer))
    if escape is not None:
        kb.add("escape")(lambda event: event.app.exit(result=escape))
        kb.add("c-d")(lambda event: event.app.exit(result=escape))
    kb.add("c-c")(lambda event: event.app.exit(exception=KeyboardInterrupt()))
    kb.add("<any>")(lambda event: None)
    control = FormattedTextControl(FormattedText([("bold", question), ("", " ")]), show_cursor=True)
    app: Application = Application(layout=Layout(Window(control, dont_extend_height=True)),
                                   key_bindings=kb, full_screen=False, input=input, output=output,
                                   erase_when_done=True)
    return await app.run_async(handle_sigint=False)


async def ask_line(question: str, *, input: Any = None, output: Any = None) -> str:
    """One line of free text (no history); Ctrl+C raises KeyboardInterrupt, Ctrl+D EOFError."""
    session: PromptSession = PromptSession(input=input, output=output)
    return await session.prompt_async(FormattedText([("bold", question)]), handle_sigint=False)


class PromptIO:
    """A question asked at the plain REPL's prompt: where it prints, and its injectable input/output."""

    def __init__(self, out: Any, input: Any = None, output: Any = None):
        self.out = out
        self._input = input
        self._output = output

    async def key(self, question: str, keys: dict[str, str], escape: str) -> str:
        """One key from ``keys`` (Esc gives ``escape``)."""
        return await ask_key(question, keys, input=self._input, output=self._output, escape=escape)

    async def line(self, question: str) -> str:
        return await ask_line(question, input=self._input, output=self._output)
