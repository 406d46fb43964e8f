"""CPU offload plans for llama.cpp: what stays in system RAM, what that costs in speed, which flags.

Owns the two ways llama.cpp runs a model that does not fit in GPU memory:

- **layers** (`-ngl N`): the first layers stay in RAM and run on the CPU, with their KV cache;
- **experts** (`-ngl 999 --n-cpu-moe K`, MoE models only): every layer is on the GPU except the
  routed experts of the first K layers, which stay in RAM and run on the CPU.

For each mode it finds the placement that needs the least RAM while leaving the GPU(s) the
same safety margin a "fits" verdict has, sizes the RAM it needs, and estimates decode speed
with the GPU and RAM parts in series. Host RAM defaults (size unknown, bandwidth per platform)
live here too; reading the machine's RAM is `gpufit.detect.host`. Formulas, assumptions and
sources: docs/estimation.md, "CPU offload".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from gpufit.core.calibration import CPU_GPU_SWITCH_S, RAM_BANDWIDTH_EFFICIENCY
from gpufit.core.engines import engine_profile
from gpufit.core.estimate import Estimate, verdict_for
from gpufit.core.memory import layer_kv_bytes
from gpufit.core.run_hints import LLAMA_CPP_ALL_LAYERS, llama_cpp_workload_flags
from gpufit.core.specs import GpuSpec, ModelSpec
from gpufit.core.speed import decode_step_seconds, expert_fraction, workload_terms
from gpufit.core.tensors import layer_tensor_bytes

# An offloaded plan is "slow" below half the speed the model would have on GPUs alone, or
# below 5 tok/s: about the speed people read at (238 words/min silent reading, Brysbaert 2019,
# ~4 words/s, ~5 tokens/s at ~1.3 tokens per English word).
SLOW_SHARE_OF_GPU_ONLY = 0.5
SLOW_TOKENS_PER_S = 5.0
def ddr_peak_gbps(channels: int, megatransfers_per_s: float) -> float:
    """Peak bandwidth of `channels` 64-bit DRAM channels in GB/s: channels × MT/s × 8 bytes."""
    return channels * megatransfers_per_s * 8 / 1000


# Typical host memory behind each catalog GPU family (label, peak GB/s). Peaks follow from the
# JEDEC transfer rate: a 64-bit channel (one DDR5 DIMM = two 32-bit sub-channels) moves 8 bytes
# per transfer. See docs/estimation.md for the platforms these stand for.
_SERVER = ("a server socket, 8-channel DDR5-4800", ddr_peak_gbps(8, 4800))
_FAMILY_PLATFORMS: dict[str, tuple[str, float]] = {
    "Data centre": _SERVER,
    "MIG slice": _SERVER,
    "Workstation": ("a workstation, 4-channel DDR5-4800", ddr_peak_gbps(4, 4800)),
    "Consumer": ("a desktop, dual-channel DDR5-5600", ddr_peak_gbps(2, 5600)),
    "Laptop": ("a laptop, dual-channel DDR5-5200", ddr_peak_gbps(2, 5200)),
}
_DESKTOP = _FAMILY_PLATFORMS["Consumer"]
# Grace Hopper / Grace Blackwell: the CPU side is Grace with LPDDR5X, "up to 512 GB/s" (NVIDIA
# GH200 and GB200 NVL72 datasheets), reached by the GPU over NVLink-C2C.
_GRACE_GPU_IDS = ("gh200", "gb200")
_GRACE = ("a Grace CPU, LPDDR5X", 512.0)


@dataclass(frozen=True, slots=True)
class HostMemory:
    """System RAM the CPU side of an offload may use."""

    ram_bytes: int | None
    """Installed (or entered) RAM in bytes; None when unknown."""
    ram_bandwidth_gbps: float
    """Peak RAM bandwidth in GB/s (10^9 B/s); the achieved share is RAM_BANDWIDTH_EFFICIENCY."""
    bandwidth_source: str
    """Where the bandwidth came from: "entered" or "default for <platform>"."""


def is_unified_memory(gpu: GpuSpec) -> bool:
    """Whether the GPU already runs from system memory (Apple Silicon), so offload means nothing."""
    return gpu.vendor == "apple" or gpu.gpu_usable_fraction is not None


def default_host(gpu: GpuSpec, ram_bytes: int | None = None,
                 ram_bandwidth_gbps: float | None = None) -> HostMemory:
    """The host a GPU of this kind usually sits in, unless RAM size or bandwidth is given.

    Unified-memory parts get their own memory bandwidth: there is no separate RAM to offload to.
    """
    if ram_bytes is not None and ram_bytes < 0:
        raise ValueError(f"ram_bytes must not be negative, got {ram_bytes}")
    if ram_bandwidth_gbps is not None:
        if ram_bandwidth_gbps <= 0:
            raise ValueError(f"ram_bandwidth_gbps must be positive, got {ram_bandwidth_gbps}")
        return HostMemory(ram_bytes, float(ram_bandwidth_gbps), "entered")
    if is_unified_memory(gpu):
        return HostMemory(ram_bytes, gpu.bandwidth_gbps,
                          f"default for {gpu.family} (unified memory: no offload)")
    if gpu.id.startswith(_GRACE_GPU_IDS):
        label, peak_gbps = _GRACE
    else:
        label, peak_gbps = _FAMILY_PLATFORMS.get(gpu.family, _DESKTOP)
    return HostMemory(ram_bytes, peak_gbps, f"default for {label}")


@dataclass(frozen=True, slots=True)
class OffloadPlan:
    """One way to run a model that does not fit: where its weights live, what it costs, the flags."""

    mode: str
    """"layers" (-ngl) or "experts" (--n-cpu-moe)."""
    layers_total: int
    """Repeating (transformer) layers of the model."""
    gpu_layers: int
    """Repeating layers whose weights are on the GPU(s) (experts mode: all of them)."""
    cpu_moe_layers: int
    """MoE layers whose routed experts stay in RAM (experts mode), else 0."""
    gpu_bytes: int
    """GPU memory the plan needs, all GPUs together: weights, KV, buffers, overhead."""
    host_bytes: int
    """RAM the plan needs: weights kept on the CPU (embedding included) and CPU layers' KV."""
    ram_fits: bool | None
    """Whether host_bytes fits in the host's RAM; None when the RAM size is unknown."""
    decode_tokens_per_s: float
    """Decode speed per sequence with the GPU and RAM parts in series."""
    gpu_only_decode_tokens_per_s: float
    """The same model's decode speed if it fitted entirely (the estimate's own figure)."""
    slow: bool
    """Below SLOW_SHARE_OF_GPU_ONLY of the GPU-only speed, or below SLOW_TOKENS_PER_S."""
    llama_cpp_flags: str
    """Exact llama.cpp flags, e.g. "-ngl 28 -c 8192" or "-ngl 999 --n-cpu-moe 12 -c 8192"."""
    ngl: int
    """The value passed to -ngl (current llama.cpp counts the output head in it)."""
    n_cpu_moe: int
    """The value passed to --n-cpu-moe (a layer index bound, so dense layers count), else 0."""
    host_read_bytes_per_token: int
    """Bytes one decode step reads from RAM (weights and KV cache kept on the CPU)."""

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of a plan (in `report`'s `offload` list and its advice)."""
        return {"mode": self.mode, "layers_on_gpu": self.gpu_layers,
                "layers_total": self.layers_total, "cpu_moe_layers": self.cpu_moe_layers,
                "gpu_bytes": self.gpu_bytes, "host_bytes": self.host_bytes,
                "ram_fits": self.ram_fits, "decode_tokens_per_s": round(self.decode_tokens_per_s, 2),
                "slow": self.slow, "llama_cpp_flags": self.llama_cpp_flags}


@dataclass(frozen=True, slots=True)
class _LayerSizes:
    """Per-layer sizes of one estimate, in bytes (floats where weights are fractional)."""

    layer_bytes: tuple[int, ...]
    expert_bytes: tuple[float, ...]
    largest_tensor_bytes: tuple[float, ...]
    largest_expert_tensor_bytes: tuple[float, ...]
    kv_bytes: tuple[float, ...]
    kv_read_bytes: tuple[float, ...]
    head_bytes: int
    head_largest_tensor_bytes: float


@dataclass(frozen=True, slots=True)
class _Placement:
    """Which weights live where: the first `cpu_layers` layers on the CPU (layers mode), the
    routed experts of `cpu_expert_layers` on the CPU (experts mode), the head on the GPU or not."""

    mode: str
    cpu_layers: range
    head_on_gpu: bool
    cpu_expert_layers: range
    ngl: int
    n_cpu_moe: int


def ngl_placement(ngl: int, layers: int) -> tuple[int, bool]:
    """(repeating layers on the GPU, output head on the GPU) for `-ngl ngl` in current llama.cpp.

    llama.cpp numbers the repeating layers 0..n-1 and the output layer n, and puts the last
    `ngl` of those n + 1 slots on the GPU (`i_gpu_start = max(n + 1 - ngl, 0)`,
    src/llama-model.cpp; output head first since ggml-org/llama.cpp#18148, December 2025).
    """
    if ngl < 0:
        raise ValueError(f"ngl must not be negative, got {ngl}")
    slots = min(ngl, layers + 1)
    return max(0, slots - 1), slots >= 1


def moe_layer_count(model: ModelSpec) -> int:
    """Layers that hold routed experts (all but the leading dense ones); 0 for dense models."""
    return model.layers - model.dense_layers if model.is_moe else 0


def plan_for_ngl(result: Estimate, host: HostMemory, ngl: int) -> OffloadPlan:
    """The layers-mode plan for `-ngl ngl`, whether or not it fits (see gpu_bytes)."""
    return _plan(result, host, _layers_placement(result.model, ngl), _layer_sizes(result))


def plan_for_cpu_moe(result: Estimate, host: HostMemory, cpu_moe_layers: int) -> OffloadPlan:
    """The experts-mode plan with the routed experts of the first `cpu_moe_layers` MoE layers
    in RAM, whether or not it fits. Only for MoE models."""
    model = result.model
    if not model.is_moe:
        raise ValueError(f"{model.name} has no experts to keep in RAM")
    if not 0 <= cpu_moe_layers <= moe_layer_count(model):
        raise ValueError(f"cpu_moe_layers must be in 0..{moe_layer_count(model)}, "
                         f"got {cpu_moe_layers}")
    return _plan(result, host, _experts_placement(model, cpu_moe_layers), _layer_sizes(result))


def plan_offload(result: Estimate, host: HostMemory) -> tuple[OffloadPlan, ...]:
    """Offload plans for an estimate that does not fit, fastest first; () when none applies.

    None applies when the model already fits (or is tight), the GPU runs from unified memory,
    the engine is not llama.cpp, or the GPU cannot even hold the compute buffers and runtime.
    Each plan leaves the GPUs the headroom a "fits" verdict needs (verdict_for).
    """
    model, hardware = result.model, result.hardware
    if result.verdict != "does-not-fit" or is_unified_memory(hardware.gpu) \
            or not engine_profile(result.workload.engine).cpu_offload:
        return ()
    sizes = _layer_sizes(result)
    plans: list[OffloadPlan] = []
    # GPU bytes never fall as -ngl grows (a layer moved to the GPU adds at least what it takes
    # off the staging copy), so the largest fitting -ngl is the first one from the top.
    for ngl in range(model.layers + 1, -1, -1):
        placement = _layers_placement(model, ngl)
        if _fits(result, _gpu_bytes(result, sizes, placement)):
            plans.append(_plan(result, host, placement, sizes))
            break
    if model.is_moe:
        # GPU bytes never rise as K grows, so the smallest fitting K is the first from the bottom.
        for cpu_moe_layers in range(1, moe_layer_count(model) + 1):
            placement = _experts_placement(model, cpu_moe_layers)
            if _fits(result, _gpu_bytes(result, sizes, placement)):
                plans.append(_plan(result, host, placement, sizes))
                break
    return tuple(sorted(plans, key=lambda plan: -plan.decode_tokens_per_s))


def _layers_placement(model: ModelSpec, ngl: int) -> _Placement:
    gpu_repeating, head_on_gpu = ngl_placement(ngl, model.layers)
    return _Placement("layers", range(model.layers - gpu_repeating), head_on_gpu, range(0), ngl, 0)


def _experts_placement(model: ModelSpec, cpu_moe_layers: int) -> _Placement:
    # --n-cpu-moe K overrides the expert tensors of layers 0..K-1 by index (common/arg.cpp), and
    # the leading dense layers have none, so K counts them too.
    first_moe = model.dense_layers
    n_cpu_moe = first_moe + cpu_moe_layers if cpu_moe_layers else 0
    return _Placement("experts", range(0), True, range(first_moe, first_moe + cpu_moe_layers),
                      LLAMA_CPP_ALL_LAYERS, n_cpu_moe)


def _fits(result: Estimate, gpu_bytes: float) -> bool:
    # The same margin a full-GPU setup needs to be called "fits" (max(5 % of capacity, 512 MiB
    # per GPU)); comparable to the 1024 MiB per device llama.cpp's own --fit leaves free.
    return verdict_for(result.memory.available_bytes - gpu_bytes, result.hardware) == "fits"


def _cpu_bytes(sizes: _LayerSizes, placement: _Placement) -> tuple[float, float]:
    """(weights, KV cache) a placement keeps in RAM, the token embedding aside."""
    weights = sum(sizes.layer_bytes[layer] for layer in placement.cpu_layers) \
        + sum(sizes.expert_bytes[layer] for layer in placement.cpu_expert_layers) \
        + (0 if placement.head_on_gpu else sizes.head_bytes)
    return weights, sum(sizes.kv_bytes[layer] for layer in placement.cpu_layers)


def _gpu_bytes(result: Estimate, sizes: _LayerSizes, placement: _Placement) -> float:
    """GPU memory of a placement, all GPUs together."""
    memory = result.memory
    cpu_weights, cpu_kv = _cpu_bytes(sizes, placement)
    return (memory.gpu_weights_bytes - cpu_weights + sum(sizes.kv_bytes) - cpu_kv
            + memory.activations_bytes + memory.overhead_bytes + memory.vision_bytes
            + _staging_bytes(sizes, placement))


def _staging_bytes(sizes: _LayerSizes, placement: _Placement) -> float:
    """Room in the GPU compute buffer for one weight tensor kept in RAM.

    For prompt batches of 32 tokens or more llama.cpp runs even the CPU-resident layers on the
    GPU, copying their weights into the compute buffer first (ggml-org/llama.cpp#6083), so the
    buffer grows by about the largest such tensor (gpustack/gguf-parser-go#45 measured +108 MiB
    on OLMoE, one expert tensor). The token embedding is only looked up, never copied.
    """
    candidates = [sizes.largest_tensor_bytes[layer] for layer in placement.cpu_layers]
    candidates += [sizes.largest_expert_tensor_bytes[layer] for layer in placement.cpu_expert_layers]
    if not placement.head_on_gpu:
        candidates.append(sizes.head_largest_tensor_bytes)
    return max(candidates, default=0.0)


def _plan(result: Estimate, host: HostMemory, placement: _Placement,
          sizes: _LayerSizes) -> OffloadPlan:
    model, weights = result.model, result.weights
    cpu_weight_bytes, cpu_kv_bytes = _cpu_bytes(sizes, placement)
    host_bytes = round(result.memory.host_weights_bytes + cpu_weight_bytes + cpu_kv_bytes)

    # Bytes one decode step reads from RAM: CPU layers whole except unused experts, CPU experts
    # by the share the batch routes to, the head if it is on the CPU, CPU layers' KV cache.
    fraction = expert_fraction(model, result.workload.sequences)
    read_weight_bytes = sum(sizes.layer_bytes[layer] - sizes.expert_bytes[layer] * (1 - fraction)
                            for layer in placement.cpu_layers)
    read_weight_bytes += sum(sizes.expert_bytes[layer] * fraction
                             for layer in placement.cpu_expert_layers)
    if not placement.head_on_gpu:
        read_weight_bytes += weights.head_matrix_bytes
    read_kv_bytes = sum(sizes.kv_read_bytes[layer] for layer in placement.cpu_layers)
    switches = 2 * len(placement.cpu_expert_layers)
    decode = _decode_tokens_per_s(result, host, read_weight_bytes, read_kv_bytes, switches)

    gpu_only = result.speed.decode_tokens_per_s
    ram_fits = None if host.ram_bytes is None else host_bytes <= host.ram_bytes
    return OffloadPlan(
        mode=placement.mode,
        layers_total=model.layers,
        gpu_layers=model.layers - len(placement.cpu_layers),
        cpu_moe_layers=len(placement.cpu_expert_layers),
        gpu_bytes=round(_gpu_bytes(result, sizes, placement)),
        host_bytes=host_bytes,
        ram_fits=ram_fits,
        decode_tokens_per_s=decode,
        gpu_only_decode_tokens_per_s=gpu_only,
        slow=decode < SLOW_SHARE_OF_GPU_ONLY * gpu_only or decode < SLOW_TOKENS_PER_S,
        llama_cpp_flags=_flags(result, placement),
        ngl=placement.ngl,
        n_cpu_moe=placement.n_cpu_moe,
        host_read_bytes_per_token=round(read_weight_bytes + read_kv_bytes),
    )


def _decode_tokens_per_s(result: Estimate, host: HostMemory, cpu_weight_read_bytes: float,
                         cpu_kv_read_bytes: float, switches: int) -> float:
    """Decode with the GPU part (speed.py's roofline on what stays there) and the RAM part
    (bytes / achieved RAM bandwidth) in series, plus the GPU↔CPU hand-overs."""
    model, quant, hardware, workload = result.model, result.quant, result.hardware, result.workload
    terms = workload_terms(model, quant, workload, result.weights)
    gpu_share = 1.0
    if terms.decode_weight_bytes > 0:
        gpu_share = max(0.0, 1 - cpu_weight_read_bytes / terms.decode_weight_bytes)
    # What the GPUs still read and compute: the estimate's own terms, minus the CPU's part
    # (dequantisation work and operations scale with the weights that stay).
    gpu_terms = replace(
        terms,
        decode_weight_bytes=terms.decode_weight_bytes * gpu_share,
        decode_read_params=terms.decode_read_params * gpu_share,
        decode_kv_bytes=max(0.0, terms.decode_kv_bytes - cpu_kv_read_bytes),
        decode_ops=terms.decode_ops * gpu_share,
    )
    gpu_s, _bound = decode_step_seconds(model, quant, hardware, workload, gpu_terms)
    ram_bytes_per_s = host.ram_bandwidth_gbps * 1e9 * RAM_BANDWIDTH_EFFICIENCY
    cpu_s = (cpu_weight_read_bytes + cpu_kv_read_bytes) / ram_bytes_per_s
    return 1 / (gpu_s + cpu_s + switches * CPU_GPU_SWITCH_S)


def _flags(result: Estimate, placement: _Placement) -> str:
    """The llama.cpp flags that reproduce the plan and the estimate's workload."""
    flags = ["-ngl", str(placement.ngl)]
    if placement.n_cpu_moe:
        flags += ["--n-cpu-moe", str(placement.n_cpu_moe)]
    flags += llama_cpp_workload_flags(result.workload)
    return " ".join(flags)


def _layer_sizes(result: Estimate) -> _LayerSizes:
    """Per-layer sizes of an estimate: weights, experts, largest tensors, KV (held and read)."""
    model, quant, workload, weights = result.model, result.quant, result.workload, result.weights
    tensors = layer_tensor_bytes(model, quant)
    expert_bytes = tuple(sum(size for group, size in layer if group == "experts")
                         for layer in tensors)
    # A layer may hold no tensors (a file whose layer count runs past its checkpoint).
    largest = tuple(max((size for _group, size in layer), default=0.0) for layer in tensors)
    largest_expert = tuple(max((size for group, size in layer if group == "experts"), default=0.0)
                           for layer in tensors)
    kv_bytes = layer_kv_bytes(model, workload.engine, workload.kv_cache_dtype,
                              workload.context_tokens, workload.sequences)
    # Decode reads the KV cache at its mean fill (speed.workload_terms); split that total by
    # each layer's share at the same fill, so the CPU and GPU parts add up to it exactly.
    terms = workload_terms(model, quant, workload, weights)
    mean_fill = layer_kv_bytes(model, workload.engine, workload.kv_cache_dtype,
                               int(max(1.0, workload.context_tokens / 2)), workload.sequences)
    total_fill = sum(mean_fill)
    kv_read = tuple(terms.decode_kv_bytes * part / total_fill if total_fill else 0.0
                    for part in mean_fill)
    return _LayerSizes(
        layer_bytes=weights.layer_bytes,
        expert_bytes=expert_bytes,
        largest_tensor_bytes=largest,
        largest_expert_tensor_bytes=largest_expert,
        kv_bytes=kv_bytes,
        kv_read_bytes=kv_read,
        head_bytes=weights.head_bytes + result.memory.head_copy_bytes,
        head_largest_tensor_bytes=float(max(weights.bytes_by_group["output"],
                                            result.memory.head_copy_bytes)),
    )
