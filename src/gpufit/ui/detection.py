"""GPU detection for the main screen: run nvidia-smi in a worker, list what it found, and
preselect it unless the user has already chosen hardware.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from gpufit.core.setup import DETECTED_PREFIX

if TYPE_CHECKING:
    from gpufit.detect.match import DetectedOption
    from gpufit.detect.snapshot import Snapshot
    from gpufit.ui.screens.main import MainScreen


class DetectionController:
    """Owns the detector and whether the user chose hardware; sets the screen's `detected`,
    `detection_status` and, until the user chooses, its GPU."""

    def __init__(self, screen: MainScreen,
                 detector: Callable[[], Awaitable[Snapshot]] | None) -> None:
        self._screen = screen
        self._detector = detector
        self.hardware_touched = False
        """The user (or a profile, or a sweep row) chose the hardware: detection keeps off it."""
        self._scans = 0
        """Detections started; from the second (`r`) on, each outcome is also a notification."""

    @property
    def enabled(self) -> bool:
        """Whether this session detects GPUs at all."""
        return self._detector is not None

    def rescan(self) -> None:
        """Run nvidia-smi (again) in the background; the UI never waits for it."""
        screen = self._screen
        if self._detector is None:
            screen.notify("GPU detection is off in this session.", severity="warning")
            return
        screen.detection_status = "Detecting GPUs…"
        self._scans += 1
        screen.run_worker(self._detect(self._detector), exclusive=True, group="detect",
                          name="detect GPUs", exit_on_error=False)

    async def _detect(self, detector: Callable[[], Awaitable[Snapshot]]) -> None:
        # The matcher loads with the first detection, after the first frame.
        from gpufit.detect.match import hardware_options, status_text

        screen = self._screen
        snapshot = await detector()
        options = tuple(hardware_options(snapshot, screen.catalog.gpus))
        status = status_text(snapshot, options, screen.catalog.gpus)
        chosen = self.option(screen.gpu_id)
        if not options and screen.detected:
            # A failed rescan must not take away the cards on screen (or switch the selection):
            # keep what the last successful detection found, and say so.
            screen.detection_status = f"{status} Kept the GPUs found before."
            screen.notify(status, title="GPU detection failed; kept the earlier result",
                          severity="warning", timeout=10)
            return
        screen.detected = options
        if chosen is not None:  # a rescan: keep the same card, with fresh free memory
            if self.option(screen.gpu_id) is None and options:
                screen.change_setup(gpu_id=options[0].key, gpu_count=options[0].count)
            screen.refresh_estimate()
        elif options and not self.hardware_touched:
            screen.change_setup(gpu_id=options[0].key, gpu_count=options[0].count)
        elif options:
            # The user's (or a profile's) choice stands; say so, or the detected card seems
            # ignored.
            status += " Not selected: you chose other hardware first (pick the detected row)."
        screen.detection_status = status
        if self._scans > 1:  # `r`: the outcome is news even when it is the same failure
            screen.notify(status, title="GPU detection",
                          severity="information" if options else "warning", timeout=10)

    def option(self, gpu_id: str) -> DetectedOption | None:
        """The detected option `gpu_id` names, if it names one."""
        if not gpu_id.startswith(DETECTED_PREFIX):
            return None
        return next((option for option in self._screen.detected if option.key == gpu_id), None)

    def hardware_chosen(self) -> None:
        """The user (or a profile) chose the hardware: detection must not replace it."""
        self.hardware_touched = True
