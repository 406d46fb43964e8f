"""Quant pane: every quantization with its effective bits per weight and, live, fit and decode speed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.content import Content
from textual.message import Message
from textual.reactive import var
from textual.widgets import Static

from gpufit.core.catalog import Catalog
from gpufit.core.specs import QuantSpec
from gpufit.ui.format import rate, unit_bytes
from gpufit.ui.messages import QuantChosen
from gpufit.ui.widgets.picker import PickerPane, Row
from gpufit.ui.widgets.updates import set_border_subtitle

if TYPE_CHECKING:
    from gpufit.core.assess import Assessment
    from gpufit.core.estimate import Estimate

ID_WIDTH = 10
# Word + mark + colour: the word alone must carry the meaning (NO_COLOR, colour blindness).
FIT_MARKS: dict[str, tuple[str, str]] = {
    "fits": ("✓ fits", "$text-success"),
    "tight": ("~ tight", "$text-warning"),
    "does-not-fit": ("✗ no", "$text-error"),
    "unsupported": ("- n/a", "$foreground-muted"),
}
LEGEND = ("need: memory the quant needs, room: what is left (negative: short), both in the "
          "result's units; n/a: the engine cannot run it (e switches engine)")

COLUMNS: dict[str, tuple[str, int]] = {
    "quant": ("<", ID_WIDTH), "bpw": (">", 4), "fit": ("<", 7), "need": (">", 4),
    "room": (">", 5), "tok/s": (">", 5)}
"""Column → (alignment, width in cells). Sizes get 4–5 cells: `size_cells` keeps them there."""
LAYOUTS: tuple[tuple[str, ...], ...] = (
    ("quant", "bpw", "fit", "need", "room", "tok/s"),
    ("quant", "fit", "need", "room", "tok/s"),  # 35 cells: the 80×24 picker
    ("quant", "fit", "need", "tok/s"),          # 29 cells: the narrowest pane
)
"""Widest first; a pane shows the first layout its list has room for, so memory needed is
always there and headroom and bits per weight join as the pane widens."""
FULL = LAYOUTS[0]


def row_width(columns: tuple[str, ...]) -> int:
    """Cells a row of these columns takes (one space between columns)."""
    return sum(COLUMNS[name][1] for name in columns) + len(columns) - 1


def layout_for(width: int) -> tuple[str, ...]:
    """The widest layout that fits `width` cells (the narrowest when none does)."""
    return next((columns for columns in LAYOUTS if row_width(columns) <= width), LAYOUTS[-1])


def header(columns: tuple[str, ...] = FULL) -> str:
    """The column titles, aligned as the rows are."""
    return " ".join(f"{name:{COLUMNS[name][0]}{COLUMNS[name][1]}}" for name in columns)


HEADER = header()


def size_cells(value_bytes: float, units: str, *, signed: bool = False) -> str:
    """A size in at most 4 cells (5 with a sign): '43.2', '810', '1.3k' (thousands of
    `units`); the unit is named in the header's tooltip and the result pane's subtitle."""
    value = abs(value_bytes) / unit_bytes(units)
    if value < 99.95:
        text = f"{value:.1f}"
    elif value < 999.5:
        text = f"{value:.0f}"
    else:
        text = f"{value / 1000:.1f}k" if value < 9950 else f"{value / 1000:.0f}k"
    if signed:
        text = ("-" if value_bytes < 0 else "+") + text
    return text


def quant_prompt(quant: QuantSpec, row: Estimate | None, engine: str,
                 columns: tuple[str, ...] = FULL, units: str = "GB") -> Content:
    """One fixed-width row of `columns`: id, effective bpw, fit mark, memory needed, headroom,
    decode tok/s; a quant the engine cannot run says "n/a" in words (dim too, but never
    colour or strikethrough alone)."""
    supported = engine in quant.engines
    bits = row.weights.bits_per_weight if row else quant.default_bits_per_weight
    verdict = "unsupported" if not supported else (row.verdict if row else "")
    word, fit_style = FIT_MARKS.get(verdict, ("…", "dim"))
    dim = "" if verdict in ("fits", "tight") else "dim"
    memory = row.memory if row else None
    cells: dict[str, tuple[str, str]] = {
        "quant": (quant.id, "" if supported else "dim"),
        "bpw": (f"{bits:.2f}" if bits < 9.995 else f"{bits:.1f}", ""),
        "fit": (word, fit_style),
        "need": (size_cells(memory.total_bytes, units) if memory else "", dim),
        "room": (size_cells(memory.headroom_bytes, units, signed=True) if memory else "",
                 dim if memory is None or memory.headroom_bytes >= 0 else "$text-error"),
        "tok/s": (rate(row.speed.decode_tokens_per_s) if row else "", dim),
    }
    parts: list[str | tuple[str, str]] = []
    for index, name in enumerate(columns):
        align, width = COLUMNS[name]
        text, style = cells[name]
        parts.append(((" " if index else "") + f"{text:{align}{width}.{width}}", style))
    return Content.assemble(*parts)


class QuantPane(PickerPane):
    """Pick a quantization; rows update with every estimate and fit the pane's width."""

    result: var[Assessment | None] = var(None, init=False)
    """The latest estimate (bound to the main screen)."""
    engine: var[str] = var("llama.cpp", init=False)
    """The chosen engine: quants it cannot run say n/a."""
    units: var[str] = var("GB", init=False)
    """GB or GiB for the need and room columns (bound to the main screen)."""

    def __init__(self, catalog: Catalog, *, id: str = "quant", selected: str = "") -> None:
        super().__init__("3 Quant", "/ filter quants", id=id, selected=selected)
        self._catalog = catalog
        self.columns: tuple[str, ...] = LAYOUTS[-1]
        """The columns on show: the widest layout the list has room for."""

    def compose_above_list(self) -> ComposeResult:
        """A column header between the filter and the list."""
        head = Static(self._header(), classes="column-head", id="quant-head")
        head.tooltip = LEGEND
        yield head

    def _header(self) -> Content:
        return Content.styled(header(self.columns), "$foreground-muted bold")

    def _rows_by_quant(self) -> dict[str, Estimate]:
        if self.result is None:
            return {}
        return {row.quant.id: row for row in self.result.quant_rows}

    def _prompt(self, quant: QuantSpec, estimates: dict[str, Estimate]) -> Content:
        return quant_prompt(quant, estimates.get(quant.id), self.engine, self.columns, self.units)

    def rows(self) -> Iterable[Row]:
        """Catalog order: most bits first."""
        estimates = self._rows_by_quant()
        for quant in self._catalog.quants.values():
            haystack = " ".join((quant.id, quant.name, quant.format, *quant.engines,
                                 *quant.aliases))
            yield Row(quant.id, self._prompt(quant, estimates), haystack.casefold())

    def chosen(self, row_id: str) -> Message:
        """Moving in the list chooses a quant."""
        return QuantChosen(row_id)

    def on_resize(self) -> None:
        # The list's own width (less its scrollbar) decides which columns are on show.
        columns = layout_for(self.option_list.scrollable_content_region.width)
        if columns != self.columns:
            self.columns = columns
            self.query_one("#quant-head", Static).update(self._header())
            self._refresh_prompts()

    def watch_result(self, result: Assessment | None) -> None:
        self._refresh_prompts()
        unsupported = any(self.engine not in quant.engines for quant in self._catalog.quants.values())
        set_border_subtitle(self, "n/a: engine can't run it" if unsupported else "")

    def watch_engine(self, engine: str) -> None:
        self._refresh_prompts()

    def watch_units(self) -> None:
        self._refresh_prompts()

    def _refresh_prompts(self) -> None:
        """Replace prompts in place, so the highlight and scroll position stay put."""
        if not self.is_mounted:
            return
        option_list = self.option_list
        estimates = self._rows_by_quant()
        for option in option_list.options:
            quant = self._catalog.quants.get(option.id or "")
            if quant is not None:
                option_list.replace_option_prompt(quant.id, self._prompt(quant, estimates))
