"""Decode and prefill speed from bytes moved and operations done, over the GPU's peaks.

Decode is a roofline: one step streams the weights it needs (MoE: only the experts the batch
routes to) plus every sequence's KV cache, and does 2 operations per active parameter per
sequence; the slower of the two bounds wins, plus a fixed per-layer cost. Prefill is
compute-bound matmuls (2 × active params per token) plus attention's quadratic term.
Efficiencies come from gpufit.core.calibration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gpufit.core import calibration as cal
from gpufit.core.engines import Parallelism, engine_profile
from gpufit.core.memory import kv_cache_bytes, kv_shape
from gpufit.core.specs import GpuSpec, Hardware, ModelSpec, QuantSpec, Workload
from gpufit.core.tensors import WeightBreakdown


@dataclass(frozen=True, slots=True)
class SpeedEstimate:
    """Speeds for one setup; `bound` says which limit decides decode."""

    decode_tokens_per_s: float
    decode_low: float
    decode_high: float
    aggregate_decode_tokens_per_s: float
    prefill_tokens_per_s: float
    prefill_low: float
    prefill_high: float
    time_to_first_token_s: float
    bound: str


def expert_fraction(model: ModelSpec, batch: int) -> float:
    """Expected share of routed experts a batch touches (uniform routing, top-k per token)."""
    if not model.is_moe:
        return 0.0
    unused_share = 1 - model.experts_active / model.experts_total
    return 1 - unused_share**batch


def _attention_ops(model: ModelSpec, engine: str, query_tokens: int, context_tokens: float) -> float:
    """Q·K and scores·V operations for `query_tokens` tokens attending to `context_tokens`."""
    shape = kv_shape(model, engine)
    if model.uses_mla:
        width = model.attention_heads * ((model.qk_nope_head_dim or 0) + (model.qk_rope_head_dim or 0)
                                         + (model.v_head_dim or 0))
    else:
        width = model.attention_heads * model.head_dim * 2
    seen_sliding = min(context_tokens, shape.window_tokens) if shape.sliding_layers else 0
    return 2 * query_tokens * width * (shape.full_layers * context_tokens
                                       + shape.sliding_layers * seen_sliding)


@dataclass(frozen=True, slots=True)
class WorkloadTerms:
    """The GPU-independent quantities of a speed estimate: bytes to move and operations to do."""

    decode_weight_bytes: float
    decode_read_params: float
    decode_kv_bytes: float
    decode_ops: float
    prompt_tokens: int
    micro_batches: int
    prefill_ops: float
    prefill_weight_bytes: float


_terms: dict[tuple[int, int, Workload], tuple[ModelSpec, QuantSpec, WorkloadTerms]] = {}


def workload_terms(model: ModelSpec, quant: QuantSpec, workload: Workload,
                   weights: WeightBreakdown) -> WorkloadTerms:
    """Bytes and operations of one decode step and one prefill (cached: sweeps reuse them)."""
    key = (id(model), id(quant), workload)
    hit = _terms.get(key)
    if hit is not None and hit[0] is model and hit[1] is quant:
        return hit[2]
    if len(_terms) > 50_000:
        _terms.clear()
    batch = workload.sequences
    mean_context = max(1.0, workload.context_tokens / 2)
    weight_bytes = weights.bytes_read_per_token(expert_fraction(model, batch))
    prompt = max(1, workload.context_tokens)
    terms = WorkloadTerms(
        decode_weight_bytes=weight_bytes,
        decode_read_params=weight_bytes * 8 / max(weights.bits_per_weight, 1e-9),
        decode_kv_bytes=kv_cache_bytes(model, workload, context_tokens=int(mean_context),
                                       sequences=batch),
        decode_ops=2 * weights.active_params * batch
        + _attention_ops(model, workload.engine, batch, mean_context),
        prompt_tokens=prompt,
        micro_batches=math.ceil(prompt / workload.ubatch_tokens),
        prefill_ops=2 * weights.active_params * prompt
        + _attention_ops(model, workload.engine, prompt, prompt / 2),
        prefill_weight_bytes=weights.bytes_read_per_token(
            expert_fraction(model, workload.ubatch_tokens)),
    )
    _terms[key] = (model, quant, terms)
    return terms


@dataclass(frozen=True, slots=True)
class _Rates:
    bandwidth_bytes_per_s: float
    compute_ops_per_s: float
    parallel: Parallelism


_rate_cache: dict[tuple[int, int, int, str], tuple[GpuSpec, _Rates]] = {}


def _rates(model: ModelSpec, quant: QuantSpec, hardware: Hardware, workload: Workload) -> _Rates:
    """Achieved bandwidth and tensor throughput; tensor-parallel GPUs add theirs up.

    Cached per GPU (by identity, checked with `is`), parallel sizes and precision: a sweep
    asks for the same few thousand combinations hundreds of thousands of times."""
    gpu = hardware.gpu
    parallel = engine_profile(workload.engine).parallelism(model, hardware.count)
    key = (id(gpu), parallel.tensor, parallel.pipeline, quant.compute)
    hit = _rate_cache.get(key)
    if hit is not None and hit[0] is gpu:
        return hit[1]
    if len(_rate_cache) > 10_000:
        _rate_cache.clear()
    rates = _Rates(
        bandwidth_bytes_per_s=gpu.bandwidth_gbps * 1e9 * bandwidth_efficiency(gpu.memory_type)
        * parallel.tensor,
        compute_ops_per_s=gpu.tflops_for(quant.compute) * 1e12 * cal.PREFILL_COMPUTE_EFFICIENCY
        * parallel.tensor,
        parallel=parallel,
    )
    _rate_cache[key] = (gpu, rates)
    return rates


def decode_step_seconds(model: ModelSpec, quant: QuantSpec, hardware: Hardware, workload: Workload,
                        terms: WorkloadTerms) -> tuple[float, str]:
    """Seconds for one decode step on `hardware`, and which bound decides it."""
    rates = _rates(model, quant, hardware, workload)
    memory_s = (terms.decode_weight_bytes + terms.decode_kv_bytes) / rates.bandwidth_bytes_per_s
    if quant.is_block_quantized:
        memory_s += terms.decode_read_params * cal.DEQUANT_OPS_PER_WEIGHT / (
            hardware.gpu.fp16_tflops * 1e12 * rates.parallel.tensor)
    compute_s = terms.decode_ops / rates.compute_ops_per_s
    bound = "memory" if memory_s >= compute_s else "compute"
    fixed_s = _fixed_seconds(model, hardware, rates.parallel, workload.sequences)
    return max(memory_s, compute_s) + fixed_s, bound


def _fixed_seconds(model: ModelSpec, hardware: Hardware, parallel: Parallelism,
                   tokens: int = 1) -> float:
    return model.layers * cal.LAYER_OVERHEAD_S + _multi_gpu_s(model, hardware, parallel, tokens)


def prefill_seconds(model: ModelSpec, quant: QuantSpec, hardware: Hardware, workload: Workload,
                    terms: WorkloadTerms) -> float:
    """Seconds to process the prompt (the whole context) on `hardware`."""
    rates = _rates(model, quant, hardware, workload)
    slowdown = cal.PREFILL_QUANT_SLOWDOWN if quant.is_block_quantized else 1.0
    compute_s = terms.prefill_ops * slowdown / rates.compute_ops_per_s
    memory_s = terms.micro_batches * terms.prefill_weight_bytes / rates.bandwidth_bytes_per_s
    fixed_s = _fixed_seconds(model, hardware, rates.parallel,
                             min(workload.ubatch_tokens, terms.prompt_tokens))
    return (max(compute_s, memory_s) + terms.micro_batches * fixed_s) \
        * _pipeline_factor(workload, terms.prompt_tokens, rates.parallel)


def estimate_speed(model: ModelSpec, quant: QuantSpec, hardware: Hardware, workload: Workload,
                   weights: WeightBreakdown) -> SpeedEstimate:
    """Decode and prefill speed for `workload` on `hardware`."""
    terms = workload_terms(model, quant, workload, weights)
    step_s, bound = decode_step_seconds(model, quant, hardware, workload, terms)
    decode = 1 / step_s
    prefill_s = prefill_seconds(model, quant, hardware, workload, terms)
    prefill = terms.prompt_tokens / prefill_s
    return SpeedEstimate(
        decode_tokens_per_s=decode,
        decode_low=decode * (1 - cal.DECODE_BAND),
        decode_high=decode * (1 + cal.DECODE_BAND),
        aggregate_decode_tokens_per_s=decode * workload.sequences,
        prefill_tokens_per_s=prefill,
        prefill_low=prefill * (1 - cal.PREFILL_BAND),
        prefill_high=prefill * (1 + cal.PREFILL_BAND),
        time_to_first_token_s=prefill_s + step_s,
        bound=bound,
    )


def bandwidth_efficiency(memory_type: str | None) -> float:
    """Achieved share of peak bandwidth for a memory technology (GDDR when unknown)."""
    kind = (memory_type or "GDDR").upper()
    for family, share in cal.DECODE_BANDWIDTH_EFFICIENCY.items():
        if kind.startswith(family):
            return share
    return cal.DECODE_BANDWIDTH_EFFICIENCY["GDDR"]


def _pipeline_factor(workload: Workload, prompt: int, parallel: Parallelism) -> float:
    """Share of serial prefill time left when a layer split pipelines micro-batches.

    With G stages each holding 1/G of the layers, m micro-batches of one batch take (m + G - 1)
    stage times instead of m × G.
    """
    gpus = parallel.pipeline
    if gpus <= 1:
        return 1.0
    micro_batches = math.ceil(prompt / workload.ubatch_tokens)
    per_batch = max(1, min(micro_batches, cal.LLAMA_CPP_BATCH_TOKENS // workload.ubatch_tokens))
    return (per_batch + gpus - 1) / (per_batch * gpus)


def _multi_gpu_s(model: ModelSpec, hardware: Hardware, parallel: Parallelism, tokens: int) -> float:
    """Per-step cost of spreading a model over GPUs, for a step of `tokens` tokens: the
    all-reduces of tensor parallelism plus one hand-off per extra pipeline stage."""
    hops_s = (parallel.pipeline - 1) * cal.GPU_HOP_S
    gpus = parallel.tensor
    if gpus > 1:
        # Two all-reduces of the bf16 hidden state per layer; a ring all-reduce sends
        # 2 (N - 1) / N of the buffer each way over each GPU's link; the catalog gives the
        # link's total (both directions) NVLink/NVSwitch or PCIe bandwidth, so one way is half.
        buffer_bytes = tokens * model.hidden_size * 2
        one_way_bytes_per_s = hardware.gpu.interconnect_gbps * 1e9 / 2
        transfer_s = 2 * (gpus - 1) / gpus * buffer_bytes / one_way_bytes_per_s
        return 2 * model.layers * (cal.ALL_REDUCE_LATENCY_S + transfer_s) + hops_s
    return hops_s
