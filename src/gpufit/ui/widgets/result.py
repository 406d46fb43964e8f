"""Result pane: the verdict in words, the stacked memory bar, speeds, limits and the advice."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.reactive import var
from textual.widgets import Static

from gpufit.core.plans import energy_basis_text, money, split_text
from gpufit.core.tensors import exact_file_weights
from gpufit.ui.format import rate, seconds, short_gpu_name, size
from gpufit.ui.widgets.memory_bar import MemoryBar, breakdown
from gpufit.ui.widgets.updates import set_border_subtitle, set_border_title, show

if TYPE_CHECKING:
    from gpufit.core.assess import Assessment
    from gpufit.core.estimate import Estimate
    from gpufit.core.recommend import Recommendation

VERDICT_MARKS = {"fits": "✓", "tight": "~", "does-not-fit": "✗", "unsupported": "✗"}
VERDICT_CLASSES = {"fits": "-fits", "tight": "-tight", "does-not-fit": "-no", "unsupported": "-no"}
LABEL_WIDTH = 9
MUTED = "$foreground-muted"


def _line(label: str, *value: str | tuple[str, str]) -> Content:
    return Content.assemble((f"{label:<{LABEL_WIDTH}}", MUTED), *value)


def banner(assessment: Assessment, units: str, width: int = 0) -> Content:
    """'✓ FITS  7.0 of 25.8 GB' — the word first, never colour alone; with detected hardware,
    '(not in free memory now)' when a card lacks the free memory for its share. Narrower
    than `width` cells, the sizes go under the word whole ("82.1 of / 24.0 GiB" otherwise)."""
    # The report's own words; the report loads with the first result, after the first frame.
    from gpufit.core.report import VERDICT_WORDS

    memory = assessment.estimate.memory
    verdict = assessment.verdict
    word = f"{VERDICT_MARKS[verdict]} {VERDICT_WORDS[verdict]}"
    sizes = (f"{size(memory.total_bytes, units).removesuffix(' ' + units)} of "
             f"{size(memory.available_bytes, units)}")
    gap = "\n" if 0 < width < len(word) + 2 + len(sizes) else "  "
    parts: list[str | tuple[str, str]] = [(word, "bold"), gap + sizes]
    free = assessment.free_memory
    if free is not None and not free.fits and verdict in ("fits", "tight"):
        parts.append(("\n✗ not in the memory free now", "bold $text-error"))
    return Content.assemble(*parts)


def setup_line(assessment: Assessment, units: str) -> Content:
    """Model · quant, then the hardware (with the memory per GPU when it is not the catalog's:
    typed by the user, or measured by nvidia-smi), then the workload."""
    estimate = assessment.estimate
    workload, hardware = estimate.workload, estimate.hardware
    gpu = short_gpu_name(hardware.gpu.name)
    if hardware.count > 1:
        gpu = f"{hardware.count} × {gpu}"
    if hardware.memory_override_bytes is not None:
        each = " each" if hardware.count > 1 else ""
        how = "set to" if assessment.setup.memory_override_bytes is not None else "measured"
        gpu += f" ({how} {size(hardware.memory_per_gpu_bytes, units)}{each})"
    return Content.assemble(
        (estimate.model.name, "bold"), " · ", (estimate.quant.id, "bold"), "\n", gpu, "\n",
        (f"ctx {workload.context_tokens:,} × {workload.sequences} · "
         f"KV {workload.kv_cache_dtype} · {workload.engine} · FA {workload.flash_attention}"
         + (" · +vision" if estimate.memory.vision_bytes else ""),
         MUTED))


def figures(assessment: Assessment, units: str) -> Content:
    """Weights (real vs naive), speeds and limits, one labelled line each."""
    from gpufit.core.report import band_text

    estimate = assessment.estimate
    memory, speed, workload = estimate.memory, estimate.speed, estimate.workload
    file = exact_file_weights(estimate.model, estimate.quant)
    lines = [
        _line("Weights", f"{size(memory.weights_bytes, units)} · "
                         + (f"exact ({file.format.upper()})" if file
                            else f"naive {size(memory.naive_weights_bytes, units)}")),
        _line("", (f"{estimate.weights.bits_per_weight:.2f} bpw (nominal "
                   f"{estimate.quant.nominal_bits:g})" + band_text(estimate), MUTED)),
    ]
    if file:
        # The real type mix behind the file's quant name (what "Q4_K_M" means in this file).
        total = max(1, file.breakdown.total_bytes)
        shares = [(kind, part) for kind, part in file.bytes_by_type.items()
                  if part >= total / 100][:3]
        mix = " · ".join(f"{kind} {size(part, units).split()[0]}" for kind, part in shares)
        lines.append(_line("", (f"{mix} {units}", MUTED)))
    if memory.vision_bytes:
        lines.append(_line("", (f"+{size(memory.vision_bytes, units)} vision encoder (mmproj)",
                                MUTED)))
    elif estimate.model.mmproj_params:
        lines.append(_line("", ("text only; i adds the vision encoder", MUTED)))
    if memory.host_weights_bytes:
        lines.append(_line("", (f"+{size(memory.host_weights_bytes, units)} embedding in RAM",
                                MUTED)))
    free = assessment.free_memory
    if free is not None:
        # Total memory says what the card can hold; free memory what it can hold right now,
        # card by card (each must hold its own share).
        if free.fits:
            lines.append(_line("Free now", f"{size(free.total_free_bytes, units)}: ",
                               ("fits", "bold")))
        else:
            index = free.short_gpus[0]
            card = f"GPU {index} " if len(free.per_gpu_free_bytes) > 1 else ""
            lines.append(_line("Free now", f"{card}{size(free.per_gpu_free_bytes[index], units)} "
                                           f"< {size(free.per_gpu_needed_bytes[index], units)}: ",
                               ("does not fit", "bold $text-error")))
    # Speeds of a setup that does not fit are what it would run at, as the CLI says.
    if_fitted = " if it fitted" if assessment.verdict == "does-not-fit" else ""
    lines += [
        _line("Decode", (f"~{rate(speed.decode_tokens_per_s)} tok/s", "bold"),
              (if_fitted, MUTED)),
        _line("", (f"{rate(speed.decode_low)}–{rate(speed.decode_high)}, {speed.bound}-bound",
                   MUTED)),
    ]
    if workload.sequences > 1:
        lines.append(_line("", (f"{rate(speed.aggregate_decode_tokens_per_s)} tok/s over "
                                f"{workload.sequences} seqs", MUTED)))
    lines += [
        _line("Prefill", f"~{rate(speed.prefill_tokens_per_s)} tok/s"),
        _line("TTFT", seconds(speed.time_to_first_token_s)),
        _line("Max ctx", *max_context_words(estimate)),
        _line("Max seqs", f"{estimate.max_sequences:,} × {workload.context_tokens:,}"
              if estimate.max_sequences else ("none fits", "bold $text-error")),
    ]
    trained_tokens = estimate.model.max_context_tokens
    if estimate.max_sequences and workload.context_tokens > trained_tokens:
        lines.append(_line("", (f"context over the model's {trained_tokens:,}", MUTED)))
    return Content("\n").join(lines)


def max_context_words(estimate: Estimate) -> tuple[str | tuple[str, str], ...]:
    """The longest context that fits, saying when the model's own limit (not memory) caps it,
    so it reads right beside a workload context set above that limit."""
    tokens = estimate.max_context_tokens
    if not tokens:
        return (("none fits", "bold $text-error"),)
    if tokens >= estimate.model.max_context_tokens:
        return (f"{tokens:,} tokens", (" (model limit)", MUTED))
    return (f"{tokens:,} tokens",)


def plans(result: Assessment, units: str) -> Content:
    """Per-GPU memory (several GPUs) and energy/cost per token, one labelled line each."""
    lines: list[Content] = []
    split = result.split
    if split.mode != "single":
        worst = max(split.shares, key=lambda share: share.total_bytes)
        how = split_text(split)
        lines.append(_line("Per GPU", f"≤ {size(worst.total_bytes, units)} of "
                                      f"{size(worst.available_bytes, units)}"))
        lines.append(_line("", (how, MUTED)))
    energy = result.energy
    if energy is not None:
        lines.append(_line("Energy", f"≤ {energy.joules_per_token:.2f} J/token"))
        lines.append(_line("", (energy_basis_text(result), MUTED)))
        cost = ("set a price: $" if energy.cost_per_million_tokens is None
                else f"{money(energy.cost_per_million_tokens, result.currency)} per M tokens")
        lines.append(_line("", (f"{energy.power_watts:,.0f} W · {cost}", MUTED)))
    return Content("\n").join(lines)


def advice(recommendations: Iterable[Recommendation], notes: Iterable[str], units: str) -> Content:
    """Recommendations (→) then notes (!), each its own wrapped line, sizes in `units`."""
    lines = [Content.assemble(("→ ", "$text-accent"), item.text_in(units))
             for item in recommendations]
    lines += [Content.assemble(("! ", "$text-warning"), note) for note in notes]
    return Content("\n").join(lines)


class ResultPanel(VerticalScroll):
    """Everything about the current estimate; scrolls when the pane is short."""

    result: var[Assessment | None] = var(None, init=False)
    """The latest estimate (bound to the main screen)."""
    units: var[str] = var("GB", init=False)
    """GB or GiB (bound to the main screen)."""

    pinned: var[str] = var("", init=False)
    """What `p` pinned (empty: nothing), kept in the border while it is pinned."""

    def __init__(self, *, id: str = "result") -> None:
        super().__init__(id=id, classes="pane")
        self.border_title = "4 Result"

    def watch_pinned(self, pinned: str) -> None:
        set_border_title(self, "4 Result" + (" · pinned, c compares" if pinned else ""))
        self.tooltip = f"Pinned: {pinned}" if pinned else None

    def compose(self) -> ComposeResult:
        """Banner, setup, bar, breakdown, figures, advice."""
        yield Static("Estimating…", id="verdict")
        yield Static(id="setup")
        yield MemoryBar(id="memory-bar")
        yield Static(id="breakdown")
        yield Static(id="figures")
        yield Static(id="advice")

    def on_mount(self) -> None:
        self._show()

    def watch_result(self) -> None:
        self._show()
        # A new result starts at its verdict: a pane scrolled down for the advice would
        # otherwise hide the verdict of the next setup (80×24).
        self.scroll_home(animate=False, immediate=True)

    def watch_units(self) -> None:
        self._show()

    def on_resize(self) -> None:
        self._show()  # the verdict line breaks by the width (unchanged parts are not redrawn)

    def _show(self) -> None:
        if not self.is_mounted or self.result is None:
            return
        estimate, units = self.result.estimate, self.units
        verdict = self.query_one("#verdict", Static)
        show(verdict, banner(self.result, units, verdict.content_region.width))
        for name in VERDICT_CLASSES.values():
            verdict.remove_class(name)
        verdict.add_class(VERDICT_CLASSES[self.result.verdict])
        show(self.query_one("#setup", Static), setup_line(self.result, units))
        self.query_one(MemoryBar).memory = estimate.memory
        table = self.query_one("#breakdown", Static)
        show(table, breakdown(estimate.memory, units, table.content_region.width))
        show(self.query_one("#figures", Static),
             Content("\n").join(part for part in (figures(self.result, units),
                                                  plans(self.result, units)) if part.plain))
        show(self.query_one("#advice", Static),
             advice(self.result.recommendations, estimate.notes, units))
        from gpufit.ui.commands import key_for

        key = key_for(self.app, "units")
        set_border_subtitle(self, f"sizes in {units}" + (f" ({key})" if key else ""))
