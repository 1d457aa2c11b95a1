"""Tool argument models (pydantic) turned into the JSON schema the model sees, and back.

:func:`args_schema` makes the schema plain: no titles, ``$defs`` inlined, an optional
field (``X | None = None``) shown as ``X`` and simply not required, and defaults left out
(the description says them), so a generated schema matches what a hand-written one said.
:func:`validate_args` checks the model's arguments once and says what is wrong in one line.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from de_agent.protocol import ErrorKind


class ToolArgs(BaseModel):
    """Base of every tool's arguments: unknown keys are ignored, numbers in strings accepted."""

    model_config = ConfigDict(extra="ignore")


def args_schema(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema()
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
        if key in ("title", "default"):
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
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "arguments"
            problems.append(f"parameter '{where}': {error['msg'].lower()}")
        raise ToolError("; ".join(problems), ErrorKind.INVALID_ARGUMENTS) from None
