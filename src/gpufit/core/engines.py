"""Engine profiles: everything that differs between llama.cpp and vLLM, in one value per engine.

Core code never compares an engine's name; it asks the workload's profile (memory budget,
what stays in system RAM, sliding-window policy, how several GPUs are used, the compute
buffer and runtime overhead model, the KV-cache types the engine really stores, flash
attention's default, CPU offload). Adding an engine is one `EngineProfile` here, its hint
builder in `gpufit.core.run_hints`, and its constants in `gpufit.core.calibration`
(docs/architecture.md walks through it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import gcd
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from gpufit.core import calibration as cal

if TYPE_CHECKING:
    from gpufit.core.specs import ModelSpec, Workload

EngineId = Literal["llama.cpp", "vllm"]
MultiGpuMode = Literal["layer", "tensor"]
FlashAttention = Literal["auto", "on", "off"]
FLASH_ATTENTION_CHOICES: tuple[FlashAttention, ...] = ("auto", "on", "off")


@dataclass(frozen=True, slots=True)
class Parallelism:
    """How an engine spreads one model over `tensor × pipeline` GPUs.

    Tensor parallelism cuts every matrix (all `tensor` GPUs work on each token, so their
    bandwidth adds up); pipeline parallelism and llama.cpp's layer split hand a token from one
    group of layers to the next (one stream gets no faster)."""

    tensor: int
    pipeline: int

    @property
    def gpus(self) -> int:
        """GPUs in use."""
        return self.tensor * self.pipeline


@dataclass(frozen=True, slots=True)
class EngineProfile:
    """One inference engine's memory and parallelism behaviour (sources in docs/estimation.md)."""

    id: EngineId
    label: str
    budgets_memory_share: bool
    """Uses only the workload's `gpu_memory_utilization` share of GPU memory (vLLM's
    --gpu-memory-utilization); else all of it."""
    token_embedding_on_host: bool
    """The token-embedding table stays in system RAM (llama.cpp looks tokens up on the CPU)."""
    tied_head_copy: bool
    """A tied embedding gets a second copy on the GPU as the output layer (llama.cpp's
    TENSOR_DUPLICATED)."""
    honours_every_sliding_window: bool
    """Caches only the window for every sliding-window layer; else only where the model
    interleaves windowed and global layers (llama.cpp's iSWA cache)."""
    multi_gpu: MultiGpuMode
    """"layer": contiguous layers per GPU (llama.cpp --split-mode layer); "tensor": tensor
    parallelism over the largest size that divides the attention heads, the rest pipeline."""
    cpu_offload: bool
    """Can run part of the model from system RAM (llama.cpp -ngl / --n-cpu-moe)."""
    compute_buffer: Literal["per-device-graph", "profiled-batch"]
    """llama.cpp's per-device compute graph, or vLLM's profiled activation peak (memory.py)."""
    overhead_bytes_per_gpu: float
    """CUDA context, graphs and the like, outside the engine's own buffers."""
    flash_attention_auto: bool
    """What "auto" means: llama.cpp's default `-fa auto` turns it on where the backend supports
    it (every GPU backend gpufit models, since ggml-org/llama.cpp#15434); vLLM always runs a
    flash-attention backend."""
    stored_cache_types: Mapping[str, str]
    """The KV-cache type the engine really stores for each one gpufit offers (llama.cpp has no
    fp8 cache and takes q8_0; vLLM has no ggml block types and takes fp8)."""
    recurrent_state_bytes_per_element: float
    """Hybrid models' Mamba / DeltaNet state: llama.cpp keeps it in F32 (its default type_r and
    type_s), vLLM in the model's dtype (mamba_cache_dtype "auto")."""

    def parallelism(self, model: ModelSpec, gpu_count: int) -> Parallelism:
        """The parallel sizes the engine uses for `gpu_count` GPUs."""
        if self.multi_gpu == "layer" or gpu_count <= 1:
            return Parallelism(tensor=1, pipeline=max(1, gpu_count))
        # vLLM requires the tensor-parallel size to divide the attention heads; the rest of
        # the GPU count becomes pipeline stages (vllm/config ParallelConfig).
        tensor = gcd(gpu_count, model.attention_heads) or 1
        return Parallelism(tensor=tensor, pipeline=gpu_count // tensor)

    def honours_sliding_window(self, model: ModelSpec) -> bool:
        """Whether this engine caches only the window for the model's sliding layers."""
        if model.sliding_window_tokens is None:
            return False
        return self.honours_every_sliding_window or model.sliding_window_pattern is not None

    def uses_flash_attention(self, workload: Workload) -> bool:
        """The workload's flash-attention choice, with "auto" resolved for this engine."""
        if workload.flash_attention == "auto":
            return self.flash_attention_auto
        return workload.flash_attention == "on"

    def stored_cache_type(self, kv_cache_dtype: str) -> str:
        """The cache type the engine stores when asked for `kv_cache_dtype`."""
        return self.stored_cache_types.get(kv_cache_dtype, kv_cache_dtype)

    def runs(self, engines: tuple[str, ...]) -> bool:
        """Whether a quant that lists `engines` (catalog `engines`) runs on this engine."""
        return self.id in engines


LLAMA_CPP = EngineProfile(
    id="llama.cpp", label="llama.cpp", budgets_memory_share=False,
    token_embedding_on_host=True, tied_head_copy=True, honours_every_sliding_window=False,
    multi_gpu="layer", cpu_offload=True, compute_buffer="per-device-graph",
    overhead_bytes_per_gpu=cal.LLAMA_CPP_CONTEXT_BYTES_PER_GPU, flash_attention_auto=True,
    stored_cache_types=MappingProxyType({"fp8": "q8_0"}), recurrent_state_bytes_per_element=4.0,
)
VLLM = EngineProfile(
    id="vllm", label="vLLM", budgets_memory_share=True,
    token_embedding_on_host=False, tied_head_copy=False, honours_every_sliding_window=True,
    multi_gpu="tensor", cpu_offload=False, compute_buffer="profiled-batch",
    overhead_bytes_per_gpu=cal.VLLM_OVERHEAD_BYTES_PER_GPU, flash_attention_auto=True,
    stored_cache_types=MappingProxyType({"q8_0": "fp8", "q4_0": "fp8"}),
    recurrent_state_bytes_per_element=2.0,
)

ENGINE_PROFILES: Mapping[str, EngineProfile] = MappingProxyType(
    {profile.id: profile for profile in (LLAMA_CPP, VLLM)})
ENGINES: tuple[EngineId, ...] = tuple(profile.id for profile in (LLAMA_CPP, VLLM))


def engine_profile(engine: str) -> EngineProfile:
    """The profile of an engine id; ValueError names the known ones."""
    try:
        return ENGINE_PROFILES[engine]
    except KeyError:
        raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}") from None
