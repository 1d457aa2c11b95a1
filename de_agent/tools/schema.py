"""Tool argument models (pydantic) turned into the JSON schema the model sees, and back.

:func:`args_schema` makes the schema plain: no titles, ``$defs`` inlined, an optional
field (``X | None = None``) shown as ``X`` and simply not required, defaults and bounds left
out (the description says them; validation checks them), so a generated schema says what a
hand-written one said.
:func:`validate_args` checks the model's arguments once and says what is wrong in one line;
a field validator raises ``ValueError("must not be blank")`` (a predicate) and the model reads
"parameter 'command' must not be blank"; a model validator's ValueError is read as it is.

Tools whose schema comes ready-made (an MCP server's tools) set ``Tool.parameters`` instead of
``Args``: the registry then hands ``prepare`` the arguments as a dict, unchecked (the server
checks them against its own schema).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from de_agent.protocol import ErrorKind


class ToolArgs(BaseModel):
    """Base of every tool's arguments: unknown keys are ignored, numbers in strings accepted,
    and an argument sent as null counts as not sent (its default applies)."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


# Left out of the schema the model sees: titles, defaults (the descriptions say them) and
# value bounds (checked when the arguments are validated; the descriptions say them too).
DROPPED = frozenset({"title", "default", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
                     "exclusiveMaximum", "minItems", "maxItems", "pattern"})


def args_schema(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema()
    raw.pop("description", None)  # the model's docstring is for readers; the tool describes itself
    defs = raw.pop("$defs", {})
    schema = _clean(raw, defs)
    schema.setdefault("properties", {})
    return schema


def _clean(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_clean(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _clean(merged, defs)
    options = node.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1 and len(kept) < len(options):
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            return _clean({**kept[0], **rest}, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROPPED:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _clean(prop, defs) for name, prop in value.items()}
        else:
            out[key] = _clean(value, defs)
    return out


def validate_args(model: type[BaseModel], arguments: dict[str, Any]) -> BaseModel:
    """The arguments as ``model``; a ToolError (INVALID_ARGUMENTS) that names each problem otherwise."""
    from de_agent.tools.base import ToolError

    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        problems = [problem(error) for error in exc.errors()]
        raise ToolError("; ".join(problems), ErrorKind.INVALID_ARGUMENTS) from None


TYPE_WORDS = {"string": "str", "int": "int", "float": "float", "list": "list", "dict": "object"}


def problem(error: Any) -> str:
    """One pydantic error in the words the tools have always used."""
    where = ".".join(str(p) for p in error["loc"]) or "arguments"
    kind = str(error["type"])
    if kind == "missing":
        return f"parameter '{where}' is required"
    if kind == "string_too_short" and error.get("ctx", {}).get("min_length") == 1:
        return f"parameter '{where}' must not be empty"
    if kind == "value_error":  # a field validator's ValueError says what is wrong, as a predicate
        said = error.get("ctx", {}).get("error", error["msg"])
        return f"parameter '{where}' {said}" if error["loc"] else str(said)
    if kind in ("bool_type", "bool_parsing"):
        return f"parameter '{where}' must be true or false"
    for prefix, word in TYPE_WORDS.items():
        if kind in (f"{prefix}_type", f"{prefix}_parsing"):
            return f"parameter '{where}' must be of type {word}"
    return f"parameter '{where}': {str(error['msg'])[:1].lower()}{str(error['msg'])[1:]}"
