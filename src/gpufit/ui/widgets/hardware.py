"""Hardware pane: catalog GPUs grouped by family, a filter, the GPU count and a memory override.

The override is bounded by what hardware exists: at most `OVERRIDE_MARGIN` × the largest card
in the catalog (room for a card newer than the catalog, never a typo's 999,999 GB). The box
shows and reads it in the screen's units (GB or GiB, `g`), so it reads like the result beside
it; the setup keeps bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.reactive import var
from textual.validation import Integer, Number
from textual.widgets import Input, Label, Static

from gpufit.core.catalog import Catalog
from gpufit.core.setup import MAX_GPUS
from gpufit.ui.format import DEFAULT_UNITS, short_gpu_name, size, unit_bytes
from gpufit.ui.messages import GpuChosen, GpuCountChanged, MemoryOverrideChanged
from gpufit.ui.widgets.picker import PickerPane, Row
from gpufit.ui.widgets.text_box import TextBox
from gpufit.ui.widgets.typed import settle, typed_value

if TYPE_CHECKING:
    from gpufit.detect.match import DetectedOption

OVERRIDE_MARGIN = 1.5
"""How far a typed memory per GPU may exceed the largest catalog card's memory."""
MIN_OVERRIDE = 0.1
"""The smallest memory per GPU the box accepts, in the unit it shows."""


def max_override(catalog: Catalog, units: str = "GB") -> float:
    """The largest memory per GPU the box accepts, in `units` (GB or GiB):
    `OVERRIDE_MARGIN` × the largest catalog card."""
    largest_bytes = max((gpu.memory_bytes for gpu in catalog.gpus.values()), default=0)
    return round(OVERRIDE_MARGIN * largest_bytes / unit_bytes(units)) or 1000


class HardwarePane(PickerPane):
    """Pick a GPU, how many of them, and (optionally) how much memory each really has."""

    gpu_count: var[int] = var(1, init=False)
    """Number of GPUs (bound to the main screen)."""
    memory_override_bytes: var[int | None] = var(None, init=False)
    """Usable bytes per GPU typed by the user; None means the catalog figure."""
    detected: var[tuple[DetectedOption, ...]] = var((), init=False)
    """What nvidia-smi found on this machine, listed first (bound to the main screen)."""
    detection_status: var[str] = var("", init=False)
    """One line: what detection found, or why it found nothing."""
    units: var[str] = var(DEFAULT_UNITS, init=False)
    """GB or GiB: the unit the memory box shows and reads (bound to the screen's units)."""

    FAMILY_ORDER: ClassVar[tuple[str, ...]] = (
        "Consumer", "Workstation", "Data centre", "Laptop", "Apple Silicon")

    def __init__(self, catalog: Catalog, *, id: str = "hardware", selected: str = "") -> None:
        super().__init__("1 Hardware", "/ filter GPUs", id=id, selected=selected)
        self._catalog = catalog
        self._before: tuple[int, int | None] = (self.gpu_count, self.memory_override_bytes)

    def compose_above_list(self) -> ComposeResult:
        """The detection status: wrapped (up to three lines), the whole text in its tooltip,
        so a hung nvidia-smi reads differently from a missing one at any width."""
        # Plain text: it quotes nvidia-smi (its errors and GPU names may hold brackets).
        status = Static(self.detection_status, id="detect-status", classes="status-line",
                        markup=False)
        status.styles.text_wrap = "wrap"
        status.styles.height = "auto"
        status.styles.max_height = 3
        status.tooltip = self.detection_status or None
        yield status

    def compose(self) -> ComposeResult:
        """Filter, status, list, then the count and memory row."""
        yield from super().compose()
        with Horizontal(classes="hardware-row"):
            yield Label("GPUs")
            yield TextBox(str(self.gpu_count), type="integer", compact=True, id="gpu-count",
                        validators=[Integer(minimum=1, maximum=MAX_GPUS)],
                        tooltip=f"How many GPUs, 1–{MAX_GPUS} (also + and -)")
            yield Label(f"{self.units}/GPU", id="memory-unit")
            yield TextBox(type="number", compact=True, id="memory-override", valid_empty=True)

    def rows(self) -> Iterable[Row]:
        """Detected hardware first, then GPUs grouped by family (known families first),
        catalog order inside a family."""
        for option in self.detected:
            name = short_gpu_name(option.name)
            title = f"{option.count} × {name}" if option.count > 1 else name
            free = "free unknown" if option.free_memory_bytes is None else \
                f"{size(option.free_memory_bytes, self.units)} free"
            prompt = Content.assemble(("● ", "$text-success"), title,
                                      (f"\n  {free} · detected", "$foreground-muted"))
            haystack = " ".join(("detected local this", option.label, option.gpu.name))
            yield Row(option.key, prompt, haystack.casefold(), "Detected (this machine)")
        families = list(self.FAMILY_ORDER)
        for gpu in self._catalog.gpus.values():
            if gpu.family not in families:
                families.append(gpu.family)
        for family in families:
            for gpu in self._catalog.gpus.values():
                if gpu.family != family:
                    continue
                prompt = Content(short_gpu_name(gpu.name))
                haystack = " ".join((gpu.id, gpu.name, gpu.vendor, gpu.family, *gpu.aliases))
                yield Row(gpu.id, prompt, haystack.casefold(), family)

    def chosen(self, row_id: str) -> Message:
        """Moving in the list chooses a GPU."""
        return GpuChosen(row_id)

    def watch_selected(self, selected: str) -> None:
        super().watch_selected(selected)
        if self.is_mounted:
            self._show_catalog_memory()

    def on_mount(self) -> None:
        super().on_mount()
        self._show_unit()
        self._show_catalog_memory()
        self._show_count()
        self._show_override()

    def watch_units(self) -> None:
        """The box now speaks another unit: its label, bound, placeholder and figure follow; the
        bytes in use do not change."""
        if not self.is_mounted:
            return
        self._show_unit()
        self._show_catalog_memory()
        self._show_override()
        if self.detected:
            self.rebuild()  # the detected rows' "… free"

    def _show_unit(self) -> None:
        """The label, the bound (in the unit shown, so a refusal names numbers the user can
        type) and the tooltip of the memory box."""
        units = self.units
        self.query_one("#memory-unit", Label).update(f"{units}/GPU")
        box = self.query_one("#memory-override", Input)
        limit = f"{MIN_OVERRIDE:g}–{max_override(self._catalog, units):,.0f}"
        box.validators = [Number(
            minimum=MIN_OVERRIDE, maximum=max_override(self._catalog, units),
            failure_description=(f"{units}/GPU must be {limit} ({OVERRIDE_MARGIN:g} × the "
                                 "largest card in the catalog)."))]
        scale = "2^30" if units == "GiB" else "10^9"
        box.tooltip = f"Usable memory per GPU in {units} ({scale} bytes), {limit}; empty = catalog"

    def _show_catalog_memory(self) -> None:
        gpu = self._catalog.gpus.get(self.selected)
        option = next((option for option in self.detected if option.key == self.selected), None)
        memory = self.query_one("#memory-override", Input)
        divisor = unit_bytes(self.units)
        if option is not None:
            memory.placeholder = f"{option.memory_per_gpu_bytes / divisor:.1f}"
        else:
            memory.placeholder = f"{gpu.usable_memory_bytes / divisor:.1f}" if gpu else ""

    def watch_detected(self) -> None:
        if self.is_mounted:
            self.rebuild()
            self._show_catalog_memory()

    def watch_detection_status(self, status: str) -> None:
        if self.is_mounted:
            line = self.query_one("#detect-status", Static)
            line.update(status)
            line.tooltip = status or None

    def watch_gpu_count(self) -> None:
        self._show_count()

    def watch_memory_override_bytes(self) -> None:
        self._show_override()

    def _show_count(self, *, force: bool = False) -> None:
        box = self.query_one("#gpu-count", Input) if self.is_mounted else None
        # A focused box belongs to the user: never rewrite what they are typing.
        if box is not None and (force or not box.has_focus) \
                and box.value.strip() != str(self.gpu_count):
            box.value = str(self.gpu_count)

    def _show_override(self, *, force: bool = False) -> None:
        box = self.query_one("#memory-override", Input) if self.is_mounted else None
        shown = _figure(self.memory_override_bytes, self.units)
        # A typed "24.0" stands for the same bytes as "24": compare bytes, then text, so the
        # box is rewritten only when what it says differs from the value in use.
        if box is not None and (force or not box.has_focus) and box.value != shown \
                and _parse(box.value, self.units) != self.memory_override_bytes:
            box.value = shown

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Entering a box: remember the value in use, for a refused entry to return to."""
        if event.widget.id in ("gpu-count", "memory-override"):
            self._before = (self.gpu_count, self.memory_override_bytes)

    @on(Input.Blurred, "#gpu-count, #memory-override")
    def _left_box(self, event: Input.Blurred) -> None:
        """Leaving a box shows the value in force; a refused entry is named in a notification."""
        event.stop()
        self._settle(event.input)
        self._show_count(force=True)
        self._show_override(force=True)

    def _settle(self, box: Input) -> None:
        count, memory_bytes = self._before
        if box.id == "gpu-count":
            if settle(box, str(count), "GPU count") and count != self.gpu_count:
                self.post_message(GpuCountChanged(count))
        elif settle(box, _figure(memory_bytes, self.units), f"{self.units}/GPU",
                    default=f"the card's {box.placeholder} {self.units}") \
                and memory_bytes != self.memory_override_bytes:
            self.post_message(MemoryOverrideChanged(memory_bytes))

    @on(Input.Changed, "#gpu-count")
    def _count_typed(self, event: Input.Changed) -> None:
        if (value := typed_value(event)) is not None:
            self.post_message(GpuCountChanged(int(value)))

    @on(Input.Changed, "#memory-override")
    def _memory_typed(self, event: Input.Changed) -> None:
        if (value := typed_value(event)) is not None:
            self.post_message(MemoryOverrideChanged(_parse(value, self.units)))

    @on(Input.Submitted, "#gpu-count, #memory-override")
    def _row_submitted(self, event: Input.Submitted) -> None:
        """Enter in a box leaves it for the list, as in every number box of the screen."""
        event.stop()
        self._settle(event.input)
        self.focus_default()


def _parse(text: str, units: str) -> int | None:
    """'24' → 24 × 10^9 bytes in GB, 24 × 2^30 in GiB; empty or not a positive number → None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return round(value * unit_bytes(units)) if value > 0 and math.isfinite(value) else None


def _figure(value_bytes: int | None, units: str) -> str:
    """The box's text for `value_bytes`: '' for the catalog figure; else the number in `units`,
    to 3 decimals (what a user types survives a round trip; 20 GB shows as 18.626 GiB)."""
    if value_bytes is None:
        return ""
    return f"{round(value_bytes / unit_bytes(units), 3):g}"
