"""The async layer: estimates run off the loop and a newer request supersedes an older one."""

from __future__ import annotations

import asyncio
import threading

from gpufit.core.setup import Setup
from gpufit.service import EstimateRequest, EstimateService, compute


def request(catalog, context: int) -> EstimateRequest:
    return EstimateRequest(Setup(gpu_id="rtx-4090", model_id="llama-3.1-8b", quant_id="Q4_K_M",
                                 context_tokens=context))


async def test_result_matches_the_request(catalog):
    service = EstimateService(catalog)
    result = await service.submit(request(catalog, 4096))
    assert result is not None
    assert result.estimate.workload.context_tokens == 4096
    assert len(result.quant_rows) == len(catalog.quants)
    service.close()


async def test_newer_request_supersedes_older(catalog):
    release = threading.Event()
    started: list[int] = []

    def slow_worker(req, cat):
        started.append(req.setup.context_tokens)
        if req.setup.context_tokens == 1024:
            release.wait(5)
        return compute(req, cat)

    service = EstimateService(catalog, worker=slow_worker)
    first = asyncio.create_task(service.submit(request(catalog, 1024)))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(service.submit(request(catalog, 2048)))
    await asyncio.sleep(0.05)
    release.set()
    old, new = await asyncio.gather(first, second)
    assert old is None
    assert new is not None and new.estimate.workload.context_tokens == 2048
    service.close()


async def test_work_runs_off_the_event_loop(catalog):
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def worker(req, cat):
        seen.append(threading.get_ident())
        return compute(req, cat)

    service = EstimateService(catalog, worker=worker)
    await service.submit(request(catalog, 512))
    assert seen and seen[0] != loop_thread
    service.close()
