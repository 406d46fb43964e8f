"""The main screen's planning actions: serving view, the two sweeps, pin and compare, run
hints, and the host/price dialog.

Each action opens a screen over the current estimate; a sweep row chosen there is loaded back
into the main panes (the screen's state), which re-estimates as any other change does.
The screens are imported when first opened: none is needed for the first frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpufit.core.plans import money
from gpufit.core.setup import HostInputs
from gpufit.core.specs import GB
from gpufit.ui.format import short_gpu_name
from gpufit.ui.widgets.result import ResultPanel

if TYPE_CHECKING:
    from gpufit.core.assess import Assessment
    from gpufit.ui.screens.host import HostValues
    from gpufit.ui.screens.main import MainScreen
    from gpufit.ui.screens.serving import ServingInputs
    from gpufit.ui.screens.sweeps import SweepChoice


def pinned_label(result: Assessment) -> str:
    """'Llama 3.1 8B · Q4_K_M on 2 × RTX 4090': what a pin names."""
    estimate = result.estimate
    hardware = estimate.hardware
    gpu = short_gpu_name(hardware.gpu.name)
    gpus = f"{hardware.count} × {gpu}" if hardware.count > 1 else gpu
    return f"{estimate.model.name} · {estimate.quant.id} on {gpus}"


class PlanningController:
    """Opens the planning screens over the screen's latest assessment and loads back what the
    user picks there; also the host inputs (RAM, price) every assessment uses."""

    def __init__(self, screen: MainScreen) -> None:
        self._screen = screen
        self.pinned: Assessment | None = None
        """The setup `p` pinned for comparison."""
        self._ram_bytes_from_os: int | None = None
        self._ram_read = False

    def _ready(self) -> Assessment | None:
        if self._screen.result is None:
            self._screen.notify("No estimate yet.", severity="warning")
        return self._screen.result

    def host_inputs(self) -> HostInputs:
        """The host for offload plans: RAM and bandwidth from the settings, else the OS and the
        platform default (the OS is asked once per session); and the price's currency."""
        settings = self._screen.gpufit_app.settings.settings
        if settings.ram_gb is not None:
            ram_bytes: int | None = round(settings.ram_gb * GB)
        else:
            if not self._ram_read:
                probe = self._screen.gpufit_app.ram_probe
                self._ram_bytes_from_os, self._ram_read = (probe() if probe else None), True
            ram_bytes = self._ram_bytes_from_os
        return HostInputs(ram_bytes, settings.ram_bandwidth_gbps, settings.currency)

    @property
    def price_per_gpu_hour(self) -> float | None:
        """The user's price (settings), or None."""
        return self._screen.gpufit_app.settings.settings.price_per_gpu_hour

    def serving(self) -> None:
        """Throughput, TTFT and TPOT against concurrency for this setup."""
        if (result := self._ready()) is not None:
            screen = self._screen
            from gpufit.ui.screens.serving import ServingScreen

            screen.app.push_screen(ServingScreen(screen.request(), result, screen.catalog),
                                   self._serving_closed)

    def _serving_closed(self, inputs: ServingInputs | None) -> None:
        if inputs is not None:
            self._screen.change_setup(prompt_tokens=inputs.prompt_tokens,
                                      output_tokens=inputs.output_tokens,
                                      tpot_limit_s=inputs.tpot_limit_s)

    def sweep(self, kind: str) -> None:
        """What fits best on this hardware (`best`), or which hardware fits this model."""
        if (result := self._ready()) is not None:
            screen = self._screen
            from gpufit.ui.screens.sweeps import SweepScreen

            screen.app.push_screen(SweepScreen(kind, result, screen.catalog, screen.units),
                                   self._sweep_chosen)

    def _sweep_chosen(self, choice: SweepChoice | None) -> None:
        if choice is None:
            return
        screen = self._screen
        if choice.model_id is not None and choice.quant_id is not None:
            screen.change_setup(model_id=choice.model_id, quant_id=choice.quant_id)
        if choice.gpu_id is not None and choice.gpu_count is not None:
            screen.detection.hardware_chosen()
            screen.change_setup(gpu_id=choice.gpu_id, gpu_count=choice.gpu_count,
                              memory_override_bytes=None)

    def pin(self) -> None:
        """Pin the current setup (or, pressed again on it, unpin it) for `c` to compare
        against; the result pane's border says what is pinned until it is unpinned."""
        if (result := self._ready()) is None:
            return
        panel = self._screen.query_one(ResultPanel)
        if self.pinned is not None and self.pinned.setup == result.setup:
            self.pinned, panel.pinned = None, ""
            self._screen.notify(f"Unpinned {pinned_label(result)}.", title="Compare")
            return
        replaced = "" if self.pinned is None else f" (instead of {pinned_label(self.pinned)})"
        self.pinned, panel.pinned = result, pinned_label(result)
        self._screen.notify(f"Pinned {pinned_label(result)}{replaced}. Change anything, then "
                            "press c to compare; p again here unpins.", title="Compare")

    def compare(self) -> None:
        """The pinned setup beside the current one."""
        if (result := self._ready()) is None:
            return
        if self.pinned is None:
            self._screen.notify("Pin a setup with p first.", title="Compare", severity="warning")
            return
        from gpufit.ui.screens.compare import CompareScreen

        self._screen.app.push_screen(CompareScreen(self.pinned, result, self._screen.units))

    def run_hints(self) -> None:
        """The llama.cpp and vLLM command lines for this setup."""
        if (result := self._ready()) is not None:
            from gpufit.ui.screens.compare import RunHintsScreen

            self._screen.app.push_screen(RunHintsScreen(result.run_hints))

    def host(self) -> None:
        """Set system RAM, its bandwidth and the price per GPU-hour."""
        settings = self._screen.gpufit_app.settings.settings
        current: HostValues = {"ram_gb": settings.ram_gb,
                               "ram_bandwidth_gbps": settings.ram_bandwidth_gbps,
                               "price_per_gpu_hour": settings.price_per_gpu_hour,
                               "currency": settings.currency}
        from gpufit.ui.screens.host import HostDialog

        probe = self._screen.gpufit_app.ram_probe  # the OS's RAM, as offload plans read it
        self._screen.app.push_screen(HostDialog(current, probe() if probe else None,
                                                self._screen.units),
                                     self._host_saved)

    def _host_saved(self, values: HostValues | None) -> None:
        if values is None:
            return
        app = self._screen.gpufit_app
        app.remember(**values)
        settings = app.settings.settings
        price = ("" if settings.price_per_gpu_hour is None else
                 f": {money(settings.price_per_gpu_hour, settings.currency)} per GPU-hour")
        self._screen.notify(f"Saved in settings.toml{price}.", title="Host and price")
        self._screen.refresh_estimate()
