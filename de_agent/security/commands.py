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

from de_agent.security import denylist, shparse
from de_agent.security.gitcheck import GIT_READ, git_reason
from de_agent.security.pathcheck import path_reason

Verdict = Literal["allow", "ask", "deny"]

# Read-only programs; their options and arguments are checked below.
NO_FILES = frozenset({"echo", "printf", "pwd", "which", "true", "false", "date", "whoami", "uname",
                      "id", "basename", "dirname", "tr", "seq", "sleep", "test", "[", "printenv"})
READS_FILES = frozenset({"ls", "cat", "head", "tail", "wc", "grep", "egrep", "fgrep", "rg", "find",
                         "file", "stat", "du", "df", "tree", "sort", "uniq", "cut", "nl", "diff",
                         "cmp", "md5sum", "sha1sum", "sha256sum", "sha512sum", "cksum", "column",
                         "realpath", "readlink", "comm", "paste", "rev", "tac", "fold", "expand"})
READ_ONLY = NO_FILES | READS_FILES | {"git"}

FIND_ACTIONS = frozenset({"-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0",
                          "-fprintf", "-fls", "-files0-from"})
GREP_VALUE_OPTS = frozenset({"-A", "-B", "-C", "-m", "-d", "-D", "--label", "--include", "--exclude",
                             "--exclude-dir", "--context", "--max-count", "--after-context",
                             "--before-context", "--binary-files", "--devices", "--directories"})
RG_VALUE_OPTS = GREP_VALUE_OPTS | frozenset({
    "-g", "-t", "-T", "-j", "-M", "-E", "-r", "--glob", "--iglob", "--type", "--type-not",
    "--max-depth", "--sort", "--sortr", "--encoding", "--color", "--colors", "--max-filesize",
    "--replace", "--threads", "--type-add", "--max-columns", "--engine", "--path-separator"})

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
    programs: list[str] = []
    root_path = Path(os.path.realpath(root)) if root is not None else None
    for node in nodes:
        reason = _check_node(node, command, root_path, programs)
        if reason:
            return _ask(reason)
    names = ", ".join(dict.fromkeys(programs))
    return CommandVerdict("allow", f"read-only: {names}")


def _check_node(node, source: str, root: Path | None, programs: list[str]) -> str | None:
    kind = node.kind
    if kind == "list":
        for part in node.parts:
            if part.kind == "operator":
                if part.op == "&":
                    return "runs a command in the background (&)"
                if part.op not in (";", "&&", "||", "\n"):
                    return f"uses the shell operator {part.op!r}"
                continue
            reason = _check_node(part, source, root, programs)
            if reason:
                return reason
        return None
    if kind == "pipeline":
        for part in node.parts:
            if part.kind == "pipe" or (part.kind == "reservedword" and part.word == "!"):
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


def _check_simple(cmd: shparse.Simple, root: Path | None, programs: list[str]) -> str | None:
    if not cmd.words:
        return "has no command word (only assignments or redirections)"
    if cmd.assignments:
        return f"sets a variable for the command ({cmd.assignments[0]}), which can change what runs"
    for sub in cmd.substitutions:
        return ("uses process substitution <(...)" if sub.kind == "processsubstitution"
                else "runs a command substitution $(...) or `...`")
    if cmd.parameters:
        return f"expands a variable (${cmd.parameters[0]}) whose value the policy cannot see"
    for red in cmd.redirects:
        reason = _redirect_reason(red, root)
        if reason:
            return reason
    prog = cmd.words[0]
    if "/" in prog:
        return f"runs a program by path ({prog})"
    if prog not in READ_ONLY:
        return f"`{prog}` is not on the read-only list"
    check = _CHECKS.get(prog)
    reason = check(cmd.words, root) if check else None
    if reason is None and prog in READS_FILES and prog not in _CHECKS:
        reason = _paths(_plain_args(cmd.words), root)
    if reason:
        return reason
    programs.append(prog)
    return None


def _redirect_reason(red: shparse.Redirect, root: Path | None) -> str | None:
    kind, target = red.type, red.target
    if kind in (">&", "<&") and (isinstance(target, int) or target == "-"):
        return None
    if kind in (">", ">>", ">|", "&>", "&>>", ">&"):
        if target in ("/dev/null", "/dev/stdout", "/dev/stderr"):
            return None
        return f"writes output to a file ({kind} {target})"
    if kind == "<" and isinstance(target, str):
        return path_reason(target, root)
    if kind in ("<<", "<<-"):
        return "uses a here-document"
    if kind == "<<<":
        return "uses a here-string"
    return f"uses the redirection {kind}"


def _plain_args(words: list[str]) -> list[str]:
    """Arguments that may name files: every non-option word, and ``--opt=value`` values."""
    out: list[str] = []
    only_args = False
    for word in words[1:]:
        if only_args or not word.startswith("-") or word == "-":
            out.append(word)
        elif word == "--":
            only_args = True
        elif "=" in word:
            out.append(word.split("=", 1)[1])
    return out


def _paths(args: list[str], root: Path | None) -> str | None:
    for arg in args:
        reason = path_reason(arg, root)
        if reason:
            return reason
    return None


def _short_flags(words: list[str]) -> set[str]:
    return {ch for w in words[1:] if w.startswith("-") and not w.startswith("--") for ch in w[1:]}


def _find(words: list[str], root: Path | None) -> str | None:
    for word in words[1:]:
        if word in FIND_ACTIONS:
            return f"`find {word}` runs commands, writes or deletes files, or reads a list of paths"
        if word in ("-L", "-H", "-follow"):
            return "`find` that follows symbolic links could leave the repository"
    starts: list[str] = []
    for word in words[1:]:
        if word.startswith(("-", "(", "!")):
            break
        starts.append(word)
    return _paths(starts, root)


def _search(words: list[str], root: Path | None, value_opts: frozenset[str]) -> str | None:
    """grep / rg: the first positional is the pattern unless -e or -f gave one."""
    paths: list[str] = []
    positional: list[str] = []
    pattern_given = False
    i = 1
    while i < len(words):
        word = words[i]
        if word == "--":
            positional += words[i + 1:]
            break
        if word.startswith("-") and len(word) > 1:
            if word in ("-e", "--regexp", "-f", "--file"):
                pattern_given = True
                if word in ("-f", "--file") and i + 1 < len(words):
                    paths.append(words[i + 1])
                i += 2
                continue
            if word.startswith("--regexp=") or (word.startswith("-e") and not word.startswith("--")):
                pattern_given = True
            elif word.startswith("--file=") or (word.startswith("-f") and not word.startswith("--")):
                pattern_given = True
                paths.append(word.split("=", 1)[1] if "=" in word else word[2:])
            elif word in value_opts:
                i += 1
            i += 1
            continue
        positional.append(word)
        i += 1
    if not pattern_given:
        positional = positional[1:]
    return _paths(paths + positional, root)


def _grep(words: list[str], root: Path | None) -> str | None:
    if "R" in _short_flags(words) or "--dereference-recursive" in words:
        return "`grep -R` follows symbolic links, which could leave the repository"
    return _search(words, root, GREP_VALUE_OPTS)


def _rg(words: list[str], root: Path | None) -> str | None:
    for word in words[1:]:
        if word.startswith(("--pre", "--hostname-bin")):
            return f"`rg {word}` runs another program on each file"
        if word in ("-L", "--follow"):
            return "`rg --follow` follows symbolic links, which could leave the repository"
    return _search(words, root, RG_VALUE_OPTS)


def _sort(words: list[str], root: Path | None) -> str | None:
    if "o" in _short_flags(words) or any(w.startswith(("--output", "--compress-program")) for w in words):
        return "`sort -o` writes a file"
    return _paths(_plain_args(words), root)


def _uniq(words: list[str], root: Path | None) -> str | None:
    args = _plain_args(words)
    if len(args) > 1:
        return "`uniq IN OUT` writes its second argument"
    return _paths(args, root)


def _tree(words: list[str], root: Path | None) -> str | None:
    flags = _short_flags(words)
    if flags & {"o", "R"} or any(w.startswith("--fromfile") for w in words):
        return "`tree -o` / `-R` write files"
    if "l" in flags:
        return "`tree -l` follows symbolic links, which could leave the repository"
    return _paths(_plain_args(words), root)


def _file(words: list[str], root: Path | None) -> str | None:
    if "C" in _short_flags(words) or "--compile" in words:
        return "`file -C` writes a compiled magic file"
    return _paths(_plain_args(words), root)


def _date(words: list[str], root: Path | None) -> str | None:
    flags = _short_flags(words)
    if "s" in flags or any(w.startswith("--set") for w in words):
        return "`date -s` sets the system clock"
    if "f" in flags or "r" in flags or any(w.startswith(("--file", "--reference")) for w in words):
        return _paths(_plain_args(words), root)
    return None


_CHECKS = {"find": _find, "grep": _grep, "egrep": _grep, "fgrep": _grep, "rg": _rg, "sort": _sort,
           "uniq": _uniq, "tree": _tree, "file": _file, "date": _date, "git": git_reason}


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
