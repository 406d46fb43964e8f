"""One estimate: memory breakdown, available memory, verdict, speed, max context and sequences."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

from gpufit.core import calibration as cal
from gpufit.core.engines import engine_profile
from gpufit.core.memory import (
    activation_bytes,
    kv_cache_bytes,
    kv_replication,
    overhead_bytes,
    vision_bytes,
)
from gpufit.core.specs import Hardware, ModelSpec, QuantSpec, Workload
from gpufit.core.speed import SpeedEstimate, estimate_speed
from gpufit.core.tensors import WeightBreakdown, exact_file_weights, weight_breakdown

Verdict = Literal["fits", "tight", "does-not-fit"]
"""Whether the setup's memory fits: with margin, with less than the margin, or not at all."""
VERDICTS: tuple[Verdict, ...] = ("fits", "tight", "does-not-fit")


@dataclass(frozen=True, slots=True)
class MemoryBreakdown:
    """Where the bytes go, for all GPUs together."""

    weights_bytes: int
    naive_weights_bytes: int
    host_weights_bytes: int
    kv_cache_bytes: int
    activations_bytes: int
    overhead_bytes: int
    total_bytes: int
    available_bytes: int
    headroom_bytes: int
    head_copy_bytes: int = 0
    """A second copy of a tied embedding that llama.cpp gives the output layer (on the GPU)."""
    vision_bytes: int = 0
    """A multimodal model's vision encoder + projector, when the setup includes it."""

    @property
    def gpu_weights_bytes(self) -> int:
        """Weights that live in GPU memory (llama.cpp keeps the token embedding in host RAM,
        and with tied embeddings loads a copy of it as the output layer)."""
        return self.weights_bytes - self.host_weights_bytes + self.head_copy_bytes


@dataclass(frozen=True)
class Estimate:
    """Everything gpufit knows about running `model` at `quant` on `hardware` for `workload`.

    `max_context_tokens` and `max_sequences` are searched for only when first read, so sweeps
    that need just the verdict stay cheap.
    """

    model: ModelSpec
    quant: QuantSpec
    hardware: Hardware
    workload: Workload
    weights: WeightBreakdown
    memory: MemoryBreakdown
    verdict: Verdict
    speed: SpeedEstimate

    @cached_property
    def max_context_tokens(self) -> int:
        """Longest context per sequence that fits (up to the model's maximum); 0 if none."""
        return max_context_tokens(self.model, self.hardware, self.workload,
                                  self.memory.gpu_weights_bytes, self.memory.available_bytes)

    @cached_property
    def max_sequences(self) -> int:
        """Most concurrent sequences of the chosen context that fit; 0 if not one."""
        return max_sequences(self.model, self.hardware, self.workload,
                             self.memory.gpu_weights_bytes, self.memory.available_bytes)

    @cached_property
    def notes(self) -> tuple[str, ...]:
        """Caveats about this combination (engine support, native formats, context limits)."""
        return _notes(self.model, self.quant, self.hardware, self.workload)


def available_bytes(hardware: Hardware, workload: Workload) -> int:
    """Memory the engine may use: all of it, or the workload's gpu_memory_utilization share
    for an engine that budgets one (vLLM)."""
    capacity = hardware.capacity_bytes
    if engine_profile(workload.engine).budgets_memory_share:
        return int(capacity * workload.gpu_memory_utilization)
    return capacity


def _total_bytes(model: ModelSpec, hardware: Hardware, workload: Workload,
                 gpu_weights: int) -> float:
    return (gpu_weights + kv_cache_bytes(model, workload)
            * kv_replication(model, workload.engine, hardware.count)
            + activation_bytes(model, hardware, workload) + overhead_bytes(hardware, workload)
            + vision_bytes(model, workload))


def host_weights_bytes(weights: WeightBreakdown, workload: Workload) -> int:
    """Weights kept in system RAM by the engine."""
    # llama.cpp looks tokens up in the embedding table on the CPU, so it never uploads it.
    on_host = engine_profile(workload.engine).token_embedding_on_host
    return weights.bytes_by_group["embedding"] if on_host else 0


def head_copy_bytes(weights: WeightBreakdown, workload: Workload) -> int:
    """Bytes llama.cpp loads twice for a tied embedding: the table stays on the CPU for token
    lookups and the output layer gets its own copy (`TENSOR_DUPLICATED` in llama-model.cpp)."""
    if engine_profile(workload.engine).tied_head_copy and not weights.bytes_by_group["output"]:
        return weights.bytes_by_group["embedding"]
    return 0


def gpu_weights_bytes(weights: WeightBreakdown, workload: Workload) -> int:
    """Weights the engine puts in GPU memory (what estimates and sweeps both count)."""
    return weights.total_bytes - host_weights_bytes(weights, workload) \
        + head_copy_bytes(weights, workload)


def tight_margin_bytes(hardware: Hardware) -> float:
    """Headroom below which a fit is only "tight": 5 % of capacity, at least 512 MiB per GPU."""
    return max(cal.TIGHT_FRACTION * hardware.capacity_bytes,
               cal.TIGHT_MIN_BYTES_PER_GPU * hardware.count)


def verdict_for(headroom_bytes: float, hardware: Hardware,
                margin_bytes: float | None = None) -> Verdict:
    """fits / tight / does-not-fit from the headroom and a per-GPU safety margin (which a sweep
    passes in, computed once per hardware)."""
    if headroom_bytes < 0:
        return "does-not-fit"
    margin = tight_margin_bytes(hardware) if margin_bytes is None else margin_bytes
    return "tight" if headroom_bytes < margin else "fits"


def estimate(model: ModelSpec, quant: QuantSpec, hardware: Hardware, workload: Workload) -> Estimate:
    """Estimate memory, fit and speed. Pure and fast (microseconds once a model/quant is cached)."""
    weights = weight_breakdown(model, quant)
    host = host_weights_bytes(weights, workload)
    head_copy = head_copy_bytes(weights, workload)
    gpu_weights = gpu_weights_bytes(weights, workload)
    kv = kv_cache_bytes(model, workload) * kv_replication(model, workload.engine, hardware.count)
    activations = activation_bytes(model, hardware, workload)
    overhead = overhead_bytes(hardware, workload)
    vision = round(vision_bytes(model, workload))
    total = gpu_weights + kv + activations + overhead + vision
    available = available_bytes(hardware, workload)
    headroom = available - total
    memory = MemoryBreakdown(
        weights_bytes=weights.total_bytes,
        naive_weights_bytes=round(weights.total_params * quant.nominal_bits / 8),
        host_weights_bytes=host,
        kv_cache_bytes=round(kv),
        activations_bytes=round(activations),
        overhead_bytes=round(overhead),
        total_bytes=round(total),
        available_bytes=available,
        headroom_bytes=round(headroom),
        head_copy_bytes=head_copy,
        vision_bytes=vision,
    )
    return Estimate(
        model=model,
        quant=quant,
        hardware=hardware,
        workload=workload,
        weights=weights,
        memory=memory,
        verdict=verdict_for(headroom, hardware),
        speed=estimate_speed(model, quant, hardware, workload, weights),
    )


def max_context_tokens(model: ModelSpec, hardware: Hardware, workload: Workload,
                       gpu_weights: int, available: int) -> int:
    """Longest context per sequence (up to the model's maximum) that fits; 0 if none does."""
    return _largest_fitting(
        lambda context: _total_bytes(model, hardware, replace(workload, context_tokens=context),
                                     gpu_weights) <= available,
        model.max_context_tokens)


def max_sequences(model: ModelSpec, hardware: Hardware, workload: Workload,
                  gpu_weights: int, available: int, limit: int = 4096) -> int:
    """Most concurrent sequences of the chosen context that fit; 0 if not even one does."""
    return _largest_fitting(
        lambda count: _total_bytes(model, hardware, replace(workload, sequences=count),
                                   gpu_weights) <= available,
        limit)


def _largest_fitting(fits: Callable[[int], bool], limit: int) -> int:
    """Largest n in 1..limit with fits(n), by bisection (memory grows with n); 0 if none."""
    if not fits(1):
        return 0
    if fits(limit):
        return limit
    low, high = 1, limit  # fits(low), not fits(high)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low


def _notes(model: ModelSpec, quant: QuantSpec, hardware: Hardware, workload: Workload) -> tuple[str, ...]:
    notes: list[str] = []
    if workload.engine not in quant.engines:
        notes.append(f"{quant.id} is not a {workload.engine} format; "
                     f"it runs on {', '.join(quant.engines)}.")
    if quant.native_architectures and hardware.gpu.architecture not in quant.native_architectures:
        notes.append(f"{hardware.gpu.architecture} has no native {quant.id} support; engines "
                     "fall back to slower kernels or refuse it.")
    if workload.context_tokens > model.max_context_tokens:
        notes.append(f"{model.name} was trained for {model.max_context_tokens:,} tokens of "
                     f"context; {workload.context_tokens:,} is beyond it.")
    file = model.file_weights
    if file is not None and exact_file_weights(model, quant) is None:
        notes.append(f"The file is {file.quant_id}; weights at {quant.id} are estimated from the "
                     "architecture, not read from it.")
    profile = engine_profile(workload.engine)
    if model.sliding_window_tokens and not profile.honours_sliding_window(model):
        notes.append(f"{profile.label} does not apply this model's sliding window: "
                     "every layer caches the full context.")
    stored = profile.stored_cache_type(workload.kv_cache_dtype)
    if stored != workload.kv_cache_dtype:
        notes.append(f"{profile.label} has no {workload.kv_cache_dtype} KV cache; it stores "
                     f"{stored}, which the estimate counts.")
    return tuple(notes)
