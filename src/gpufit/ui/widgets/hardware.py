"""Hardware pane: catalog GPUs grouped by family, a filter, the GPU count and a memory override.

The override is bounded by what hardware exists: at most `OVERRIDE_MARGIN` × the largest card
in the catalog (room for a card newer than the catalog, never a typo's 999,999 GB).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.reactive import var
from textual.validation import Integer, Number
from textual.widgets import Input, Label, Static

from gpufit.core.catalog import Catalog
from gpufit.core.recommend import MAX_GPUS
from gpufit.core.specs import GB
from gpufit.detect.match import DetectedOption
from gpufit.ui.format import short_gpu_name
from gpufit.ui.messages import GpuChosen, GpuCountChanged, MemoryOverrideChanged
from gpufit.ui.widgets.picker import PickerPane, Row
from gpufit.ui.widgets.typed import settle, typed_value

OVERRIDE_MARGIN = 1.5
"""How far a typed GB/GPU may exceed the largest catalog card's memory."""
MIN_OVERRIDE_GB = 0.1


def max_override_gb(catalog: Catalog) -> float:
    """The largest GB/GPU the box accepts: `OVERRIDE_MARGIN` × the largest catalog card."""
    largest_bytes = max((gpu.memory_bytes for gpu in catalog.gpus.values()), default=0)
    return round(OVERRIDE_MARGIN * largest_bytes / GB) or 1000


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

    FAMILY_ORDER: ClassVar[tuple[str, ...]] = (
        "Consumer", "Workstation", "Data centre", "Laptop", "Apple Silicon")

    def __init__(self, catalog: Catalog, *, id: str = "hardware", selected: str = "") -> None:
        super().__init__("1 Hardware", "/ filter GPUs", id=id, selected=selected)
        self._catalog = catalog
        self.max_override_gb = max_override_gb(catalog)
        self._before: tuple[int, int | None] = (self.gpu_count, self.memory_override_bytes)

    def compose_above_list(self) -> ComposeResult:
        """The detection status: wrapped (up to three lines), the whole text in its tooltip,
        so a hung nvidia-smi reads differently from a missing one at any width."""
        status = Static(self.detection_status, id="detect-status", classes="status-line")
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
            yield Input(str(self.gpu_count), type="integer", compact=True, id="gpu-count",
                        validators=[Integer(minimum=1, maximum=MAX_GPUS)],
                        tooltip=f"How many GPUs, 1–{MAX_GPUS} (also + and -)")
            yield Label("GB/GPU")
            limit = f"{MIN_OVERRIDE_GB:g}–{self.max_override_gb:,.0f}"
            yield Input(type="number", compact=True, id="memory-override",
                        validators=[Number(minimum=MIN_OVERRIDE_GB, maximum=self.max_override_gb,
                                           failure_description=(
                                               f"GB/GPU must be {limit} ({OVERRIDE_MARGIN:g} × "
                                               "the largest card in the catalog)."))],
                        valid_empty=True,
                        tooltip=f"Usable memory per GPU in GB (10^9), {limit}; empty = catalog")

    def rows(self) -> Iterable[Row]:
        """Detected hardware first, then GPUs grouped by family (known families first),
        catalog order inside a family."""
        for option in self.detected:
            name = short_gpu_name(option.name)
            title = f"{option.count} × {name}" if option.count > 1 else name
            free = "free unknown" if option.free_memory_bytes is None else \
                f"{option.free_memory_bytes / GB:.1f} GB free"
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
        self._show_catalog_memory()
        self._show_count()
        self._show_override()

    def _show_catalog_memory(self) -> None:
        gpu = self._catalog.gpus.get(self.selected)
        option = next((option for option in self.detected if option.key == self.selected), None)
        memory = self.query_one("#memory-override", Input)
        if option is not None:
            memory.placeholder = f"{option.memory_per_gpu_bytes / GB:.1f}"
        else:
            memory.placeholder = f"{gpu.usable_memory_bytes / GB:.1f}" if gpu else ""

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
        if box is not None and (force or not box.has_focus) \
                and _parse_gb(box.value) != self.memory_override_bytes:
            box.value = "" if self.memory_override_bytes is None else \
                f"{self.memory_override_bytes / GB:g}"

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
        elif settle(box, "" if memory_bytes is None else f"{memory_bytes / GB:g}", "GB/GPU",
                    default=f"the card's {box.placeholder} GB") \
                and memory_bytes != self.memory_override_bytes:
            self.post_message(MemoryOverrideChanged(memory_bytes))

    @on(Input.Changed, "#gpu-count")
    def _count_typed(self, event: Input.Changed) -> None:
        if (value := typed_value(event)) is not None:
            self.post_message(GpuCountChanged(int(value)))

    @on(Input.Changed, "#memory-override")
    def _memory_typed(self, event: Input.Changed) -> None:
        if (value := typed_value(event)) is not None:
            self.post_message(MemoryOverrideChanged(_parse_gb(value)))

    @on(Input.Submitted, "#gpu-count, #memory-override")
    def _row_submitted(self, event: Input.Submitted) -> None:
        """Enter in a box leaves it for the list, as in every number box of the screen."""
        event.stop()
        self._settle(event.input)
        self.focus_default()


def _parse_gb(text: str) -> int | None:
    """'24' → 24 × 10^9 bytes; empty or not a positive number → None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return round(value * GB) if value > 0 and math.isfinite(value) else None
