"""Slash commands shared by the TUI and the plain REPL: names, help, parsing and completion.

What a command does is the front end's business; this module only says which commands
exist, what they mean, and how a typed line splits into a command and its argument.
Custom commands (Markdown files, see :mod:`de_agent.extensions.commands`) join the built-in
ones at run time through :func:`register` (or :func:`set_custom`, which replaces them all); a
custom command carries its prompt template and the controller sends it as a request.
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
    prompt: str | None = None  # a custom command's template ($ARGUMENTS); None for built-ins
    source: str = ""  # where a custom command came from


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
    SlashCommand("mcp", "list MCP servers, their state and tools; approve a repository's server",
                 "[approve NAME]"),
    SlashCommand("hooks", "list hooks; approve this repository's hooks", "[approve]"),
    SlashCommand("skills", "list the skills the model can open; approve this repository's", "[approve]"),
    SlashCommand("commands", "list custom commands; approve this repository's", "[approve]"),
    SlashCommand("quit", "leave de-agent"),
)

BY_NAME = {c.name: c for c in COMMANDS}
_CUSTOM: dict[str, SlashCommand] = {}


def register(command: SlashCommand) -> str | None:
    """Add (or replace) a custom command at run time; returns why it was refused, else None."""
    if command.name in {c.name for c in COMMANDS}:
        return f"custom command /{command.name} ({command.source}) is hidden by a built-in command"
    _CUSTOM[command.name] = command
    BY_NAME[command.name] = command
    return None


def unregister(name: str) -> SlashCommand | None:
    """Remove a custom command (built-in commands stay)."""
    command = _CUSTOM.pop(name, None)
    if command is not None:
        BY_NAME.pop(name, None)
    return command


def set_custom(commands: list[SlashCommand]) -> list[str]:
    """Make exactly these custom commands available (replacing earlier ones); returns what was
    skipped (the first of a name wins)."""
    for name in list(_CUSTOM):
        unregister(name)
    skipped = []
    for command in commands:
        if command.name in _CUSTOM:
            skipped.append(f"custom command /{command.name} ({command.source}) is hidden by another custom command")
            continue
        if (why := register(command)) is not None:
            skipped.append(why)
    return skipped


def all_commands() -> list[SlashCommand]:
    return [*COMMANDS, *_CUSTOM.values()]


def expand(command: SlashCommand, arg: str) -> str:
    """A custom command's prompt with its argument put in place of $ARGUMENTS."""
    template = command.prompt or ""
    if "$ARGUMENTS" in template:
        return template.replace("$ARGUMENTS", arg)
    return template + (f"\n\n{arg}" if arg else "")


class UnknownCommand(ValueError):
    pass


def parse(line: str) -> tuple[SlashCommand, str] | None:
    """(command, argument) for a slash line; None for ordinary text; UnknownCommand otherwise."""
    text = line.strip()
    if not text.startswith("/") or text.startswith("//"):
        return None
    name, _, arg = text[1:].partition(" ")
    command = BY_NAME.get(name) or BY_NAME.get(name.lower())
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
    return [f"/{c.name}" for c in all_commands() if c.name.lower().startswith(typed)]


def help_text() -> str:
    width = max(len(c.name) + len(c.argument) for c in all_commands()) + 3

    def line(c: SlashCommand) -> str:
        return f"  /{(c.name + ' ' + c.argument).strip():<{width}} {c.help}"

    text = "Commands:\n" + "\n".join(line(c) for c in COMMANDS)
    if _CUSTOM:
        text += "\n\nCustom commands:\n" + "\n".join(line(c) for c in _CUSTOM.values())
    return text
