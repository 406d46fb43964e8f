"""Estimator speed: one estimate's median latency, sweeps over the whole catalog, and the two
ranked sweeps users run (`sweep --gpu`, `sweep --model --quant`) and the serving profile.

Run: python benchmarks/speed.py  (targets: <= 100 µs per estimate, whole-catalog sweep <= 1 s)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from gpufit.core.assess import assess
from gpufit.core.catalog import load_catalog
from gpufit.core.estimate import estimate
from gpufit.core.rank import best_for_hardware, hardware_for
from gpufit.core.serving import serving_profile
from gpufit.core.setup import Setup
from gpufit.core.specs import Hardware, Workload
from gpufit.core.sweep import sweep


def timed(label: str, work: Callable[[], object], repeats: int = 5) -> None:
    """Median wall time of `work()` over `repeats` runs (the first run warms caches)."""
    work()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    print(f"{label}: median {statistics.median(samples) * 1000:.1f} ms over {repeats} runs")


def main() -> None:
    catalog = load_catalog()
    cards = [gpu for gpu in catalog.gpus.values() if gpu.mig_parent is None]
    print(f"catalog: {len(cards)} GPUs + {len(catalog.gpus) - len(cards)} MIG slices, "
          f"{len(catalog.models)} models, {len(catalog.quants)} quants")
    start = time.perf_counter()
    rows = sweep(cards, catalog.models.values(), catalog.quants.values(),
                 Workload(context_tokens=8192))
    print(f"sweep, cold caches: {len(rows):,} GPU × model × quant rows in "
          f"{time.perf_counter() - start:.3f} s")
    model = catalog.models["mixtral-8x22b"]
    quant = catalog.quants["Q4_K_M"]
    hardware = Hardware(catalog.gpus["a100-80gb-sxm"])
    workload = Workload(context_tokens=8192)
    estimate(model, quant, hardware, workload)  # warm the per-(model, quant) cache
    samples = []
    for _ in range(2000):
        start = time.perf_counter()
        estimate(model, quant, hardware, workload)
        samples.append(time.perf_counter() - start)
    median_us = statistics.median(samples) * 1e6
    print(f"one estimate (warm): median {median_us:.1f} µs, p95 "
          f"{sorted(samples)[int(len(samples) * 0.95)] * 1e6:.1f} µs")

    start = time.perf_counter()
    cold = [estimate(m, q, hardware, workload) for m in catalog.models.values()
            for q in catalog.quants.values()]
    print(f"first pass over {len(cold)} model × quant pairs (cold caches): "
          f"{time.perf_counter() - start:.3f} s")

    start = time.perf_counter()
    count = 0
    for gpu in cards:
        setup = Hardware(gpu)
        for model in catalog.models.values():
            for quant in catalog.quants.values():
                estimate(model, quant, setup, workload)
                count += 1
    elapsed = time.perf_counter() - start
    print(f"full estimates for every combination: {count:,} (GPUs {len(cards)} × "
          f"models {len(catalog.models)} × quants {len(catalog.quants)}) in {elapsed:.3f} s "
          f"= {elapsed / count * 1e6:.1f} µs each")

    for label, gpus in (("GPUs", cards), ("GPUs and MIG slices", list(catalog.gpus.values()))):
        start = time.perf_counter()
        rows = sweep(gpus, catalog.models.values(), catalog.quants.values(), workload)
        elapsed = time.perf_counter() - start
        print(f"sweep, warm, {label}: {len(rows):,} GPU × model × quant rows in {elapsed:.3f} s "
              f"= {elapsed / len(rows) * 1e6:.1f} µs each")

    timed("sweep --gpu rtx-4090 (every model × quant, ranked)",
          lambda: best_for_hardware(Hardware(catalog.gpus["rtx-4090"]), catalog.models.values(),
                                    catalog.quants.values(), Setup()))
    timed("sweep --model mixtral-8x22b --quant FP16 (every GPU and slice × 1–8 cards)",
          lambda: hardware_for(model, catalog.quants["FP16"], catalog.gpus.values(), workload, 8))
    awq = catalog.quants["AWQ-INT4"]
    vllm = Workload(context_tokens=8192, engine="vllm")
    timed("serving profile, Mixtral 8x7B AWQ on A100 80GB (vLLM)",
          lambda: serving_profile(catalog.models["mixtral-8x7b"], awq, hardware, vllm, 1000, 200),
          repeats=50)
    setup = Setup(gpu_id="rtx-4090", model_id="mixtral-8x7b", quant_id="Q4_K_M")
    timed("assess() — what one keypress costs: estimate, every quant row, advice, plans, serving",
          lambda: assess(setup, catalog), repeats=50)


if __name__ == "__main__":
    main()
