"""The layers hold: protocol <- engine <- front ends, no package cycle, and a closed engine.

Read from the source (every import, lazy ones inside functions too), so a violation fails
here before it can hide behind an import that happens to run late.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "de_agent"

# What each part may never import (prefixes of module names).
FORBIDDEN = {
    "de_agent.protocol": ("de_agent.",),
    "de_agent.engine": ("de_agent.sessions", "de_agent.frontends", "de_agent.tui", "de_agent.cli"),
    "de_agent.tools": ("de_agent.engine", "de_agent.sessions", "de_agent.frontends", "de_agent.tui",
                       "de_agent.cli"),
    "de_agent.llm": ("de_agent.engine", "de_agent.sessions", "de_agent.frontends", "de_agent.tui"),
    "de_agent.security": ("de_agent.engine", "de_agent.sessions", "de_agent.frontends", "de_agent.tui"),
    "de_agent.gitops": ("de_agent.engine", "de_agent.sessions", "de_agent.frontends", "de_agent.tui"),
    "de_agent.sessions": ("de_agent.frontends", "de_agent.tui", "de_agent.cli"),
    "de_agent.frontends": ("de_agent.tui",),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def imports(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("de_agent")}


def package_of(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else name


MODULES = modules()


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_what_sits_above_it(layer):
    bad = []
    for name, tree in MODULES.items():
        if name != layer and not name.startswith(layer + "."):
            continue
        for target in imports(tree):
            if any(target == f.rstrip(".") or target.startswith(f) for f in FORBIDDEN[layer]):
                bad.append(f"{name} imports {target}")
    assert not bad, "\n".join(bad)


def test_the_packages_form_no_cycle():
    graph: dict[str, set[str]] = {}
    for name, tree in MODULES.items():
        source = package_of(name)
        for target in imports(tree):
            dest = package_of(target)
            if dest != source and dest in {package_of(n) for n in MODULES}:
                graph.setdefault(source, set()).add(dest)
    seen: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if seen.get(nxt) == 1:
                raise AssertionError("package cycle: " + " -> ".join([*path, node, nxt]))
            if nxt not in seen:
                visit(nxt, [*path, node])
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node, [])


def _chain(node: ast.expr) -> list[str]:
    """``a.b.c[0].d`` -> ['a', 'b', 'c', 'd'] (subscripts pass through)."""
    names: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Name):
            names.append(node.id)
            return names[::-1]
        else:
            return names[::-1]


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    else:
        return []
    flat: list[ast.expr] = []
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Tuple | ast.List):
            targets.extend(target.elts)
        else:
            flat.append(target)
    return flat


def engine_writes(tree: ast.Module) -> list[str]:
    """Assignments that reach into an engine or a session (``x.engine.y = ...``, ``session.id = ...``)."""
    found = []
    for node in ast.walk(tree):
        for target in _targets(node):
            if not isinstance(target, ast.Attribute | ast.Subscript):
                continue
            chain = _chain(target)
            inner = chain[:-1] if isinstance(target, ast.Attribute) else chain
            if any(name in ("engine", "_engine", "session") for name in inner):
                found.append(f"line {node.lineno}: {'.'.join(chain)}")
    return found


def test_no_code_outside_the_engine_assigns_engine_or_session_attributes():
    bad = [f"{name} {where}" for name, tree in MODULES.items()
           if not name.startswith("de_agent.engine") for where in engine_writes(tree)]
    assert not bad, "\n".join(bad)


def test_the_check_catches_writes_into_an_engine():
    tree = ast.parse("engine.messages = []\nself.engine.llm.model = 'x'\nengine.ctx.state['plan'] = 1\n"
                     "self.engine = other\nold, self.engine = a, b\nx = engine.session_id\nsession.id = 'y'\n")
    assert engine_writes(tree) == ["line 1: engine.messages", "line 2: self.engine.llm.model",
                                   "line 3: engine.ctx.state", "line 7: session.id"]


def test_the_layer_check_sees_lazy_imports():
    tree = ast.parse("def f():\n    from de_agent.sessions.compact import compact\n")
    assert "de_agent.sessions.compact" in imports(tree)
