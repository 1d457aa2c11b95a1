"""What a dbt project's YAML files declare: sources, model docs and tests, versions, disabled models,
YAML snapshots, exposures, metrics and semantic models.

Model columns listed in YAML are documentation (descriptions, tests), never the model's
columns: those come from its SQL. Dependencies written as ``ref('x')``/``source('a', 'b')``
strings (exposures' ``depends_on``, semantic models' ``model``, snapshots' ``relation``) are
read with the same small pattern dbt's docs use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_REF = re.compile(r"""\bref\s*\(\s*(['"])([^'"]+)\1\s*(?:,\s*(['"])([^'"]+)\3\s*)?(?:,\s*v(?:ersion)?\s*=\s*['"]?(\w+)['"]?\s*)?\)""")
_SOURCE = re.compile(r"""\bsource\s*\(\s*(['"])([^'"]+)\1\s*,\s*(['"])([^'"]+)\3\s*\)""")


@dataclass
class Declared:
    """Everything the YAML files of one project declare."""

    sources: list[dict[str, Any]] = field(default_factory=list)       # source, table, path, description, columns
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)     # model -> description, columns{name: {...}}
    versions: dict[str, tuple[str, str]] = field(default_factory=dict)  # file stem -> (model, version)
    latest: dict[str, str] = field(default_factory=dict)              # model -> latest version
    disabled: set[str] = field(default_factory=set)                   # model names disabled in YAML
    downstream: list[dict[str, Any]] = field(default_factory=list)    # id, type, name, path, depends (list of refs)
    errors: list[str] = field(default_factory=list)


def refs_in(text: str) -> list[tuple[str, str | None]]:
    return [(m.group(4) or m.group(2), m.group(5)) for m in _REF.finditer(text)]


def sources_in(text: str) -> list[tuple[str, str]]:
    return [(m.group(2), m.group(4)) for m in _SOURCE.finditer(text)]


def _enabled(item: dict[str, Any]) -> bool:
    config = item.get("config") or {}
    return not (isinstance(config, dict) and config.get("enabled") is False)


def read_declarations(doc: Any, rel: str, out: Declared) -> None:
    if not isinstance(doc, dict):
        return
    for src in doc.get("sources") or []:
        if not isinstance(src, dict) or "name" not in src:
            continue
        for tbl in src.get("tables") or []:
            if isinstance(tbl, dict) and "name" in tbl:
                out.sources.append({"source": str(src["name"]), "table": str(tbl["name"]), "path": rel,
                                    "description": tbl.get("description") or "",
                                    "columns": [str(c["name"]) for c in tbl.get("columns") or []
                                                if isinstance(c, dict) and "name" in c]})
    for model in doc.get("models") or []:
        if not isinstance(model, dict) or "name" not in model:
            continue
        name = str(model["name"])
        columns = {str(c["name"]): {"description": c.get("description") or "",
                                    "tests": [t if isinstance(t, str) else next(iter(t), "")
                                              for t in (c.get("data_tests") or c.get("tests") or [])]}
                   for c in model.get("columns") or [] if isinstance(c, dict) and "name" in c}
        out.docs[name] = {"description": model.get("description") or "", "columns": columns}
        if not _enabled(model):
            out.disabled.add(name)
        versions = [v for v in model.get("versions") or [] if isinstance(v, dict) and "v" in v]
        for v in versions:
            stem = str(v.get("defined_in") or f"{name}_v{v['v']}")
            out.versions[stem] = (name, str(v["v"]))
        if versions:
            out.latest[name] = str(model.get("latest_version") or max((v["v"] for v in versions),
                                                                      key=lambda x: (str(x).isdigit(), str(x))))
    for snap in doc.get("snapshots") or []:
        if isinstance(snap, dict) and "name" in snap and snap.get("relation"):
            out.downstream.append({"id": f"snapshot.{snap['name']}", "type": "snapshot", "name": str(snap["name"]),
                                   "path": rel, "depends": str(snap["relation"])})
    for exposure in doc.get("exposures") or []:
        if isinstance(exposure, dict) and "name" in exposure:
            out.downstream.append({"id": f"exposure.{exposure['name']}", "type": "exposure",
                                   "name": str(exposure["name"]), "path": rel,
                                   "depends": " ".join(map(str, exposure.get("depends_on") or []))})
    for sm in doc.get("semantic_models") or []:
        if isinstance(sm, dict) and "name" in sm:
            measures = [str(m["name"]) for m in sm.get("measures") or [] if isinstance(m, dict) and "name" in m]
            out.downstream.append({"id": f"semantic_model.{sm['name']}", "type": "semantic_model",
                                   "name": str(sm["name"]), "path": rel, "depends": str(sm.get("model") or ""),
                                   "measures": measures})
    for metric in doc.get("metrics") or []:
        if isinstance(metric, dict) and "name" in metric:
            out.downstream.append({"id": f"metric.{metric['name']}", "type": "metric", "name": str(metric["name"]),
                                   "path": rel, "depends": "", "uses": _metric_inputs(metric)})


def _metric_inputs(metric: dict[str, Any]) -> list[str]:
    """Measures and metrics a metric is built from (names)."""
    params = metric.get("type_params") or {}
    names: list[str] = []

    def add(item: Any) -> None:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and "name" in item:
            names.append(str(item["name"]))

    if isinstance(params, dict):
        for key in ("measure", "numerator", "denominator", "base_measure", "conversion_measure"):
            add(params.get(key))
        for key in ("metrics", "input_measures"):
            for item in params.get(key) or []:
                add(item)
        add((params.get("conversion_type_params") or {}).get("base_measure") if isinstance(
            params.get("conversion_type_params"), dict) else None)
    return names
