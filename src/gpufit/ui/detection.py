"""The main screen's GPU detection, as a mixin: run nvidia-smi in a worker, list what it found,
and preselect it unless the user has already chosen hardware.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual import work

from gpufit.core.catalog import Catalog
from gpufit.detect.match import DETECTED_PREFIX, DetectedOption, hardware_options, status_text
from gpufit.detect.snapshot import Snapshot


class DetectionActions:
    """Mixed into `MainScreen`, whose `detected`, `detection_status` and `gpu_*` it sets."""

    _detector: Callable[[], Awaitable[Snapshot]] | None
    _catalog: Catalog
    _hardware_touched: bool
    detected: tuple[DetectedOption, ...]
    detection_status: str
    gpu_id: str
    notify: Any
    # MainScreen provides these (no stub methods: a stub would shadow it in the class order).
    refresh_estimate: Any
    change_setup: Any

    def action_rescan(self) -> None:
        """Run nvidia-smi (again) in the background; the UI never waits for it."""
        if self._detector is None:
            self.notify("GPU detection is off in this session.", severity="warning")
            return
        self.detection_status = "Detecting GPUs…"
        self._detect()

    @work(exclusive=True, group="detect", name="detect GPUs", exit_on_error=False)
    async def _detect(self) -> None:
        assert self._detector is not None
        snapshot = await self._detector()
        options = tuple(hardware_options(snapshot, self._catalog.gpus))
        status = status_text(snapshot, options, self._catalog.gpus)
        chosen = self._detected_option(self.gpu_id)
        if not options and self.detected:
            # A failed rescan must not take away the cards on screen (or switch the selection):
            # keep what the last successful detection found, and say so.
            self.detection_status = f"{status} Kept the GPUs found before."
            self.notify(status, title="GPU detection failed; kept the earlier result",
                        severity="warning", timeout=10)
            return
        self.detection_status = status
        self.detected = options
        if chosen is not None:  # a rescan: keep the same card, with fresh free memory
            fresh = self._detected_option(self.gpu_id)
            if fresh is None and options:
                self.change_setup(gpu_id=options[0].key, gpu_count=options[0].count)
            self.refresh_estimate()
        elif options and not self._hardware_touched:
            self.change_setup(gpu_id=options[0].key, gpu_count=options[0].count)

    def _detected_option(self, gpu_id: str) -> DetectedOption | None:
        if not gpu_id.startswith(DETECTED_PREFIX):
            return None
        return next((option for option in self.detected if option.key == gpu_id), None)

    def hardware_chosen(self) -> None:
        """The user (or a profile) chose the hardware: detection must not replace it."""
        self._hardware_touched = True
