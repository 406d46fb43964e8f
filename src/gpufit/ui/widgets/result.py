"""Result pane: the verdict in words, the stacked memory bar, speeds, limits and the advice."""

from __future__ import annotations

from collections.abc import Iterable

from textual.containers import VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from gpufit.core.estimate import Estimate
from gpufit.core.recommend import Recommendation
from gpufit.core.report import VERDICT_WORDS, hardware_label
from gpufit.service import EstimateResult
from gpufit.ui.format import rate, seconds, size
from gpufit.ui.widgets.memory_bar import MemoryBar, legend

VERDICT_MARKS = {"fits": "✓", "tight": "~", "does-not-fit": "✗"}
VERDICT_CLASSES = {"fits": "-fits", "tight": "-tight", "does-not-fit": "-no"}
LABEL_WIDTH = 12


def _line(label: str, *value: str | tuple[str, str]) -> Content:
    return Content.assemble((f"{label:<{LABEL_WIDTH}}", "$text-muted"), *value)


def banner(estimate: Estimate, units: str) -> Content:
    """'✓ FITS  needs 6.6 GB of 24.0 GB' — the word first, never colour alone."""
    memory = estimate.memory
    return Content.assemble(
        (f"{VERDICT_MARKS[estimate.verdict]} {VERDICT_WORDS[estimate.verdict]}", "bold"),
        f"  needs {size(memory.total_bytes, units)} of {size(memory.available_bytes, units)}")


def setup_line(estimate: Estimate) -> Content:
    """Model · quant · hardware, then the workload."""
    workload = estimate.workload
    return Content.assemble(
        (estimate.model.name, "bold"), " · ", (estimate.quant.id, "bold"), " · ",
        hardware_label(estimate), "\n",
        (f"{workload.context_tokens:,} ctx × {workload.sequences} seq · "
         f"KV {workload.kv_cache_dtype} · {workload.engine}", "$text-muted"))


def figures(estimate: Estimate, units: str) -> Content:
    """Headroom, weights (real vs naive), speeds and limits, one labelled line each."""
    memory, speed, workload = estimate.memory, estimate.speed, estimate.workload
    lines: list[Content] = []
    if memory.headroom_bytes >= 0:
        lines.append(_line("Headroom", (size(memory.headroom_bytes, units), "bold")))
    else:
        lines.append(_line("Shortfall", (size(-memory.headroom_bytes, units),
                                         "bold $text-error"), " (SHORT)"))
    lines.append(_line("Weights", f"{size(memory.weights_bytes, units)} real · "
                                  f"{size(memory.naive_weights_bytes, units)} naive"))
    lines.append(_line("", (f"{estimate.weights.bits_per_weight:.2f} bpw effective vs "
                            f"{estimate.quant.nominal_bits:g} nominal", "$text-muted")))
    if memory.host_weights_bytes:
        lines.append(_line("", (f"+ {size(memory.host_weights_bytes, units)} embedding in "
                                "system RAM", "$text-muted")))
    lines.append(_line("Decode", (f"~{rate(speed.decode_tokens_per_s)} tok/s", "bold"),
                       f" ({rate(speed.decode_low)}–{rate(speed.decode_high)}, "
                       f"{speed.bound}-bound)"))
    if workload.sequences > 1:
        lines.append(_line("", (f"{rate(speed.aggregate_decode_tokens_per_s)} tok/s over "
                                f"{workload.sequences} sequences", "$text-muted")))
    lines.append(_line("Prefill", f"~{rate(speed.prefill_tokens_per_s)} tok/s"))
    lines.append(_line("TTFT", f"{seconds(speed.time_to_first_token_s)} "
                               f"({workload.context_tokens:,}-token prompt)"))
    lines.append(_line("Max context", f"{estimate.max_context_tokens:,} tokens"))
    lines.append(_line("Max seqs", f"{estimate.max_sequences:,} × "
                                   f"{workload.context_tokens:,} tokens"))
    return Content("\n").join(lines)


def advice(recommendations: Iterable[Recommendation], notes: Iterable[str]) -> Content:
    """Recommendations (→) then notes (!), each its own wrapped line."""
    lines = [Content.assemble(("→ ", "$text-accent"), item.text) for item in recommendations]
    lines += [Content.assemble(("! ", "$text-warning"), note) for note in notes]
    return Content("\n").join(lines)


class ResultPanel(VerticalScroll):
    """Everything about the current estimate; scrolls when the pane is short."""

    result: reactive[EstimateResult | None] = reactive(None, init=False)
    """The latest estimate (bound to the main screen)."""
    units: reactive[str] = reactive("GB", init=False)
    """GB or GiB (bound to the main screen)."""

    def __init__(self, *, id: str = "result") -> None:
        super().__init__(id=id, classes="pane")
        self.border_title = "4 Result"

    def compose(self) -> Iterable:
        """Banner, setup, bar, legend, figures, advice."""
        yield Static("Estimating…", id="verdict")
        yield Static(id="setup")
        yield MemoryBar(id="memory-bar")
        yield Static(id="legend")
        yield Static(id="figures")
        yield Static(id="advice")

    def on_mount(self) -> None:
        self._show()

    def watch_result(self) -> None:
        self._show()

    def watch_units(self) -> None:
        self._show()

    def _show(self) -> None:
        if not self.is_mounted or self.result is None:
            return
        estimate, units = self.result.estimate, self.units
        verdict = self.query_one("#verdict", Static)
        verdict.update(banner(estimate, units))
        for name in VERDICT_CLASSES.values():
            verdict.remove_class(name)
        verdict.add_class(VERDICT_CLASSES[estimate.verdict])
        self.query_one("#setup", Static).update(setup_line(estimate))
        self.query_one(MemoryBar).memory = estimate.memory
        self.query_one("#legend", Static).update(legend(estimate.memory, units))
        self.query_one("#figures", Static).update(figures(estimate, units))
        self.query_one("#advice", Static).update(
            advice(self.result.recommendations, estimate.notes))
        self.border_subtitle = f"sizes in {units} (g)"
