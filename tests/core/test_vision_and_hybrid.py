"""Multimodal models' optional vision encoder, and hybrid models' recurrent state.

Expected figures are worked out here by hand from the published configs, not taken from the code.
"""

from __future__ import annotations

from dataclasses import replace

from gpufit.core.catalog import Catalog
from gpufit.core.estimate import estimate
from gpufit.core.memory import kv_cache_bytes, layer_kv_bytes
from gpufit.core.specs import Hardware, ModelSpec, Workload
from gpufit.core.tensors import parameter_count


def test_vision_encoder_is_off_by_default_and_adds_its_f16_weights_when_on(
        catalog: Catalog) -> None:
    model = replace(catalog.models["gemma-3-27b"], mmproj_params=400_000_000)
    hardware = Hardware(catalog.gpus["rtx-4090"], 1)
    text_only = estimate(model, catalog.quants["Q4_K_M"], hardware, Workload())
    with_vision = estimate(model, catalog.quants["Q4_K_M"], hardware,
                           Workload(include_vision=True))
    assert text_only.memory.vision_bytes == 0
    # An mmproj file is F16: 2 bytes per parameter.
    assert with_vision.memory.vision_bytes == 800_000_000
    assert with_vision.memory.total_bytes - text_only.memory.total_bytes == 800_000_000


def _granite_4_h_tiny_like(base: ModelSpec) -> ModelSpec:
    """Granite-4.0-H-Tiny's GGUF metadata: 40 layers, attention at 5, 15, 25, 35 (head_count_kv
    is 0 elsewhere), embedding 1536, ssm inner 3072, state 128, 1 group, conv kernel 4."""
    attention = (5, 15, 25, 35)
    return replace(base, layers=40, hidden_size=1536, attention_heads=12, kv_heads=4,
                   head_dim=128, recurrent_layers=tuple(i for i in range(40) if i not in attention),
                   recurrent_kind="mamba2", ssm_inner_size=3072, ssm_state_size=128,
                   ssm_groups=1, ssm_heads=48, ssm_conv_kernel=4, sliding_window_tokens=None,
                   sliding_window_pattern=None)


def test_hybrid_model_keeps_kv_only_on_attention_layers_plus_a_fixed_state(
        catalog: Catalog) -> None:
    model = _granite_4_h_tiny_like(catalog.models["llama-3.1-8b"])
    workload = Workload(context_tokens=4096, sequences=2)
    # KV: 4 attention layers × 2 (K and V) × 4 heads × 128 × 2 bytes × 4096 tokens × 2 seqs.
    kv = 4 * 2 * 4 * 128 * 2 * 4096 * 2
    # State per Mamba2 layer: (4 − 1) × (3072 + 2 × 1 × 128) + 128 × 3072 elements, F32.
    state = 36 * (3 * (3072 + 256) + 128 * 3072) * 4 * 2
    assert kv_cache_bytes(model, workload) == kv + state
    per_layer = layer_kv_bytes(model, "llama.cpp", "f16", 4096, 2)
    assert sum(per_layer) == kv + state
    assert per_layer[5] == kv / 4 and per_layer[0] == state / 36


def test_recurrent_state_does_not_grow_with_context(catalog: Catalog) -> None:
    model = _granite_4_h_tiny_like(catalog.models["llama-3.1-8b"])
    short = kv_cache_bytes(model, Workload(context_tokens=1024))
    long = kv_cache_bytes(model, Workload(context_tokens=2048))
    # Doubling the context adds exactly the attention layers' KV for 1024 more tokens.
    assert long - short == 4 * 2 * 4 * 128 * 2 * 1024


def test_mamba2_mixer_weights_follow_the_reference_shapes(catalog: Catalog) -> None:
    dense = _granite_4_h_tiny_like(catalog.models["llama-3.1-8b"])
    attention_only = replace(dense, recurrent_layers=(), attention_layers=None)
    total_hybrid, _ = parameter_count(dense)
    total_attention, _ = parameter_count(attention_only)
    hidden, inner, state, heads, kernel = 1536, 3072, 128, 48, 4
    attention = hidden * (12 * 128) * 2 + hidden * (4 * 128) * 2 + hidden  # q, o, k, v + norm
    conv_channels = inner + 2 * state
    mamba = (hidden * (2 * inner + 2 * state + heads) + inner * hidden   # in_proj, out_proj
             + conv_channels * kernel + conv_channels + 3 * heads + inner + hidden)
    assert total_hybrid - total_attention == 36 * (mamba - attention)
