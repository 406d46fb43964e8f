"""llama.cpp's per-tensor quant rules, each checked against a published GGUF size.

Expected sizes are the publishers' own file tables or exact byte counts (URL beside each), not
values from gpufit. A file holds the GGUF metadata too (the tokenizer: ~0.5-1.5 % of a sub-1B
model), which weights do not, so the estimate must sit at or below the file and within 2 %.
Rule mechanics (fallback table, conditions) are checked on hand-worked tensor shapes.
"""

from __future__ import annotations

import pytest

from gpufit.core.catalog import load_catalog
from gpufit.core.quant_rules import TensorPlace, fallback_type, model_rules, storage_type
from gpufit.core.specs import GB, GIB
from gpufit.core.tensors import layer_tensor_rows, weight_breakdown

TOLERANCE = 0.02

TENSORBLOCK_GEMMA = "https://huggingface.co/tensorblock/gemma-3-1b-it-GGUF"
BARTOWSKI_GEMMA_QAT = "https://huggingface.co/bartowski/google_gemma-3-1b-it-qat-GGUF"
BARTOWSKI_GPT_OSS = "https://huggingface.co/bartowski/openai_gpt-oss-20b-GGUF"
FRAMEWORK_LLAMA_BENCH = ("https://community.frame.work/t/will-the-ai-max-395-128gb-be-able-to-"
                         "run-gpt-oss-120b/73280/26")


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def weights(catalog, model: str, quant: str) -> int:
    return weight_breakdown(catalog.models[model], catalog.quants[quant]).total_bytes


def assert_matches_file(estimated: float, published: float, rounding: float = 0.0) -> None:
    """Within 2 % of the file, and not above it beyond the table's own rounding."""
    assert abs(estimated / published - 1) <= TOLERANCE, (estimated, published)
    assert estimated <= published + rounding, (estimated, published)


# --- row-size fallback -------------------------------------------------------------------

def test_qwen25_05b_q4_k_m_falls_back_at_hidden_896(catalog):
    # https://huggingface.co/bartowski/Qwen2.5-0.5B-Instruct-GGUF/blob/main/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf
    # 397,808,192 bytes. 896 is not a multiple of 256: Q4_K tensors become Q5_0, Q6_K become
    # Q8_0, and the tied table is Q8_0 (llama-quant.cpp tensor_type_fallback, output branch).
    assert_matches_file(weights(catalog, "qwen2.5-0.5b", "Q4_K_M"), 397_808_192)


def test_deepseek_v2_lite_expert_rows_of_1408_fall_back(catalog):
    # https://huggingface.co/Jianping746/DeepSeek-V2-Lite-Chat-Q4_K_M-GGUF: 10,364,416,672 bytes.
    # moe_intermediate_size 1408 is not a multiple of 256, so every routed expert's ffn_down
    # (and Q6_K ones) fall back; the two shared experts are one 2816-wide tensor, which fits.
    assert_matches_file(weights(catalog, "deepseek-v2-lite", "Q4_K_M"), 10_364_416_672)


def test_smollm2_360m_q8_0(catalog):
    # https://huggingface.co/HuggingFaceTB/SmolLM2-360M-Instruct-GGUF/blob/main/smollm2-360m-instruct-q8_0.gguf
    # 386,404,992 bytes (hidden 960).
    assert_matches_file(weights(catalog, "smollm2-360m", "Q8_0"), 386_404_992)


def test_without_the_fallback_qwen25_05b_would_be_far_too_small(catalog):
    # The naive mix (every 256-block type kept) is what gpufit used to report: it misses the
    # published 397.8 MB by more than 10 %, so the fallback test above can fail.
    quant = catalog.quants["Q4_K_M"]
    model = catalog.models["qwen2.5-0.5b"]
    naive = 0.0
    rules = model_rules(quant, model)
    for layer in range(model.layers):
        for role, group, params, _row in layer_tensor_rows(model, layer):
            place = TensorPlace(role, group, 1 << 20, layer, model.layers)  # a row that fits
            naive += params * quant.block_bits[storage_type(quant, rules, place)] / 8
    naive += model.vocab_size * model.hidden_size * quant.block_bits["Q6_K"] / 8
    assert naive < 397_808_192 * 0.90


@pytest.mark.parametrize(("quant", "published_gb"), [
    ("Q2_K", 0.690), ("Q3_K_S", 0.689), ("Q3_K_M", 0.722), ("Q3_K_L", 0.752),
    ("Q4_0", 0.720), ("Q4_K_S", 0.781),
])
def test_gemma3_1b_falls_back_at_hidden_1152(catalog, quant, published_gb):
    # TENSORBLOCK_GEMMA README file table (3 decimals, GB): 1152 is not a multiple of 256.
    assert_matches_file(weights(catalog, "gemma-3-1b", quant), published_gb * GB, 0.0005 * GB)


@pytest.mark.parametrize(("quant", "published_gb"), [
    ("BF16", 2.01), ("Q8_0", 1.07), ("Q6_K", 1.01), ("Q5_K_M", 0.85), ("Q5_K_S", 0.84),
    ("Q4_K_M", 0.81), ("Q4_K_S", 0.78), ("Q4_1", 0.76),
])
def test_gemma3_1b_published_by_bartowski(catalog, quant, published_gb):
    # BARTOWSKI_GEMMA_QAT README file table (2 decimals, GB).
    assert_matches_file(weights(catalog, "gemma-3-1b", quant), published_gb * GB, 0.005 * GB)


def test_fallback_table_is_llama_cpps(catalog):
    # llama-quant.cpp tensor_type_fallback: K/IQ types on a row of 896 (not /256).
    quant = catalog.quants["Q4_K_M"]
    expected = {"Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0", "Q3_K": "Q4_0", "Q2_K": "Q4_0",
                "IQ4_XS": "IQ4_NL", "IQ3_S": "IQ4_NL", "IQ2_XXS": "IQ4_NL", "IQ1_S": "IQ4_NL",
                "TQ1_0": "Q4_0", "Q8_0": "Q8_0"}
    assert {storage: fallback_type(quant, storage, 896) for storage in expected} == expected
    # A row that fits keeps its type; one not even a multiple of 32 ends at F16.
    assert fallback_type(quant, "Q4_K", 4096) == "Q4_K"
    assert fallback_type(quant, "Q4_K", 1000) == "F16"


# --- gpt-oss: MXFP4 experts at every file type -------------------------------------------

def test_gpt_oss_120b_f16_file_keeps_mxfp4_experts(catalog):
    # FRAMEWORK_LLAMA_BENCH: llama-bench reports unsloth's gpt-oss-120b-F16.gguf at 60.87 GiB
    # (tensor bytes), not the ~230 GB an all-F16 model of 117 B parameters would be.
    assert_matches_file(weights(catalog, "gpt-oss-120b", "FP16"), 60.87 * GIB, 0.005 * GIB)


def test_gpt_oss_120b_mxfp4_moe(catalog):
    # FRAMEWORK_LLAMA_BENCH: ggml-org's gpt-oss-120b-mxfp4 GGUF, 59.02 GiB; MXFP4_MOE puts the
    # expert tensors at MXFP4 and every other tensor at Q8_0.
    assert_matches_file(weights(catalog, "gpt-oss-120b", "MXFP4_MOE"), 59.02 * GIB, 0.005 * GIB)


@pytest.mark.parametrize(("quant", "published_gb"), [
    ("MXFP4_MOE", 12.1), ("Q6_K", 12.04), ("Q6_K_L", 12.04),
])
def test_gpt_oss_20b_files_keep_experts_at_mxfp4(catalog, quant, published_gb):
    # BARTOWSKI_GPT_OSS README: "All quants keep the feed forward networks at mxfp4";
    # MXFP4 12.1 GB, Q6_K 12.04 GB, Q6_K_L 12.04 GB.
    assert_matches_file(weights(catalog, "gpt-oss-20b", quant), published_gb * GB, 0.005 * GB)


@pytest.mark.parametrize(("quant", "published_gib"), [
    ("Q2_K", 58.27), ("Q3_K_S", 58.27), ("Q3_K_M", 58.33), ("Q4_0", 58.32), ("Q4_1", 58.41),
    ("Q4_K_S", 58.45), ("Q4_K_M", 58.46), ("Q2_K_L", 58.54), ("Q5_K_S", 58.56), ("Q5_K_M", 58.57),
    ("Q6_K", 58.94), ("Q8_0", 59.03),
])
def test_gpt_oss_120b_every_file_type_keeps_mxfp4_experts(catalog, quant, published_gib):
    # https://ailocalcheck.com/model/unsloth/gpt-oss-120b-GGUF lists unsloth's files (labelled GB,
    # in GiB: its F16 60.88 is llama-bench's 60.87 GiB above). 12 file types, each 0.3 % under: the
    # experts (98 % of the weights) stay MXFP4, only attention and the tables change.
    assert_matches_file(weights(catalog, "gpt-oss-120b", quant), published_gib * GIB, 0.005 * GIB)


def test_gpt_oss_20b_fits_a_12_gb_class_budget_at_q8_0(catalog):
    # Issue 15: the Q8_0 file is ~12 GB, not 22 GB; all-Q8_0 20.9 B parameters would be 22 GB.
    size = weights(catalog, "gpt-oss-20b", "Q8_0")
    assert 11.5 * GB < size < 12.5 * GB


def test_native_mxfp4_rule_is_limited_to_gpt_oss(catalog):
    # Another MoE keeps its Q4_K experts: the converter only writes gpt-oss experts as MXFP4.
    moe = next(model for model in catalog.models.values()
               if model.is_moe and model.architecture != "gpt_oss" and model.native_dtype != "mxfp4")
    types = weight_breakdown(moe, catalog.quants["Q4_K_M"]).params_by_type
    assert "MXFP4" not in types


# --- conditions: 8 experts, 70B, falcon, IQ2 family ---------------------------------------

def place(role: str, row: int = 4096, layer: int = 10, layers: int = 32,
          group: str = "attention") -> TensorPlace:
    return TensorPlace(role, group, row, layer, layers)


def test_eight_experts_bump_attn_v_and_attn_k_to_q8_0(catalog):
    # llama_tensor_get_type_impl: n_expert == 8 → attn_v and attn_k Q8_0 (Mixtral).
    mixtral = next(model for model in catalog.models.values() if model.experts_total == 8)
    quant = catalog.quants["Q4_K_M"]
    rules = model_rules(quant, mixtral)
    assert storage_type(quant, rules, place("attn_v")) == "Q8_0"
    assert storage_type(quant, rules, place("attn_k")) == "Q8_0"
    assert storage_type(quant, rules, place("attn_output")) == "Q5_K"


def test_seventy_b_bumps_only_q3_k_and_q4_k_attn_v(catalog):
    # LLM_TYPE_70B: attn_v Q3_K/Q4_K → Q5_K; a more_bits layer already at Q6_K stays Q6_K.
    llama70 = next(model for model in catalog.models.values()
                   if model.layers == 80 and not model.is_moe)
    quant = catalog.quants["Q4_K_M"]
    rules = model_rules(quant, llama70)
    assert storage_type(quant, rules, place("attn_v", 8192, 0, 80)) == "Q6_K"   # first eighth
    assert storage_type(quant, rules, place("attn_v", 8192, 11, 80)) == "Q5_K"  # not more_bits


def test_iq2_family_bumps_attn_v_for_many_experts_not_to_q8_0(catalog):
    # The IQ2/IQ1 branch: attn_v Q4_K when n_expert >= 4 (no 8-expert Q8_0 there).
    mixtral = next(model for model in catalog.models.values() if model.experts_total == 8)
    quant = catalog.quants["IQ2_XXS"]
    rules = model_rules(quant, mixtral)
    assert storage_type(quant, rules, place("attn_v")) == "Q4_K"
    assert storage_type(quant, rules, place("attn_k")) == "Q4_K"
    assert storage_type(quant, rules, place("attn_output")) == "Q5_K"


def test_iq3_xs_drops_middle_gate_and_up_to_iq3_xxs(catalog):
    # IQ3_XS: ffn_gate/ffn_up in n/8 <= i < 7n/8 become IQ3_XXS, the outer eighths IQ3_S.
    model = catalog.models["llama-3.1-8b"]
    quant = catalog.quants["IQ3_XS"]
    rules = model_rules(quant, model)
    assert storage_type(quant, rules, place("ffn_up", layer=3, group="dense_mlp")) == "IQ3_S"
    assert storage_type(quant, rules, place("ffn_up", layer=4, group="dense_mlp")) == "IQ3_XXS"
    assert storage_type(quant, rules, place("ffn_gate", layer=28, group="dense_mlp")) == "IQ3_S"


def test_iq2_s_defaults_to_iq2_xs_blocks(catalog):
    # llama_ftype_get_default_type: LLAMA_FTYPE_MOSTLY_IQ2_S → GGML_TYPE_IQ2_XS.
    assert catalog.quants["IQ2_S"].default_type == "IQ2_XS"
    assert catalog.quants["IQ3_XS"].default_type == "IQ3_S"
    assert catalog.quants["Q2_K_S"].default_type == "Q2_K"


@pytest.mark.parametrize(("quant", "published_gib"), [
    # llama.cpp tools/quantize/README.md, Llama 3.1 8B table (llama-bench GiB), the same rows
    # as ../shared/reference/gguf_sizes.json gguf-03927..03935.
    ("IQ2_S", 2.56), ("IQ3_XS", 3.27), ("IQ3_S", 3.42), ("Q2_K_S", 2.78),
])
def test_new_file_types_match_llama_cpps_published_llama31_8b_sizes(catalog, quant, published_gib):
    size = weights(catalog, "llama-3.1-8b", quant)
    assert abs(size / (published_gib * GIB) - 1) <= 0.01


def test_falcon_7b_q4_0_published_size(catalog):
    # ../shared/reference/gguf_sizes.json gguf-02746: nomic-ai/gpt4all models3.json lists
    # gpt4all-falcon-newbpe-q4_0.gguf (a Falcon 7B fine-tune) at 4,210,994,112 bytes; its output
    # head is Q8_0 (llama-quant.cpp: arch == LLM_ARCH_FALCON), the rest Q4_0.
    assert_matches_file(weights(catalog, "falcon-7b", "Q4_0"), 4_210_994_112)


def test_falcon_output_is_q8_0_whatever_the_file_type(catalog):
    quant = catalog.quants["Q4_K_M"]
    falcon = next((model for model in catalog.models.values() if model.architecture == "falcon"),
                  None)
    if falcon is None:
        pytest.skip("no Falcon (model_type falcon) model in the catalog")
    rules = model_rules(quant, falcon)
    assert storage_type(quant, rules, place("output", falcon.hidden_size, None, 0, "output")) \
        == "Q8_0"


# --- publisher recipes ---------------------------------------------------------------------

def test_bartowski_l_is_base_plus_q8_0_embed_and_output(catalog):
    # "Uses Q8_0 for embed and output weights" (BARTOWSKI_GEMMA_QAT file table): Q4_K_L is
    # Q4_K_M plus those two tensors at Q8_0, so on an untied 4096-wide model it is larger.
    model = catalog.models["llama-3.1-8b"]
    base = weight_breakdown(model, catalog.quants["Q4_K_M"])
    large = weight_breakdown(model, catalog.quants["Q4_K_L"])
    table = model.vocab_size * model.hidden_size
    expected_extra = table * (8.5 - 4.5) / 8 + table * (8.5 - 6.5625) / 8
    assert large.total_bytes - base.total_bytes == pytest.approx(expected_extra, rel=1e-6)


def test_unsloth_dynamic_quants_state_their_band(catalog):
    quant = catalog.quants["UD-Q4_K_XL"]
    assert quant.size_band_pct == 10
    assert quant.note and "unsloth" in quant.note
    model = catalog.models["llama-3.1-8b"]
    assert weights(catalog, "llama-3.1-8b", "UD-Q4_K_XL") == weight_breakdown(
        model, catalog.quants["Q4_K_M"]).total_bytes


# --- the table's schema --------------------------------------------------------------------

def _load_quants(tmp_path, text: str):
    from gpufit.core.catalog import builtin_catalog_dir, load_catalog_files

    extra = tmp_path / "extra.toml"
    extra.write_text(text, encoding="utf-8")
    return load_catalog_files([builtin_catalog_dir() / "quants.toml", extra])


def test_a_quant_with_base_inherits_the_rules_and_rule_sets(tmp_path):
    catalog = _load_quants(tmp_path, """
[[quant]]
id = "MY_Q4"
name = "my Q4_K_M with a Q8_0 head"
base = "Q4_K_M"
format = "gguf"
nominal_bits = 4
compute = "fp16"
engines = ["llama.cpp"]
rules = [{ role = "output", type = "Q8_0" }]
source = "test"
""")
    assert catalog.issues == []
    mine, base = catalog.quants["MY_Q4"], catalog.quants["Q4_K_M"]
    assert mine.default_type == "Q4_K"
    # The base's own 8 rules, then this quant's rule, then the base's 5 rule-set rules.
    assert len(base.rules) == 13 and len(mine.rules) == 14
    assert mine.rules[:8] == base.rules[:8]
    assert (mine.rules[8].role, mine.rules[8].type) == ("output", "Q8_0")
    assert mine.rules[9:] == base.rules[8:]


@pytest.mark.parametrize(("rule", "problem"), [
    ('{ role = "attn_z", type = "Q4_K" }', "role"),
    ('{ role = "attn_v", type = "Q4_K", group = "dense" }', "group"),
    ('{ role = "attn_v", type = "Q4_K", when = { colour = 1 } }', "when may only hold"),
    ('{ role = "attn_v", type = "Q4_K", when = { type_in = ["Q9_K"] } }', "unknown storage type"),
    ('{ role = "attn_v", type = "Q4_K", layers = "odd" }', "layers"),
])
def test_a_bad_rule_is_reported_and_skips_only_its_quant(tmp_path, rule, problem):
    catalog = _load_quants(tmp_path, f"""
[[quant]]
id = "BAD"
name = "bad"
format = "gguf"
default_type = "Q4_K"
nominal_bits = 4
compute = "fp16"
engines = ["llama.cpp"]
rules = [{rule}]
source = "test"
""")
    assert "BAD" not in catalog.quants and "Q4_K_M" in catalog.quants
    assert any(issue.entry == "BAD" and problem in issue.message for issue in catalog.issues)


def test_an_unknown_rule_set_is_reported(tmp_path):
    catalog = _load_quants(tmp_path, """
[[quant]]
id = "BAD"
name = "bad"
format = "gguf"
default_type = "Q4_K"
nominal_bits = 4
compute = "fp16"
engines = ["llama.cpp"]
rule_sets = ["nowhere"]
source = "test"
""")
    assert "BAD" not in catalog.quants
    assert any(issue.field == "rule_sets" for issue in catalog.issues)
