"""config.json → ModelSpec fields: published parameter counts, the hand-made catalog, bad input.

The real configs live in data/hf_configs.json (copied from the shared reference data and from
public config.json files, each with its source), so the tests run on a clean clone.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpufit.core.catalog import load_catalog
from gpufit.core.specs import ModelSpec
from gpufit.core.tensors import parameter_count
from gpufit.importers.errors import ModelImportError
from gpufit.importers.hf_config import architecture_from_hf_config

DATA = json.loads((Path(__file__).parent / "data" / "hf_configs.json").read_text(encoding="utf-8"))
CONFIG_PATH = Path("/models/example/config.json")
# ModelSpec fields that describe the checkpoint rather than its architecture.
NOT_ARCHITECTURE = {"id", "name", "family", "source", "aliases", "params_total_published",
                    "params_active_published"}
ARCHITECTURE_FIELDS = [item.name for item in dataclasses.fields(ModelSpec)
                       if item.name not in NOT_ARCHITECTURE]
RELATIVE_TOLERANCE = 0.03


def record_config(record: dict[str, Any]) -> dict[str, Any]:
    return {**record["config"], **record.get("supplement", {})}


def spec_from(config: dict[str, Any]) -> tuple[ModelSpec, list[str]]:
    fields, notes = architecture_from_hf_config(config, CONFIG_PATH)
    spec = ModelSpec(id="imported", name="imported", family="imported", source="config.json",
                     params_total_published=1.0, **fields)
    return spec, notes


def stated_params(text: str) -> tuple[float, float]:
    """(value, tolerance) of a stated count such as '6.74 B (llama.cpp)' or '30B'.

    A figure given to one significant digit ('3B', '40B') is only known to half that digit, so
    it is checked to that precision; every other figure to 3 %."""
    match = re.match(r"\s*(\d+(?:\.\d+)?)\s*B\b", text)
    assert match, text
    digits = match.group(1)
    value_b = float(digits)
    significant = digits.replace(".", "").lstrip("0")
    if "." not in digits:
        significant = significant.rstrip("0")
    tolerance_b = RELATIVE_TOLERANCE * value_b
    if len(significant) == 1:
        leading_place_b = 10.0 ** math.floor(math.log10(value_b))
        tolerance_b = max(tolerance_b, leading_place_b / 2)
    return value_b * 1e9, tolerance_b * 1e9


def test_stated_figures_are_read_with_their_precision():
    assert stated_params("6.74 B (llama.cpp \"model params\")") == pytest.approx((6.74e9, 0.2022e9))
    assert stated_params("30B") == pytest.approx((30e9, 5e9))
    assert stated_params("3B") == pytest.approx((3e9, 0.5e9))
    assert stated_params("405B (nominal)") == pytest.approx((405e9, 12.15e9))
    assert stated_params("0.5B") == pytest.approx((0.5e9, 0.05e9))


STATED = [record for record in DATA["records"] if record["total_params_stated"]]


@pytest.mark.parametrize("record", STATED, ids=[record["model"] for record in STATED])
def test_parameter_count_matches_the_stated_total_and_active(record):
    spec, _notes = spec_from(record_config(record))
    total, active = parameter_count(spec)
    expected_total, tolerance = stated_params(record["total_params_stated"])
    assert abs(total - expected_total) <= tolerance, (total, record["total_params_stated"])
    if record["active_params_stated"]:
        if record.get("active_excludes_input_embedding"):
            active -= spec.vocab_size * spec.hidden_size
        expected_active, tolerance = stated_params(record["active_params_stated"])
        assert abs(active - expected_active) <= tolerance, (active, record["active_params_stated"])


def test_the_stated_records_cover_dense_moe_mla_and_non_gated_models():
    kinds = {(spec.is_moe, spec.uses_mla, spec.mlp_gated)
             for spec, _ in (spec_from(record_config(record)) for record in STATED)}
    assert {(False, False, True), (True, False, True), (True, True, True),
            (False, False, False)} <= kinds


def catalog_pairs() -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    catalog = load_catalog()
    by_alias = {alias.casefold(): model.id for model in catalog.models.values()
                for alias in model.aliases}
    pairs = []
    for record in DATA["records"]:
        model_id = by_alias.get(record["hf_repo"].casefold())
        if model_id:
            pairs.append((model_id, record_config(record), record.get("catalog_differences", {})))
    for extra in DATA["more_configs"]:
        if "catalog_id" in extra:
            pairs.append((extra["catalog_id"], extra["config"], {}))
    return pairs


CATALOG_PAIRS = catalog_pairs()


@pytest.mark.parametrize(("model_id", "config", "differences"), CATALOG_PAIRS,
                         ids=[pair[0] for pair in CATALOG_PAIRS])
def test_fields_equal_the_hand_made_catalog_entry(catalog, model_id, config, differences):
    spec, _notes = spec_from(config)
    entry = catalog.models[model_id]
    mismatched = {name: (getattr(spec, name), getattr(entry, name)) for name in ARCHITECTURE_FIELDS
                  if getattr(spec, name) != getattr(entry, name)}
    # Each listed difference is a deliberate catalog choice; it must still be a difference.
    assert set(mismatched) == set(differences), mismatched


def test_the_catalog_comparison_covers_the_special_cases():
    ids = {pair[0] for pair in CATALOG_PAIRS}
    assert {"gemma-2-9b", "gemma-3-1b", "gemma-3-4b", "mistral-7b", "qwen2.5-7b", "deepseek-r1",
            "deepseek-v2-lite", "gpt-oss-20b", "phi-3-mini", "falcon-40b"} <= ids
    assert len(ids) >= 25


def test_gemma_3_text_config_defaults_are_filled_and_noted(catalog):
    [gemma] = [extra for extra in DATA["more_configs"] if extra["name"] == "gemma-3-4b-it"]
    spec, notes = spec_from(gemma["config"])
    assert (spec.attention_heads, spec.kv_heads, spec.head_dim, spec.vocab_size) == (8, 4, 256, 262208)
    assert spec.architecture == "gemma3"
    assert any("num_attention_heads" in note and "default" in note for note in notes)
    assert any("vision" in note for note in notes)


@pytest.mark.parametrize("name", ["Qwen1.5-MoE-A2.7B", "Llama-4-Scout-17B-16E"])
def test_more_moe_configs_match_published_counts(name):
    [extra] = [extra for extra in DATA["more_configs"] if extra["name"] == name]
    spec, _notes = spec_from(extra["config"])
    total, active = parameter_count(spec)
    assert total == pytest.approx(extra["params_total_published"], rel=RELATIVE_TOLERANCE)
    assert active == pytest.approx(extra["params_active_published"], rel=RELATIVE_TOLERANCE)
    assert spec.shared_experts == 1


def test_llama_4_chunked_attention_is_a_window_on_three_layers_of_four():
    [extra] = [extra for extra in DATA["more_configs"] if extra["name"] == "Llama-4-Scout-17B-16E"]
    spec, notes = spec_from(extra["config"])
    assert (spec.sliding_window_tokens, spec.sliding_window_pattern) == (8192, 4)
    assert spec.intermediate_size == 16384 and spec.expert_intermediate_size == 8192
    assert any("chunked" in note for note in notes)


LLAMA_LIKE: dict[str, Any] = {
    "model_type": "llama", "num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 8,
    "num_key_value_heads": 2, "intermediate_size": 512, "vocab_size": 1000,
    "max_position_embeddings": 4096, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}


def test_a_plain_config_maps_field_by_field():
    fields, notes = architecture_from_hf_config(LLAMA_LIKE, CONFIG_PATH)
    assert fields == {
        "architecture": "llama", "layers": 4, "hidden_size": 256, "attention_heads": 8,
        "kv_heads": 2, "head_dim": 32, "intermediate_size": 512, "vocab_size": 1000,
        "tied_embeddings": False, "max_context_tokens": 4096, "mlp_gated": True,
        "attention_bias": False, "native_dtype": "bf16",
    }
    assert notes == ["head_dim not given; using hidden_size / num_attention_heads = 32."]


def test_gpt2_style_names_and_defaults():
    config = {"model_type": "gpt2", "n_layer": 12, "n_embd": 768, "n_head": 12, "n_inner": None,
              "vocab_size": 50257, "n_positions": 1024, "torch_dtype": "float32"}
    fields, notes = architecture_from_hf_config(config, CONFIG_PATH)
    assert (fields["layers"], fields["hidden_size"], fields["attention_heads"]) == (12, 768, 12)
    assert fields["intermediate_size"] == 4 * 768 and fields["mlp_gated"] is False
    assert fields["tied_embeddings"] is True and fields["attention_bias"] is True
    assert (fields["max_context_tokens"], fields["native_dtype"]) == (1024, "fp32")
    assert any("intermediate_size" in note for note in notes)


def test_multi_query_falcon_has_one_kv_head():
    config = {"model_type": "falcon", "num_hidden_layers": 32, "hidden_size": 4544,
              "num_attention_heads": 71, "multi_query": True, "new_decoder_architecture": False,
              "vocab_size": 65024, "bias": False}
    fields, _notes = architecture_from_hf_config(config, CONFIG_PATH)
    assert (fields["kv_heads"], fields["head_dim"], fields["max_context_tokens"]) == (1, 64, 2048)


def test_qwen2_sliding_window_only_when_use_sliding_window():
    config = {**LLAMA_LIKE, "model_type": "qwen2", "sliding_window": 1024}
    fields, _ = architecture_from_hf_config(config, CONFIG_PATH)
    assert "sliding_window_tokens" not in fields and fields["attention_bias"] is True
    fields, _ = architecture_from_hf_config({**config, "use_sliding_window": True,
                                             "max_window_layers": 0}, CONFIG_PATH)
    assert fields["sliding_window_tokens"] == 1024 and "sliding_window_pattern" not in fields


def test_periodic_layer_types_give_the_pattern():
    types = ["sliding_attention", "sliding_attention", "full_attention"] * 2
    config = {**LLAMA_LIKE, "num_hidden_layers": 6, "sliding_window": 512, "layer_types": types}
    fields, notes = architecture_from_hf_config(config, CONFIG_PATH)
    assert (fields["sliding_window_tokens"], fields["sliding_window_pattern"]) == (512, 3)
    assert not any("layer_types" in note for note in notes)


def test_irregular_layer_types_keep_at_least_as_many_global_layers():
    types = ["full_attention", "sliding_attention", "sliding_attention", "sliding_attention",
             "full_attention", "sliding_attention", "sliding_attention", "sliding_attention"]
    config = {**LLAMA_LIKE, "num_hidden_layers": 8, "sliding_window": 512, "layer_types": types}
    fields, notes = architecture_from_hf_config(config, CONFIG_PATH)
    spec = ModelSpec(id="x", name="x", family="x", source="x", params_total_published=1.0, **fields)
    global_layers = sum(not spec.is_sliding_layer(layer) for layer in range(8))
    assert global_layers >= 2 and any("approximated" in note for note in notes)


def test_interleaved_moe_layers_are_every_nth_layer():
    config = {**LLAMA_LIKE, "model_type": "qwen2_moe", "num_experts": 8, "num_experts_per_tok": 2,
              "moe_intermediate_size": 128, "decoder_sparse_step": 2}
    fields, notes = architecture_from_hf_config(config, CONFIG_PATH)
    # decoder_sparse_step 2: layer i has experts when (i + 1) is even, i.e. layers 1 and 3.
    assert (fields["experts_total"], fields["experts_active"], fields["moe_layer_step"]) == (8, 2, 2)
    assert "dense_layers" not in fields
    assert not any("interleaved" in note for note in notes)


def test_irregular_moe_layers_count_as_leading_dense_layers_with_a_note():
    config = {**LLAMA_LIKE, "model_type": "qwen2_moe", "num_experts": 8, "num_experts_per_tok": 2,
              "moe_intermediate_size": 128, "mlp_only_layers": [1]}
    fields, notes = architecture_from_hf_config(config, CONFIG_PATH)
    assert fields["dense_layers"] == 1
    assert any("no regular pattern" in note for note in notes)


@pytest.mark.parametrize(("change", "named"), [
    ({"num_hidden_layers": None}, "num_hidden_layers"),
    ({"hidden_size": "4096"}, "hidden_size"),
    ({"num_attention_heads": -8}, "num_attention_heads"),
    ({"num_attention_heads": True}, "num_attention_heads"),
    ({"vocab_size": 2**40}, "vocab_size"),
    ({"vocab_size": 10**5000}, "vocab_size"),
    ({"text_config": [1, 2]}, "text_config"),
    ({"tie_word_embeddings": "false"}, "tie_word_embeddings"),
    ({"num_key_value_heads": 3}, "num_key_value_heads"),
    ({"num_local_experts": 8}, "num_experts_per_tok"),
    ({"num_local_experts": 2, "num_experts_per_tok": 4}, "num_experts_per_tok"),
    ({"sliding_window": 64, "layer_types": ["full_attention"]}, "layer_types"),
    ({"kv_lora_rank": 64}, "qk_rope_head_dim"),
    ({"quantization_config": "fp8"}, "quantization_config"),
    ({"model_type": 7}, "model_type"),
])
def test_bad_fields_raise_an_import_error_naming_the_field(change, named):
    config = {**LLAMA_LIKE, **change}
    config = {key: value for key, value in config.items() if value is not None}
    with pytest.raises(ModelImportError) as raised:
        architecture_from_hf_config(config, CONFIG_PATH)
    assert named in raised.value.problem
    assert raised.value.path == str(CONFIG_PATH)


def test_missing_layers_message_lists_the_alternative_names():
    config = {key: value for key, value in LLAMA_LIKE.items() if key != "num_hidden_layers"}
    with pytest.raises(ModelImportError, match=r"has no num_hidden_layers \(or n_layer / num_layers"):
        architecture_from_hf_config(config, CONFIG_PATH)


def test_a_bad_text_config_field_is_named_with_its_section():
    config = {"model_type": "gemma3", "text_config": {"model_type": "gemma3_text",
                                                      "num_hidden_layers": "34"}}
    with pytest.raises(ModelImportError, match=r"text_config\.num_hidden_layers"):
        architecture_from_hf_config(config, CONFIG_PATH)


JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                      children, max_size=4),
    max_leaves=20,
)
KNOWN_KEYS = st.sampled_from(sorted({
    *LLAMA_LIKE, "text_config", "layer_types", "sliding_window", "use_sliding_window",
    "sliding_window_pattern", "num_local_experts", "num_experts_per_tok", "moe_topk",
    "moe_intermediate_size", "n_shared_experts", "shared_expert_intermediate_size",
    "first_k_dense_replace", "decoder_sparse_step", "mlp_only_layers", "moe_layers",
    "kv_lora_rank", "q_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim",
    "quantization_config", "head_dim", "multi_query", "attention_bias", "max_window_layers",
    "attention_chunk_size", "no_rope_layers", "intermediate_size_mlp", "vision_config",
    "num_nextn_predict_layers", "n_layer", "n_embd", "n_head",
}))


def accepts_or_refuses(config: Any) -> None:
    try:
        fields, notes = architecture_from_hf_config(config, CONFIG_PATH)
    except ModelImportError:
        return
    assert all(isinstance(note, str) for note in notes)
    spec = ModelSpec(id="x", name="x", family="x", source="x", params_total_published=1.0, **fields)
    total, active = parameter_count(spec)  # what the importer does next must not fail either
    assert 0 < active <= total


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=8))
def test_arbitrary_json_objects_only_ever_raise_model_import_error(config):
    accepts_or_refuses(config)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(KNOWN_KEYS, JSON_VALUES, max_size=6),
       st.sampled_from(["llama", "qwen2", "qwen2_moe", "gemma3", "llama4", "gpt_oss",
                        "deepseek_v3", "falcon", "phi3", "unknown"]))
def test_a_valid_config_with_junk_fields_only_ever_raises_model_import_error(junk, model_type):
    accepts_or_refuses({**LLAMA_LIKE, "model_type": model_type, **junk})


@given(JSON_VALUES)
def test_a_non_object_config_is_refused(value):
    if isinstance(value, dict):
        return
    with pytest.raises(ModelImportError):
        architecture_from_hf_config(value, CONFIG_PATH)
