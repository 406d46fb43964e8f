"""How a model spreads over several identical GPUs: what each GPU holds, and how many are needed.

Two ways to split, one per engine:

- **layer split** (llama.cpp's default `--split-mode layer`): each GPU holds a contiguous run
  of layers with their KV cache, its own compute buffer and runtime; the output head sits on the
  last GPU. llama.cpp's own default gives each GPU an equal share of layers (proportional to
  free memory, equal for identical cards), and that is the plan when every GPU holds its share;
  when the head makes the last GPU overflow, the plan is the split that balances bytes, given
  as `--tensor-split`.
- **tensor parallel** (vLLM): every weight matrix, the KV heads and the activations are cut in
  T, the largest size that divides the attention heads; what is left of the GPU count becomes
  P pipeline stages (T × P = N). KV heads are replicated when T exceeds the model's KV heads
  (vLLM's rule; the estimate's KV cache already counts the copies).

See docs/estimation.md, "Multi-GPU".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gpufit.core.engines import Parallelism, engine_profile
from gpufit.core.estimate import Estimate, estimate
from gpufit.core.memory import kv_replication, layer_kv_bytes, llama_cpp_compute_bytes
from gpufit.core.setup import MAX_GPUS
from gpufit.core.specs import (
    GpuSpec,
    Hardware,
    ModelSpec,
    QuantSpec,
    Workload,
)

SINGLE_GPU = Parallelism(tensor=1, pipeline=1)


@dataclass(frozen=True, slots=True)
class GpuShare:
    """What one GPU of a split holds, in bytes."""

    index: int
    first_layer: int
    last_layer: int  # exclusive; equal to first_layer when the GPU holds no layer
    weights_bytes: int
    kv_cache_bytes: int
    buffers_bytes: int
    total_bytes: int
    available_bytes: int

    @property
    def layer_count(self) -> int:
        """Repeating layers on this GPU (all of them, in a tensor split)."""
        return self.last_layer - self.first_layer

    @property
    def headroom_bytes(self) -> int:
        """Memory this GPU has left (negative when it overflows)."""
        return self.available_bytes - self.total_bytes


@dataclass(frozen=True, slots=True)
class SplitPlan:
    """Per-GPU memory of a multi-GPU setup, and the split flags that produce it."""

    mode: Literal["single", "layer", "tensor"]
    shares: tuple[GpuShare, ...]
    layers_per_gpu: tuple[int, ...]  # for llama.cpp's --tensor-split
    default_overflows: bool  # llama.cpp's equal layer split would overflow a GPU that this one fits
    # (a layer plan is llama.cpp's equal split when that fits, else the balanced one)
    notes: tuple[str, ...]
    parallel: Parallelism = SINGLE_GPU
    """The engine's parallel sizes (tensor × pipeline); a layer split is all pipeline."""

    @property
    def fits(self) -> bool:
        """Every GPU holds its share."""
        return all(share.headroom_bytes >= 0 for share in self.shares)

    @property
    def tensor_split(self) -> str:
        """llama.cpp's `--tensor-split` value for this plan (layer counts as proportions)."""
        return ",".join(str(count) for count in self.layers_per_gpu)


def split_plan(result: Estimate) -> SplitPlan:
    """Per-GPU shares of `result`'s setup: tensor parallel for vLLM, a layer split otherwise."""
    hardware, workload = result.hardware, result.workload
    per_gpu_available = result.memory.available_bytes // hardware.count
    if hardware.count == 1:
        share = GpuShare(0, 0, result.model.layers, result.memory.gpu_weights_bytes,
                         result.memory.kv_cache_bytes,
                         result.memory.activations_bytes + result.memory.overhead_bytes
                         + result.memory.vision_bytes,
                         result.memory.total_bytes, per_gpu_available)
        return SplitPlan("single", (share,), (result.model.layers,), False, ())
    profile = engine_profile(workload.engine)
    parallel = profile.parallelism(result.model, hardware.count)
    if profile.multi_gpu == "tensor":
        return _tensor_plan(result, per_gpu_available, parallel)
    return _layer_plan(result, per_gpu_available, parallel)


def _tensor_plan(result: Estimate, per_gpu_available: int, parallel: Parallelism) -> SplitPlan:
    model, count = result.model, result.hardware.count
    memory = result.memory
    notes: list[str] = []
    replication = kv_replication(model, result.workload.engine, count)
    if replication > 1:
        why = ("the MLA latent is not split by heads" if model.uses_mla
               else f"{parallel.tensor} GPUs exceed the model's {model.kv_heads} KV heads")
        notes.append(f"{why}: vLLM replicates the KV cache {replication}× (counted above).")
    if parallel.pipeline > 1:
        notes.append(f"{model.attention_heads} attention heads do not divide over {count} GPUs: "
                     f"tensor parallel over {parallel.tensor}, {parallel.pipeline} pipeline "
                     "stages (which do not speed up one stream).")
    weights = memory.gpu_weights_bytes / count
    kv = memory.kv_cache_bytes / count
    buffers = (memory.activations_bytes + memory.overhead_bytes + memory.vision_bytes) / count
    total = weights + kv + buffers
    shares = tuple(GpuShare(index, 0, model.layers, round(weights), round(kv), round(buffers),
                            round(total), per_gpu_available) for index in range(count))
    return SplitPlan("tensor", shares, (model.layers,) * count, False, tuple(notes), parallel)


def _layer_plan(result: Estimate, per_gpu_available: int, parallel: Parallelism) -> SplitPlan:
    model, workload, count = result.model, result.workload, result.hardware.count
    weights = result.weights
    layer_bytes = [weight + kv for weight, kv in
                   zip(weights.layer_bytes, layer_kv_bytes(
                       model, workload.engine, workload.kv_cache_dtype, workload.context_tokens,
                       workload.sequences), strict=True)]
    # The vision projector sits on one device in llama.cpp; spread here, it is small beside it.
    per_gpu_fixed = ((result.memory.overhead_bytes + result.memory.vision_bytes) / count
                     + llama_cpp_compute_bytes(model, workload))
    # Output head (a tied embedding's copy too) and final norm: they follow the last layer.
    head_bytes = weights.head_bytes + result.memory.head_copy_bytes
    even = _even_counts(model.layers, count)
    balanced = _balanced_counts(layer_bytes, count, head_bytes)
    even_shares = _shares(even, layer_bytes, result, per_gpu_fixed, head_bytes, per_gpu_available)
    shares = _shares(balanced, layer_bytes, result, per_gpu_fixed, head_bytes, per_gpu_available)
    if all(share.headroom_bytes >= 0 for share in even_shares):
        # What llama.cpp does with no flag, and what the run hint (no --tensor-split) runs.
        return SplitPlan("layer", tuple(even_shares), tuple(even), False, (), parallel)
    default_overflows = all(share.headroom_bytes >= 0 for share in shares)
    notes: tuple[str, ...] = ()
    if default_overflows:
        notes = (f"llama.cpp's default equal split overflows a GPU; "
                 f"--tensor-split {','.join(map(str, balanced))} balances it.",)
    return SplitPlan("layer", tuple(shares), tuple(balanced), default_overflows, notes, parallel)


def _even_counts(layers: int, count: int) -> list[int]:
    """llama.cpp's default for identical GPUs: layer i goes to GPU floor-ish(i × count / layers)."""
    counts = [0] * count
    for layer in range(layers):
        # upper_bound over the cumulative split [1/N, 2/N, …, 1] as llama.cpp computes it.
        position = layer / layers
        gpu = next(index for index in range(count) if position < (index + 1) / count)
        counts[gpu] += 1
    return counts


def _balanced_counts(layer_bytes: list[float], count: int, head_bytes: float) -> list[int]:
    """Contiguous layer counts that minimise the largest GPU's bytes (head on the last GPU)."""
    low, high = max(layer_bytes), sum(layer_bytes) + head_bytes
    best = _even_counts(len(layer_bytes), count)
    for _ in range(40):
        limit = (low + high) / 2
        counts = _fill(layer_bytes, count, head_bytes, limit)
        if counts is None:
            low = limit
        else:
            best, high = counts, limit
    return best


def _fill(layer_bytes: list[float], count: int, head_bytes: float, limit: float) -> list[int] | None:
    """Fill GPUs from the last (which carries the head) backwards; None if `limit` is too small."""
    counts = [0] * count
    gpu, used = count - 1, head_bytes
    if used > limit:
        return None
    for size in reversed(layer_bytes):
        while used + size > limit:
            gpu -= 1
            used = 0.0
            if gpu < 0:
                return None
        counts[gpu] += 1
        used += size
    return counts


def _shares(counts: list[int], layer_bytes: list[float], result: Estimate, fixed: float,
            head_bytes: float, available: int) -> list[GpuShare]:
    weights_per_layer = result.weights.layer_bytes
    kv_per_layer = [total - weight for total, weight in zip(layer_bytes, weights_per_layer,
                                                              strict=True)]
    shares: list[GpuShare] = []
    first = 0
    for index, layer_count in enumerate(counts):
        last = first + layer_count
        weights = sum(weights_per_layer[first:last]) + (head_bytes if index == len(counts) - 1 else 0)
        kv = sum(kv_per_layer[first:last])
        shares.append(GpuShare(index, first, last, round(weights), round(kv), round(fixed),
                               round(weights + kv + fixed), available))
        first = last
    return shares


def gpus_needed(model: ModelSpec, quant: QuantSpec, gpu: GpuSpec, workload: Workload,
                limit: int = MAX_GPUS, with_margin: bool = False) -> Estimate | None:
    """The estimate with the fewest `gpu`s (up to `limit`) that holds the model; None if none does.

    `with_margin` asks for a "fits" verdict, not a "tight" one."""
    accepted = ("fits",) if with_margin else ("fits", "tight")
    for count in range(1, limit + 1):
        trial = estimate(model, quant, Hardware(gpu, count=count), workload)
        if trial.verdict in accepted and (count == 1 or split_plan(trial).fits):
            return trial
    return None


def product_line(gpu: GpuSpec) -> str:
    """The id up to its first part with a digit: `a100-40gb-sxm` → `a100`, `rtx-4090` → `rtx-4090`."""
    parts: list[str] = []
    for part in gpu.id.split("-"):
        parts.append(part)
        if any(character.isdigit() for character in part):
            break
    return "-".join(parts)


def bigger_siblings(gpu: GpuSpec, gpus: Mapping[str, GpuSpec], limit: int = 2) -> list[GpuSpec]:
    """Larger-memory versions of `gpu` (same product line), one per size; else the next size up.

    For an A100 40GB that is the A100 80GB; for a part that has no bigger version, the smallest
    catalog GPU of the same vendor and family with more memory (an L40S for an L4)."""
    line = product_line(gpu)
    candidates = [other for other in gpus.values() if other.vendor == gpu.vendor
                  and other.memory_mib >= gpu.memory_mib * 1.25 and other.gpu_usable_fraction is None]
    same_line = [other for other in candidates if product_line(other) == line]
    if not same_line:
        same_line = [other for other in candidates if other.family == gpu.family]
        limit = 1
    by_size: dict[int, GpuSpec] = {}
    for other in same_line:
        current = by_size.get(other.memory_mib)
        # Of two parts with the same memory (PCIe and SXM), show the faster one.
        if current is None or other.bandwidth_gbps > current.bandwidth_gbps:
            by_size[other.memory_mib] = other
    return [by_size[size] for size in sorted(by_size)][:limit]
