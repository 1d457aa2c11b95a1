"""Shell parsing for the command policy: bashlex trees turned into simple commands.

bashlex gives a full syntax tree. The policy needs a flatter view: every simple command
(words after quote removal, assignments, redirections, substitutions inside it), every
pipeline, every function definition, wherever it sits (inside ``$(...)``, loops, groups).
Anything bashlex cannot parse raises :class:`Unparsable`; the policy then asks.
"""

from __future__ import annotations

import codecs
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

MAX_COMMAND_CHARS = 20_000
SUBSTITUTIONS = ("commandsubstitution", "processsubstitution")
_ANSI_C = re.compile(r"\$'((?:[^'\\]|\\.)*)'")


class Unparsable(ValueError):
    """The command uses syntax the parser does not fully understand."""


@dataclass
class Redirect:
    type: str
    target: str | int | None
    node: Any


@dataclass
class Simple:
    """One simple command: ``[assignments] word... [redirections]``."""

    node: Any
    words: list[str]
    word_nodes: list[Any]
    assignments: list[str] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    substitutions: list[Any] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)
    tilde: bool = False
    source: str = ""
    """The whole command line the node positions refer to."""

    @property
    def program(self) -> str:
        return self.words[0] if self.words else ""


def parse(command: str) -> list[Any]:
    """The bashlex trees of a command line; raises Unparsable."""
    if "\x00" in command:
        raise Unparsable("the command contains a NUL byte")
    if len(command) > MAX_COMMAND_CHARS:
        raise Unparsable(f"the command is longer than {MAX_COMMAND_CHARS} characters")
    if not command.strip():
        raise Unparsable("the command is empty")
    import bashlex

    try:
        nodes = bashlex.parse(command)
    except RecursionError:
        raise Unparsable("the command nests too deeply") from None
    except Exception as exc:  # bashlex raises ParsingError, NotImplementedError and others
        raise Unparsable(f"{type(exc).__name__}: {exc}") from None
    if not nodes:
        raise Unparsable("nothing to run")
    return nodes


def children(node: Any) -> list[Any]:
    """Direct sub-nodes, including the commands inside substitutions and redirect targets."""
    out: list[Any] = []
    for attr in ("parts", "list", "redirects"):
        value = getattr(node, attr, None)
        if isinstance(value, list):
            out.extend(value)
    for attr in ("command", "output", "heredoc"):
        value = getattr(node, attr, None)
        if value is not None and hasattr(value, "kind"):
            out.append(value)
    return out


def walk(nodes: list[Any]) -> Iterator[Any]:
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def _word_text(node: Any, source: str) -> str:
    """The word after quote removal; bashlex mangles ``$'...'``, so that is decoded here."""
    start, end = node.pos
    raw = source[start:end]
    if "$'" not in raw:
        return node.word

    def decode(match: re.Match[str]) -> str:
        try:
            return shlex.quote(codecs.decode(match.group(1), "unicode_escape"))
        except (UnicodeDecodeError, ValueError):
            return shlex.quote(match.group(1))

    try:
        return " ".join(shlex.split(_ANSI_C.sub(decode, raw)))
    except ValueError:
        return node.word


def simple(node: Any, source: str) -> Simple:
    """The parts of a bashlex CommandNode."""
    cmd = Simple(node=node, words=[], word_nodes=[], source=source)
    for part in node.parts:
        if part.kind == "word":
            cmd.words.append(_word_text(part, source))
            cmd.word_nodes.append(part)
        elif part.kind == "assignment":
            cmd.assignments.append(part.word)
        elif part.kind == "redirect":
            out = part.output
            target = out if isinstance(out, int | str) or out is None else _word_text(out, source)
            cmd.redirects.append(Redirect(part.type, target, part))
    for sub in walk([p for p in node.parts]):
        if sub.kind in SUBSTITUTIONS:
            cmd.substitutions.append(sub)
        elif sub.kind == "parameter":
            cmd.parameters.append(sub.value)
        elif sub.kind == "tilde":
            cmd.tilde = True
    return cmd


def simple_commands(nodes: list[Any], source: str) -> list[Simple]:
    """Every simple command anywhere in the trees, substitutions and bodies included."""
    return [simple(n, source) for n in walk(nodes) if n.kind == "command"]


def pipelines(nodes: list[Any], source: str) -> list[list[Simple]]:
    """Every pipeline, as the simple commands directly in it (in order)."""
    return [[simple(p, source) for p in n.parts if p.kind == "command"]
            for n in walk(nodes) if n.kind == "pipeline"]


def functions(nodes: list[Any]) -> list[tuple[str, list[Any]]]:
    return [(n.name.word, [n.body]) for n in walk(nodes) if n.kind == "function"]


def only_simple(command: str) -> Simple | None:
    """The command as one plain simple command, or None when it is anything more.

    Plain: one command, words only (no assignments, redirections, substitutions, variable
    expansions, background ``&``, lists or pipelines).
    """
    try:
        nodes = parse(command)
    except Unparsable:
        return None
    if len(nodes) != 1 or nodes[0].kind != "command":
        return None
    cmd = simple(nodes[0], command)
    if cmd.assignments or cmd.redirects or cmd.substitutions or cmd.parameters or not cmd.words:
        return None
    if any(p.kind not in ("word",) for p in nodes[0].parts):
        return None
    return cmd


def split_fallback(command: str) -> list[list[list[str]]]:
    """Best effort when bashlex gives up: pipelines of simple commands, split with shlex.

    Used only to find deny-listed commands in text the parser rejected; never to allow.
    """
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        tokens = command.replace(";", " ; ").replace("|", " | ").replace("&", " & ").split()
    result: list[list[list[str]]] = [[[]]]
    for tok in tokens:
        if tok and set(tok) <= set(";&()\n") and tok not in ("&>",):
            result.append([[]])
        elif tok in ("|", "|&", "||"):
            if tok == "||":
                result.append([[]])
            else:
                result[-1].append([])
        else:
            result[-1][-1].append(tok)
    return [[c for c in pipe if c] for pipe in result if any(pipe)]
