"""Estimator speed: one estimate's median latency and a sweep over the whole catalog.

Run: python benchmarks/speed.py  (targets: <= 100 µs per estimate, whole-catalog sweep <= 1 s)
"""

from __future__ import annotations

import statistics
import time

from gpufit.core.catalog import load_catalog
from gpufit.core.estimate import estimate
from gpufit.core.specs import Hardware, Workload
from gpufit.core.sweep import sweep


def main() -> None:
    catalog = load_catalog()
    start = time.perf_counter()
    rows = sweep(catalog.gpus.values(), catalog.models.values(), catalog.quants.values(),
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
    for gpu in catalog.gpus.values():
        setup = Hardware(gpu)
        for model in catalog.models.values():
            for quant in catalog.quants.values():
                estimate(model, quant, setup, workload)
                count += 1
    elapsed = time.perf_counter() - start
    print(f"full estimates for every combination: {count:,} (GPUs {len(catalog.gpus)} × "
          f"models {len(catalog.models)} × quants {len(catalog.quants)}) in {elapsed:.3f} s "
          f"= {elapsed / count * 1e6:.1f} µs each")

    start = time.perf_counter()
    rows = sweep(catalog.gpus.values(), catalog.models.values(), catalog.quants.values(), workload)
    elapsed = time.perf_counter() - start
    print(f"sweep, warm: {len(rows):,} GPU × model × quant rows in {elapsed:.3f} s "
          f"= {elapsed / len(rows) * 1e6:.1f} µs each")


if __name__ == "__main__":
    main()
