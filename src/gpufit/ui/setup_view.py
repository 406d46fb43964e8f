"""How the main screen's one `Setup` reaches the panes, and attribute views of its fields.

The screen holds a single `Setup`; `SetupField` lets code read and assign one field
(`screen.gpu_id = "a100-80gb-sxm"` replaces the setup through `change_setup`), and
`show_setup` puts every field in the pane that shows it, after any change or load.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gpufit.core.setup import (
    DEFAULT_GPU,
    DEFAULT_MODEL,
    DEFAULT_QUANT,
    Setup,
    SetupError,
    gpu_count_problem,
)
from gpufit.ui.widgets.hardware import HardwarePane
from gpufit.ui.widgets.model import ModelPane
from gpufit.ui.widgets.quant import QuantPane
from gpufit.ui.widgets.workload import WorkloadBar

if TYPE_CHECKING:
    from gpufit.core.catalog import Catalog
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


def checked_setup(screen: MainScreen, setup: Setup, changes: dict[str, Any]) -> Setup | None:
    """`setup` with `changes`, or None (and a notification naming why) when it refuses them.

    A GPU count a MIG slice cannot have is refused when typed, and reset to one instance when a
    slice is chosen; an explicit context stays, within what a new model accepts."""
    if "gpu_count" in changes or "gpu_id" in changes:
        gpu = screen.gpu_spec(changes.get("gpu_id", setup.gpu_id))
        count = changes.get("gpu_count", setup.gpu_count)
        problem = gpu_count_problem(gpu, count) if gpu is not None else None
        if problem is not None and "gpu_id" not in changes:
            screen.notify(problem, title="GPU count unchanged", severity="warning", timeout=8)
            screen.query_one(HardwarePane).gpu_count = setup.gpu_count
            return None
        if problem is not None:
            changes["gpu_count"] = 1  # a MIG slice chosen with a count > 1: one instance
    model = screen.catalog.models.get(changes.get("model_id", ""))
    context = changes.get("context_tokens", setup.context_tokens)
    if model is not None and context is not None:
        changes["context_tokens"] = min(context, 4 * model.max_context_tokens)
    try:
        return replace(setup, **changes)
    except SetupError as error:
        screen.notify(str(error), title="Setup unchanged", severity="warning", timeout=8)
        return None


def initial_setup(catalog: Catalog, start: tuple[str, str] | None) -> Setup:
    """The setup the screen opens on: the defaults (where the catalog has them), or `start`, a
    model opened with --model at its file's own quant."""
    wanted_model, wanted_quant = start or (DEFAULT_MODEL, DEFAULT_QUANT)
    return Setup(gpu_id=_preferred(catalog.gpus, DEFAULT_GPU),
                 model_id=_preferred(catalog.models, wanted_model),
                 quant_id=_preferred(catalog.quants, wanted_quant))


def _preferred(ids: Iterable[str], wanted: str) -> str:
    ids = list(ids)
    return wanted if wanted in ids else (ids[0] if ids else "")
