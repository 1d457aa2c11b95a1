"""Globs as the read tools accept them, with the meaning ripgrep's ``--glob`` gives them.

:func:`compile_glob` turns a glob (``*.sql``, ``models/**/*.sql``, ``*.{py,sql}``) into a
regular expression over repository-relative file paths; :func:`glob_matcher` combines
several; :func:`rg_globs` gives the ``--glob`` arguments under which ripgrep selects at
least those files, so both search engines can apply the same final filter.
"""

from __future__ import annotations

import re

_GLOB_CACHE: dict[str, re.Pattern[str]] = {}


def _translate(glob: str) -> str:
    out: list[str] = []
    i, n = 0, len(glob)
    depth = 0  # inside {...}
    while i < n:
        c = glob[i]
        if c == "*":
            if glob.startswith("**", i):
                before_ok = i == 0 or glob[i - 1] == "/"
                after = glob[i + 2] if i + 2 < n else ""
                if before_ok and after == "/":
                    out.append("(?:.*/)?")
                    i += 3
                    continue
                if before_ok and after == "":
                    out.append(".*")
                    i += 2
                    continue
                out.append("[^/]*")
                i += 2
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if glob[j:j + 1] in ("!", "^"):
                j += 1
            if glob[j:j + 1] == "]":
                j += 1
            end = glob.find("]", j)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = glob[i + 1:end]
                negate = body[:1] in ("!", "^")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("[", "\\[")
                out.append(f"[{'^' if negate else ''}{body}]")
                i = end + 1
                continue
        elif c == "{":
            depth += 1
            out.append("(?:")
        elif c == "}" and depth:
            depth -= 1
            out.append(")")
        elif c == "," and depth:
            out.append("|")
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(glob[i + 1]))
            i += 2
            continue
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out) + ")" * depth


def compile_glob(glob: str) -> re.Pattern[str]:
    """A regex over repository-relative file paths with ripgrep's ``--glob`` meaning.

    A glob without '/' matches the file name at any depth; with '/' it is anchored at the
    start of the path (a leading '/' is optional); '**' spans directories; a trailing '/'
    selects everything below the directory; ``{a,b}`` and ``[a-z]`` are supported.
    """
    cached = _GLOB_CACHE.get(glob)
    if cached is not None:
        return cached
    text = glob.strip()
    if text.endswith("/"):
        text += "**"
    if text.startswith("/"):
        body = _translate(text[1:])
    elif "/" in text:
        body = _translate(text)
    else:
        body = "(?:.*/)?" + _translate(text)
    try:
        rx = re.compile(f"(?s:{body})\\Z")
    except re.error as exc:
        raise ValueError(f"invalid glob {glob!r}: {exc}") from None
    _GLOB_CACHE[glob] = rx
    return rx


def glob_matcher(globs: list[str], base: str = ""):
    """A predicate over repository-relative paths: does any glob match?

    Globs are tried relative to base (a directory, '' for the root) and to the root.
    """
    regexes = [compile_glob(g) for g in globs]
    prefix = base.strip("/") + "/" if base.strip("/") not in ("", ".") else ""

    def match(path: str) -> bool:
        for rx in regexes:
            if rx.match(path):
                return True
            if prefix and path.startswith(prefix) and rx.match(path[len(prefix):]):
                return True
        return False

    return match


def rg_globs(globs: list[str], base: str = "") -> list[str]:
    """The --glob arguments for ripgrep that select a superset of :func:`glob_matcher`'s files."""
    prefix = base.strip("/") if base.strip("/") not in ("", ".") else ""
    out: list[str] = []
    for g in globs:
        g = g.strip()
        if g.endswith("/"):
            g += "**"
        if g.startswith("!"):
            return []  # rg would read it as an exclusion: filter in Python only
        out.append(g)
        if prefix and "/" in g:
            out.append(f"{prefix}/{g.lstrip('/')}")
    return out
