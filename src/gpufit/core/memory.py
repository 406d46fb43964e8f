"""KV cache, compute buffers (activations) and runtime overhead, per engine.

All functions are pure arithmetic on specs; see docs/estimation.md for each formula.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpufit.core import calibration as cal
from gpufit.core.engines import engine_profile
from gpufit.core.specs import KV_CACHE_BYTES_PER_ELEMENT, Hardware, ModelSpec, Workload


@dataclass(frozen=True, slots=True)
class KvShape:
    """Cached elements per token, split by layers that see everything vs. a sliding window."""

    elements_per_layer: int
    full_layers: int
    sliding_layers: int
    window_tokens: int

    @property
    def full_elements_per_token(self) -> int:
        """Elements per token over the layers that attend to the whole context."""
        return self.elements_per_layer * self.full_layers

    @property
    def sliding_elements_per_token(self) -> int:
        """Elements per token over the sliding-window layers."""
        return self.elements_per_layer * self.sliding_layers


_shapes: dict[tuple[int, str], tuple[ModelSpec, KvShape]] = {}


def kv_shape(model: ModelSpec, engine: str) -> KvShape:
    """Elements the KV cache stores per token (cached per model and engine, by identity)."""
    hit = _shapes.get((id(model), engine))
    if hit is not None and hit[0] is model:
        return hit[1]
    if len(_shapes) > 10_000:
        _shapes.clear()
    shape = _kv_shape(model, engine)
    _shapes[(id(model), engine)] = (model, shape)
    return shape


def _kv_shape(model: ModelSpec, engine: str) -> KvShape:
    """Elements the KV cache stores per token, summed over layers.

    Standard attention stores K and V: 2 × kv_heads × head_dim per layer. MLA (DeepSeek) stores
    one compressed latent plus the RoPE key: kv_lora_rank + qk_rope_head_dim per layer. Layers
    with a sliding window keep at most `window` tokens where the engine honours the window:
    vLLM always; llama.cpp only for interleaved sliding-window models (Gemma 2/3, gpt-oss),
    and not for Mistral 7B v0.1's all-layer window.
    """
    if model.uses_mla:
        per_layer = (model.kv_lora_rank or 0) + (model.qk_rope_head_dim or 0)
    else:
        per_layer = 2 * model.kv_heads * model.head_dim
    honours_window = engine_profile(engine).honours_sliding_window(model)
    sliding_layers = (sum(1 for layer in range(model.layers)
                          if model.has_attention(layer) and model.is_sliding_layer(layer))
                      if honours_window else 0)
    return KvShape(
        elements_per_layer=per_layer,
        full_layers=model.attention_layer_count - sliding_layers,
        sliding_layers=sliding_layers,
        window_tokens=model.sliding_window_tokens or 0,
    )


def cache_bytes_per_element(engine: str, kv_cache_dtype: str) -> float:
    """Bytes per cached element of the type the engine really stores for `kv_cache_dtype`."""
    return KV_CACHE_BYTES_PER_ELEMENT[engine_profile(engine).stored_cache_type(kv_cache_dtype)]


def kv_replication(model: ModelSpec, engine: str, gpu_count: int) -> int:
    """How many copies of the KV cache tensor parallelism keeps (1 without it).

    vLLM gives each tensor-parallel rank max(1, kv_heads // tp) KV heads and, under MLA, the
    whole latent (ModelConfig.get_num_kv_heads), so past kv_heads ranks heads are replicated."""
    tensor = engine_profile(engine).parallelism(model, gpu_count).tensor
    if tensor <= 1:
        return 1
    if model.uses_mla:
        return tensor
    return max(1, -(-tensor // max(1, model.kv_heads)))


def kv_cache_bytes(model: ModelSpec, workload: Workload, context_tokens: int | None = None,
                   sequences: int | None = None) -> float:
    """Bytes of KV cache for `sequences` sequences of `context_tokens` each."""
    shape = kv_shape(model, workload.engine)
    context = workload.context_tokens if context_tokens is None else context_tokens
    count = workload.sequences if sequences is None else sequences
    per_element = cache_bytes_per_element(workload.engine, workload.kv_cache_dtype)
    elements = (shape.full_elements_per_token * context
                + shape.sliding_elements_per_token * min(context, shape.window_tokens))
    return elements * per_element * count + recurrent_state_bytes(model, workload.engine, count)


def recurrent_state_bytes(model: ModelSpec, engine: str, sequences: int) -> float:
    """Hybrid models' fixed-size state (Mamba / gated DeltaNet layers) for `sequences`
    sequences; it does not grow with the context. Counted with the KV cache, which it replaces
    on those layers (llama.cpp's llama_memory_recurrent beside llama_kv_cache)."""
    if not model.recurrent_layers:
        return 0.0
    per_element = engine_profile(engine).recurrent_state_bytes_per_element
    return (len(model.recurrent_layers) * model.recurrent_state_elements * per_element
            * max(1, sequences))


def layer_kv_bytes(model: ModelSpec, engine: str, kv_cache_dtype: str, context_tokens: int,
                   sequences: int) -> tuple[float, ...]:
    """KV cache bytes of each layer: kv_cache_bytes split by layer (they sum to it).

    Layer splits and CPU offload place the cache with its layer, so they need it per layer."""
    shape = kv_shape(model, engine)
    per_token = shape.elements_per_layer * cache_bytes_per_element(engine, kv_cache_dtype) * sequences
    # kv_shape counts sliding layers only where the engine honours the window.
    honours_window = shape.sliding_layers > 0
    window = min(context_tokens, shape.window_tokens)
    state = (model.recurrent_state_elements * max(1, sequences)
             * engine_profile(engine).recurrent_state_bytes_per_element)
    return tuple((per_token * (window if honours_window and model.is_sliding_layer(layer)
                               else context_tokens) if model.has_attention(layer) else 0.0)
                 + (state if layer in model.recurrent_layers else 0.0)
                 for layer in range(model.layers))


VISION_BYTES_PER_PARAM = 2.0
"""mmproj files are F16 (llama.cpp's converter default); vLLM loads the tower in bf16."""


def vision_bytes(model: ModelSpec, workload: Workload) -> float:
    """The vision encoder + projector's weights, when the workload loads them."""
    if not workload.include_vision or not model.mmproj_params:
        return 0.0
    return model.mmproj_params * VISION_BYTES_PER_PARAM


def activation_bytes(model: ModelSpec, hardware: Hardware, workload: Workload) -> float:
    """Compute buffers (all GPUs together) the engine allocates for a forward pass."""
    if engine_profile(workload.engine).compute_buffer == "profiled-batch":
        # Under tensor parallelism each GPU holds its slice; summed over GPUs it is the same.
        return _vllm_activation_bytes(model)
    return llama_cpp_compute_bytes(model, workload) * hardware.count


def llama_cpp_compute_bytes(model: ModelSpec, workload: Workload) -> float:
    """llama.cpp's per-device compute buffer: the larger of the attention and the logits peak.

    Without flash attention the f32 attention scores of one micro-batch against every KV cell
    are materialised (ubatch × heads × cells × 4 bytes); the output step holds ubatch × vocab
    f32 logits. Flash attention removes the score matrix.
    """
    cells = workload.context_tokens * workload.sequences
    ubatch = min(workload.ubatch_tokens, cells)
    scratch = cal.LLAMA_CPP_SCRATCH_HIDDEN_VECTORS * model.hidden_size
    flash = engine_profile(workload.engine).uses_flash_attention(workload)
    scores = 0 if flash else model.attention_heads * cells
    attention_peak = ubatch * 4 * (scores + scratch)
    logits_peak = ubatch * 4 * (model.vocab_size + model.hidden_size)
    return float(max(attention_peak, logits_peak))


def _vllm_activation_bytes(model: ModelSpec) -> float:
    """vLLM's profiled activation peak: one batch of max_num_batched_tokens plus sampler logits."""
    tokens = cal.VLLM_MAX_BATCHED_TOKENS
    if model.is_moe:
        mlp_width = (model.expert_intermediate_size or model.intermediate_size) * model.experts_active
    else:
        mlp_width = model.intermediate_size
    per_token = 2 * (3 * model.hidden_size + 3 * mlp_width)  # bf16 residual, qkv, gate/up/act
    sampler = cal.VLLM_MAX_SEQUENCES * model.vocab_size * 4
    return tokens * per_token + sampler


def overhead_bytes(hardware: Hardware, workload: Workload) -> float:
    """Runtime memory outside the engine's buffers: context, graphs, driver reservation."""
    per_gpu = engine_profile(workload.engine).overhead_bytes_per_gpu
    reserved = cal.DRIVER_RESERVED_FRACTION * hardware.memory_per_gpu_bytes
    return (per_gpu + reserved) * hardware.count
