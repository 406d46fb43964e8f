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


async def test_prefetch_assesses_the_likely_next_requests_off_the_loop(catalog):
    loop_thread = threading.get_ident()
    seen: list[tuple[int, int | None]] = []

    def worker(req, cat):
        seen.append((threading.get_ident(), req.setup.context_tokens))
        return compute(req, cat)

    service = EstimateService(catalog, worker=worker)
    service.prefetch([request(catalog, 1024), request(catalog, 2048)])
    await service.submit(request(catalog, 4096))  # queued behind the prefetch: it has run
    assert [context for _, context in seen] == [1024, 2048, 4096]
    assert all(thread != loop_thread for thread, _ in seen)
    service.close()


async def test_a_real_request_abandons_the_prefetch_still_waiting(catalog):
    release = threading.Event()
    seen: list[int | None] = []

    def worker(req, cat):
        seen.append(req.setup.context_tokens)
        if req.setup.context_tokens == 1024:
            release.wait(5)
        return compute(req, cat)

    service = EstimateService(catalog, worker=worker)
    service.prefetch([request(catalog, 1024), request(catalog, 2048), request(catalog, 3072)])
    await asyncio.sleep(0.05)  # the prefetch is inside its first request
    submitted = asyncio.create_task(service.submit(request(catalog, 4096)))
    await asyncio.sleep(0.05)
    release.set()
    result = await submitted
    assert result is not None and result.estimate.workload.context_tokens == 4096
    assert seen == [1024, 4096]  # 2048 and 3072 were never estimated
    service.close()


async def test_a_prefetch_the_catalog_refuses_is_dropped_quietly(catalog):
    bad = EstimateRequest(Setup(gpu_id="no-such-gpu", model_id="llama-3.1-8b"))
    service = EstimateService(catalog)
    service.prefetch([bad, request(catalog, 1024)])
    result = await service.submit(request(catalog, 2048))
    assert result is not None
    service.close()
