"""Themes are data: every `*.toml` in the themes directories becomes a `textual.theme.Theme`.

A file that cannot be read (the shared TOML reader's cases: a pipe, deep nesting, not UTF-8),
is not valid TOML, misses `name` or `primary`, has an unknown key, a colour Textual cannot parse
or a CSS variable whose value Textual's stylesheet would reject is skipped with a problem
message; it never stops the app. Variables are checked here because Textual only parses them
when the theme is applied, and a parse error there ends the app.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.css.stylesheet import Stylesheet, StylesheetError
from textual.css.tokenizer import TokenError
from textual.theme import Theme

from gpufit.core.toml_file import read_toml_file, toml_files_in
from gpufit.persist import paths

COLOUR_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent",
                 "foreground", "background", "surface", "panel", "boost")
THEME_FIELDS = {item.name for item in fields(Theme)}


class ThemeError(ValueError):
    """A theme file that cannot become a Theme."""


@dataclass(slots=True)
class ThemeSet:
    """Themes loaded from disk, and what was wrong with the files that were skipped."""

    themes: list[Theme] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def shipped_themes_dir() -> Path:
    """Themes inside the wheel, or the repo's `themes/` in a checkout."""
    packaged = Path(str(resources.files("gpufit"))) / "_data" / "themes"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "themes"


def user_themes_dir() -> Path:
    """A user's own themes (same format), next to the settings file."""
    return paths.config_dir() / "themes"


def default_theme_dirs() -> list[Path]:
    """Shipped themes first, then the user's (a user theme with the same name wins)."""
    return [shipped_themes_dir(), user_themes_dir()]


def _check_colour(key: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ThemeError(f"'{key}' must be a colour string")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeError(f"'{key}' = {value!r} is not a colour") from None


def _variable_property(name: str) -> str:
    """The CSS property a theme variable is checked in: Textual's `*-style` variables are text
    styles (links have their own properties), every other one is a colour."""
    if name.startswith("link-style"):
        return "link-style-hover" if name.endswith("hover") else "link-style"
    return "text-style" if name.endswith("-style") else "color"


def variable_problem(name: str, value: str, variables: dict[str, str]) -> str | None:
    """Why Textual would reject `$name` = `value` where its widgets use it, or None."""
    if not name.replace("-", "").replace("_", "").isalnum():
        return f"variable name {name!r} is not a CSS variable name"
    prop = _variable_property(name)
    sheet = Stylesheet(variables={**variables, name: value})
    sheet.add_source(f"GpufitThemeProbe {{ {prop}: ${name}; }}", read_from=("<theme>", name))
    try:
        sheet.parse()
    except (StylesheetError, TokenError):  # a bad value fails as either, depending on where
        kind = "a colour" if prop == "color" else "a text style"
        return f"'variables.{name}' = {value!r} is not {kind} Textual accepts"
    return None


def theme_from_document(document: dict[str, Any]) -> Theme:
    """Build a Theme from a parsed TOML document, checking every field first."""
    unknown = sorted(set(document) - THEME_FIELDS)
    if unknown:
        raise ThemeError(f"unknown key(s): {', '.join(unknown)}")
    if not isinstance(document.get("name"), str) or not document["name"]:
        raise ThemeError("'name' (a string) is required")
    if "primary" not in document:
        raise ThemeError("'primary' (a colour) is required")
    for key in COLOUR_FIELDS:
        if key in document:
            _check_colour(key, document[key])
    if "dark" in document and not isinstance(document["dark"], bool):
        raise ThemeError("'dark' must be true or false")
    variables = document.get("variables", {})
    if not isinstance(variables, dict) or not all(
            isinstance(value, str) for value in variables.values()):
        raise ThemeError("'variables' must be a table of strings")
    for key in ("luminosity_spread", "text_alpha"):
        if key in document and not isinstance(document[key], int | float):
            raise ThemeError(f"'{key}' must be a number")
    theme = Theme(**document)
    try:
        generated = theme.to_color_system().generate()
    except Exception as error:  # Textual's own validation: report it, never crash on it.
        raise ThemeError(f"Textual rejected it: {error}") from None
    for name, value in variables.items():
        problem = variable_problem(str(name), value, generated)
        if problem:
            raise ThemeError(problem)
    return theme


def load_theme_file(path: Path) -> Theme:
    """One theme file → a Theme, or ThemeError saying what is wrong."""
    try:
        document = read_toml_file(path)
    except (OSError, UnicodeDecodeError) as error:
        raise ThemeError(f"cannot read it: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ThemeError(f"not valid TOML: {error}") from None
    return theme_from_document(document)


def load_themes(directories: Iterable[Path]) -> ThemeSet:
    """Every `*.toml` in `directories` (missing directories are fine; one that cannot be
    listed is a problem), sorted by file name."""
    loaded = ThemeSet()
    for directory in directories:
        try:
            files = toml_files_in(directory)
        except OSError as error:
            loaded.problems.append(f"Themes folder skipped: {error}")
            continue
        for path in files:
            try:
                loaded.themes.append(load_theme_file(path))
            except ThemeError as error:
                loaded.problems.append(f"Theme file {path.name} skipped: {error}")
    return loaded
