"""Catalog entries for hybrid and recurrent models (catalog/models/hybrid.toml) and their
published reference figures (benchmarks/reference_hybrid.json).

Checks the data, not the engine: the layer lists follow each config's own layout rule
(full_attention_interval, layer_types, hybrid_override_pattern, attn_layer_period/offset), the
architecture fields add up to the published parameter count when counted here, independently of
gpufit's tensor maths, and the names people type or find on disk resolve to the entries.
Expected values come from the publishers' configs, model cards and llama.cpp logs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpufit.core.catalog import Catalog
from gpufit.core.resolve import resolve
from gpufit.core.specs import ModelSpec
from gpufit.core.tensors import parameter_count

REFERENCE_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "reference_hybrid.json"
HYBRID_IDS = (
    "qwen3-next-80b-a3b", "granite-4.0-h-small", "granite-4.0-h-tiny", "granite-4.0-h-micro",
    "granite-4.0-micro", "falcon-h1-0.5b", "falcon-h1-1.5b", "nemotron-nano-9b-v2",
    "nemotron-nano-12b-v2", "jamba-1.5-mini",
)
# hybrid_override_pattern from each NVIDIA config.json: M Mamba2, * attention, - MLP only.
NEMOTRON_PATTERNS = {
    "nemotron-nano-9b-v2": "M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-",
    "nemotron-nano-12b-v2": "M-M-M-M*-M-M-M-M*-M-M-M-M*-M-M-M-M*-M-M-M-M*-M-M-M-M*-M-M-M-M-",
}
GRANITE_ATTENTION = [5, 15, 25, 35]  # the four "attention" entries of layer_types
JAMBA_DT_RANK = 256  # mamba_dt_rank in Jamba 1.5 Mini's config.json (the schema has no field)


def test_the_hybrid_file_loads_without_issues(catalog: Catalog) -> None:
    assert [issue for issue in catalog.issues if issue.file == "hybrid.toml"] == []
    for model_id in HYBRID_IDS:
        assert model_id in catalog.models


# --- layer lists, from each config's own rule --------------------------------------------------

def test_qwen3_next_attends_on_every_fourth_layer(catalog: Catalog) -> None:
    model = catalog.models["qwen3-next-80b-a3b"]
    # full_attention_interval = 4: layer i is full attention when (i + 1) % 4 == 0.
    expected = [layer for layer in range(48) if (layer + 1) % 4 == 0]
    assert model.layers == 48
    assert list(model.attention_layers or ()) == expected
    assert len(expected) == 12
    assert len(model.recurrent_layers) == 36
    assert model.recurrent_kind == "gated_deltanet"


@pytest.mark.parametrize("model_id", ["granite-4.0-h-small", "granite-4.0-h-tiny",
                                      "granite-4.0-h-micro"])
def test_granite_hybrids_have_four_attention_layers_of_forty(catalog: Catalog,
                                                             model_id: str) -> None:
    model = catalog.models[model_id]
    assert model.layers == 40
    assert [layer for layer in range(40) if model.has_attention(layer)] == GRANITE_ATTENTION
    assert len(model.recurrent_layers) == 36
    assert model.recurrent_kind == "mamba2"


def test_granite_micro_is_not_a_hybrid(catalog: Catalog) -> None:
    model = catalog.models["granite-4.0-micro"]
    assert not model.is_hybrid
    assert all(model.has_attention(layer) for layer in range(model.layers))


@pytest.mark.parametrize(("model_id", "layers"), [("falcon-h1-0.5b", 36), ("falcon-h1-1.5b", 24)])
def test_falcon_h1_runs_attention_and_mamba_in_every_layer(catalog: Catalog, model_id: str,
                                                            layers: int) -> None:
    model = catalog.models[model_id]
    assert model.layers == layers
    assert list(model.recurrent_layers) == list(range(layers))
    assert list(model.attention_layers or ()) == list(range(layers))


@pytest.mark.parametrize(("model_id", "mamba", "attention", "mlp_only"),
                         [("nemotron-nano-9b-v2", 27, 4, 25), ("nemotron-nano-12b-v2", 28, 6, 28)])
def test_nemotron_layers_follow_the_override_pattern(catalog: Catalog, model_id: str, mamba: int,
                                                     attention: int, mlp_only: int) -> None:
    model = catalog.models[model_id]
    pattern = NEMOTRON_PATTERNS[model_id]
    assert model.layers == len(pattern)
    assert list(model.recurrent_layers) == [i for i, kind in enumerate(pattern) if kind == "M"]
    assert list(model.attention_layers or ()) == [i for i, kind in enumerate(pattern)
                                                  if kind == "*"]
    assert (len(model.recurrent_layers), len(model.attention_layers or ())) == (mamba, attention)
    # The MLP-only layers are in neither list: no KV cache, no recurrent state.
    neither = [layer for layer in range(model.layers)
               if layer not in model.recurrent_layers and not model.has_attention(layer)]
    assert len(neither) == mlp_only


def test_jamba_attention_and_experts_follow_period_and_offset(catalog: Catalog) -> None:
    model = catalog.models["jamba-1.5-mini"]
    # attn_layer_period 8 / offset 4; expert_layer_period 2 / offset 1.
    assert list(model.attention_layers or ()) == [4, 12, 20, 28]
    assert len(model.recurrent_layers) == 28
    assert [layer for layer in range(32) if model.is_moe_layer(layer)] == list(range(1, 32, 2))
    assert (model.recurrent_kind, model.ssm_groups) == ("mamba", 0)


@pytest.mark.parametrize("model_id", [m for m in HYBRID_IDS if m != "granite-4.0-micro"])
def test_recurrent_and_attention_lists_only_overlap_for_falcon_h1(catalog: Catalog,
                                                                 model_id: str) -> None:
    model = catalog.models[model_id]
    both = set(model.recurrent_layers) & set(model.attention_layers or ())
    assert bool(both) == model_id.startswith("falcon-h1")


# --- parameter counts ---------------------------------------------------------------------------
# Counted here from the catalog fields with each architecture's own tensor list (the Hugging Face
# modules), so a wrong field shows up whatever gpufit's own tensor maths does with hybrids.

def _attention(m: ModelSpec, gated_query: bool = False) -> int:
    q_width = m.attention_heads * m.head_dim
    kv_width = m.kv_heads * m.head_dim
    return m.hidden_size * q_width * (2 if gated_query else 1) + 2 * m.hidden_size * kv_width \
        + q_width * m.hidden_size


def _mlp(hidden: int, width: int, gated: bool = True) -> int:
    return (3 if gated else 2) * hidden * width


def _mamba2(m: ModelSpec, heads: int) -> int:
    inner, state, groups = m.ssm_inner_size or 0, m.ssm_state_size or 0, m.ssm_groups or 1
    conv_width = inner + 2 * groups * state
    return (m.hidden_size * (2 * inner + 2 * groups * state + heads)  # in_proj: z, x, B, C, dt
            + conv_width * ((m.ssm_conv_kernel or 0) + 1) + 3 * heads + inner  # conv, A, D, dt, norm
            + inner * m.hidden_size)  # out_proj


def _mamba1(m: ModelSpec) -> int:
    inner, state, kernel = m.ssm_inner_size or 0, m.ssm_state_size or 0, m.ssm_conv_kernel or 0
    dt_rank = JAMBA_DT_RANK
    return (m.hidden_size * 2 * inner + inner * (kernel + 1)  # in_proj, conv
            + inner * (dt_rank + 2 * state) + dt_rank * inner + inner  # x_proj, dt_proj
            + inner * state + inner + inner * m.hidden_size  # A, D, out_proj
            + dt_rank + 2 * state)  # Jamba's dt / B / C norms


def _embeddings(m: ModelSpec) -> int:
    return m.vocab_size * m.hidden_size * (1 if m.tied_embeddings else 2)


def _moe(m: ModelSpec) -> int:
    width = m.expert_intermediate_size or m.intermediate_size
    shared = _mlp(m.hidden_size, m.shared_expert_intermediate_size or width) * m.shared_experts
    return m.experts_total * _mlp(m.hidden_size, width) + shared + m.hidden_size * m.experts_total


def _count(m: ModelSpec) -> int:
    """Total parameters of one of this file's models, by its architecture's rules."""
    total = _embeddings(m)
    if m.architecture == "qwen3_next":
        keys = (m.ssm_groups or 0) * (m.ssm_state_size or 0)
        values, heads = m.ssm_inner_size or 0, m.ssm_heads or 0
        deltanet = (m.hidden_size * (2 * keys + 2 * values + 2 * heads)
                    + (2 * keys + values) * (m.ssm_conv_kernel or 0) + 2 * heads
                    + values * m.hidden_size)
        for layer in range(m.layers):
            mixer = _attention(m, gated_query=True) if m.has_attention(layer) else deltanet
            total += mixer + _moe(m) + m.hidden_size  # + the shared expert's gate
    elif m.architecture == "nemotron_h":
        for kind in NEMOTRON_PATTERNS[m.id]:
            total += {"M": _mamba2(m, m.ssm_heads or 0), "*": _attention(m),
                      "-": _mlp(m.hidden_size, m.intermediate_size, gated=False)}[kind]
    else:
        for layer in range(m.layers):
            if layer in m.recurrent_layers:
                total += _mamba1(m) if m.recurrent_kind == "mamba" else _mamba2(m, m.ssm_heads or 1)
            if m.has_attention(layer):
                total += _attention(m)
            total += _moe(m) if m.is_moe_layer(layer) else _mlp(m.hidden_size, m.intermediate_size)
    return total


# (id, published total): model cards, llama.cpp "model params", Hub counts (see hybrid.toml).
PUBLISHED = [
    ("qwen3-next-80b-a3b", 80e9),    # card: 80B total
    ("granite-4.0-h-small", 32e9),   # card: 32B total
    ("granite-4.0-h-tiny", 6.94e9),  # llama.cpp: model params = 6.94 B
    ("granite-4.0-h-micro", 3.2e9),  # Ollama size tag 3.2b
    ("falcon-h1-0.5b", 521e6),       # Hub safetensors count 521M
    ("nemotron-nano-9b-v2", 8.9e9),  # F16 GGUF 17.8 GB at 2 bytes a weight
    ("jamba-1.5-mini", 52e9),        # card: 52B total
]


@pytest.mark.parametrize(("model_id", "total"), PUBLISHED)
def test_architecture_adds_up_to_the_published_total(catalog: Catalog, model_id: str,
                                                     total: float) -> None:
    assert _count(catalog.models[model_id]) == pytest.approx(total, rel=0.02)


def test_granite_micro_parameter_count_matches_the_published_size(catalog: Catalog) -> None:
    # Not a hybrid, so gpufit's own count applies: Ollama's size tag for it is 3.4b.
    total, active = parameter_count(catalog.models["granite-4.0-micro"])
    assert total == pytest.approx(3.4e9, rel=0.02)
    assert active == total


def test_jamba_active_parameters_match_its_card(catalog: Catalog) -> None:
    # Card: "12B active". Each of the 16 MoE layers runs 2 of its 16 experts.
    jamba = catalog.models["jamba-1.5-mini"]
    moe_layers = sum(jamba.is_moe_layer(layer) for layer in range(jamba.layers))
    idle_experts = jamba.experts_total - jamba.experts_active
    active = _count(jamba) - moe_layers * idle_experts * _mlp(jamba.hidden_size,
                                                              jamba.intermediate_size)
    assert moe_layers == 16
    assert active == pytest.approx(12e9, rel=0.02)


# --- names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        # Hugging Face repo ids
        ("Qwen/Qwen3-Next-80B-A3B-Instruct", "qwen3-next-80b-a3b"),
        ("Qwen/Qwen3-Next-80B-A3B-Thinking", "qwen3-next-80b-a3b"),
        ("ibm-granite/granite-4.0-h-small", "granite-4.0-h-small"),
        ("ibm-granite/granite-4.0-h-tiny-base", "granite-4.0-h-tiny"),
        ("ibm-granite/granite-4.0-micro", "granite-4.0-micro"),
        ("tiiuae/Falcon-H1-0.5B-Instruct", "falcon-h1-0.5b"),
        ("tiiuae/Falcon-H1-1.5B-Base", "falcon-h1-1.5b"),
        ("nvidia/NVIDIA-Nemotron-Nano-9B-v2", "nemotron-nano-9b-v2"),
        ("nvidia/NVIDIA-Nemotron-Nano-12B-v2", "nemotron-nano-12b-v2"),
        ("ai21labs/AI21-Jamba-1.5-Mini", "jamba-1.5-mini"),
        # GGUF file stems (unsloth/official: repo name; bartowski: publisher_repo)
        ("Qwen3-Next-80B-A3B-Thinking", "qwen3-next-80b-a3b"),
        ("Qwen_Qwen3-Next-80B-A3B-Instruct", "qwen3-next-80b-a3b"),
        ("granite-4.0-h-micro", "granite-4.0-h-micro"),
        ("ibm-granite_granite-4.0-h-small", "granite-4.0-h-small"),
        ("nvidia_NVIDIA-Nemotron-Nano-9B-v2", "nemotron-nano-9b-v2"),
        ("ai21labs_AI21-Jamba-1.5-Mini", "jamba-1.5-mini"),
        # Ollama tags
        ("granite4:small-h", "granite-4.0-h-small"),
        ("granite4:tiny-h", "granite-4.0-h-tiny"),
        ("granite4:micro", "granite-4.0-micro"),
    ],
)
def test_common_names_resolve_to_the_entry(catalog: Catalog, name: str, model_id: str) -> None:
    assert resolve(catalog.models, name, "model").id == model_id


# --- published reference figures -----------------------------------------------------------------

def _reference() -> list[dict[str, object]]:
    records = json.loads(REFERENCE_PATH.read_text(encoding="utf-8"))
    assert isinstance(records, list)
    return records


def test_reference_records_name_catalog_models_and_public_sources(catalog: Catalog) -> None:
    records = _reference()
    assert len(records) >= 10
    for record in records:
        assert record["model_id"] in catalog.models
        assert record["kind"] in ("gguf_file_bytes", "recurrent_state_bytes", "kv_cache_bytes")
        assert isinstance(record["value"], int | float) and record["value"] > 0
        assert str(record["source"]).startswith("https://")
        if record["kind"] == "gguf_file_bytes":
            assert record["quant"]
        else:
            assert int(str(record["sequences"])) >= 1
        if "unit" in record:
            assert record["unit"] in ("bytes", "GB", "GiB", "MiB")


def _logged(model_id: str, kind: str) -> dict[str, object]:
    [record] = [r for r in _reference() if r["model_id"] == model_id and r["kind"] == kind]
    return record


def test_falcon_h1_log_matches_its_catalog_sizes(catalog: Catalog) -> None:
    # llama.cpp keeps, per recurrent layer and sequence, an f32 conv state of
    # (d_conv - 1) x (d_inner + 2 x n_group x d_state) and an f32 SSM state of d_state x d_inner
    # (llama-hparams.cpp n_embd_r / n_embd_s); its KV cache is f16 K and V per attention layer.
    # The catalog fields must reproduce the published load log of Falcon-H1-1.5B.
    model = catalog.models["falcon-h1-1.5b"]
    inner, state = model.ssm_inner_size or 0, model.ssm_state_size or 0
    conv = ((model.ssm_conv_kernel or 0) - 1) * (inner + 2 * model.ssm_groups * state)
    layers = len(model.recurrent_layers)
    mib = 1024 * 1024
    recurrent = _logged("falcon-h1-1.5b", "recurrent_state_bytes")
    assert layers * conv * 4 / mib == pytest.approx(float(str(recurrent["r_mib"])), abs=0.005)
    assert layers * state * inner * 4 / mib == pytest.approx(float(str(recurrent["s_mib"])),
                                                             abs=0.005)
    kv = _logged("falcon-h1-1.5b", "kv_cache_bytes")
    kv_bytes = (len(model.attention_layers or ()) * 2 * model.kv_heads * model.head_dim * 2
                * int(str(kv["context_tokens"])))
    assert kv_bytes / mib == pytest.approx(float(str(kv["value"])), abs=0.005)
