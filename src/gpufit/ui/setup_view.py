"""How the main screen's one `Setup` reaches the panes, and attribute views of its fields.

The screen holds a single `Setup`; `SetupField` lets code read and assign one field
(`screen.gpu_id = "a100-80gb-sxm"` replaces the setup through `change_setup`), and
`show_setup` puts every field in the pane that shows it, after any change or load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gpufit.core.setup import Setup
from gpufit.ui.widgets.hardware import HardwarePane
from gpufit.ui.widgets.model import ModelPane
from gpufit.ui.widgets.quant import QuantPane
from gpufit.ui.widgets.workload import WorkloadBar

if TYPE_CHECKING:
    from gpufit.ui.screens.main import MainScreen


class SetupField:
    """`screen.gpu_id` reads the setup's field; assigning replaces the setup (one state)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, screen: Any, owner: type | None = None) -> Any:
        if screen is None:
            return self
        return getattr(screen.setup, self.name)

    def __set__(self, screen: Any, value: Any) -> None:
        screen.change_setup(**{self.name: value})


def show_setup(screen: MainScreen, setup: Setup) -> None:
    """Every pane shows the setup: its selection, count, memory and workload."""
    hardware = screen.query_one(HardwarePane)
    hardware.selected = setup.gpu_id
    hardware.gpu_count = setup.gpu_count
    hardware.memory_override_bytes = setup.memory_override_bytes
    screen.query_one(ModelPane).selected = setup.model_id
    quant = screen.query_one(QuantPane)
    quant.selected, quant.engine = setup.quant_id, setup.engine
    bar = screen.query_one(WorkloadBar)
    bar.context_tokens = screen.context_tokens
    bar.sequences, bar.kv_cache_dtype = setup.sequences, setup.kv_cache_dtype
    bar.engine, bar.flash_attention = setup.engine, setup.flash_attention
