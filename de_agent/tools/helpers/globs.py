"""Globs as the read tools accept them, with the meaning ripgrep's ``--glob`` gives them.

:func:`compile_glob` turns a glob (``*.sql``, ``models/**/*.sql``, ``*.{py,sql}``) into a
regular expression over repository-relative file paths; :func:`glob_matcher` combines
several; :func:`rg_filter` gives the ripgrep arguments under which it selects at
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


def _name_glob(glob: str) -> str | None:
    """The file-name glob a glob is equivalent to ('**/*.py' is '*.py'), or None."""
    while glob.startswith("**/"):
        glob = glob[3:]
    return glob if glob and "/" not in glob and "**" not in glob else None


def rg_filter(globs: list[str], base: str = "") -> tuple[list[str], bool]:
    """ripgrep arguments selecting a superset of :func:`glob_matcher`'s files, and whether
    ignored files may be among them.

    Globs on file names only (no '/') become a file type, which ripgrep applies after the
    ignore rules. Other globs become ``--glob`` arguments, which take precedence over the
    ignore rules, so the caller has to check those files against them again.
    """
    cleaned = [g.strip() + ("**" if g.strip().endswith("/") else "") for g in globs if g.strip()]
    if not cleaned:
        return [], False
    if any(g.startswith("!") for g in cleaned):
        return [], False  # ripgrep would read it as an exclusion: filter in Python only
    names = [_name_glob(g) for g in cleaned]
    if all(n is not None for n in names):
        args: list[str] = []
        for n in names:
            args += ["--type-add", f"include:{n}"]
        return args + ["--type", "include"], False
    prefix = base.strip("/") if base.strip("/") not in ("", ".") else ""
    args = []
    for g in cleaned:
        args += ["--glob", g]
        if prefix and "/" in g:
            args += ["--glob", f"{prefix}/{g.lstrip('/')}"]
    return args, True
