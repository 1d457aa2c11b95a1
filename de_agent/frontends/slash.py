"""Slash commands shared by the TUI and the plain REPL: names, help, parsing and completion.

What a command does is the front end's business; this module only says which commands
exist, what they mean, and how a typed line splits into a command and its argument.
"""

from __future__ import annotations

from dataclasses import dataclass

YOLO_QUESTION = ("Turn on yolo mode? Every edit and command then runs without asking (still "
                 "sandboxed; the deny list still applies).")


@dataclass(frozen=True)
class SlashCommand:
    name: str
    help: str
    argument: str = ""  # how the argument is described in /help, '' when it takes none


COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("help", "show the commands and keys"),
    SlashCommand("mode", "show or set the approval mode", "[default|auto-edit|plan|yolo]"),
    SlashCommand("model", "show or switch the model", "[NAME]"),
    SlashCommand("plan", "show the current plan"),
    SlashCommand("diff", "show the session's total change against its starting point"),
    SlashCommand("undo", "restore the files the last turn changed (git checkpoints)"),
    SlashCommand("rewind", "go back to one of your earlier messages (optionally its files too)", "[N]"),
    SlashCommand("sessions", "list this repository's sessions"),
    SlashCommand("resume", "resume a session", "[ID]"),
    SlashCommand("compact", "summarise the conversation to free context", "[INSTRUCTIONS]"),
    SlashCommand("clear", "start a new session (the current one stays saved)"),
    SlashCommand("theme", "show or switch the theme", "[NAME]"),
    SlashCommand("copy", "copy the last answer to the clipboard"),
    SlashCommand("memory", "show what de-agent remembers for this repository"),
    SlashCommand("specialists", "list the specialists (@name TASK hands a task to one)"),
    SlashCommand("queries", "show the warehouse queries this session ran (the query ledger)"),
    SlashCommand("quit", "leave de-agent"),
)

BY_NAME = {c.name: c for c in COMMANDS}


class UnknownCommand(ValueError):
    pass


def parse(line: str) -> tuple[SlashCommand, str] | None:
    """(command, argument) for a slash line; None for ordinary text; UnknownCommand otherwise."""
    text = line.strip()
    if not text.startswith("/") or text.startswith("//"):
        return None
    name, _, arg = text[1:].partition(" ")
    command = BY_NAME.get(name.lower())
    if command is None:
        close = completions("/" + name[:2]) if name else []
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownCommand(f"Unknown command /{name}.{hint} Type /help for the list.")
    return command, arg.strip()


def completions(prefix: str) -> list[str]:
    """Slash commands starting with what was typed (e.g. '/co' -> ['/compact', '/copy'])."""
    if not prefix.startswith("/"):
        return []
    typed = prefix[1:].lower()
    return [f"/{c.name}" for c in COMMANDS if c.name.startswith(typed)]


def help_text() -> str:
    width = max(len(c.name) + len(c.argument) for c in COMMANDS) + 3
    lines = [f"  /{(c.name + ' ' + c.argument).strip():<{width}} {c.help}" for c in COMMANDS]
    return "Commands:\n" + "\n".join(lines)
