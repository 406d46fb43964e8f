"""The two sweep screens: what fits best on the chosen hardware, and which hardware fits the
chosen model. Rows are computed in a worker thread; Enter loads a row into the main panes.

The ranking rules are gpufit.core.rank's (and `gpufit-tui sweep`'s), so the screen and the CLI
always agree. The first column (a GPU or model name, up to ~50 cells) is cut to the room the
other columns leave, so every column stays on screen down to 80 columns.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker

from gpufit.core.assess import Assessment
from gpufit.core.catalog import Catalog
from gpufit.core.rank import BEST_ORDERS, best_for_hardware, hardware_for
from gpufit.core.setup import DEFAULT_MAX_QUALITY_LOSS_PCT, DEFAULT_MIN_TOKENS_PER_S, MAX_GPUS
from gpufit.ui.format import compact_gpu_name, ellipsize, rate, short_gpu_name, size
from gpufit.ui.workers import notify_failure


@dataclass(frozen=True, slots=True)
class SweepChoice:
    """A row the user picked: a model and quant, or a GPU and count."""

    model_id: str | None = None
    quant_id: str | None = None
    gpu_id: str | None = None
    gpu_count: int | None = None


Row = tuple[SweepChoice, tuple[str, ...]]


def best_rows(assessment: Assessment, catalog: Catalog, units: str,
              order: str = "capability") -> list[Row]:
    """Models at their best quant on the assessed hardware, best first by `order` (each at the
    setup's workload and context rule, so a loaded row shows the same verdict)."""
    ranked = best_for_hardware(assessment.estimate.hardware, catalog.models.values(),
                               catalog.quants.values(), assessment.setup, order=order)
    return [(SweepChoice(model_id=item.row.model.id, quant_id=item.row.quant.id),
             (item.row.model.name, item.row.quant.id, size(item.row.total_bytes, units),
              size(item.row.headroom_bytes, units), rate(item.row.decode_tokens_per_s),
              f"+{item.quality_loss_pct:.2f} %"))
            for item in ranked]


def hardware_rows(assessment: Assessment, catalog: Catalog, units: str) -> list[Row]:
    """The fewest cards of each catalog GPU that hold the assessed model, smallest first."""
    request = assessment.estimate
    workload = request.workload
    fits = hardware_for(request.model, request.quant, catalog.gpus.values(), workload, MAX_GPUS)
    rows: list[Row] = []
    for fit in fits:
        hardware = fit.result.hardware
        name = compact_gpu_name(hardware.gpu.name)
        rows.append((SweepChoice(gpu_id=hardware.gpu.id, gpu_count=hardware.count),
                     (f"{hardware.count} × {name}" if hardware.count > 1 else name,
                      size(fit.total_memory_bytes, units), size(fit.result.memory.total_bytes, units),
                      f"{fit.power_watts:,.0f} W", rate(fit.result.speed.decode_tokens_per_s),
                      fit.result.verdict)))
    return rows


KINDS = {
    "best": ("model", "quant", "needs", "headroom", "tok/s", "ppl loss"),
    "hardware": ("setup", "memory", "needs", "power", "tok/s", "verdict"),
}

MIN_NAME_CELLS = 12
"""The first column never gets narrower than this: below it a name says nothing, and a
horizontal scroll is the lesser evil."""


def column_widths(headers: tuple[str, ...], rows: list[tuple[str, ...]], width: int | None,
                  padding: int = 1) -> list[int]:
    """Cells of each column: its widest cell or header; the first column's at most what
    `width` cells leave once the others (plus `padding` cells on both sides of every column)
    are placed (None: no limit). The first cells are then cut to it with `ellipsize`."""
    widths = [max(cell_len(cell) for cell in (header, *(row[index] for row in rows)))
              for index, header in enumerate(headers)]
    if width is not None and widths:
        room = width - sum(widths[1:]) - 2 * padding * len(widths)
        widths[0] = min(widths[0], max(room, MIN_NAME_CELLS))
    return widths


class SweepTable(DataTable[str]):
    """The sweep's table; says when its width changes, since the names are cut to fit it."""

    class Resized(Message):
        """The table has a new size (Resize itself does not bubble to the screen)."""

    def on_resize(self, event: events.Resize) -> None:
        """Tell the screen (DataTable's own resize handling runs as well)."""
        self.post_message(self.Resized())


class SweepScreen(ModalScreen[SweepChoice | None]):
    """A ranked table; Enter dismisses with the highlighted row's choice."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "close", id="gpufit.sweep-close"),
        Binding("j", "cursor_down", "down", show=False, id="gpufit.sweep-down"),
        Binding("k", "cursor_up", "up", show=False, id="gpufit.sweep-up"),
        Binding("o", "cycle_order", "order", id="gpufit.sweep-order"),
    ]

    def __init__(self, kind: str, request: Assessment, catalog: Catalog, units: str) -> None:
        super().__init__(classes="dialog-screen")
        self._kind = kind
        self._request = request
        self._catalog = catalog
        self._units = units
        self._choices: list[SweepChoice] = []
        self._rows: list[Row] = []
        self._shown_width: int | None = None
        self.order = "capability"
        """How `best` ranks (gpufit.core.rank.BEST_ORDERS); `o` cycles it."""

    def compose(self) -> ComposeResult:
        """Title, rule, table, footer."""
        request = self._request.estimate
        hardware = request.hardware
        with Vertical(classes="dialog sweep-dialog") as box:
            if self._kind == "best":
                setup = f"{hardware.count} × {short_gpu_name(hardware.gpu.name)}"
                box.border_title = f"Best on {setup}"
                rule = self._best_rule()
            else:
                box.border_title = f"Hardware for {request.model.name} · {request.quant.id}"
                rule = ("The fewest cards of each GPU (or one MIG slice) that hold it; smallest "
                        "total memory first, then power.")
            box.border_subtitle = "Enter loads · Esc closes"
            yield Static(rule, classes="sweep-rule", markup=False)  # names a GPU or model
            yield SweepTable(cursor_type="row", zebra_stripes=True, id="sweep-table")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*KINDS[self._kind])  # the headers while the rows are computed
        table.loading = True
        table.focus()
        self._fill()

    @work(exclusive=True, group="sweep", name="sweep", exit_on_error=False)
    async def _fill(self) -> None:
        if self._kind == "best":
            rows = await asyncio.to_thread(best_rows, self._request, self._catalog, self._units,
                                           self.order)
        else:
            rows = await asyncio.to_thread(hardware_rows, self._request, self._catalog,
                                           self._units)
        table = self.query_one(DataTable)
        table.loading = False
        self._rows = rows
        self._choices = [choice for choice, _cells in rows]
        self._show_rows()
        if not rows:
            self.query_one(".sweep-rule", Static).update("Nothing in the catalog fits.")
        self.rows_ready = True

    rows_ready = False
    """Set once the table is filled (tests wait on it)."""

    def _table_width(self) -> int | None:
        """Cells the table's columns may take: its width less a vertical scrollbar, counted
        whether shown or not (a long list shows one, a short one may not). None before the
        table has been laid out (rows can be ready first); it says `Resized` then."""
        table = self.query_one(DataTable)
        if table.size.width <= 0:
            return None
        return table.size.width - table.styles.scrollbar_size_vertical

    def _show_rows(self) -> None:
        """Fill the table for its present width. The columns are made again, with explicit
        widths: a DataTable's measured columns only ever widen (a narrower screen needs a
        narrower first column), and they are measured after a frame drawn at the headers'
        widths."""
        table = self.query_one(DataTable)
        headers = KINDS[self._kind]
        self._shown_width = self._table_width()
        rows = [cells for _choice, cells in self._rows]
        widths = column_widths(headers, rows, self._shown_width, table.cell_padding)
        cursor = table.cursor_row
        table.clear(columns=True)
        for header, cells in zip(headers, widths, strict=True):
            table.add_column(header, width=cells)
        for name, *others in rows:
            # Plain text: DataTable reads a str cell as markup, and a model file's name may
            # hold "[" (a local GGUF called "x[/b]" raised a MarkupError).
            table.add_row(*(Text(cell) for cell in (ellipsize(name, widths[0]), *others)))
        if self._rows:
            table.move_cursor(row=min(cursor, len(self._rows) - 1))

    @on(SweepTable.Resized)
    def _refit(self) -> None:
        """A new width (the first layout, or the terminal resized): cut the names again."""
        if self._rows and self._table_width() != self._shown_width:
            self._show_rows()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if notify_failure(self, event):
            table = self.query_one(DataTable)
            table.loading = False
            self.query_one(".sweep-rule", Static).update(
                f"The sweep failed: {event.worker.error}. Esc closes.")

    def _best_rule(self) -> str:
        return (f"Each model at its least lossy quant that fits and decodes ≥ "
                f"{DEFAULT_MIN_TOKENS_PER_S:g} tok/s (≤ {DEFAULT_MAX_QUALITY_LOSS_PCT:g} % "
                f"perplexity loss); {BEST_ORDERS[self.order]} (o: order).")

    def action_cycle_order(self) -> None:
        """Rank `best` by the next order (capability, speed, quality, size)."""
        if self._kind != "best":
            return
        orders = list(BEST_ORDERS)
        self.order = orders[(orders.index(self.order) + 1) % len(orders)]
        self.query_one(".sweep-rule", Static).update(self._best_rule())
        self.rows_ready = False
        self._fill()

    def action_cursor_down(self) -> None:
        """Next row."""
        self.query_one(DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        """Previous row."""
        self.query_one(DataTable).action_cursor_up()

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self._choices):
            self.dismiss(self._choices[event.cursor_row])
