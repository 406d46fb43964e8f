"""What the terminal can draw: its colours (16 or more) and its glyphs (Unicode or ASCII only).

Decided once at start from the environment, never guessed from the screen:

- ASCII only when `GPUFIT_ASCII=1`, or when `TERM` is a console whose fonts lack rounded
  corners, check marks and emoji (`linux`, `vt100`, `vt220`, `dumb`); `GPUFIT_ASCII=0` keeps
  Unicode anyway. Then `AsciiFilter` turns every glyph drawn — borders, marks, arrows, bars —
  into ASCII of the same width, so no pane has to know about it.
- 16 colours when `GPUFIT_COLORS=16`, or when Textual's console found a 16-colour terminal
  (`TERM=xterm` without `COLORTERM=truecolor`; `TEXTUAL_COLOR_SYSTEM=standard` forces it).
  The app then gets the CSS class `-colors16`, whose rules use the terminal's own ANSI
  colours where a blend of theme colours would collapse to grey on grey.

A headless app (tests, screenshots) has no terminal: only the two `GPUFIT_*` variables apply.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

ASCII_TERMS = frozenset({"linux", "vt100", "vt102", "vt220", "dumb"})
"""TERM values of consoles whose fonts have no rounded corners, ✓/✗ or emoji."""
LOW_COLOUR_SYSTEMS = frozenset({"standard", "windows"})
"""Rich's names for 16-colour terminals."""

GLYPHS: dict[str, str] = {
    "✓": "+", "✔": "+", "✗": "x", "✘": "x", "●": "o", "○": "o", "•": "*", "·": ".",
    "…": ".", "→": ">", "←": "<", "↑": "^", "↓": "v", "↔": "-", "⇄": "-", "×": "x",
    "÷": "/", "≤": "<", "≥": ">", "≈": "~", "–": "-", "—": "-", "−": "-", "±": "+",
    "⌫": "<", "⏎": "<", "↵": "<", "⇥": ">", "␣": "_", "▲": "^", "▼": "v", "▶": ">",
    "◀": "<", "░": ".", "▒": ":", "▓": "#", "█": "#", "▀": "#", "▄": "#", "▌": "#",
    "▐": "#", "“": '"', "”": '"', "‘": "'", "’": "'", "²": "2", "³": "3", "µ": "u",
    "°": "o", "é": "e", "è": "e", "ü": "u", "ö": "o", "ä": "a"
}
"""Glyphs with an ASCII look-alike of the same width (the rest: see `ascii_glyph`)."""
PARTIAL_BLOCKS = "▁▂▃▅▆▇▏▎▍▋▊▉"
"""Eighth blocks (bars, scrollbars): the larger ones read as a full cell, the rest as empty."""


def ascii_glyph(character: str) -> str:
    """`character` as ASCII of the same cell width: a look-alike, a box part, or `?`."""
    if character.isascii():
        return character
    if character in GLYPHS:
        return GLYPHS[character]
    if character in PARTIAL_BLOCKS:
        return "#" if PARTIAL_BLOCKS.index(character) % 6 >= 3 else " "
    width = cell_len(character)
    name = unicodedata.name(character, "")
    if name.startswith("BOX DRAWINGS"):
        horizontal, vertical = "HORIZONTAL" in name, "VERTICAL" in name
        if horizontal != vertical:
            return "-" if horizontal else "|"
        return "+"
    return "?" * width


class _Table(dict[int, str]):
    """A str.translate table that works each character out once."""

    def __missing__(self, code: int) -> str:
        self[code] = replacement = ascii_glyph(chr(code))
        return replacement


class AsciiFilter(LineFilter):
    """Every glyph on screen as ASCII of the same width (for console fonts)."""

    def __init__(self, enabled: bool = True) -> None:
        super().__init__(enabled)
        self._table = _Table()

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        """The same segments with non-ASCII text replaced (styles and widths kept)."""
        table = self._table
        return [segment if segment.text.isascii() or segment.control else
                Segment(segment.text.translate(table), segment.style, segment.control)
                for segment in segments]


@dataclass(frozen=True, slots=True)
class TerminalProfile:
    """What this terminal can draw."""

    ascii_only: bool = False
    colours16: bool = False


def _flag(value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    return value.strip().lower() not in ("0", "no", "false", "off")


def terminal_profile(environ: Mapping[str, str], colour_system: str | None,
                     headless: bool = False) -> TerminalProfile:
    """Decide from `TERM`, the colour system Textual's console detected and the overrides
    `GPUFIT_ASCII` (1/0) and `GPUFIT_COLORS` (16 or anything else)."""
    ascii_only = _flag(environ.get("GPUFIT_ASCII"))
    if ascii_only is None:
        ascii_only = not headless and environ.get("TERM", "").strip().lower() in ASCII_TERMS
    colours = environ.get("GPUFIT_COLORS", "").strip().lower()
    if colours:
        colours16 = colours in ("16", "8", "standard")
    else:
        colours16 = not headless and colour_system in LOW_COLOUR_SYSTEMS
    return TerminalProfile(ascii_only=ascii_only, colours16=colours16)
