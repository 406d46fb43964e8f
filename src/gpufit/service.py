"""The async layer between the UI and the core: assessments run off the event loop, newest wins.

`EstimateService.submit` hands a request to a worker thread and returns its result, unless a
newer request was submitted meanwhile: then it returns None and the stale result is never
delivered. The core stays synchronous and pure; only this module knows about asyncio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gpufit.core.catalog import Catalog
from gpufit.core.setup import HardwareSource, HostInputs, Setup, SetupError

if TYPE_CHECKING:
    from gpufit.core.assess import Assessment


@dataclass(frozen=True, slots=True)
class EstimateRequest:
    """Everything one assessment needs; equal requests give equal results."""

    setup: Setup
    host: HostInputs | None = None
    """System RAM for offload plans; None = the platform default with unknown size."""
    price_per_gpu_hour: float | None = None
    """The user's price, for cost per million tokens; None = no cost."""
    detected: tuple[HardwareSource, ...] = ()
    """The detected hardware options the setup may name."""


def compute(request: EstimateRequest, catalog: Catalog) -> Assessment:
    """The synchronous work of one request (also what the service runs in its thread).

    The estimation core is imported on the first request, in the worker thread after the
    first frame: nothing of it is needed to paint the panes."""
    from gpufit.core.assess import assess

    return assess(request.setup, catalog, host=request.host,
                  price_per_gpu_hour=request.price_per_gpu_hour,
                  detected={option.key: option for option in request.detected})


class EstimateService:
    """Runs estimates in one background thread; a newer submission supersedes older ones."""

    def __init__(self, catalog: Catalog,
                 worker: Callable[[EstimateRequest, Catalog], Assessment] = compute) -> None:
        self._catalog = catalog
        self._worker = worker
        self._generation = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpufit-estimate")

    @property
    def catalog(self) -> Catalog:
        """The catalog estimates draw alternatives from."""
        return self._catalog

    async def submit(self, request: EstimateRequest) -> Assessment | None:
        """Estimate `request`; None if a newer request arrived before this one finished."""
        self._generation += 1
        generation = self._generation
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._executor, self._worker, request, self._catalog)
        if generation != self._generation:
            return None
        return result

    def prefetch(self, requests: Sequence[EstimateRequest]) -> None:
        """Estimate what the user will likely ask next (the rows beside the cursor), in the
        same thread after the current work, so that request is then answered from the core's
        caches. Abandoned as soon as a real request is submitted; results are discarded."""
        generation = self._generation

        def warm() -> None:
            for request in requests:
                if generation != self._generation:
                    return  # a real request is waiting behind this one
                # A neighbour the setup refuses is reported if and when it is chosen.
                with suppress(SetupError):
                    self._worker(request, self._catalog)

        self._executor.submit(warm)

    def close(self) -> None:
        """Stop the worker thread (pending work is abandoned)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
