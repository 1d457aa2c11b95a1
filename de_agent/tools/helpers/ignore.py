"""Walk a repository the way git sees it.

:class:`IgnoreTree` lists the files of a repository honouring ``.gitignore`` files (the
root one and nested ones, deeper files winning) and ``.git/info/exclude``, with git's own
pattern semantics (``pathspec.GitIgnoreSpec``). It always skips ``.git``, never follows a
symlink (symlinked files and directories are skipped, as ripgrep does by default), prunes
ignored directories without reading them, and yields repository-relative POSIX paths in
path order (component by component, the order of ``rg --sort path``). A directory that
holds its own ``.git`` starts a nested repository: ignore files above it no longer apply.
Outside any git repository ignore files do not apply, as with git and ripgrep.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator

import pathspec

GIT_DIR = ".git"
IGNORE_FILE = ".gitignore"


def path_key(path: str) -> list[str]:
    """Sort key giving path order (``a/b`` before ``a-c``), the order of ``rg --sort path``."""
    return path.split("/")


_WHOLE, _BELOW, _ANY = 0, 1, 2


class _Rules:
    """The patterns of one ignore file.

    A path relative to the walk root is turned into a path relative to the ignore file's
    directory by stripping ``prefix`` (file below the root) or prepending ``lead`` (file
    above the root). A pattern decides only for the path it matches in full (``build/``
    decides for the directory ``build/``, not for ``build/out.txt``): parents are judged on
    their own as the walk reaches them, which is how git and ripgrep apply ignore files.
    """

    __slots__ = ("prefix", "lead", "_ordered", "_quick")

    def __init__(self, lines: list[str], prefix: str = "", lead: str = ""):
        self.prefix = prefix
        self.lead = lead
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
        ordered = []
        for p in spec.patterns:
            rx = getattr(p, "regex", None)
            if rx is None or p.include is None:
                continue
            # How a match counts for the entry itself: "x" and "x/" patterns must match the
            # whole path; a trailing "/**" (regex ending in "/") matches what is below the
            # directory but not the directory; anything else ("*") matches as is.
            mode = _WHOLE if "ps_d" in rx.groupindex else _BELOW if rx.pattern.endswith("/") else _ANY
            ordered.append((rx, p.include, mode))
        self._ordered = ordered[::-1]  # the last matching pattern wins
        # One combined regex answers "no pattern can match" (the common case) in one call.
        try:
            self._quick = re.compile("|".join(
                f"(?:{rx.pattern.replace('(?P<ps_d>', '(?:')})" for rx, _, _ in ordered))
        except re.error:
            self._quick = re.compile("")

    def decide(self, rel: str) -> bool | None:
        """True: ignored; False: re-included by a negation; None: no pattern matched."""
        if self.prefix:
            rel = rel[len(self.prefix):]
        elif self.lead:
            rel = self.lead + rel
        if not self._ordered or self._quick.match(rel) is None:
            return None
        size = len(rel)
        for rx, include, mode in self._ordered:
            m = rx.match(rel)
            if m is None:
                continue
            if mode == _ANY or (m.end() == size if mode == _WHOLE else m.end() < size):
                return include
        return None


Levels = list[_Rules] | None  # None: not inside a git repository, ignore files do not apply


class IgnoreTree:
    """Ignore rules of one repository, read lazily and cached by file modification time.

    Like ripgrep (and git), ignore files apply only inside a git repository: from the
    nearest enclosing directory that holds ``.git`` downwards, even when that is above the
    root. Outside any repository nothing is ignored but ``.git`` itself.
    """

    def __init__(self, root: str | os.PathLike[str]):
        self.root = os.path.realpath(root)
        self._files: dict[str, tuple[tuple[int, int], _Rules | None]] = {}

    # -- rules --------------------------------------------------------------------------

    def _load(self, path: str, prefix: str = "", lead: str = "") -> _Rules | None:
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        key = (st.st_mtime_ns, st.st_size)
        cached = self._files.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                lines = fh.read().splitlines()
        except OSError:
            lines = []
        rules = _Rules(lines, prefix, lead) if any(ln.strip() for ln in lines) else None
        self._files[path] = (key, rules)
        return rules

    def _enter(self, levels: Levels, abs_dir: str, names: set[str] | None,
               prefix: str = "", lead: str = "") -> Levels:
        """The rule levels in force inside a directory, shallowest first."""
        if (GIT_DIR in names) if names is not None else os.path.lexists(os.path.join(abs_dir, GIT_DIR)):
            levels = []
            exclude = self._load(os.path.join(abs_dir, GIT_DIR, "info", "exclude"), prefix, lead)
            if exclude is not None:
                levels.append(exclude)
        if levels is not None and (names is None or IGNORE_FILE in names):
            rules = self._load(os.path.join(abs_dir, IGNORE_FILE), prefix, lead)
            if rules is not None:
                levels = [*levels, rules]
        return levels

    def _outer_levels(self) -> Levels:
        """The levels in force in the root's parent (ignore files of an enclosing repository)."""
        if os.path.lexists(os.path.join(self.root, GIT_DIR)):
            return []  # the root starts its own repository
        chain: list[str] = []
        current = os.path.dirname(self.root)
        while True:
            chain.append(current)
            if os.path.lexists(os.path.join(current, GIT_DIR)):
                break
            parent = os.path.dirname(current)
            if parent == current:
                return None
            current = parent
        levels: Levels = None
        for directory in reversed(chain):
            lead = os.path.relpath(self.root, directory).replace(os.sep, "/") + "/"
            levels = self._enter(levels, directory, None, lead=lead)
        return levels

    @staticmethod
    def _ignored(levels: list[_Rules], rel: str) -> bool:
        for rules in reversed(levels):
            verdict = rules.decide(rel)
            if verdict is not None:
                return verdict
        return False

    def _root_levels(self) -> Levels:
        return self._enter(self._outer_levels(), self.root, None)

    def checker(self, start: str = ""):
        """A predicate ``ignored(rel, is_dir=False) -> bool``, caching per directory.

        Directories that are start or above it are not judged (a path given explicitly is
        searched even when ignored), matching :meth:`walk`.
        """
        start_depth = len([p for p in start.split("/") if p and p != "."])
        dirs: dict[str, tuple[bool, Levels]] = {}

        def state(rel_dir: str) -> tuple[bool, Levels]:
            """(ignored, levels inside) of a directory ('' for the root)."""
            cached = dirs.get(rel_dir)
            if cached is not None:
                return cached
            if not rel_dir:
                result = (False, self._root_levels())
            else:
                parent, _, _ = rel_dir.rpartition("/")
                parent_ignored, levels = state(parent)
                depth = rel_dir.count("/") + 1
                ignored = parent_ignored or (depth > start_depth and levels is not None and bool(levels)
                                             and self._ignored(levels, rel_dir + "/"))
                inside = levels if ignored else self._enter(
                    levels, os.path.join(self.root, rel_dir), None, rel_dir + "/")
                result = (ignored, inside)
            dirs[rel_dir] = result
            return result

        def ignored(rel: str, is_dir: bool = False) -> bool:
            rel = rel.strip("/")
            if not rel or GIT_DIR in rel.split("/"):
                return bool(rel)
            if is_dir:
                return state(rel)[0]
            parent, _, _ = rel.rpartition("/")
            parent_ignored, levels = state(parent)
            if parent_ignored:
                return True
            depth = rel.count("/") + 1
            return depth > start_depth and levels is not None and bool(levels) and self._ignored(levels, rel)

        return ignored

    def is_ignored(self, rel: str, start: str = "") -> bool:
        """Whether a repository-relative file path is ignored, itself or through a parent."""
        return self.checker(start)(rel)

    # -- walking ------------------------------------------------------------------------

    def walk(self, start: str = "") -> Iterator[str]:
        """Yield the repository-relative paths of the files under start, in path order.

        start itself is not checked against the ignore rules (like a path given to rg),
        but everything below it is. start may name a single file.
        """
        start = start.strip("/")
        if start in ("", "."):
            start = ""
        abs_start = os.path.join(self.root, start) if start else self.root
        if os.path.islink(abs_start):
            return
        if start and not os.path.isdir(abs_start):
            if os.path.isfile(abs_start):
                yield start
            return
        if start:
            levels = self._root_levels()
            prefix = ""
            for part in start.split("/")[:-1]:
                prefix += part + "/"
                levels = self._enter(levels, os.path.join(self.root, prefix), None, prefix)
        else:
            levels = self._outer_levels()
        yield from self._walk_dir(abs_start, start + "/" if start else "", levels)

    def _walk_dir(self, abs_dir: str, prefix: str, levels: Levels) -> Iterator[str]:
        ignored = self._ignored
        entries = self._scan(abs_dir)
        if entries is None:
            return
        levels = self._enter(levels, abs_dir, {e.name for e in entries}, prefix)
        stack: list[tuple[Iterator[os.DirEntry[str]], str, Levels]] = [(iter(entries), prefix, levels)]
        while stack:
            it, prefix, levels = stack[-1]
            for entry in it:
                name = entry.name
                if name == GIT_DIR:
                    continue
                rel = prefix + name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if levels and ignored(levels, rel + "/"):
                            continue
                        sub = self._scan(entry.path)
                        if sub is None:
                            continue
                        sub_prefix = rel + "/"
                        sub_levels = self._enter(levels, entry.path, {e.name for e in sub}, sub_prefix)
                        stack.append((iter(sub), sub_prefix, sub_levels))
                        break
                    if not entry.is_file(follow_symlinks=False):
                        continue
                except OSError:
                    continue
                if levels and ignored(levels, rel):
                    continue
                yield rel
            else:
                stack.pop()

    @staticmethod
    def _scan(abs_dir: str) -> list[os.DirEntry[str]] | None:
        try:
            with os.scandir(abs_dir) as it:
                entries = list(it)
        except OSError:
            return None
        entries.sort(key=lambda e: e.name)
        return entries


_TREES: dict[str, IgnoreTree] = {}


def ignore_tree(root: str | os.PathLike[str]) -> IgnoreTree:
    """The shared IgnoreTree of a root (its parsed ignore files are reused between calls)."""
    key = os.path.realpath(root)
    tree = _TREES.get(key)
    if tree is None:
        tree = _TREES[key] = IgnoreTree(key)
    return tree
