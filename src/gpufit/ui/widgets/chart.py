"""The serving chart: aggregate throughput (bars) and time per output token (dots) against
concurrency, with the TPOT limit as a dashed line and the best level marked.

Drawn from characters alone, so it reads in 16 colours and under NO_COLOR: bars are `█` with
eighth-blocks for the top, TPOT points are `●`, the limit is `┄`, the best level's label is
framed `[8]`. Colour only repeats what the glyphs already say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.content import Content
from textual.reactive import var
from textual.widget import Widget

BAR_EIGHTHS = " ▁▂▃▄▅▆▇█"
TPOT_GLYPH = "●"
LIMIT_GLYPH = "┄"
LEFT_AXIS_WIDTH = 7
RIGHT_AXIS_WIDTH = 7
LEGEND = "█ tok/s, all users (left)   ● TPOT ms (right)   ┄ TPOT limit   [n] best"


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One concurrency level as the chart needs it."""

    concurrency: int
    aggregate_tokens_per_s: float
    tpot_s: float


@dataclass(frozen=True, slots=True)
class Cell:
    """One character of the chart and the theme style that paints it."""

    text: str
    style: str = ""


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above `value`."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _axis_number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _axis_label(row: int, plot_height: int, top: float) -> str:
    """Top, middle and bottom of an axis are labelled; other rows stay clear."""
    if row == 0:
        return _axis_number(top)
    if row == plot_height // 2:
        return _axis_number(top / 2)
    return "0" if row == plot_height - 1 else ""


def chart_cells(points: Sequence[ChartPoint], tpot_limit_s: float, best: int | None,
                width: int, height: int) -> list[list[Cell]]:
    """The chart as rows of cells, `width` × `height` (legend and axes included)."""
    rows: list[list[Cell]] = []
    plot_height = height - 3  # legend on top, concurrency labels and title below
    plot_width = width - LEFT_AXIS_WIDTH - RIGHT_AXIS_WIDTH - 2
    if not points or plot_height < 3 or plot_width < 2 * len(points):
        return [[Cell(text)] for text in ("Too small for the chart: make the window larger."[:width],)]
    top_rate = _nice_ceiling(max(point.aggregate_tokens_per_s for point in points))
    top_ms = _nice_ceiling(max(max(point.tpot_s for point in points), tpot_limit_s) * 1000)
    slot = plot_width // len(points)
    bar_width = max(1, min(6, slot - 1))
    rows.append([Cell(LEGEND[:width], "$foreground-muted")])
    limit_row = plot_height - 1 - round(tpot_limit_s * 1000 / top_ms * (plot_height - 1))
    for row in range(plot_height):
        line: list[Cell] = []
        label = _axis_label(row, plot_height, top_rate)
        line.append(Cell(f"{label:>{LEFT_AXIS_WIDTH - 1}}│", "$foreground-muted"))
        for point in points:
            filled = point.aggregate_tokens_per_s / top_rate * plot_height  # rows of bar
            below = plot_height - row - 1  # full rows under this one
            eighths = max(0, min(8, round((filled - below) * 8)))
            glyph = BAR_EIGHTHS[eighths]
            style = "$success" if point.concurrency == best else "$accent"
            tpot_row = plot_height - 1 - round(point.tpot_s * 1000 / top_ms * (plot_height - 1))
            middle = bar_width // 2
            for column in range(slot):
                if column < bar_width:
                    if row == tpot_row and column == middle:
                        line.append(Cell(TPOT_GLYPH, "bold $warning"))
                    elif glyph != " ":
                        line.append(Cell(glyph, style))
                    elif row == limit_row:
                        line.append(Cell(LIMIT_GLYPH, "$error"))
                    else:
                        line.append(Cell(" "))
                elif row == limit_row:
                    line.append(Cell(LIMIT_GLYPH, "$error"))
                else:
                    line.append(Cell(" "))
        spare = plot_width - slot * len(points)
        line.append(Cell((LIMIT_GLYPH if row == limit_row else " ") * spare,
                         "$error" if row == limit_row else ""))
        right = _axis_number(tpot_limit_s * 1000) if row == limit_row else \
            _axis_label(row, plot_height, top_ms)
        line.append(Cell(f"│{right:<{RIGHT_AXIS_WIDTH}}", "$foreground-muted"))
        rows.append(line)
    labels: list[Cell] = [Cell(" " * LEFT_AXIS_WIDTH)]
    for point in points:
        text = f"[{point.concurrency}]" if point.concurrency == best else str(point.concurrency)
        labels.append(Cell(f"{text:<{slot}}"[:slot], "bold $success" if point.concurrency == best
                           else "$foreground-muted"))
    rows.append(labels)
    rows.append([Cell(" " * LEFT_AXIS_WIDTH + "concurrent users", "$foreground-muted")])
    return rows


def chart_text(rows: list[list[Cell]]) -> str:
    """The chart as plain text (what NO_COLOR shows, and what tests read)."""
    return "\n".join("".join(cell.text for cell in row) for row in rows)


class ServingChart(Widget):
    """Throughput and TPOT against concurrency, sized to the widget."""

    DEFAULT_CSS = """
    ServingChart {
        height: 1fr;
        min-height: 8;
    }
    """

    points: var[tuple[ChartPoint, ...]] = var((), init=False)
    """The levels to plot, increasing concurrency."""
    tpot_limit_s: var[float] = var(0.1, init=False)
    """The dashed line."""
    best: var[int | None] = var(None, init=False)
    """Concurrency of the best level (its label is framed), or None."""
    empty_text: var[str] = var("Computing…", init=False)
    """What the chart says when it has no level to plot (set by its screen once it knows)."""

    def watch_points(self) -> None:
        self.refresh()

    def watch_tpot_limit_s(self) -> None:
        self.refresh()

    def watch_best(self) -> None:
        self.refresh()

    def watch_empty_text(self) -> None:
        self.refresh()

    def render(self) -> Content:
        """Draw for the current size."""
        width, height = self.content_region.width, self.content_region.height
        if not self.points:
            return Content(self.empty_text)
        rows = chart_cells(self.points, self.tpot_limit_s, self.best, width, height)
        return Content("\n").join(
            Content.assemble(*((cell.text, cell.style) if cell.style else cell.text for cell in row))
            for row in rows)
