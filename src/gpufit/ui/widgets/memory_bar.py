"""A stacked memory bar that reads without colour: each part has its own block pattern.

weights █  KV cache ▓  activations ▒  overhead ░  free ·  and ┃ marks where the capacity ends
when the setup needs more than there is. Colours (theme variables only) are a second channel,
never the only one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from gpufit.ui.format import size, unit_bytes

if TYPE_CHECKING:
    from gpufit.core.estimate import MemoryBreakdown


@dataclass(frozen=True, slots=True)
class Part:
    """One segment of the bar: its name, the pattern drawn, its colour and its bytes."""

    label: str
    glyph: str
    style: str
    value_bytes: int


CAPACITY_GLYPH = "┃"


def parts(memory: MemoryBreakdown) -> list[Part]:
    """The bar's segments in order; 'free' only when something is left."""
    items = [
        Part("weights", "█", "$primary", memory.gpu_weights_bytes),
        Part("KV cache", "▓", "$accent", memory.kv_cache_bytes),
        Part("activations", "▒", "$secondary", memory.activations_bytes),
        Part("overhead", "░", "$foreground-muted", memory.overhead_bytes),
    ]
    if memory.vision_bytes:
        items.insert(1, Part("vision", "▚", "$primary", memory.vision_bytes))
    if memory.headroom_bytes > 0:
        items.append(Part("free", "·", "$foreground-disabled", memory.headroom_bytes))
    return items


def allocate(values: Sequence[float], cells: int) -> list[int]:
    """Split `cells` in proportion to `values` (largest remainder), giving every non-zero value
    at least one cell while cells last, so a small KV cache is never invisible."""
    total = sum(values)
    if cells <= 0 or total <= 0:
        return [0] * len(values)
    exact = [value / total * cells for value in values]
    counts = [int(share) for share in exact]
    for index, value in enumerate(values):
        if value > 0 and counts[index] == 0:
            counts[index] = 1
    while sum(counts) > cells:  # the minimum-one rule overshot: take from the largest
        largest = max(range(len(counts)), key=lambda i: counts[i])
        counts[largest] -= 1
    order = sorted(range(len(values)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    position = 0
    while sum(counts) < cells:
        counts[order[position % len(order)]] += 1
        position += 1
    return counts


def bar(memory: MemoryBreakdown, width: int) -> Content:
    """The bar itself, `width` cells wide, with the capacity marker when over capacity."""
    items = parts(memory)
    counts = allocate([item.value_bytes for item in items], width)
    cells: list[tuple[str, str]] = []
    for item, count in zip(items, counts, strict=True):
        cells += [(item.glyph, item.style)] * count
    if memory.headroom_bytes < 0 and memory.total_bytes > 0 and cells:
        marker = min(len(cells) - 1, round(width * memory.available_bytes / memory.total_bytes))
        cells[marker] = (CAPACITY_GLYPH, "bold $text-error")
    return Content.assemble(*cells)


SIZE_CELLS = 10
"""Cells of the breakdown's size column ("1,234.5 GB" and "63.1 GiB" right-aligned)."""


def breakdown(memory: MemoryBreakdown, units: str, width: int = 0) -> Content:
    """The bar's key and figures in one table: pattern, part, size; then free or short.

    The short line reads like the verdict ("41.5 of 24.0 GiB", one unit at the end) with its
    figure under the figures above: "41.5 GiB of 24.0 GiB" wrapped in the 35 cells the result
    pane has at 80×24. Narrower than `width` (60×20), "of 24.0 GiB" goes whole on a line of
    its own under the figure, rather than wrapping inside it."""
    lines: list[Content] = []
    for item in parts(memory):
        lines.append(Content.assemble((item.glyph, item.style),
                                      f" {item.label:<12}{size(item.value_bytes, units):>10}"))
    if memory.headroom_bytes < 0:
        label = f" {'short':<12}"
        figure = f"{_figure(-memory.headroom_bytes, units):>{SIZE_CELLS - len(f' {units}')}}"
        capacity = f" of {_figure(memory.available_bytes, units)} {units}"
        if 0 < width < len(CAPACITY_GLYPH) + len(label) + len(figure) + len(capacity):
            # On a line of its own, ending where the size column above ends.
            row_cells = len(CAPACITY_GLYPH) + len(label) + SIZE_CELLS
            capacity = "\n" + f"{capacity.strip():>{row_cells}}"
        lines.append(Content.assemble((CAPACITY_GLYPH, "bold $text-error"), (label, "bold"),
                                      (figure, "bold $text-error"), capacity))
    return Content("\n").join(lines)


def _figure(value_bytes: float, units: str) -> str:
    """A size without its unit; whole numbers from 1,000 up, where a tenth is noise and the
    line must stay within the pane ("1,235 of 2,101 GiB")."""
    value = value_bytes / unit_bytes(units)
    return f"{value:,.1f}" if value < 999.95 else f"{value:,.0f}"


class MemoryBar(Widget):
    """The stacked bar, as wide as the widget."""

    DEFAULT_CSS = """
    MemoryBar { height: 1; }
    """

    memory: reactive[MemoryBreakdown | None] = reactive(None)
    """What to draw; None draws nothing."""

    def render(self) -> Content:
        """Redrawn on resize too, so the bar always fills the pane."""
        if self.memory is None:
            return Content("")
        return bar(self.memory, self.size.width)
