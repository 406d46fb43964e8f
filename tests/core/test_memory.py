"""KV cache and compute buffers against hand-computed and logged figures."""

from __future__ import annotations

import pytest

from gpufit.core.memory import activation_bytes, kv_cache_bytes
from gpufit.core.specs import GIB, MIB, Hardware, Workload


def test_gqa_kv_cache_llama_3_8b_matches_load_log(catalog):
    # llama.cpp log: "KV self size = 1024.00 MiB" at n_ctx 8192, f16 (measured_vram.json).
    workload = Workload(context_tokens=8192, kv_cache_dtype="f16")
    assert kv_cache_bytes(catalog.models["llama-3-8b"], workload) == 1024 * MIB


def test_gqa_kv_cache_llama_31_70b(catalog):
    # 80 layers × (K + V) × 8 KV heads × 128 dims × 32768 tokens × 2 bytes.
    expected = 80 * 2 * 8 * 128 * 32768 * 2
    workload = Workload(context_tokens=32768, kv_cache_dtype="f16")
    assert kv_cache_bytes(catalog.models["llama-3.1-70b"], workload) == expected
    assert expected == 10 * GIB


def test_sliding_window_kv_cache_gemma_2_9b(catalog):
    # 42 layers alternate local (4096-token window) and global attention; 8 KV heads × 256 dims.
    per_token_per_layer = 2 * 8 * 256 * 2
    context = 8192
    expected = 21 * per_token_per_layer * context + 21 * per_token_per_layer * 4096
    workload = Workload(context_tokens=context, kv_cache_dtype="f16", engine="llama.cpp")
    assert kv_cache_bytes(catalog.models["gemma-2-9b"], workload) == expected


def test_mla_latent_kv_cache_deepseek_v3(catalog):
    # MLA caches kv_lora_rank (512) + qk_rope_head_dim (64) per token per layer, 61 layers.
    expected = 61 * (512 + 64) * 16384 * 2
    workload = Workload(context_tokens=16384, kv_cache_dtype="f16", engine="vllm")
    assert kv_cache_bytes(catalog.models["deepseek-v3"], workload) == expected


def test_moe_kv_cache_depends_on_attention_only(catalog):
    # Mixtral 8x7B has Mistral 7B's attention: 32 layers × 2 × 8 × 128; experts add nothing.
    workload = Workload(context_tokens=4096, sequences=3, kv_cache_dtype="q8_0")
    expected = 32 * 2 * 8 * 128 * 4096 * 3 * 34 / 32
    assert kv_cache_bytes(catalog.models["mixtral-8x7b"], workload) == pytest.approx(expected)


def test_llama_cpp_compute_buffer_matches_logs(catalog):
    model = catalog.models["llama-3-8b"]
    hardware = Hardware(catalog.gpus["rtx-4090"])
    # "CUDA0 compute buffer size = 560.00 MiB" at n_ctx 8192, n_ubatch 512.
    # The logs are from a May 2024 build, which ran without flash attention by default.
    at_8k = activation_bytes(model, hardware, Workload(context_tokens=8192, flash_attention="off"))
    assert at_8k / MIB == pytest.approx(560.0, rel=0.01)
    # "Metal compute buffer size = 258.50 MiB" at n_ctx 512.
    at_512 = activation_bytes(model, hardware, Workload(context_tokens=512, flash_attention="off"))
    assert at_512 / MIB == pytest.approx(258.5, rel=0.01)


def test_flash_attention_removes_the_score_buffer(catalog):
    model = catalog.models["llama-3.1-8b"]
    hardware = Hardware(catalog.gpus["rtx-4090"])
    plain = activation_bytes(model, hardware, Workload(context_tokens=65536, flash_attention="off"))
    flash = activation_bytes(model, hardware, Workload(context_tokens=65536, flash_attention="on"))
    auto = activation_bytes(model, hardware, Workload(context_tokens=65536))
    assert auto == flash  # llama.cpp's default -fa auto turns it on for GPUs
    assert flash < plain / 10
