"""Catalog entries for current Chinese-lab open models (catalog/models/qwen.toml and
deepseek-kimi-glm-minimax.toml): their architecture adds up to the published size, their cache
per token is what the architecture implies, and the names people type or find on disk resolve
to them.

Expected values are the publishers' own figures (model cards, Hugging Face sizes, Qwen's GGUF
files) or are worked out by hand from the model cards, never read back from the catalog.
"""

from __future__ import annotations

import pytest
from published_counts import check_parameter_counts

from gpufit.core.catalog import Catalog
from gpufit.core.memory import kv_shape
from gpufit.core.resolve import resolve

# (id, published total, published active or None).
PUBLISHED = [
    ("qwen3-1.7b", 1.7e9, None),                    # card: 1.7B
    ("qwen3-30b-a3b-2507", 30.5e9, 3.3e9),          # card: 30.5B total, 3.3B active
    ("qwen3-coder-480b-a35b", 480e9, 35e9),         # card: 480B total, 35B active
    ("qwen2.5-coder-7b", 7.61e9, None),             # card: 7.61B
    ("qwen3-vl-8b", 8.2e9, None),                   # Qwen's text GGUF: 16.4 GB at F16
    ("qwen3.5-9b", 9e9, None),                      # card: 9B
    ("qwen3.5-27b", 27e9, None),                    # card: 27B
    ("qwen3.5-397b-a17b", 397e9, 17e9),             # card: 397B total, 17B active
    ("deepseek-v3.1", 671e9, 37e9),                 # card: 671B total, 37B active
    ("kimi-k2", 1026.5e9, 32e9),                    # Hugging Face 1026.5B; card: 32B active
    ("glm-4.5", 355e9, 32e9),                       # card: 355B total, 32B active
    ("glm-4.5-air", 106e9, None),                   # card: 106B
    ("glm-4-9b-0414", 9.4e9, None),                 # Hugging Face size: 9.4B
    ("minimax-m2", 230e9, None),                    # card: 230B
]


@pytest.mark.parametrize(("model_id", "total", "active"), PUBLISHED)
def test_computed_parameters_match_the_published_counts(catalog: Catalog, model_id: str,
                                                        total: float,
                                                        active: float | None) -> None:
    # Active counts are published to two digits and count the embedding lookup differently.
    check_parameter_counts(catalog.models[model_id], total, active, active_tolerance=0.06)


@pytest.mark.parametrize(
    ("model_id", "bytes_per_token"),
    [
        # MLA keeps kv_lora_rank + qk_rope_head_dim = 512 + 64 values per layer: 61 × 576 × 2 B
        # (68.6 KiB, as Raschka's LLM architecture gallery lists for DeepSeek V3 and Kimi K2).
        ("deepseek-v3.1", 61 * 576 * 2),
        ("deepseek-v3.2", 61 * 576 * 2),
        ("kimi-k2", 61 * 576 * 2),
        # GQA: 2 (K and V) × layers × KV heads × head_dim × 2 bytes.
        ("qwen3-coder-30b-a3b", 2 * 48 * 4 * 128 * 2),    # 96 KiB (same gallery)
        ("glm-4.5", 2 * 92 * 8 * 128 * 2),
        ("minimax-m2", 2 * 62 * 8 * 128 * 2),
        # Qwen3.5: only 1 layer in 4 attends (16 of 64; 15 of 60 for 397B, "≈ 30 KiB/token").
        ("qwen3.5-27b", 2 * 16 * 4 * 256 * 2),
        ("qwen3.5-397b-a17b", 2 * 15 * 2 * 256 * 2),
    ],
)
def test_bf16_kv_cache_per_token_follows_the_attention_layout(catalog: Catalog, model_id: str,
                                                              bytes_per_token: int) -> None:
    shape = kv_shape(catalog.models[model_id], "vllm")
    assert shape.sliding_elements_per_token == 0
    assert shape.full_elements_per_token * 2 == bytes_per_token


@pytest.mark.parametrize(
    ("model_id", "layers", "attention_layers"),
    [("qwen3.5-9b", 32, [3, 7, 11, 15, 19, 23, 27, 31]),  # 8 × (3 DeltaNet + 1 attention)
     ("qwen3.5-122b-a10b", 48, list(range(3, 48, 4))),   # 12 of 48 attend
     ("qwen3.5-397b-a17b", 60, list(range(3, 60, 4)))],  # 15 of 60 attend
)
def test_qwen35_attends_on_every_fourth_layer_only(catalog: Catalog, model_id: str, layers: int,
                                                  attention_layers: list[int]) -> None:
    model = catalog.models[model_id]
    assert model.layers == layers
    assert [layer for layer in range(layers) if model.has_attention(layer)] == attention_layers
    assert len(model.recurrent_layers) == layers - len(attention_layers)


def test_qwen35_397b_recurrent_state_is_the_deltanet_matrix_plus_the_conv_window(
        catalog: Catalog) -> None:
    # Card: 64 value heads and 16 query/key heads of dim 128, convolution kernel 4. Each layer
    # keeps a 128 × 128 state per value head, plus the last 3 inputs of the q/k/v convolution.
    state = 64 * 128 * 128
    conv = 3 * (64 * 128 + 2 * 16 * 128)
    assert catalog.models["qwen3.5-397b-a17b"].recurrent_state_elements == state + conv


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        # Hugging Face repo ids
        ("Qwen/Qwen3-Coder-480B-A35B-Instruct", "qwen3-coder-480b-a35b"),
        ("Qwen/Qwen3-235B-A22B-Thinking-2507", "qwen3-235b-a22b-2507"),
        ("Qwen/Qwen3-4B-Instruct-2507", "qwen3-4b-2507"),
        ("Qwen/Qwen2.5-Coder-14B-Instruct", "qwen2.5-coder-14b"),
        ("Qwen/Qwen3.5-397B-A17B", "qwen3.5-397b-a17b"),
        ("Qwen/Qwen3-VL-8B-Thinking", "qwen3-vl-8b"),
        ("deepseek-ai/DeepSeek-V3.2-Exp", "deepseek-v3.2"),
        ("deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct", "deepseek-coder-v2-lite"),
        ("moonshotai/Kimi-K2-Instruct-0905", "kimi-k2-0905"),
        ("moonshotai/Kimi-K2-Base", "kimi-k2"),
        ("zai-org/GLM-4.5-Air", "glm-4.5-air"),
        ("zai-org/GLM-4.7", "glm-4.7"),
        ("THUDM/GLM-4-32B-0414", "glm-4-32b-0414"),
        ("MiniMaxAI/MiniMax-M2.1", "minimax-m2.1"),
        # GGUF file stems (<RepoName>-<QUANT>.gguf without the quant)
        ("Qwen3-30B-A3B-Instruct-2507", "qwen3-30b-a3b-2507"),
        ("Qwen3.5-35B-A3B", "qwen3.5-35b-a3b"),
        ("DeepSeek-V3.1-Terminus", "deepseek-v3.1"),
        ("GLM-4.6", "glm-4.6"),
        ("GLM-4-9B-0414", "glm-4-9b-0414"),
        ("MiniMax-M2", "minimax-m2"),
        # Ollama tags
        ("qwen3:1.7b", "qwen3-1.7b"),
        ("qwen3:30b-a3b-instruct-2507-q4_K_M", "qwen3-30b-a3b-2507"),
        ("qwen3-coder:30b", "qwen3-coder-30b-a3b"),
        ("qwen2.5-coder:7b", "qwen2.5-coder-7b"),
        ("qwen3.5:9b", "qwen3.5-9b"),
        ("deepseek-coder-v2:16b", "deepseek-coder-v2-lite"),
        ("deepseek-v3.1:671b", "deepseek-v3.1"),
    ],
)
def test_common_names_resolve_to_the_entry(catalog: Catalog, name: str, model_id: str) -> None:
    assert resolve(catalog.models, name, "model").id == model_id


@pytest.mark.parametrize(
    ("name", "model_id"),
    [("Qwen/Qwen3-30B-A3B", "qwen3-30b-a3b"),   # the April 2025 weights, not the 2507 refresh
     ("qwen3:30b", "qwen3-30b-a3b"),
     ("Qwen3-4B", "qwen3-4b"),
     ("deepseek-ai/DeepSeek-V3", "deepseek-v3"),
     ("deepseek-v2:16b", "deepseek-v2-lite")],
)
def test_earlier_releases_keep_their_own_entries(catalog: Catalog, name: str,
                                                 model_id: str) -> None:
    assert resolve(catalog.models, name, "model").id == model_id
