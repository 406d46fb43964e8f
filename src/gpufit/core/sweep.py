"""Many setups at once: fit verdict, memory and decode speed for every GPU × model × quant.

A sweep shares the GPU-independent work (weights, KV cache, buffers, bytes and operations per
token) across GPUs and skips what a ranking does not need (prefill, max context, advice), using
the same functions as a full estimate, so a sweep row and an estimate never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gpufit.core.estimate import (
    Verdict,
    available_bytes,
    gpu_weights_bytes,
    tight_margin_bytes,
    verdict_for,
)
from gpufit.core.memory import (
    activation_bytes,
    kv_cache_bytes,
    kv_replication,
    overhead_bytes,
    vision_bytes,
)
from gpufit.core.specs import GpuSpec, Hardware, ModelSpec, QuantSpec, Workload
from gpufit.core.speed import decode_step_seconds, workload_terms
from gpufit.core.tensors import weight_breakdown


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One setup's fit and decode speed."""

    gpu: GpuSpec
    model: ModelSpec
    quant: QuantSpec
    total_bytes: float
    headroom_bytes: float
    verdict: Verdict
    decode_tokens_per_s: float


def sweep(gpus: Iterable[GpuSpec], models: Iterable[ModelSpec], quants: Iterable[QuantSpec],
          workload: Workload, count: int = 1) -> list[SweepRow]:
    """Every combination, GPU-independent terms computed once per model × quant."""
    setups = [Hardware(gpu, count=count) for gpu in gpus]
    quant_list = list(quants)
    rows: list[SweepRow] = []
    if not setups:
        return rows
    # What depends on the hardware alone, once per setup: overhead, usable memory, tight margin.
    per_setup = [(hardware, overhead_bytes(hardware, workload), available_bytes(hardware, workload),
                  tight_margin_bytes(hardware)) for hardware in setups]
    for model in models:
        # Buffers depend on the model, the workload and the GPU count only (same for all setups).
        kv_and_buffers = (kv_cache_bytes(model, workload)
                          * kv_replication(model, workload.engine, count)
                          + activation_bytes(model, setups[0], workload)
                          + vision_bytes(model, workload))
        for quant in quant_list:
            weights = weight_breakdown(model, quant)
            terms = workload_terms(model, quant, workload, weights)
            base = gpu_weights_bytes(weights, workload) + kv_and_buffers
            for hardware, overhead, available, margin in per_setup:
                total = base + overhead
                headroom = available - total
                step_s, _bound = decode_step_seconds(model, quant, hardware, workload, terms)
                rows.append(SweepRow(hardware.gpu, model, quant, total, headroom,
                                     verdict_for(headroom, hardware, margin), 1 / step_s))
    return rows
