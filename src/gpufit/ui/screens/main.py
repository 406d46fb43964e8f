"""The main screen: it owns the setup and its latest assessment; the four panes follow them.

The whole state is one `Setup` value (`MainScreen.setup`): every change replaces it, and its
watcher shows it in the panes and starts one exclusive assessment worker; a result for a
setup that has since changed is dropped. Messages come up from the panes (`GpuChosen`,
`ModelChosen`, …). `gpu_id`, `model_id`, … are attribute views of the setup, for reading and
assigning one field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.events import DescendantFocus
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.worker import Worker

from gpufit.core.catalog import Catalog
from gpufit.core.engines import ENGINES, FLASH_ATTENTION_CHOICES
from gpufit.core.setup import DEFAULT_CONTEXT_TOKENS, MAX_GPUS, Setup
from gpufit.core.specs import KV_CACHE_DTYPES, GpuSpec
from gpufit.persist.profiles import ProfileStore
from gpufit.service import EstimateRequest, EstimateService
from gpufit.ui import commands
from gpufit.ui.detection import DetectionController
from gpufit.ui.format import UNITS
from gpufit.ui.frame_hold import FrameHold
from gpufit.ui.imports import ImportController
from gpufit.ui.messages import (
    GpuChosen,
    GpuCountChanged,
    HubLookupRequested,
    MemoryOverrideChanged,
    ModelChosen,
    QuantChosen,
    WorkloadChanged,
)
from gpufit.ui.model_sources import LocalScanner, ModelSources
from gpufit.ui.navigation import PICKERS, FocusController, picker_of
from gpufit.ui.planning import PlanningController
from gpufit.ui.prefetch import NeighbourPrefetch
from gpufit.ui.session import ProfileController
from gpufit.ui.setup_view import SetupField, checked_setup, initial_setup, show_setup
from gpufit.ui.widgets.footer import KeyFooter
from gpufit.ui.widgets.hardware import HardwarePane
from gpufit.ui.widgets.model import ModelPane
from gpufit.ui.widgets.quant import QuantPane
from gpufit.ui.widgets.result import ResultPanel
from gpufit.ui.widgets.workload import MIN_CONTEXT_TOKENS, WorkloadBar, cycle
from gpufit.ui.workers import notify_failure

if TYPE_CHECKING:
    from gpufit.core.assess import Assessment
    from gpufit.detect.match import DetectedOption
    from gpufit.detect.snapshot import Snapshot
    from gpufit.ui.app import GpufitApp

CHOICES: dict[str, tuple[Any, ...]] = {
    "kv_cache_dtype": KV_CACHE_DTYPES, "engine": ENGINES,
    "flash_attention": FLASH_ATTENTION_CHOICES, "include_vision": (False, True)}
"""What `cycle` steps through, per setup field."""


class MainScreen(Screen[None]):
    """Hardware, model, quant and result panes over a workload bar and the footer."""

    BINDINGS: ClassVar[list[BindingType]] = list(commands.bindings())
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012  (Screen declares it)
    AUTO_FOCUS = "#model-list"

    setup: var[Setup] = var(Setup(), init=False)
    """The whole setup on screen; every change replaces it and re-assesses."""
    gpu_id = SetupField()
    gpu_count = SetupField()
    memory_override_bytes = SetupField()
    model_id = SetupField()
    quant_id = SetupField()
    sequences = SetupField()
    kv_cache_dtype = SetupField()
    engine = SetupField()
    flash_attention = SetupField()
    include_vision = SetupField()
    context_ceiling: var[int] = var(4 * 8192, init=False)
    """Largest context the controls accept for the chosen model."""
    result: var[Assessment | None] = var(None, init=False)
    """The latest estimate for the current selection (None until the first one lands)."""
    units: var[str] = var("GB", init=False)
    """GB or GiB for every size shown."""
    current_pane: var[str] = var("model", init=False)
    """The picker shown when the screen is too narrow for all four panes."""
    detected: var[tuple[DetectedOption, ...]] = var((), init=False)
    """Hardware options nvidia-smi found on this machine."""
    detection_status: var[str] = var("", init=False)
    """What detection found, or why nothing (one line)."""

    def __init__(self, catalog: Catalog, service: EstimateService, *, units: str = "GB",
                 remember_units: Callable[[str], None] = lambda units: None,
                 detector: Callable[[], Awaitable[Snapshot]] | None = None,
                 profiles: ProfileStore | None = None, profile_name: str | None = None,
                 restore_session: bool = False, start: tuple[str, str] | None = None,
                 local_scanner: LocalScanner | None = None, hub_timeout_s: float = 10.0) -> None:
        super().__init__()
        self._restore_session = restore_session
        self._catalog = catalog
        self._service = service
        self._remember_units = remember_units
        # The screen's parts: each owns one concern and reads the screen through its API.
        self.profiles = ProfileController(self, profiles or ProfileStore(), profile_name)
        self.detection = DetectionController(self, detector)
        self.planning = PlanningController(self)
        self.imports = ImportController(self)
        self.navigation = FocusController(self)
        self.sources = ModelSources(self, local_scanner, hub_timeout_s)
        self.prefetch = NeighbourPrefetch(self, service)
        self.frames = FrameHold(self)
        self.set_reactive(MainScreen.detection_status,
                          "Detecting GPUs…" if detector else "GPU detection off")
        self.set_reactive(MainScreen.setup, initial_setup(catalog, start))
        self.set_reactive(MainScreen.units, units if units in UNITS else "GB")
        model = catalog.models.get(self.setup.model_id)
        if model is not None:
            self.set_reactive(MainScreen.context_ceiling, 4 * model.max_context_tokens)

    def compose(self) -> ComposeResult:
        """Pickers and result side by side (wide) or one picker beside the result (narrow)."""
        catalog = self._catalog
        with Horizontal(id="panes"):
            with Vertical(id="pickers"):
                yield Static(id="pane-tabs")
                yield HardwarePane(catalog, selected=self.gpu_id).data_bind(
                    MainScreen.detected, MainScreen.detection_status, MainScreen.units)
                yield ModelPane(catalog, selected=self.model_id,
                                fit_headroom=self.sources.headroom)
                yield QuantPane(catalog, selected=self.quant_id).data_bind(
                    MainScreen.result, MainScreen.units)
            yield ResultPanel().data_bind(MainScreen.result, MainScreen.units)
        yield WorkloadBar().data_bind(MainScreen.context_ceiling)
        yield KeyFooter(commands.wide_only_actions())

    def on_mount(self) -> None:
        self._show_setup(self.setup)
        self.watch_current_pane(self.current_pane)
        self.frames.start()
        self._estimate(self.request())  # it starts once the first frame is painted
        if self.profiles.name is not None:
            self.profiles.open(self.profiles.name)
        elif self._restore_session:
            self.profiles.restore_last_session()
        if self.detection.enabled:
            self.detection.rescan()

    def on_unmount(self) -> None:
        self.frames.release()
        if self.gpufit_app.settings.settings.restore_last_session:
            self.profiles.remember_session()

    catalog = property(lambda self: self._catalog, doc="What the panes list.")

    @property
    def gpufit_app(self) -> GpufitApp:
        """The app, with its settings and host probes."""
        return cast("GpufitApp", self.app)

    def gpu_spec(self, gpu_id: str) -> GpuSpec | None:
        """The spec a GPU id names: a detected option's or the catalog's."""
        option = self.detection.option(gpu_id)
        return option.gpu if option is not None else self._catalog.gpus.get(gpu_id)

    # -- the setup --------------------------------------------------------------------------

    def change_setup(self, **changes: Any) -> bool:
        """Replace fields of the setup; a value the setup refuses is named in a notification
        and changes nothing. Returns whether the setup changed."""
        new = checked_setup(self, self.setup, changes)
        if new is None or new == self.setup:
            return False
        self.setup = new
        return True

    def watch_setup(self, setup: Setup) -> None:
        model = self._catalog.models.get(setup.model_id)
        if model is not None:
            self.context_ceiling = 4 * model.max_context_tokens
        self._show_setup(setup)
        self.refresh_estimate()

    def _show_setup(self, setup: Setup) -> None:
        if self.is_mounted:
            show_setup(self, setup)

    @property
    def context_tokens(self) -> int:
        """The context in use: the setup's, or the model's default when it names none."""
        model = self._catalog.models.get(self.setup.model_id)
        if self.setup.context_tokens is not None or model is None:
            return self.setup.context_tokens or DEFAULT_CONTEXT_TOKENS
        return self.setup.context_for(model)

    @context_tokens.setter
    def context_tokens(self, tokens: int) -> None:
        self.change_setup(context_tokens=self.clamp_context(tokens))

    def request(self) -> EstimateRequest:
        """The assessment the current setup asks for."""
        return EstimateRequest(
            setup=self.setup, host=self.planning.host_inputs(),
            price_per_gpu_hour=self.planning.price_per_gpu_hour,
            detected=tuple(option for option in self.detected if option.key == self.setup.gpu_id))

    def refresh_estimate(self) -> None:
        """Start an assessment of the current setup (cancelling any still running); the
        change and its result are painted in one frame (`FrameHold`)."""
        self.frames.hold()
        self._estimate(self.request())

    @work(exclusive=True, group="estimate", name="estimate", exit_on_error=False)
    async def _estimate(self, request: EstimateRequest) -> None:
        try:
            await self.frames.first_frame()
            result = await self._service.submit(request)
            if result is None or request != self.request():
                return  # superseded: a newer setup has its own worker (and the hold)
            self.result = result
            self.call_after_refresh(self.prefetch.after_result)
        finally:
            self.frames.release_for(request == self.request())
            self.call_after_refresh(self.sources.start)  # the first scan follows the first verdict

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures surface: a notification, never a crash."""
        notify_failure(self, event)

    # -- messages from the panes ----------------------------------------------------------

    @on(GpuChosen)
    def _gpu_chosen(self, message: GpuChosen) -> None:
        if message.gpu_id != self.gpu_id:  # list rebuilds echo the current choice
            self.detection.hardware_chosen()
        option = self.detection.option(message.gpu_id)
        self.change_setup(gpu_id=message.gpu_id,
                          **({"gpu_count": option.count} if option is not None else {}))

    @on(GpuCountChanged)
    def _gpu_count_changed(self, message: GpuCountChanged) -> None:
        self.gpu_count = max(1, min(MAX_GPUS, message.count))

    @on(MemoryOverrideChanged)
    def _memory_changed(self, message: MemoryOverrideChanged) -> None:
        self.memory_override_bytes = message.memory_bytes

    @on(ModelChosen)
    def _model_chosen(self, message: ModelChosen) -> None:
        self.model_id = message.model_id

    @on(QuantChosen)
    def _quant_chosen(self, message: QuantChosen) -> None:
        self.quant_id = message.quant_id

    @on(WorkloadChanged)
    def _workload_changed(self, message: WorkloadChanged) -> None:
        if message.context_tokens is not None:
            self.context_tokens = message.context_tokens
        if message.sequences is not None:
            self.sequences = max(1, message.sequences)
        if message.kv_cache_dtype in KV_CACHE_DTYPES:
            self.kv_cache_dtype = message.kv_cache_dtype
        if message.engine in ENGINES:
            self.engine = message.engine
        if message.flash_attention in FLASH_ATTENTION_CHOICES:
            self.flash_attention = message.flash_attention

    @on(HubLookupRequested)
    def _hub_lookup(self, message: HubLookupRequested) -> None:
        self.sources.lookup(message.text)

    @on(OptionList.OptionSelected)
    def _list_entered(self) -> None:
        """Enter in a list moves on to the next pane, so a setup is a few keys away."""
        self.navigation.focus_step(1)

    def clamp_context(self, tokens: int) -> int:
        """`tokens` within 256 … 4 × the chosen model's maximum."""
        return max(MIN_CONTEXT_TOKENS, min(self.context_ceiling, tokens))

    # -- narrow layout: which picker is shown ---------------------------------------------

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        pane = picker_of(event.widget)
        if pane is not None and pane.id in PICKERS:
            self.current_pane = pane.id

    def watch_current_pane(self, current: str) -> None:
        self.navigation.show_current_pane(current)

    # -- actions (bound in gpufit.ui.commands) --------------------------------------------

    def action_focus_pane(self, name: str) -> None:
        """Focus one of the four panes (1–4)."""
        self.navigation.focus_pane(name)

    def action_focus_step(self, direction: int) -> None:
        """Tab / Shift+Tab through every control."""
        self.navigation.focus_step(direction)

    def action_focus_filter(self) -> None:
        """Focus the filter of the focused list (or of the picker on show)."""
        self.navigation.focus_filter()

    def action_leave_input(self, only_pickers: bool = False) -> None:
        """Escape or ↓ goes from a text box to its pane's list."""
        self.navigation.leave_input(only_pickers)

    def action_scale_context(self, factor: float) -> None:
        """Halve or double the context, within 256 … 4 × the model maximum."""
        self.context_tokens = self.clamp_context(int(self.context_tokens * factor))

    def action_change_gpu_count(self, delta: int) -> None:
        """One GPU more or fewer (1–16)."""
        self.gpu_count = max(1, min(MAX_GPUS, self.gpu_count + delta))

    def action_cycle(self, field: str) -> None:
        """The next choice of a workload field (KV type, engine, flash attention, vision)."""
        self.change_setup(**{field: cycle(CHOICES[field], getattr(self.setup, field))})

    def action_toggle_units(self) -> None:
        """GB ↔ GiB, remembered in the settings file."""
        self.units = cycle(UNITS, self.units)
        self._remember_units(self.units)

    def action_show_help(self) -> None:
        """The help screen, generated from the bindings."""
        from gpufit.ui.screens.help import HelpScreen  # loaded when first asked for

        self.app.push_screen(HelpScreen(self))

    def action_export(self, kind: str, clipboard: bool = False) -> None:
        """Save the report (Markdown or JSON) where asked; `clipboard` also copies it (OSC 52)."""
        from gpufit.ui.reports import export  # loaded when first asked for

        export(self, self.result, kind, clipboard=clipboard)

    def action_rescan(self) -> None:
        """Run nvidia-smi again."""
        self.detection.rescan()

    def action_save_profile(self) -> None:
        """Name the current setup and save it."""
        self.profiles.save()

    def action_open_profile(self, mode: str = "open") -> None:
        """The profile list (open, rename or delete)."""
        self.profiles.choose(mode)

    def action_serving(self) -> None:
        """Throughput, TTFT and TPOT against concurrency."""
        self.planning.serving()

    def action_sweep(self, kind: str) -> None:
        """What fits best here (`best`), or which hardware fits this model."""
        self.planning.sweep(kind)

    def action_pin(self) -> None:
        """Pin (or unpin) the current setup for comparison."""
        self.planning.pin()

    def action_compare(self) -> None:
        """The pinned setup beside the current one."""
        self.planning.compare()

    def action_run_hints(self) -> None:
        """llama.cpp and vLLM command lines for this setup."""
        self.planning.run_hints()

    def action_host(self) -> None:
        """System RAM, its bandwidth and the price per GPU-hour."""
        self.planning.host()

    def action_open_model_file(self) -> None:
        """Open a GGUF file or a Hugging Face folder."""
        self.imports.open_file()

    def action_save_imported_model(self) -> None:
        """Save the opened model into the user catalog."""
        self.imports.save()

    def action_rescan_models(self) -> None:
        """Look for models on this machine again."""
        self.sources.scan()

    def action_sort_models(self) -> None:
        """Next model order: catalog, size, newest, fit."""
        self.notify(f"Models sorted by {self.query_one(ModelPane).cycle_sort()}.", timeout=2)
