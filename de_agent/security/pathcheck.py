"""Path arguments of read-only commands: inside the repository and not secret-looking.

A read-only command is allowed without asking only when every file it is pointed at stays
in the repository. Given the root, each argument is resolved as bash would see it (globs
expanded against the root, symlinks followed); without a root, absolute paths, ``~`` and
``..`` count as outside. Secret-looking names (``.env``, ``*.pem``...) ask in every case.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from de_agent.workspace import Workspace

MAX_GLOB_MATCHES = 2000
HARMLESS = frozenset({"/dev/null", "/dev/stdin", "/dev/stdout", "/dev/stderr"})


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


MAX_BRACE_WORDS = 256
_CLASSES = {"alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z", "lower": "a-z",
            "space": " \t\n\r\f\v", "blank": " \t", "xdigit": "0-9A-Fa-f", "word": "a-zA-Z0-9_",
            "punct": "!-/:-@\\[-`{-~", "print": " -~", "graph": "!-~", "cntrl": "\x00-\x1f"}


def expand_braces(word: str, limit: int = MAX_BRACE_WORDS) -> list[str] | None:
    """Bash brace expansion of one word (``a{b,c}``, ``{1..3}``, nested); None past limit."""
    depth, start = 0, -1
    for i, ch in enumerate(word):
        if ch == "\\":
            continue
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                inner = word[start + 1:i]
                parts, level, last = [], 0, 0
                for j, c in enumerate(inner):
                    if c == "{":
                        level += 1
                    elif c == "}":
                        level -= 1
                    elif c == "," and level == 0:
                        parts.append(inner[last:j])
                        last = j + 1
                parts.append(inner[last:])
                if len(parts) == 1:
                    seq = _sequence(inner)
                    if seq is None:
                        rest = expand_braces(word[i + 1:], limit)
                        return None if rest is None else [word[:i + 1] + r for r in rest]
                    parts = seq
                out: list[str] = []
                for part in parts:
                    tails = expand_braces(part + word[i + 1:], limit)
                    if not tails:
                        return None
                    out.extend(word[:start] + tail for tail in tails)
                    if len(out) > limit:
                        return None
                return out
    return [word]


def _sequence(inner: str) -> list[str] | None:
    pieces = inner.split("..")
    if len(pieces) not in (2, 3):
        return None
    try:
        a, b = int(pieces[0]), int(pieces[1])
        step = abs(int(pieces[2])) if len(pieces) == 3 else 1
        if abs(b - a) > MAX_BRACE_WORDS:
            return [str(a)] * (MAX_BRACE_WORDS + 1)
        rng = range(a, b + 1, step or 1) if a <= b else range(a, b - 1, -(step or 1))
        return [str(n) for n in rng]
    except ValueError:
        if all(len(p) == 1 for p in pieces[:2]):
            a, b = ord(pieces[0]), ord(pieces[1])
            rng = range(a, b + 1) if a <= b else range(a, b - 1, -1)
            return [chr(n) for n in rng]
        return None


def bash_glob(word: str) -> str:
    """A bash glob as Python's glob reads it: ``[^x]`` and ``[[:alpha:]]`` translated."""
    out, i = [], 0
    while i < len(word):
        if word[i] == "[":
            end = word.find("]", i + 2)
            if end == -1:
                out.append(word[i:])
                break
            body = word[i + 1:end]
            while "[:" in body and ":]" not in body[body.find("[:"):]:
                end = word.find("]", end + 1)
                if end == -1:
                    return word
                body = word[i + 1:end]
            # a class like [[:alpha:]] ends after its own ':]' plus the closing ']'
            if "[:" in body:
                end = word.find(":]", i) + 2
                while end < len(word) and word.find(":]", end) != -1 and word[end] == "[":
                    end = word.find(":]", end) + 2
                close = word.find("]", end)
                if close == -1:
                    return word
                body, end = word[i + 1:close], close
            if body.startswith("^"):
                body = "!" + body[1:]
            for name, chars in _CLASSES.items():
                body = body.replace(f"[:{name}:]", chars)
            out.append("[" + body + "]")
            i = end + 1
        else:
            out.append(word[i])
            i += 1
    return "".join(out)


def path_reason(word: str, root: Path | None, base: Path | None = None) -> str | None:
    """Why pointing a read-only command at ``word`` needs approval, or None.

    The word is expanded the way bash would first: braces, then a leading tilde, then globs
    (POSIX classes and ``[^...]`` included); relative words are taken from ``base`` (the
    folder a ``cd`` moved to, inside the repository) or the root.
    """
    if not word or word == "-" or word in HARMLESS:
        return None
    if "{" in word and "}" in word:
        words = expand_braces(word)
        if words is None:
            return f"the brace expansion {word} makes too many words"
        if words != [word]:
            for each in words:
                reason = path_reason(each, root, base)
                if reason:
                    return reason
            return None
    if word.startswith("~"):
        expanded = os.path.expanduser(word)
        if expanded == word or root is None:
            return f"reads outside the repository ({word})"
        word = expanded
    if root is not None and base is not None and not word.startswith("/"):
        word = os.path.relpath(os.path.join(str(base), word), str(root))
    globbing = any(ch in word for ch in "*?[")
    parts = word.split("/")
    if globbing and any(p.startswith(".") and any(ch in p for ch in "*?[") for p in parts):
        return f"a glob starting with '.' ({word}) can match '..' and leave the repository"
    if Workspace.is_secret(word):
        return f"reads a file that may hold secrets ({word})"
    if root is None:
        if word.startswith("/") or ".." in parts:
            return f"reads outside the repository ({word})"
        return None
    top = str(root)
    matches = glob.glob(bash_glob(word), root_dir=top) if globbing else []
    for candidate in (matches or [word])[:MAX_GLOB_MATCHES]:
        full = candidate if candidate.startswith("/") else os.path.join(top, candidate)
        real = os.path.realpath(full)
        if not _within(real, top):
            return f"reads outside the repository ({word} -> {real})"
        if Workspace.is_secret(real) or Workspace.is_secret(candidate):
            return f"reads a file that may hold secrets ({candidate})"
    if globbing and len(matches) > MAX_GLOB_MATCHES:
        return f"the glob {word} matches more than {MAX_GLOB_MATCHES} files"
    return None
