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
from gpufit.core.estimate import Estimate, estimate
from gpufit.core.recommend import Recommendation, recommend
from gpufit.core.specs import Hardware, ModelSpec, QuantSpec, Workload


@dataclass(frozen=True, slots=True)
class EstimateRequest:
    """Everything one estimate needs; equal requests give equal results."""

    model: ModelSpec
    quant: QuantSpec
    hardware: Hardware
    workload: Workload


@dataclass(frozen=True, slots=True)
class EstimateResult:
    """An estimate, its advice, and the per-quant rows the quant pane shows."""

    request: EstimateRequest
    estimate: Estimate
    recommendations: tuple[Recommendation, ...]
    quant_rows: tuple[Estimate, ...]


def compute(request: EstimateRequest, catalog: Catalog) -> EstimateResult:
    """The synchronous work of one request (also what the service runs in its thread)."""
    main = estimate(request.model, request.quant, request.hardware, request.workload)
    rows = tuple(estimate(request.model, quant, request.hardware, request.workload)
                 for quant in catalog.quants.values())
    return EstimateResult(request, main, tuple(recommend(main, catalog.quants)), rows)


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
