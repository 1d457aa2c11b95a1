"""Themes: ``themes/<name>.toml`` palettes (validated) and optional ``<name>.tcss`` rules.

The shipped folder is ``de_agent/_themes`` inside the wheel (hatch force-include of the
repository's top-level ``themes/``) or that ``themes/`` folder in a source checkout. The
user theme folder (:func:`de_agent.paths.user_themes_dir`) is read after it, so a user theme
with the same name replaces a shipped one.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from de_agent import paths

COLOR_KEYS = ("primary", "secondary", "accent", "warning", "error", "success", "foreground",
              "background", "surface", "panel", "boost")
TOP_KEYS = {"dark", "colors", "variables", "luminosity_spread", "text_alpha"}
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
DEFAULT_THEME = "dark"


class ThemeError(ValueError):
    """A theme file is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class ThemeSpec:
    name: str
    dark: bool
    colors: dict[str, str]
    variables: dict[str, str] = field(default_factory=dict)
    luminosity_spread: float = 0.15
    text_alpha: float = 0.95
    tcss: str = ""
    path: Path | None = None


def shipped_dir(package: Path | None = None) -> Path | None:
    """Where the shipped themes are: inside the installed package, else the source checkout."""
    package = package or Path(__file__).resolve().parents[1]
    for candidate in (package / "_themes", package.parent / "themes"):
        if candidate.is_dir():
            return candidate
    return None


def theme_dirs() -> list[Path]:
    dirs = [d for d in (shipped_dir(),) if d is not None]
    return [*dirs, paths.user_themes_dir()]


def _color(value: object, where: str) -> str:
    from textual.color import Color, ColorParseError

    if not isinstance(value, str):
        raise ThemeError(f"{where} must be a colour string")
    text = value.strip()
    colour_part = text.rsplit(" ", 1)[0] if text.endswith("%") else text
    try:
        Color.parse(colour_part)
    except ColorParseError as exc:
        raise ThemeError(f"{where}: {value!r} is not a colour") from exc
    return text


def parse_theme(path: Path) -> ThemeSpec:
    """Read and validate one ``<name>.toml`` (and its sibling ``.tcss``, when present)."""
    name = path.stem
    if not NAME_RE.match(name):
        raise ThemeError(f"{path}: theme names are lower-case letters, digits and dashes")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ThemeError(f"{path}: {exc}") from exc
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise ThemeError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    if not isinstance(data.get("dark"), bool):
        raise ThemeError(f"{path}: 'dark' must be true or false")
    colors = data.get("colors")
    if not isinstance(colors, dict) or "primary" not in colors:
        raise ThemeError(f"{path}: a [colors] table with at least 'primary' is required")
    bad = set(colors) - set(COLOR_KEYS)
    if bad:
        raise ThemeError(f"{path}: unknown colour(s) {', '.join(sorted(bad))}; "
                         f"known: {', '.join(COLOR_KEYS)}")
    checked = {k: _color(v, f"{path}: colors.{k}") for k, v in colors.items()}
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in variables.items()):
        raise ThemeError(f"{path}: [variables] must map names to strings")
    numbers = {}
    for key, default in (("luminosity_spread", 0.15), ("text_alpha", 0.95)):
        value = data.get(key, default)
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ThemeError(f"{path}: {key} must be a number between 0 and 1")
        numbers[key] = float(value)
    tcss_path = path.with_suffix(".tcss")
    tcss = tcss_path.read_text(encoding="utf-8") if tcss_path.is_file() else ""
    return ThemeSpec(name, data["dark"], checked, dict(variables), tcss=tcss, path=path, **numbers)


def discover(dirs: list[Path] | None = None) -> tuple[dict[str, ThemeSpec], list[str]]:
    """All valid themes by name (later folders win) and one message per invalid file."""
    found: dict[str, ThemeSpec] = {}
    problems: list[str] = []
    for folder in theme_dirs() if dirs is None else dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                spec = parse_theme(path)
            except ThemeError as exc:
                problems.append(f"Theme skipped: {exc}")
                continue
            found[spec.name] = spec
    return found, problems


def to_textual(spec: ThemeSpec):
    """The :class:`textual.theme.Theme` for a spec."""
    from textual.theme import Theme

    return Theme(name=spec.name, dark=spec.dark, variables=dict(spec.variables),
                 luminosity_spread=spec.luminosity_spread, text_alpha=spec.text_alpha,
                 **cast("dict[str, Any]", spec.colors))


def theme_class(name: str) -> str:
    """The class Textual gives the app while a theme is active."""
    return f"-theme-{name}"


def scoped_css(spec: ThemeSpec) -> str:
    """The theme's .tcss nested under the class the app carries while that theme is active."""
    if not spec.tcss.strip():
        return ""
    return f".{theme_class(spec.name)} {{\n{spec.tcss}\n}}\n"
