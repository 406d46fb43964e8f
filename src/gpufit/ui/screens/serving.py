"""The serving view: many users at once on the chosen setup — TTFT, TPOT, throughput, KV limit.

Prompt length, output length and the TPOT limit are part of the setup: typing them here
re-assesses the setup in a worker thread (newest wins) and redraws the chart and the summary
from that assessment; closing the view keeps them in the main screen's setup, so the result
pane and the exports show the same serving and energy figures.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.validation import Integer, Number
from textual.widgets import Footer, Input, Label, Static
from textual.worker import Worker

from gpufit.core.assess import Assessment
from gpufit.core.catalog import Catalog
from gpufit.core.plans import cost_text, energy_basis_text
from gpufit.core.serving import ServingProfile
from gpufit.service import EstimateRequest, compute
from gpufit.ui.format import rate, seconds
from gpufit.ui.widgets.chart import ChartPoint, ServingChart
from gpufit.ui.widgets.text_box import TextBox
from gpufit.ui.widgets.typed import settle
from gpufit.ui.workers import notify_failure

MUTED = "$foreground-muted"
MAX_TOKENS = 2**24
"""Largest prompt or output length the view accepts (the setup's own bound on context)."""
MAX_TPOT_LIMIT_MS = 3_600_000
"""Largest TPOT limit: an hour per token is already no limit."""
SHOWN = {"prompt-tokens": "Prompt", "output-tokens": "Output", "tpot-limit": "TPOT limit"}


@dataclass(frozen=True, slots=True)
class ServingInputs:
    """What the top row says."""

    prompt_tokens: int
    output_tokens: int
    tpot_limit_s: float


def summary(assessment: Assessment) -> Content:
    """The numbers under the chart: capacity, the best level, and the assessment's energy."""
    profile = assessment.serving
    lines: list[Content] = []
    context = profile.prompt_tokens + profile.output_tokens
    if profile.max_concurrency == 0:
        return Content.styled(f"Not one request of {context:,} tokens fits in memory.",
                              "bold $text-error")
    if assessment.verdict == "does-not-fit":
        # The view's requests fit, the main screen's workload does not: say whose speeds
        # these are, so they are not read as the main setup's.
        workload = assessment.estimate.workload
        lines.append(Content.styled(
            f"The main setup ({workload.context_tokens:,} tokens × {workload.sequences}) does "
            f"not fit; these {context:,}-token requests do.", "bold $text-warning"))
    lines.append(Content.assemble(
        ("KV limit  ", MUTED), f"{profile.max_concurrency:,} concurrent requests of "
                               f"{context:,} tokens"))
    best = profile.best
    if best is None:
        first = profile.points[0]
        lines.append(Content.assemble(
            ("Best      ", MUTED),
            (f"none: one user already gets {seconds(first.tpot_s)} per token, over the "
             f"{seconds(profile.tpot_limit_s)} limit", "bold $text-warning")))
    else:
        lines.append(Content.assemble(
            ("Best      ", MUTED), (f"{best.concurrency:,} users", "bold"),
            f" → {rate(best.aggregate_tokens_per_s)} tok/s total, "
            f"{rate(best.per_user_tokens_per_s)} tok/s each"))
        lines.append(Content.assemble(
            ("          ", MUTED), f"TTFT {seconds(best.ttft_s)} · TPOT {seconds(best.tpot_s)} "
                                   f"(limit {seconds(profile.tpot_limit_s)})"))
    cost = assessment.energy
    if cost is not None:
        price = (f" · {cost_text(assessment)}" if cost_text(assessment) is not None
                 else " · set a price with $ for cost")
        lines.append(Content.assemble(
            ("Energy    ", MUTED), f"≤ {cost.joules_per_token:.2f} J/token "
                                   f"{energy_basis_text(assessment)} "
                                   f"({cost.watt_hours_per_million_tokens:,.0f} Wh per M tokens at "
                                   f"{cost.power_watts:,.0f} W board power){price}"))
    return Content("\n").join(lines)


class ServingScreen(ModalScreen[ServingInputs | None]):
    """Throughput and latency against concurrency for the setup on the main screen; closes
    with the serving inputs in force (for the main screen's setup)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "close", id="gpufit.serving-close"),
    ]

    def __init__(self, request: EstimateRequest, assessment: Assessment, catalog: Catalog) -> None:
        super().__init__(classes="dialog-screen")
        self._request = request
        self._catalog = catalog
        setup = request.setup
        self._inputs = ServingInputs(setup.prompt_tokens, setup.output_tokens, setup.tpot_limit_s)
        self._first = assessment
        self.assessment: Assessment | None = None
        """The assessment on screen (None until the first one is shown)."""

    @property
    def profile(self) -> ServingProfile | None:
        """The serving profile on screen."""
        return None if self.assessment is None else self.assessment.serving

    def action_close(self) -> None:
        """Close, handing back the inputs in force."""
        self.dismiss(self._inputs)

    def compose(self) -> ComposeResult:
        """Inputs, chart, summary, footer."""
        estimate = self._first.estimate
        with Vertical(classes="dialog serving-dialog") as box:
            box.border_title = (f"Serving: {estimate.model.name} · {estimate.quant.id} · "
                                f"{estimate.hardware.count} × {estimate.hardware.gpu.name} · "
                                f"{estimate.workload.engine}")
            box.border_subtitle = "Tab moves · Esc closes"
            with Horizontal(classes="serving-inputs"):
                yield Label("prompt")
                yield TextBox(str(self._inputs.prompt_tokens), type="integer", compact=True,
                            id="prompt-tokens", validators=[Integer(minimum=1, maximum=MAX_TOKENS)],
                            tooltip="Prompt tokens per request")
                yield Label("output")
                yield TextBox(str(self._inputs.output_tokens), type="integer", compact=True,
                            id="output-tokens", validators=[Integer(minimum=1, maximum=MAX_TOKENS)],
                            tooltip="Generated tokens per request")
                yield Label("TPOT limit ms")
                yield TextBox(f"{self._inputs.tpot_limit_s * 1000:g}", type="number", compact=True,
                            id="tpot-limit",
                            validators=[Number(minimum=1, maximum=MAX_TPOT_LIMIT_MS)],
                            tooltip="Slowest acceptable time per output token (150 ms ≈ "
                                    "reading speed)")
            yield ServingChart()
            yield Static("Computing…", id="serving-summary", markup=False)  # may quote an error
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#prompt-tokens", Input).focus()
        self._show(self._first)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if notify_failure(self, event):
            self.query_one("#serving-summary", Static).update(
                f"The serving profile failed: {event.worker.error}")

    @on(Input.Blurred)
    def _left_box(self, event: Input.Blurred) -> None:
        """Leaving a box: a refused value goes back to the one in use, and says why."""
        inputs = self._inputs
        in_use = {"prompt-tokens": str(inputs.prompt_tokens),
                  "output-tokens": str(inputs.output_tokens),
                  "tpot-limit": f"{inputs.tpot_limit_s * 1000:g}"}
        box = event.input
        if box.id in in_use:
            settle(box, in_use[box.id], SHOWN[box.id])

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        values = self._read()
        if values is None:
            return
        if values != self._inputs:
            self._inputs = values
            self._recompute(values)

    def _read(self) -> ServingInputs | None:
        try:
            prompt = int(self.query_one("#prompt-tokens", Input).value)
            output = int(self.query_one("#output-tokens", Input).value)
            limit_ms = float(self.query_one("#tpot-limit", Input).value)
        except ValueError:
            return None
        if not (1 <= prompt <= MAX_TOKENS and 1 <= output <= MAX_TOKENS
                and 1 <= limit_ms <= MAX_TPOT_LIMIT_MS):
            return None
        return ServingInputs(prompt, output, limit_ms / 1000)

    @work(exclusive=True, group="serving", name="serving profile", exit_on_error=False)
    async def _recompute(self, inputs: ServingInputs) -> None:
        setup = replace(self._request.setup, prompt_tokens=inputs.prompt_tokens,
                        output_tokens=inputs.output_tokens, tpot_limit_s=inputs.tpot_limit_s)
        request = replace(self._request, setup=setup)
        assessment = await asyncio.to_thread(compute, request, self._catalog)
        if inputs != self._inputs:
            return  # the user typed on; that newer request has its own worker
        self._show(assessment)

    def _show(self, assessment: Assessment) -> None:
        self.assessment = assessment
        profile = assessment.serving
        chart = self.query_one(ServingChart)
        chart.points = tuple(ChartPoint(point.concurrency, point.aggregate_tokens_per_s, point.tpot_s)
                             for point in profile.points if point.fits_kv)
        chart.tpot_limit_s = profile.tpot_limit_s
        chart.best = profile.best.concurrency if profile.best else None
        chart.empty_text = (f"Nothing to chart: not one request of "
                            f"{profile.prompt_tokens + profile.output_tokens:,} tokens fits.")
        self.query_one("#serving-summary", Static).update(summary(assessment))
