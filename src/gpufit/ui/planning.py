"""The main screen's planning actions, as a mixin: serving view, the two sweeps, pin and
compare, run hints, and the host/price dialog.

Each action opens a screen over the current estimate; a sweep row chosen there is loaded back
into the main panes (the screen's state), which re-estimates as any other change does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gpufit.core.assess import HostInputs
from gpufit.core.specs import GB
from gpufit.ui.screens.compare import CompareScreen, RunHintsScreen
from gpufit.ui.screens.host import HostDialog, HostValues
from gpufit.ui.screens.serving import ServingInputs, ServingScreen
from gpufit.ui.screens.sweeps import SweepChoice, SweepScreen

if TYPE_CHECKING:
    from gpufit.core.assess import Assessment
    from gpufit.core.catalog import Catalog
    from gpufit.core.setup import Setup


class PlanningActions:
    """Mixed into `MainScreen`, whose state these actions read and set."""

    result: Assessment | None
    units: str
    setup: Setup
    app: Any
    notify: Any
    pinned: Assessment | None = None
    """The setup `p` pinned for comparison."""

    catalog: Catalog
    # MainScreen and DetectionActions provide these; no stub here, since a stub method would
    # shadow the real one through the class order (it did: hardware_chosen).
    request: Any
    hardware_chosen: Any
    change_setup: Any
    refresh_estimate: Any

    def _ready(self) -> Assessment | None:
        if self.result is None:
            self.notify("No estimate yet.", severity="warning")
        return self.result

    _ram_bytes_from_os: int | None = None
    _ram_read = False

    def host_inputs(self) -> HostInputs:
        """The host for offload plans: RAM and bandwidth from the settings, else the OS and the
        platform default (the OS is asked once per session)."""
        settings = self.app.settings.settings
        if settings.ram_gb is not None:
            ram_bytes: int | None = round(settings.ram_gb * GB)
        else:
            if not self._ram_read:
                probe = self.app.ram_probe
                self._ram_bytes_from_os, self._ram_read = (probe() if probe else None), True
            ram_bytes = self._ram_bytes_from_os
        return HostInputs(ram_bytes, settings.ram_bandwidth_gbps)

    @property
    def price_per_gpu_hour(self) -> float | None:
        """The user's price (settings), or None."""
        return self.app.settings.settings.price_per_gpu_hour

    def action_serving(self) -> None:
        """Throughput, TTFT and TPOT against concurrency for this setup."""
        if (result := self._ready()) is not None:
            self.app.push_screen(ServingScreen(self.request(), result, self.catalog),
                                 self._serving_closed)

    def _serving_closed(self, inputs: ServingInputs | None) -> None:
        if inputs is not None:
            self.change_setup(prompt_tokens=inputs.prompt_tokens,
                              output_tokens=inputs.output_tokens, tpot_limit_s=inputs.tpot_limit_s)

    def action_sweep(self, kind: str) -> None:
        """What fits best on this hardware (`best`), or which hardware fits this model."""
        if (result := self._ready()) is not None:
            self.app.push_screen(SweepScreen(kind, result, self.catalog, self.units),
                                 self._sweep_chosen)

    def _sweep_chosen(self, choice: SweepChoice | None) -> None:
        if choice is None:
            return
        if choice.model_id is not None and choice.quant_id is not None:
            self.change_setup(model_id=choice.model_id, quant_id=choice.quant_id)
        if choice.gpu_id is not None and choice.gpu_count is not None:
            self.hardware_chosen()
            self.change_setup(gpu_id=choice.gpu_id, gpu_count=choice.gpu_count,
                              memory_override_bytes=None)

    def action_pin(self) -> None:
        """Pin the current setup (or unpin it) for `c` to compare against."""
        if (result := self._ready()) is None:
            return
        if self.pinned is not None and self.pinned.setup == result.setup:
            self.pinned = None
            self.notify("Unpinned.", title="Compare")
            return
        self.pinned = result
        estimate = result.estimate
        self.notify(f"Pinned {estimate.model.name} · {estimate.quant.id}. Change "
                    "anything, then press c to compare.", title="Compare")

    def action_compare(self) -> None:
        """The pinned setup beside the current one."""
        if (result := self._ready()) is None:
            return
        if self.pinned is None:
            self.notify("Pin a setup with p first.", title="Compare", severity="warning")
            return
        self.app.push_screen(CompareScreen(self.pinned, result, self.units))

    def action_run_hints(self) -> None:
        """The llama.cpp and vLLM command lines for this setup."""
        if (result := self._ready()) is not None:
            self.app.push_screen(RunHintsScreen(result.run_hints))

    def action_host(self) -> None:
        """Set system RAM, its bandwidth and the price per GPU-hour."""
        from gpufit.detect.host import system_ram_bytes

        settings = self.app.settings.settings
        current: HostValues = {"ram_gb": settings.ram_gb,
                               "ram_bandwidth_gbps": settings.ram_bandwidth_gbps,
                               "price_per_gpu_hour": settings.price_per_gpu_hour}
        self.app.push_screen(HostDialog(current, system_ram_bytes()), self._host_saved)

    def _host_saved(self, values: HostValues | None) -> None:
        if values is None:
            return
        self.app.remember(**values)
        self.notify("Saved in settings.toml.", title="Host and price")
        self.refresh_estimate()
