"""Command classification for the approval policy: allow, ask or deny, from a parse tree.

``classify`` parses the command with bashlex. It is ``deny`` when any part of it is on the
deny list (``denylist``), refused in every mode. It is ``allow`` only when every simple
command in it is on the read-only list with harmless options, joined by ``;``, ``&&``,
``||`` or pipes, with no assignment, redirection to a file, substitution, variable
expansion, here-document, background job, subshell, loop or function, and (when the
repository root is given) no path argument that leads out of the repository or to a
secret-looking file. Everything else asks, including whatever the parser cannot fully
understand. ``suggest_pattern`` gives the "always" pattern shown to the person.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from de_agent.security import argchecks, denylist, shparse
from de_agent.security import programs as progs
from de_agent.security.gitcheck import GIT_READ
from de_agent.security.pathcheck import path_reason

Verdict = Literal["allow", "ask", "deny"]

# Read-only programs; their options and arguments are checked below.
NO_FILES = progs.ANY | {"date"}
READS_FILES = frozenset(progs.OPTIONS) - {"date"} | {"sed"}
READ_ONLY = NO_FILES | READS_FILES | {"git", "cd"}

# Tools whose first argument is a subcommand: "always" patterns keep it (``dbt run *``).
MULTI = frozenset({"git", "dbt", "npm", "pnpm", "yarn", "uv", "poetry", "make", "docker", "kubectl",
                   "cargo", "go", "pip", "pip3", "helm", "terraform", "gh", "conda", "mamba",
                   "pipenv", "hatch", "pdm", "nox", "just", "bazel", "mvn", "gradle", "dotnet",
                   "airflow", "dagster", "alembic", "pre-commit", "sqlfluff", "prefect", "bun",
                   "deno", "rye", "tox", "sqlmesh", "meltano", "dvc", "astro", "databricks"})
# Subcommands that run another program: the pattern keeps that program too (``uv run pytest *``).
RUNNERS = frozenset({("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"),
                     ("hatch", "run"), ("conda", "run"), ("mamba", "run"), ("rye", "run"),
                     ("npm", "exec"), ("npm", "run"), ("pnpm", "exec"), ("pnpm", "run"),
                     ("pnpm", "dlx"), ("yarn", "dlx"), ("yarn", "exec"), ("yarn", "run"),
                     ("bun", "x"), ("bun", "run"), ("docker", "exec"), ("docker", "run"),
                     ("kubectl", "exec"), ("go", "run"), ("cargo", "run"), ("deno", "run"),
                     ("tox", "run"), ("nox", "run")})
SINGLE_RUNNERS = frozenset({"npx", "pnpx", "bunx", "uvx", "pipx"})
# Never generalised: a pattern for these is the exact command.
EXACT_ONLY = (denylist.INTERPRETERS | frozenset(denylist.WRAPPERS)
              | frozenset({"rm", "rmdir", "dd", "shred", "chmod", "chown", "chgrp", "kill", "pkill",
                           "killall", "eval", "exec", "xargs", "find", "mv", "truncate", "ssh",
                           "scp", "rsync", "curl", "wget", "su", "trap", "alias", "export", "set"}))


@dataclass
class _State:
    """The repository root, and the folder a ``cd`` inside it moved to (None: the root)."""

    root: Path | None
    base: Path | None = None


@dataclass(frozen=True)
class CommandVerdict:
    verdict: Verdict
    reason: str


def _ask(reason: str) -> CommandVerdict:
    return CommandVerdict("ask", reason)


def classify(command: str, root: str | os.PathLike[str] | None = None) -> CommandVerdict:
    """allow / ask / deny for a shell command; pass ``root`` to check path arguments too."""
    reason = denylist.deny_reason(command)
    if reason:
        return CommandVerdict("deny", reason)
    try:
        nodes = shparse.parse(command)
    except shparse.Unparsable as exc:
        return _ask(f"the command could not be fully parsed ({exc})")
    seen: list[str] = []
    root_path = Path(os.path.realpath(root)) if root is not None else None
    state = _State(root_path)
    for node in nodes:
        reason = _check_node(node, command, state, seen)
        if reason:
            return _ask(reason)
    names = ", ".join(dict.fromkeys(seen))
    return CommandVerdict("allow", f"read-only: {names}")


def _check_node(node, source: str, root: _State, programs: list[str]) -> str | None:
    kind = node.kind
    if kind in ("list", "pipeline"):
        for part in node.parts:
            if part.kind == "operator" and part.op == "&":
                return "runs a command in the background (&)"
            if part.kind == "operator" and part.op not in (";", "&&", "||", "\n"):
                return f"uses the shell operator {part.op!r}"
            if part.kind in ("operator", "pipe") or (part.kind == "reservedword" and part.word == "!"):
                continue
            reason = _check_node(part, source, root, programs)
            if reason:
                return reason
        return None
    if kind == "command":
        return _check_simple(shparse.simple(node, source), root, programs)
    if kind == "compound":
        return "uses a subshell, group, loop or condition"
    if kind == "function":
        return "defines a shell function"
    return f"uses shell syntax ({kind}) that the policy does not analyse"


def _hidden_expansion(raw: str) -> bool:
    """Whether bash would expand ``$...`` or a backquote in this raw word (outside single
    quotes): bashlex folds some of them into the word (``~$(cmd)``, ``~`cmd```)."""
    i, quote = 0, ""
    while i < len(raw):
        ch = raw[i]
        if quote == "'":
            if ch == "'":
                quote = ""
        elif ch == "\\":
            i += 1
        elif ch == "'" and not quote:
            quote = "'"
        elif ch == '"':
            quote = "" if quote == '"' else '"'
        elif ch == "`":
            return True
        elif ch == "$" and i + 1 < len(raw) and (raw[i + 1] in "({[?!#@*$-_" or raw[i + 1].isalnum()):
            return True
        i += 1
    return False


def _check_simple(cmd: shparse.Simple, state: _State, programs: list[str]) -> str | None:
    root = state.root
    if not cmd.words:
        return "has no command word (only assignments or redirections)"
    if cmd.assignments:
        return f"sets a variable for the command ({cmd.assignments[0]}), which can change what runs"
    for sub in cmd.substitutions:
        return ("uses process substitution <(...)" if sub.kind == "processsubstitution"
                else "runs a command substitution $(...) or `...`")
    if cmd.parameters:
        return f"expands a variable (${cmd.parameters[0]}) whose value the policy cannot see"
    for node in cmd.word_nodes + [r.node for r in cmd.redirects]:
        raw = cmd.source[node.pos[0]:node.pos[1]] if cmd.source else getattr(node, "word", "")
        if _hidden_expansion(raw):
            return f"a word expands a command or variable ({raw[:60]})"
    for red in cmd.redirects:
        reason = _redirect_reason(red, root, state.base)
        if reason:
            return reason
    prog = cmd.words[0]
    if "/" in prog:
        return f"runs a program by path ({prog})"
    if prog not in READ_ONLY:
        return f"`{prog}` is not on the read-only list"
    if prog == "cd":
        return _cd(cmd.words, state)
    check = argchecks.CHECKS.get(prog)
    if check:
        reason = check(cmd.words, root, state.base)
    elif prog in progs.ANY:
        reason = None
    else:
        reason, args, values = progs.check_options(prog, cmd.words)
        reason = reason or argchecks.paths(args + values, root, state.base)
    if reason:
        return reason
    programs.append(prog)
    return None


def _cd(words: list[str], state: _State) -> str | None:
    """``cd DIR`` inside the repository: later path checks start from DIR."""
    if len(words) != 2 or words[1].startswith("-") or state.root is None:
        return "`cd` without a folder inside the repository"
    reason = path_reason(words[1], state.root, state.base)
    if reason:
        return reason
    target = Path(os.path.realpath(os.path.join(str(state.base or state.root), words[1])))
    if not target.is_dir():
        return f"`cd {words[1]}`: no such folder in the repository"
    state.base = target
    return None


def _redirect_reason(red: shparse.Redirect, root: Path | None, base: Path | None = None) -> str | None:
    kind, target = red.type, red.target
    if kind in (">&", "<&") and (isinstance(target, int) or target == "-"):
        return None
    if kind in (">", ">>", ">|", "&>", "&>>", ">&"):
        if target in ("/dev/null", "/dev/stdout", "/dev/stderr"):
            return None
        return f"writes output to a file ({kind} {target})"
    if kind == "<" and isinstance(target, str):
        return path_reason(target, root, base)
    if kind in ("<<", "<<-"):
        return "uses a here-document"
    if kind == "<<<":
        return "uses a here-string"
    return f"uses the redirection {kind}"


def suggest_pattern(command: str) -> str:
    """The "always" pattern shown to the person: never wider than program + subcommand.

    ``pytest tests/x.py -q`` -> ``pytest *``; ``dbt run --select a`` -> ``dbt run *``;
    ``uv run pytest -q`` -> ``uv run pytest *``. Compound commands, redirections,
    substitutions, interpreters, wrappers, destructive programs and read-only programs (which
    only ask for a specific reason) get the exact command.
    """
    text = command.strip()
    if denylist.deny_reason(text):
        return text
    cmd = shparse.only_simple(text)
    if cmd is None:
        return text
    words = cmd.words
    name = denylist.base(words[0])
    if name in denylist.INTERPRETERS:
        if len(words) >= 3 and words[1] == "-m" and not words[2].startswith("-"):
            return _join(words[:3])
        return text
    if name in EXACT_ONLY:
        return text
    # A read-only program only asks for a specific reason (a path outside, a writing option):
    # approving it always would approve that reason for every other use too.
    if (name in READ_ONLY and name != "git") or (name == "git" and len(words) > 1 and words[1] in GIT_READ):
        return text
    if name in SINGLE_RUNNERS:
        fixed = 2
    elif name in MULTI:
        if len(words) < 2:
            return text
        fixed = 3 if (name, words[1]) in RUNNERS else 2
    else:
        return _join(words[:1])
    if len(words) < fixed or any(w.startswith("-") for w in words[1:fixed]):
        return text
    runs_program = name in SINGLE_RUNNERS or fixed == 3
    if runs_program and denylist.base(words[fixed - 1]) in denylist.INTERPRETERS | EXACT_ONLY:
        return text
    return _join(words[:fixed])


def _join(fixed: list[str]) -> str:
    return " ".join(shlex.quote(w) for w in fixed) + " *"
