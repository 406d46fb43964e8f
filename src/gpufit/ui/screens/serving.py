"""The serving view: many users at once on the chosen setup — TTFT, TPOT, throughput, KV limit.

Prompt length, output length and the TPOT limit are typed in the top row; every change
recomputes the profile in a worker thread (newest wins) and redraws the chart and the summary.
Energy and cost per token are shown for the best level when a price is set.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.validation import Integer, Number
from textual.widgets import Footer, Input, Label, Static

from gpufit.core.energy import energy_cost
from gpufit.core.serving import DEFAULT_TPOT_LIMIT_S, ServingProfile, serving_profile
from gpufit.service import EstimateRequest
from gpufit.ui.format import rate, seconds
from gpufit.ui.widgets.chart import ChartPoint, ServingChart

DEFAULT_PROMPT_TOKENS = 1000
DEFAULT_OUTPUT_TOKENS = 200
MUTED = "$foreground-muted"


@dataclass(frozen=True, slots=True)
class ServingInputs:
    """What the top row says."""

    prompt_tokens: int
    output_tokens: int
    tpot_limit_s: float


def summary(profile: ServingProfile, request: EstimateRequest,
            price_per_gpu_hour: float | None) -> Content:
    """The numbers under the chart: capacity, the best level, and its energy and cost."""
    lines: list[Content] = []
    context = profile.prompt_tokens + profile.output_tokens
    if profile.max_concurrency == 0:
        return Content.styled(f"Not one request of {context:,} tokens fits in memory.",
                              "bold $text-error")
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
        point = max(profile.points, key=lambda item: item.aggregate_tokens_per_s)
    else:
        point = best
        lines.append(Content.assemble(
            ("Best      ", MUTED), (f"{best.concurrency:,} users", "bold"),
            f" → {rate(best.aggregate_tokens_per_s)} tok/s total, "
            f"{rate(best.per_user_tokens_per_s)} tok/s each"))
        lines.append(Content.assemble(
            ("          ", MUTED), f"TTFT {seconds(best.ttft_s)} · TPOT {seconds(best.tpot_s)} "
                                   f"(limit {seconds(profile.tpot_limit_s)})"))
    cost = energy_cost(request.hardware, point.aggregate_tokens_per_s, price_per_gpu_hour)
    price = (f" · {cost.cost_per_million_tokens:,.2f} per M tokens at {price_per_gpu_hour:g}/GPU-h"
             if cost.cost_per_million_tokens is not None else " · set a price with $ for cost")
    lines.append(Content.assemble(
        ("Energy    ", MUTED), f"≤ {cost.joules_per_token:.2f} J/token "
                               f"({cost.watt_hours_per_million_tokens:,.0f} Wh per M tokens at "
                               f"{cost.power_watts:,.0f} W board power){price}"))
    return Content("\n").join(lines)


class ServingScreen(ModalScreen[None]):
    """Throughput and latency against concurrency for the setup on the main screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "close", id="gpufit.serving-close"),
    ]

    def __init__(self, request: EstimateRequest, price_per_gpu_hour: float | None) -> None:
        super().__init__(classes="dialog-screen")
        self._request = request
        self._price = price_per_gpu_hour
        self._inputs = ServingInputs(min(DEFAULT_PROMPT_TOKENS, request.workload.context_tokens),
                                     DEFAULT_OUTPUT_TOKENS, DEFAULT_TPOT_LIMIT_S)
        self.profile: ServingProfile | None = None
        """The profile on screen (None until the first one lands)."""

    def compose(self) -> ComposeResult:
        """Inputs, chart, summary, footer."""
        request = self._request
        with Vertical(classes="dialog serving-dialog") as box:
            box.border_title = (f"Serving: {request.model.name} · {request.quant.id} · "
                                f"{request.hardware.count} × {request.hardware.gpu.name} · "
                                f"{request.workload.engine}")
            box.border_subtitle = "Tab moves · Esc closes"
            with Horizontal(classes="serving-inputs"):
                yield Label("prompt")
                yield Input(str(self._inputs.prompt_tokens), type="integer", compact=True,
                            id="prompt-tokens", validators=[Integer(minimum=1)],
                            tooltip="Prompt tokens per request")
                yield Label("output")
                yield Input(str(self._inputs.output_tokens), type="integer", compact=True,
                            id="output-tokens", validators=[Integer(minimum=1)],
                            tooltip="Generated tokens per request")
                yield Label("TPOT limit ms")
                yield Input(f"{self._inputs.tpot_limit_s * 1000:g}", type="number", compact=True,
                            id="tpot-limit", validators=[Number(minimum=1)],
                            tooltip="Slowest acceptable time per output token (150 ms ≈ "
                                    "reading speed)")
            yield ServingChart()
            yield Static("Computing…", id="serving-summary")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#prompt-tokens", Input).focus()
        self._recompute(self._inputs)

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
        if prompt < 1 or output < 1 or limit_ms <= 0 or prompt > 4 * self._request.model.max_context_tokens:
            return None
        return ServingInputs(prompt, output, limit_ms / 1000)

    @work(exclusive=True, group="serving", name="serving profile", exit_on_error=False)
    async def _recompute(self, inputs: ServingInputs) -> None:
        request = self._request
        profile = await asyncio.to_thread(
            serving_profile, request.model, request.quant, request.hardware, request.workload,
            inputs.prompt_tokens, inputs.output_tokens, inputs.tpot_limit_s)
        if inputs != self._inputs:
            return  # the user typed on; that newer request has its own worker
        self.profile = profile
        chart = self.query_one(ServingChart)
        chart.points = tuple(ChartPoint(point.concurrency, point.aggregate_tokens_per_s, point.tpot_s)
                             for point in profile.points if point.fits_kv)
        chart.tpot_limit_s = profile.tpot_limit_s
        chart.best = profile.best.concurrency if profile.best else None
        self.query_one("#serving-summary", Static).update(summary(profile, request, self._price))
