"""Weights: parameter counts and GGUF sizes against published figures."""

from __future__ import annotations

import pytest

from gpufit.core.specs import MIB
from gpufit.core.tensors import more_bits, parameter_count, weight_breakdown

# llama.cpp tools/quantize/README.md, Llama-3.1-8B table (whole-file bits per weight),
# as recorded in shared/reference/gguf_sizes.json.
LLAMA_31_8B_PUBLISHED_BPW = {
    "Q2_K": 3.1593, "Q3_K_S": 3.6429, "Q3_K_L": 4.2979, "Q4_K_S": 4.6672, "Q4_K_M": 4.8944,
    "Q5_K_S": 5.5704, "Q5_K_M": 5.7036, "Q6_K": 6.5633, "Q8_0": 8.5008, "FP16": 16.0005,
    "IQ4_XS": 4.4597, "IQ4_NL": 4.6818, "IQ3_M": 3.7628, "IQ2_XS": 2.5882, "IQ2_XXS": 2.3824,
}


def test_llama_31_8b_parameters_from_architecture(catalog):
    hidden, layers, heads, kv_heads, head_dim, ffn, vocab = 4096, 32, 32, 8, 128, 14336, 128256
    attention = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2
    per_layer = attention + 3 * hidden * ffn + 2 * hidden
    expected = 2 * vocab * hidden + layers * per_layer + hidden
    total, active = parameter_count(catalog.models["llama-3.1-8b"])
    assert total == expected
    assert active == total
    assert total == pytest.approx(8.03e9, rel=0.002)  # Meta's published 8.03B


def test_mixtral_8x7b_active_parameters_count_two_of_eight_experts(catalog):
    hidden, layers, ffn, vocab = 4096, 32, 14336, 32000
    attention = hidden * 4096 * 2 + hidden * 1024 * 2
    expert = 3 * hidden * ffn
    shared = 2 * vocab * hidden + hidden + layers * (attention + 2 * hidden + hidden * 8)
    total, active = parameter_count(catalog.models["mixtral-8x7b"])
    assert total == shared + layers * 8 * expert
    assert active == shared + layers * 2 * expert
    assert total == pytest.approx(46.7e9, rel=0.01)   # Mistral AI: 46.7B total
    assert active == pytest.approx(12.9e9, rel=0.01)  # 12.9B active


@pytest.mark.parametrize(("quant", "published_bpw"), sorted(LLAMA_31_8B_PUBLISHED_BPW.items()))
def test_gguf_bits_per_weight_match_llama_cpp_table(catalog, quant, published_bpw):
    breakdown = weight_breakdown(catalog.models["llama-3.1-8b"], catalog.quants[quant])
    assert breakdown.bits_per_weight == pytest.approx(published_bpw, rel=0.01)


def test_q4_k_m_gpu_buffer_matches_llama_cpp_load_log(catalog):
    # llama.cpp load log (shared/reference/measured_vram.json): CUDA0 buffer 4403.49 MiB and
    # CPU buffer 281.81 MiB (the token embedding) for Llama 3 8B Q4_K_M.
    breakdown = weight_breakdown(catalog.models["llama-3-8b"], catalog.quants["Q4_K_M"])
    gpu_part = breakdown.total_bytes - breakdown.bytes_by_group["embedding"]
    assert gpu_part / MIB == pytest.approx(4403.49, abs=1.0)
    assert breakdown.bytes_by_group["embedding"] / MIB == pytest.approx(281.81, abs=0.5)


def test_more_bits_pattern_for_32_layers():
    # use_more_bits(i, 32): i < 4, i >= 28, or (i - 4) % 3 == 2 → 4 + 4 + 8 = 16 layers.
    chosen = [layer for layer in range(32) if more_bits(layer, 32)]
    assert chosen[:6] == [0, 1, 2, 3, 6, 9]
    assert len(chosen) == 16


def test_fewer_bits_mean_fewer_bytes(catalog):
    model = catalog.models["llama-3.1-70b"]
    order = ["FP16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K"]
    sizes = [weight_breakdown(model, catalog.quants[quant]).total_bytes for quant in order]
    assert sizes == sorted(sizes, reverse=True)


# bartowski/Mixtral-8x22B-v0.1-GGUF model card (llama.cpp b2636): file sizes in GB.
MIXTRAL_8X22B_PUBLISHED_GB = {"Q5_K_M": 99.96, "Q4_K_M": 85.58, "Q4_K_S": 80.47,
                              "Q3_K_L": 72.57, "Q3_K_M": 67.78, "Q2_K": 52.10}


@pytest.mark.parametrize(("quant", "published_gb"), sorted(MIXTRAL_8X22B_PUBLISHED_GB.items()))
def test_mixtral_8x22b_gguf_sizes_match_published_files(catalog, quant, published_gb):
    breakdown = weight_breakdown(catalog.models["mixtral-8x22b"], catalog.quants[quant])
    assert breakdown.total_bytes / 1e9 == pytest.approx(published_gb, rel=0.02)


def test_fused_qkv_takes_llama_cpps_attn_qkv_rule(catalog):
    # Phi-3 mini (config.json: hidden 3072, 32 heads of 96, 32 KV heads, 32 layers) keeps Q/K/V
    # as one attn_qkv tensor, which Q4_K_M stores as Q5_K (5.5 bits) in every layer
    # (llama.cpp src/llama-quant.cpp); attn_output stays Q4_K (4.5 bits).
    model, quant = catalog.models["phi-3-mini"], catalog.quants["Q4_K_M"]
    hidden, layers = 3072, 32
    qkv = hidden * (hidden + 2 * hidden) * 5.5 / 8
    output = hidden * hidden * 4.5 / 8
    weights = weight_breakdown(model, quant)
    assert weights.bytes_by_group["attention"] == round(layers * (qkv + output))
    # The whole file: Phi-3.1-mini-4k-instruct-Q4_K_M.gguf is 2,393,232,096 bytes
    # (lmstudio-ai/model-catalog catalog.json); the header and vocabulary are the rest.
    assert abs(weights.total_bytes / 2_393_232_096 - 1) < 0.005
