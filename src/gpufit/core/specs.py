"""Typed, frozen descriptions of what an estimate is made from: GPUs, models, quants, workloads.

Units are in the field names; everything is bytes, tokens, GB/s (10^9 B/s) or TFLOPS inside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gpufit.core.engines import EngineId, FlashAttention
    from gpufit.core.tensors import FileWeights

MIB = 1024**2
GIB = 1024**3
GB = 10**9

KV_CACHE_DTYPES = ("f16", "bf16", "fp8", "q8_0", "q4_0")

# Bytes per cached element. q8_0/q4_0 are ggml blocks of 32 with an fp16 scale (34 and 18 bytes).
KV_CACHE_BYTES_PER_ELEMENT: dict[str, float] = {
    "f16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "q8_0": 34 / 32,
    "q4_0": 18 / 32,
}

RECURRENT_KINDS = ("mamba", "mamba2", "gated_deltanet")
"""Recurrent mixers that keep a fixed-size state per sequence instead of a KV cache."""

MODEL_USES = ("chat", "code", "reasoning", "vision")


@dataclass(frozen=True, slots=True)
class GpuSpec:
    """One GPU model as the catalog describes it."""

    id: str
    name: str
    vendor: str
    family: str
    architecture: str
    memory_mib: int
    bandwidth_gbps: float
    fp16_tflops: float
    tdp_watts: float
    interconnect: str
    interconnect_gbps: float
    source: str
    aliases: tuple[str, ...] = ()
    memory_type: str | None = None
    bf16_tflops: float | None = None
    fp8_tflops: float | None = None
    int8_tops: float | None = None
    fp4_tflops: float | None = None
    pcie_generation: int | None = None
    mig_profiles: tuple[str, ...] = ()
    gpu_usable_fraction: float | None = None
    mig_parent: str | None = None
    """For a MIG slice: the id of the GPU it is cut from (see gpufit.core.mig)."""

    @property
    def memory_bytes(self) -> int:
        """Memory as the device reports it, in bytes."""
        return self.memory_mib * MIB

    @property
    def usable_memory_bytes(self) -> int:
        """Memory a GPU program may allocate (unified-memory parts share it with the OS)."""
        if self.gpu_usable_fraction is not None:
            return int(self.memory_bytes * self.gpu_usable_fraction)
        return self.memory_bytes

    def tflops_for(self, compute: str) -> float:
        """Dense tensor throughput for a precision, falling back to FP16 where the part lacks it."""
        if compute == "fp8" and self.fp8_tflops:
            return self.fp8_tflops
        if compute == "int8" and self.int8_tops:
            return self.int8_tops
        if compute == "fp4" and self.fp4_tflops:
            return self.fp4_tflops
        return self.fp16_tflops


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model's architecture, as its config.json gives it."""

    id: str
    name: str
    family: str
    architecture: str
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tied_embeddings: bool
    max_context_tokens: int
    params_total_published: float
    source: str
    aliases: tuple[str, ...] = ()
    mlp_gated: bool = True
    attention_bias: bool = False
    fused_qkv: bool = False
    """Q, K and V are one tensor in the checkpoint (Phi-3's qkv_proj, Falcon's query_key_value),
    which llama.cpp keeps fused as attn_qkv and quantizes by its own rule."""
    experts_total: int = 0
    experts_active: int = 0
    expert_intermediate_size: int | None = None
    shared_experts: int = 0
    shared_expert_intermediate_size: int | None = None
    dense_layers: int = 0
    sliding_window_tokens: int | None = None
    sliding_window_pattern: int | None = None
    kv_lora_rank: int | None = None
    q_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    qk_nope_head_dim: int | None = None
    v_head_dim: int | None = None
    params_active_published: float | None = None
    native_dtype: str = "bf16"
    attention_output_gate: bool = False
    """q_proj also yields a per-head output gate, so it is twice as wide (Qwen3-Next)."""
    moe_layer_step: int = 1
    """Every Nth layer is MoE (layers N-1, 2N-1, …; Llama 4 Maverick's interleave_moe_layer_step,
    Jamba's expert_layer_period); the rest have a dense MLP."""
    recurrent_layers: tuple[int, ...] = ()
    """Layers whose mixer is recurrent (Mamba, gated DeltaNet): a fixed state per sequence."""
    attention_layers: tuple[int, ...] | None = None
    """Layers with attention (and so a KV cache); None = every layer that is not recurrent.
    Falcon-H1 runs attention and Mamba side by side, so it lists every layer in both."""
    mlp_layers: tuple[int, ...] | None = None
    """Layers with an MLP; None = every layer. Nemotron-H gives each layer one block: Mamba,
    attention or an MLP."""
    recurrent_kind: str | None = None
    ssm_inner_size: int | None = None
    """Mamba d_inner; gated DeltaNet: value heads × value head dim."""
    ssm_state_size: int | None = None
    """Mamba d_state; gated DeltaNet: the key head dim."""
    ssm_groups: int = 0
    """Mamba2 n_groups; gated DeltaNet: the key heads."""
    ssm_heads: int | None = None
    """Mamba2 heads; gated DeltaNet: the value heads."""
    ssm_conv_kernel: int | None = None
    mmproj_params: float | None = None
    """Parameters of the vision encoder and projector (llama.cpp's separate mmproj file)."""
    released: str | None = None
    uses: tuple[str, ...] = ()
    file_weights: FileWeights | None = field(default=None, compare=False, hash=False, repr=False)
    """For a model read from a file: its exact tensor sizes, used at the file's own quant."""

    @property
    def is_moe(self) -> bool:
        """True for mixture-of-experts models."""
        return self.experts_total > 0

    @property
    def uses_mla(self) -> bool:
        """True for DeepSeek-style multi-head latent attention."""
        return self.kv_lora_rank is not None

    @property
    def gqa_ratio(self) -> int:
        """Query heads per KV head (llama.cpp's n_gqa)."""
        return max(1, self.attention_heads // max(1, self.kv_heads))

    @property
    def attention_layer_count(self) -> int:
        """Layers that attend (and keep a KV cache)."""
        if self.attention_layers is not None:
            return len(self.attention_layers)
        return self.layers - len(self.recurrent_layers)

    @property
    def recurrent_state_elements(self) -> int:
        """Elements of recurrent state one sequence keeps per recurrent layer: the convolution
        window, (d_conv − 1) × (d_inner + 2 × groups × d_state), plus the SSM state,
        d_state × d_inner (llama.cpp's llama_hparams::n_embd_r and n_embd_s)."""
        if not self.recurrent_layers:
            return 0
        inner = self.ssm_inner_size or 0
        state = self.ssm_state_size or 0
        conv = max(0, (self.ssm_conv_kernel or 1) - 1) * (inner + 2 * self.ssm_groups * state)
        return conv + state * inner

    @property
    def is_hybrid(self) -> bool:
        """True when some layers keep a recurrent state instead of (or beside) a KV cache."""
        return bool(self.recurrent_layers)

    def is_moe_layer(self, layer_index: int) -> bool:
        """Whether a layer's MLP is a mixture of experts."""
        if not self.is_moe or layer_index < self.dense_layers or not self.has_mlp(layer_index):
            return False
        return (layer_index + 1) % self.moe_layer_step == 0

    def has_mlp(self, layer_index: int) -> bool:
        """Whether a layer has an MLP (dense or experts)."""
        return self.mlp_layers is None or layer_index in self.mlp_layers

    def has_attention(self, layer_index: int) -> bool:
        """Whether a layer attends (and so keeps a KV cache)."""
        if self.attention_layers is not None:
            return layer_index in self.attention_layers
        return layer_index not in self.recurrent_layers

    def is_sliding_layer(self, layer_index: int) -> bool:
        """Whether a layer attends only to the last `sliding_window_tokens` tokens."""
        if self.sliding_window_tokens is None:
            return False
        if self.sliding_window_pattern is None:
            return True
        return (layer_index + 1) % self.sliding_window_pattern != 0


@dataclass(frozen=True, slots=True)
class QuantRule:
    """One llama.cpp-style override: tensors of `role` (in `layers`, if `when` holds) get `type`."""

    role: str
    type: str
    layers: str = "all"
    when_experts: int | None = None
    when_min_gqa: int | None = None
    when_layers: int | None = None
    group: str | None = None
    """Only tensors of this weight group ("experts": llama.cpp's 3-D expert tensors, ne[2] > 1)."""
    when_min_experts: int | None = None
    when_architecture: tuple[str, ...] = ()
    when_not_architecture: tuple[str, ...] = ()
    when_native_dtype: str | None = None
    when_type_in: tuple[str, ...] = ()
    """Only when the type chosen so far is one of these (llama.cpp's 70B attn_v bump)."""
    when_row_misfit: bool | None = None
    """Only when the tensor's row length is (True) / is not (False) a multiple of the quant's
    default type's block (llama.cpp's output-head test `nx % qk_k != 0`)."""


@dataclass(frozen=True, slots=True)
class QuantSpec:
    """A quantization format: which storage type each tensor gets, and what that costs."""

    id: str
    name: str
    format: str
    default_type: str
    nominal_bits: float
    compute: str
    engines: tuple[str, ...]
    source: str
    block_bits: dict[str, float] = field(hash=False, compare=False, default_factory=dict)
    aliases: tuple[str, ...] = ()
    rules: tuple[QuantRule, ...] = ()
    native_architectures: tuple[str, ...] = ()
    quality_kld: float | None = None
    quality_ppl_delta_pct: float | None = None
    block_weights: dict[str, int] = field(hash=False, compare=False, default_factory=dict)
    """Weights per block of each storage type (ggml_blck_size); a row must be a multiple."""
    block_fallback: dict[str, str] = field(hash=False, compare=False, default_factory=dict)
    """The type llama.cpp substitutes when a row is not a multiple of the block."""
    size_band_pct: float | None = None
    """± error band of the size estimate when the recipe is not llama.cpp's own (publisher
    mixes such as unsloth's UD quants); None when the rules are exact."""
    note: str | None = None

    @property
    def is_block_quantized(self) -> bool:
        """True when weights must be dequantized on the fly (everything narrower than 16 bits)."""
        return self.block_bits[self.default_type] < 16

    @property
    def default_bits_per_weight(self) -> float:
        """Bits per weight of the default storage type (before per-tensor upgrades)."""
        return self.block_bits[self.default_type]


@dataclass(frozen=True, slots=True)
class Hardware:
    """What the model runs on: `count` identical GPUs, optionally with a measured memory size."""

    gpu: GpuSpec
    count: int = 1
    memory_override_bytes: int | None = None
    free_memory_per_gpu_bytes: tuple[int, ...] | None = None
    """Free memory of each card right now (nvidia-smi), in GPU order; None when unknown."""

    @property
    def free_memory_bytes(self) -> int | None:
        """Free memory of all the cards together, when known."""
        if self.free_memory_per_gpu_bytes is None:
            return None
        return sum(self.free_memory_per_gpu_bytes)

    @property
    def memory_per_gpu_bytes(self) -> int:
        """Usable memory of one GPU (the override wins over the catalog)."""
        if self.memory_override_bytes is not None:
            return self.memory_override_bytes
        return self.gpu.usable_memory_bytes

    @property
    def capacity_bytes(self) -> int:
        """Memory of all GPUs together."""
        return self.memory_per_gpu_bytes * self.count


@dataclass(frozen=True, slots=True)
class Workload:
    """How the model is run: context per sequence, parallel sequences, cache type and engine."""

    context_tokens: int = 8192
    sequences: int = 1
    kv_cache_dtype: str = "f16"
    engine: EngineId = "llama.cpp"
    ubatch_tokens: int = 512
    flash_attention: FlashAttention = "auto"
    """llama.cpp's -fa values; "auto" is each engine's default (see engines.py)."""
    include_vision: bool = False
    """Load a multimodal model's vision encoder and projector (llama.cpp's --mmproj) too."""
    gpu_memory_utilization: float = 0.9
