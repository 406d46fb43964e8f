"""Catalog entries of catalog/models/more-families.toml (Code Llama, TinyLlama, Gemma,
StarCoder2, InternLM2.5/3, Qwen2, Aya 23, Phi-2, StableLM 2, Phi-3.5-MoE, ERNIE 4.5, Seed-OSS,
Qwen2.5-VL, DeepSeek Coder, Yi-1.5, EXAONE, Pixtral): their architecture adds up to the published size, their
cache per token is what the architecture implies, and the names people type or find on disk
resolve to them.

Expected values are the publishers' figures (model cards, Hugging Face model sizes) or are worked
out by hand from the published module shapes, never read back from the catalog.
"""

from __future__ import annotations

import pytest
from published_counts import check_parameter_counts

from gpufit.core.catalog import Catalog
from gpufit.core.memory import kv_shape
from gpufit.core.resolve import resolve
from gpufit.core.tensors import parameter_count

# (id, published total, published active or None).
PUBLISHED = [
    ("codellama-7b", 6.74e9, None),              # Hugging Face model size 6.74B
    ("codellama-34b", 33.7e9, None),             # Hugging Face model size 33.7B
    ("tinyllama-1.1b", 1.1e9, None),             # card: 1.1B
    ("gemma-2b", 2.51e9, None),                  # Hugging Face model size 2.51B
    ("gemma-7b", 8.54e9, None),                  # Hugging Face model size 8.54B
    ("deepseek-coder-1.3b", 1.35e9, None),       # Hugging Face model size 1.35B
    ("starcoder2-3b", 3.03e9, None),             # Hugging Face model size 3.03B
    ("starcoder2-7b", 7.17e9, None),             # Hugging Face model size 7.17B
    ("internlm2.5-7b", 7.74e9, None),            # Hugging Face model size 7.74B
    ("internlm3-8b", 8.8e9, None),               # Hugging Face model size 8.8B
    ("qwen2-7b", 7.62e9, None),                  # Hugging Face model size 7.62B
    ("aya-23-8b", 8.03e9, None),                 # Hugging Face model size 8.03B
    ("phi-2", 2.78e9, None),                     # Hugging Face model size 2.78B
    ("phi-3.5-moe", 41.9e9, 6.6e9),              # card: 41.9B total, 6.6B active
    ("ernie-4.5-0.3b", 0.36e9, None),            # card: 0.36B
    ("ernie-4.5-300b-a47b", 300e9, 47e9),        # card: 300B total, 47B active
    ("seed-oss-36b", 36e9, None),                # card: 36B
    ("yi-1.5-6b", 6.06e9, None),                 # Hugging Face model size 6.06B
    ("exaone-4.0-32b", 32e9, None),              # card: 32B
    ("yi-1.5-34b", 34.4e9, None),                # Hugging Face model size 34.4B
    # Hub total 8.29B minus the vision tower (676.6M, see the next test).
    ("qwen2.5-vl-7b", 8.29e9 - 676_550_144, None),
]


@pytest.mark.parametrize(("model_id", "total", "active"), PUBLISHED)
def test_computed_parameters_match_the_published_counts(catalog: Catalog, model_id: str,
                                                        total: float,
                                                        active: float | None) -> None:
    # Active counts are published to two digits.
    check_parameter_counts(catalog.models[model_id], total, active, active_tolerance=0.06)


def test_yi_15_9b_adds_up_to_its_stated_parameter_count(catalog: Catalog) -> None:
    # A public notebook states 8,829,407,232 parameters for 01-ai/Yi-1.5-9B-Chat; the layer
    # shapes (48 × Yi-6B's layer, untied 64,000-token vocabulary) must reproduce it exactly.
    total, _active = parameter_count(catalog.models["yi-1.5-9b"])
    assert total == 8_829_407_232


def test_exaone_35_non_embedding_count_matches_the_card(catalog: Catalog) -> None:
    # The EXAONE 3.5 card gives 6.98B parameters without embeddings for the 7.8B; the untied
    # embedding and output head add 2 × 102,400 × 4096.
    total, _active = parameter_count(catalog.models["exaone-3.5-7.8b"])
    assert total - 2 * 102_400 * 4096 == pytest.approx(6.98e9, rel=0.005)


def test_exaone_4_attends_globally_on_every_fourth_layer(catalog: Catalog) -> None:
    # "LLLG": 48 sliding-window layers (4,096 tokens) and 16 global ones, layers 3, 7, …, 63.
    model = catalog.models["exaone-4.0-32b"]
    assert [layer for layer in range(64) if not model.is_sliding_layer(layer)] == list(
        range(3, 64, 4))
    shape = kv_shape(model, "vllm")
    assert (shape.full_layers, shape.sliding_layers, shape.window_tokens) == (16, 48, 4096)


def test_qwen25_vl_7b_vision_tower_is_the_module_sum() -> None:
    # Worked from the module shapes transformers prints for Qwen2.5-VL: one vision block is
    # 2 norms (1280 each), qkv 1280 → 3840 and proj 1280 → 1280 with biases, gate/up 1280 → 3420
    # and down 3420 → 1280 with biases; the torchinfo summary of the 3B gives 19,702,200.
    block = (2 * 1280 + (1280 * 3840 + 3840) + (1280 * 1280 + 1280)
             + 2 * (1280 * 3420 + 3420) + (3420 * 1280 + 1280))
    assert block == 19_702_200
    patch_embedding = 3 * 1280 * 2 * 14 * 14
    merger_7b = 1280 + (5120 * 5120 + 5120) + (5120 * 3584 + 3584)
    assert 32 * block + patch_embedding + merger_7b == 676_550_144


def test_vision_models_carry_their_vision_tower(catalog: Catalog) -> None:
    assert catalog.models["qwen2.5-vl-7b"].mmproj_params == pytest.approx(676.6e6, rel=0.002)
    assert catalog.models["qwen2.5-vl-3b"].mmproj_params == pytest.approx(668.7e6, rel=0.002)
    # Pixtral card: "12B parameter Multimodal Decoder + 400M parameter Vision Encoder".
    pixtral = catalog.models["pixtral-12b"]
    assert pixtral.mmproj_params == pytest.approx(0.4e9)
    assert parameter_count(pixtral)[0] == pytest.approx(12e9, rel=0.025)


@pytest.mark.parametrize(
    ("model_id", "bytes_per_token"),
    [
        # 2 (K and V) × layers × KV heads × head_dim × 2 bytes (BF16/F16).
        ("codellama-7b", 2 * 32 * 32 * 128 * 2),    # full multi-head attention: 512 KiB
        ("codellama-34b", 2 * 48 * 8 * 128 * 2),    # GQA, 8 KV heads
        ("tinyllama-1.1b", 2 * 22 * 4 * 64 * 2),
        ("gemma-2b", 2 * 18 * 1 * 256 * 2),         # multi-query: one KV head of 256
        ("phi-2", 2 * 32 * 32 * 80 * 2),
        ("seed-oss-36b", 2 * 64 * 8 * 128 * 2),
    ],
)
def test_bf16_kv_cache_per_token_follows_the_attention_layout(catalog: Catalog, model_id: str,
                                                              bytes_per_token: int) -> None:
    shape = kv_shape(catalog.models[model_id], "vllm")
    assert shape.sliding_elements_per_token == 0
    assert shape.full_elements_per_token * 2 == bytes_per_token


def test_starcoder2_slides_every_layer_under_vllm(catalog: Catalog) -> None:
    # StarCoder2 attends through a 4,096-token window on all 32 layers (4 KV heads of 128).
    starcoder = catalog.models["starcoder2-7b"]
    assert starcoder.sliding_window_tokens == 4096
    shape = kv_shape(starcoder, "vllm")
    assert shape.full_elements_per_token == 0
    assert shape.sliding_elements_per_token == 2 * 32 * 4 * 128


def test_ernie_moe_keeps_its_leading_layers_dense(catalog: Catalog) -> None:
    # moe_layer_start_index: 1 for 21B-A3B, 3 for 300B-A47B; every later layer routes.
    small = catalog.models["ernie-4.5-21b-a3b"]
    assert [layer for layer in range(small.layers) if not small.is_moe_layer(layer)] == [0]
    large = catalog.models["ernie-4.5-300b-a47b"]
    assert [layer for layer in range(large.layers) if not large.is_moe_layer(layer)] == [0, 1, 2]


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        # Hugging Face repo ids
        ("codellama/CodeLlama-13b-Instruct-hf", "codellama-13b"),
        ("meta-llama/CodeLlama-7b-hf", "codellama-7b"),
        ("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "tinyllama-1.1b"),
        ("google/gemma-2b-it", "gemma-2b"),
        ("google/gemma-1.1-7b-it", "gemma-7b"),
        ("deepseek-ai/deepseek-coder-1.3b-instruct", "deepseek-coder-1.3b"),
        ("bigcode/starcoder2-7b", "starcoder2-7b"),
        ("internlm/internlm2_5-7b-chat", "internlm2.5-7b"),
        ("Qwen/Qwen2-7B-Instruct", "qwen2-7b"),
        ("CohereForAI/aya-23-8B", "aya-23-8b"),
        ("microsoft/phi-2", "phi-2"),
        ("stabilityai/stablelm-2-zephyr-1_6b", "stablelm-2-1.6b"),
        ("microsoft/Phi-3.5-MoE-instruct", "phi-3.5-moe"),
        ("baidu/ERNIE-4.5-21B-A3B-Thinking", "ernie-4.5-21b-a3b"),
        ("ByteDance-Seed/Seed-OSS-36B-Instruct", "seed-oss-36b"),
        ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5-vl-7b"),
        ("internlm/internlm3-8b-instruct", "internlm3-8b"),
        ("mistral-community/pixtral-12b", "pixtral-12b"),
        ("01-ai/Yi-1.5-9B-Chat", "yi-1.5-9b"),
        ("LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct", "exaone-3.5-7.8b"),
        # GGUF file stems (<RepoName>-<QUANT>.gguf without the quant)
        ("CodeLlama-34b-Instruct-hf", "codellama-34b"),
        ("Qwen2-1.5B-Instruct", "qwen2-1.5b"),
        ("ERNIE-4.5-0.3B-PT", "ernie-4.5-0.3b"),
        ("ERNIE-4.5-300B-A47B-PT", "ernie-4.5-300b-a47b"),
        ("Seed-OSS-36B-Base", "seed-oss-36b"),
        ("Qwen2.5-VL-3B-Instruct", "qwen2.5-vl-3b"),
        ("Yi-1.5-34B-Chat", "yi-1.5-34b"),
        ("EXAONE-4.0-32B", "exaone-4.0-32b"),
        ("Pixtral-12B-2409", "pixtral-12b"),
        # Ollama tags
        ("codellama:34b", "codellama-34b"),
        ("tinyllama:1.1b", "tinyllama-1.1b"),
        ("gemma:2b", "gemma-2b"),
        ("gemma:7b", "gemma-7b"),
        ("deepseek-coder:1.3b", "deepseek-coder-1.3b"),
        ("starcoder2:7b", "starcoder2-7b"),
        ("starcoder2:3b", "starcoder2-3b"),
        ("qwen2:0.5b", "qwen2-0.5b"),
        ("aya:8b", "aya-23-8b"),
        ("phi:2.7b", "phi-2"),
        ("stablelm2:1.6b", "stablelm-2-1.6b"),
        ("qwen2.5vl:7b", "qwen2.5-vl-7b"),
        ("exaone3.5:7.8b", "exaone-3.5-7.8b"),
    ],
)
def test_common_names_resolve_to_the_entry(catalog: Catalog, name: str, model_id: str) -> None:
    assert resolve(catalog.models, name, "model").id == model_id


@pytest.mark.parametrize(
    ("name", "model_id"),
    [("Qwen/Qwen2.5-7B-Instruct", "qwen2.5-7b"),    # the next generation keeps its own entry
     ("google/gemma-2-2b-it", "gemma-2-2b"),
     ("Qwen/Qwen2.5-3B-Instruct", "qwen2.5-3b"),
     ("mistralai/Mistral-Nemo-Instruct-2407", "mistral-nemo-12b"),  # Pixtral's text base
     ("01-ai/Yi-34B-Chat", "yi-34b"),                # the first Yi, not Yi-1.5
     ("yi:34b", "yi-34b")],
)
def test_neighbouring_generations_keep_their_own_entries(catalog: Catalog, name: str,
                                                         model_id: str) -> None:
    assert resolve(catalog.models, name, "model").id == model_id
