"""The async layer between the UI and the core: estimates run off the event loop, newest wins.

`EstimateService.submit` hands a request to a worker thread and returns its result, unless a
newer request was submitted meanwhile: then it returns None and the stale result is never
delivered. The core stays synchronous and pure; only this module knows about asyncio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from gpufit.core.catalog import Catalog
from gpufit.core.energy import EnergyCost, energy_cost
from gpufit.core.estimate import Estimate, estimate
from gpufit.core.offload import HostMemory, OffloadPlan, default_host, plan_offload
from gpufit.core.plans import hints_for
from gpufit.core.recommend import Recommendation, recommend
from gpufit.core.run_hints import RunHint
from gpufit.core.specs import Hardware, ModelSpec, QuantSpec, Workload
from gpufit.core.split import SplitPlan, split_plan


@dataclass(frozen=True, slots=True)
class EstimateRequest:
    """Everything one estimate needs; equal requests give equal results."""

    model: ModelSpec
    quant: QuantSpec
    hardware: Hardware
    workload: Workload
    host: HostMemory | None = None
    """System RAM for offload plans; None = the platform default with unknown size."""
    price_per_gpu_hour: float | None = None
    """The user's price, for cost per million tokens; None = no cost."""


@dataclass(frozen=True, slots=True)
class EstimateResult:
    """An estimate, its advice, the per-quant rows the quant pane shows, and its plans."""

    request: EstimateRequest
    estimate: Estimate
    recommendations: tuple[Recommendation, ...]
    quant_rows: tuple[Estimate, ...]
    split: SplitPlan
    """What each GPU holds."""
    offload: tuple[OffloadPlan, ...]
    """CPU-offload plans when the model does not fit (empty when it does)."""
    run_hints: tuple[RunHint, ...]
    """llama.cpp and vLLM command lines matching the estimate (or its first offload plan)."""
    energy: EnergyCost | None
    """Energy (and cost) per token at the workload's decode rate; None when it does not fit."""


def compute(request: EstimateRequest, catalog: Catalog) -> EstimateResult:
    """The synchronous work of one request (also what the service runs in its thread)."""
    main = estimate(request.model, request.quant, request.hardware, request.workload)
    rows = tuple(estimate(request.model, quant, request.hardware, request.workload)
                 for quant in catalog.quants.values())
    host = request.host or default_host(request.hardware.gpu)
    offload = plan_offload(main, host)
    split = split_plan(main)
    advice = tuple(recommend(main, catalog.quants, catalog.gpus, offload))
    energy = None if main.verdict == "does-not-fit" else energy_cost(
        request.hardware, main.speed.aggregate_decode_tokens_per_s, request.price_per_gpu_hour)
    return EstimateResult(request, main, advice, rows, split, offload,
                          hints_for(main, split, offload), energy)


class EstimateService:
    """Runs estimates in one background thread; a newer submission supersedes older ones."""

    def __init__(self, catalog: Catalog,
                 worker: Callable[[EstimateRequest, Catalog], EstimateResult] = compute) -> None:
        self._catalog = catalog
        self._worker = worker
        self._generation = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpufit-estimate")

    @property
    def catalog(self) -> Catalog:
        """The catalog estimates draw alternatives from."""
        return self._catalog

    async def submit(self, request: EstimateRequest) -> EstimateResult | None:
        """Estimate `request`; None if a newer request arrived before this one finished."""
        self._generation += 1
        generation = self._generation
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._executor, self._worker, request, self._catalog)
        if generation != self._generation:
            return None
        return result

    def close(self) -> None:
        """Stop the worker thread (pending work is abandoned)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
