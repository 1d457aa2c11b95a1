"""Render a dbt model's Jinja as dbt's parser would, without a database: refs, sources, config, SQL.

A sandboxed Jinja2 environment gets dbt's context: ``ref`` (with ``version``/``v``),
``source``, ``var`` (the project's ``vars`` from dbt_project.yml, then the default),
``config`` (``enabled``, ``materialized``), ``is_incremental()`` (false: lineage is read as
a full refresh), ``this``, ``target``, ``env_var`` (its default), ``execute`` (false, as
during ``dbt parse``) and the project's own macros, so ``{% for %}`` loops, ``{% set %}``,
``ref(var(...))`` and refs inside macros resolve as they do in dbt. Anything else
(other package macros, ``adapter``, ``run_query``) is a lenient stand-in that renders as
``UNKNOWN`` (``dbt_utils.star``, ``generate_surrogate_key`` and dbt's cross-database macros
such as ``dbt.date_trunc`` render SQL that lineage can follow), which lineage reports as an unknown source, never as a column name.

``render_jinja`` is the fallback for Jinja this cannot render: ``ref()``/``source()`` found
by pattern inside ``{{ }}``/``{% %}`` only (so a ref in a SQL comment is no dependency).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

UNKNOWN = "__unknown__"
PLACEHOLDER = UNKNOWN
_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_EXPR = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)
_TAG = re.compile(r"\{%-?(.*?)-?%\}", re.S)
_REF = re.compile(r"""\bref\s*\(\s*(['"])([^'"]+)\1\s*(?:,\s*(['"])([^'"]+)\3\s*)?(?:,[^)]*)?\)""")
_SOURCE = re.compile(r"""\bsource\s*\(\s*(['"])([^'"]+)\1\s*,\s*(['"])([^'"]+)\3\s*\)""")
_VAR = re.compile(r"""^\s*var\s*\(\s*(['"])([^'"]+)\1""")
_INCREMENTAL = re.compile(
    r"\{%-?\s*if\s+is_incremental\(\)\s*-?%\}(.*?)(?:\{%-?\s*else\s*-?%\}(.*?))?\{%-?\s*endif\s*-?%\}", re.S)

_BLOCK_TAGS = re.compile(r"\{%-?\s*(snapshot\s+\w+|endsnapshot|test\s+\w+.*?|endtest|docs\s+\w+|enddocs)\s*-?%\}",
                         re.S)
_DOCS = re.compile(r"\{%-?\s*docs\s.*?\{%-?\s*enddocs\s*-?%\}", re.S)


@dataclass
class Rendered:
    sql: str
    refs: list[tuple[str, str | None]] = field(default_factory=list)  # (model name, version or None)
    sources: list[tuple[str, str]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)


def _lenient_undefined():
    from jinja2 import Undefined

    class Lenient(Undefined):
        """Stands in for anything dbt would provide at run time; renders as UNKNOWN."""

        def __str__(self) -> str:
            return UNKNOWN

        def __call__(self, *args: Any, **kwargs: Any) -> Lenient:  # type: ignore[override]
            return Lenient()

        def __getattr__(self, name: str) -> Any:
            if name.startswith("__"):
                raise AttributeError(name)
            return Lenient()

        def __iter__(self):
            return iter(())

        def __bool__(self) -> bool:
            return False

        def __len__(self) -> int:
            return 0

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Undefined)

        def __hash__(self) -> int:
            return 0

        def __getitem__(self, key: Any) -> Lenient:  # type: ignore[override]
            return Lenient()

    return Lenient


class Renderer:
    """One per project: the Jinja environment, the project's vars and macros."""

    def __init__(self, project_vars: dict[str, Any], macro_texts: list[str], project_name: str = ""):
        from jinja2 import sandbox

        self.vars = project_vars
        self.env = sandbox.SandboxedEnvironment(undefined=_lenient_undefined(),
                                                extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
        self._current: Rendered | None = None
        self.env.globals.update(self._context())
        self.macro_errors: list[str] = []
        macros: dict[str, Any] = {}
        for text in macro_texts:
            try:
                module = self.env.from_string(_strip_blocks(text)).make_module(self._context())
            except Exception as exc:  # noqa: BLE001 - a broken macro file only loses its macros
                self.macro_errors.append(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                continue
            macros.update({k: getattr(module, k) for k in dir(module) if not k.startswith("_")})
        self.env.globals.update(macros)
        self.env.globals.setdefault("dbt_utils", _DbtUtils())
        self.env.globals.setdefault("dbt", _CrossDatabase())
        for name in ("as_bool", "as_text", "as_number", "as_native"):
            self.env.filters.setdefault(name, lambda value: value)
        if project_name:
            self.env.globals[project_name] = _Namespace(macros)

    def _context(self) -> dict[str, Any]:
        def ref(*args: Any, **kwargs: Any) -> str:
            names = [str(a) for a in args if a is not None]
            if not names:
                return UNKNOWN
            version = kwargs.get("version", kwargs.get("v"))
            if self._current is not None:
                self._current.refs.append((names[-1], None if version is None else str(version)))
            return names[-1] if version is None else f"{names[-1]}_v{version}"

        def source(source_name: Any, table_name: Any) -> str:
            if self._current is not None:
                self._current.sources.append((str(source_name), str(table_name)))
            return f"{source_name}__{table_name}"

        def var(name: str, default: Any = None) -> Any:
            if name in self.vars:
                return self.vars[name]
            return default if default is not None else UNKNOWN

        def config(*args: Any, **kwargs: Any) -> str:
            if self._current is not None:
                self._current.config.update(kwargs)
            return ""

        def env_var(name: str, default: Any = "") -> Any:
            return default

        return {"ref": ref, "source": source, "var": var, "config": config, "env_var": env_var,
                "is_incremental": lambda: False, "execute": False, "flags": {}, "log": lambda *a, **k: "",
                "return": lambda value=None: value, "target": {"name": "dev", "schema": "analytics", "type": "duckdb"},
                "zip": zip, "tojson": lambda *a, **k: "", "fromjson": lambda *a, **k: {}}

    def render(self, text: str, this: str) -> Rendered:
        """The model's SQL and what it references; Jinja errors raise (the caller falls back)."""
        result = Rendered("")
        self._current = result
        try:
            template = self.env.from_string(_strip_blocks(text))
            result.sql = template.render(this=this, model={"name": this})
        finally:
            self._current = None
        result.refs = list(dict.fromkeys(result.refs))
        result.sources = list(dict.fromkeys(result.sources))
        return result


class _Namespace:
    """``project_name.macro()``: the project's macros under its own name."""

    def __init__(self, macros: dict[str, Any]):
        self._macros = macros

    def __getattr__(self, name: str) -> Any:
        return self._macros.get(name) or (lambda *a, **k: UNKNOWN)


class _CrossDatabase:
    """dbt's cross-database macros (``dbt.date_trunc``...) as plain SQL that lineage can follow."""

    @staticmethod
    def date_trunc(datepart: Any, date: Any) -> str:
        return f"date_trunc('{datepart}', {date})"

    @staticmethod
    def dateadd(datepart: Any, interval: Any, from_date_or_timestamp: Any) -> str:
        return f"({from_date_or_timestamp} + interval '{interval} {datepart}')"

    @staticmethod
    def datediff(first_date: Any, second_date: Any, datepart: Any) -> str:
        return f"datediff('{datepart}', {first_date}, {second_date})"

    @staticmethod
    def safe_cast(field: Any, type: Any) -> str:  # noqa: A002 - dbt's own argument name
        return f"try_cast({field} as {type if str(type) != UNKNOWN else 'varchar'})"

    @staticmethod
    def concat(fields: Any) -> str:
        return f"concat({', '.join(map(str, fields))})" if isinstance(fields, list | tuple) else UNKNOWN

    @staticmethod
    def hash(field: Any) -> str:
        return f"md5(cast({field} as varchar))"

    @staticmethod
    def split_part(string_text: Any, delimiter_text: Any, part_number: Any) -> str:
        return f"split_part({string_text}, {delimiter_text}, {part_number})"

    def __getattr__(self, name: str) -> Any:
        types = {"type_string": "varchar", "type_timestamp": "timestamp", "type_int": "int", "type_bigint": "bigint",
                 "type_float": "float", "type_numeric": "numeric", "type_boolean": "boolean",
                 "current_timestamp": "current_timestamp", "current_timestamp_in_utc_backcompat": "current_timestamp"}
        if name in types:
            return lambda *a, **k: types[name]
        return lambda *a, **k: UNKNOWN


class _DbtUtils(_CrossDatabase):
    """The dbt_utils macros whose output lineage can follow; any other one renders as UNKNOWN."""

    @staticmethod
    def star(*args: Any, **kwargs: Any) -> str:
        excluded = kwargs.get("except") or (args[1] if len(args) > 1 else None)
        return UNKNOWN if excluded or kwargs.get("relation_alias") or kwargs.get("prefix") else "*"

    @staticmethod
    def generate_surrogate_key(fields: Any = None, *args: Any, **kwargs: Any) -> str:
        names = [str(f) for f in fields or [] if isinstance(f, str)] if isinstance(fields, list | tuple) else []
        return f"md5(concat({', '.join(names)}))" if names else UNKNOWN

    surrogate_key = generate_surrogate_key


def _strip_blocks(text: str) -> str:
    """Drop dbt-only block tags (snapshot, test, docs) that plain Jinja does not know."""
    return _BLOCK_TAGS.sub("", _DOCS.sub("", text))


# -- the fallback: patterns, for Jinja we cannot render -------------------------------------


def _ref_name(m: re.Match[str]) -> str:
    return m.group(4) or m.group(2)


def source_alias(source: str, table: str) -> str:
    return f"{source}__{table}"


def render_jinja(text: str, this: str) -> tuple[str, list[str], list[tuple[str, str]]]:
    """(plain SQL, referenced model names, referenced (source, table) pairs)."""
    text = _COMMENT.sub("", text)
    # Only Jinja is looked at: ref() in a SQL comment or a string outside {{ }} / {% %} is not a dependency.
    jinja = " ".join(m.group(0) for m in re.finditer(r"\{\{.*?\}\}|\{%.*?%\}", text, re.S))
    refs = list(dict.fromkeys(_ref_name(m) for m in _REF.finditer(jinja)))
    sources = list(dict.fromkeys((m.group(2), m.group(4)) for m in _SOURCE.finditer(jinja)))

    def expr(m: re.Match[str]) -> str:
        body = m.group(1).strip()
        quoted = m.start() > 0 and m.string[m.start() - 1] in "'\""
        if (ref := _REF.fullmatch(body)) is not None:
            return _ref_name(ref)
        if (src := _SOURCE.fullmatch(body)) is not None:
            return source_alias(src.group(2), src.group(4))
        if body == "this":
            return this
        if body.startswith("config("):
            return ""
        if (var := _VAR.match(body)) is not None:
            return var.group(2) if quoted else "NULL"
        if quoted:
            return PLACEHOLDER
        return "*" if "star(" in body else PLACEHOLDER

    # Lineage is read as a full refresh, where is_incremental() is false.
    text = _INCREMENTAL.sub(lambda m: m.group(2) or "", text)
    return _TAG.sub("", _EXPR.sub(expr, text)), refs, sources
