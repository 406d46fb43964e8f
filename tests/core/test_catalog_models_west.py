"""Catalog entries for current Western-lab open models (catalog/models/google-meta.toml,
mistral.toml, microsoft-hf-ibm-others.toml): their architecture adds up to the published size,
and the names people type or find on disk resolve to them.

Expected totals are the publishers' own figures (model cards, Hugging Face model sizes), never
values read back from the catalog.
"""

from __future__ import annotations

import pytest
from published_counts import check_parameter_counts

from gpufit.core.catalog import Catalog
from gpufit.core.resolve import resolve

# (id, published total, published active or None), from each model's card.
PUBLISHED = [
    ("gemma-3-270m", 268e6, None),             # Hugging Face model size 268M
    ("gemma-4-26b-a4b", 25.2e9, 3.8e9),        # Gemma 4 card: 25.2B total, 3.8B active
    ("gemma-4-31b", 30.7e9, None),             # Gemma 4 card: 30.7B
    ("gemma-4-12b", 11.95e9, None),            # Gemma 4 12B card: 11.95B
    ("llama-4-scout", 109e9, 17e9),            # Meta card: 109B total, 17B active
    ("llama-4-maverick", 400e9, 17e9),         # Meta card: 400B total, 17B active
    ("mistral-small-3.1-24b", 23.6e9, None),   # text model BF16 GGUF: 47.2 GB / 2 bytes
    ("codestral-22b", 22.2e9, None),
    ("ministral-8b", 8.02e9, None),
    ("ministral-3-14b", 13.5e9, None),         # card: 13.5B language model (+ 0.4B vision)
    ("mistral-large-2", 123e9, None),          # Mistral's announcement: 123B
    ("phi-4-reasoning", 14.7e9, None),
    ("smollm2-135m", 135e6, None),
    ("smollm3-3b", 3.08e9, None),
    ("granite-3.3-8b", 8.17e9, None),
    ("granite-3.1-3b-a800m", 3.3e9, None),     # active "A800M" is a name, not a count
    ("olmo-2-32b", 32.2e9, None),
    ("command-a", 111e9, None),
]


@pytest.mark.parametrize(("model_id", "total", "active"), PUBLISHED)
def test_computed_parameters_match_the_published_counts(catalog: Catalog, model_id: str,
                                                        total: float,
                                                        active: float | None) -> None:
    # Active counts are published to one or two digits ("17B", "A800M").
    check_parameter_counts(catalog.models[model_id], total, active, active_tolerance=0.1)


def test_maverick_has_experts_on_every_second_layer_only(catalog: Catalog) -> None:
    # interleave_moe_layer_step = 2 over 48 layers: 24 MoE layers, 24 dense ones.
    maverick = catalog.models["llama-4-maverick"]
    moe_layers = [layer for layer in range(maverick.layers) if maverick.is_moe_layer(layer)]
    assert len(moe_layers) == 24
    assert moe_layers[:3] == [1, 3, 5]
    scout = catalog.models["llama-4-scout"]
    assert all(scout.is_moe_layer(layer) for layer in range(scout.layers))


@pytest.mark.parametrize(
    ("model_id", "sliding_layers"),
    [
        ("gemma-4-31b", 50),    # layer_types: 5 sliding + 1 full, 10 times
        ("llama-4-scout", 36),  # chunked attention on 3 of every 4 layers
        ("ministral-8b", 27),   # 1 full + 3 sliding, 9 times
        ("command-a", 48),      # 3 sliding + 1 global, 16 times
        ("phi-4-reasoning", 0),
    ],
)
def test_sliding_layers_follow_the_config_layer_pattern(catalog: Catalog, model_id: str,
                                                         sliding_layers: int) -> None:
    model = catalog.models[model_id]
    assert sum(model.is_sliding_layer(layer) for layer in range(model.layers)) == sliding_layers


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        # Hugging Face repo ids
        ("google/gemma-4-26B-A4B-it", "gemma-4-26b-a4b"),
        ("meta-llama/Llama-4-Maverick-17B-128E-Instruct", "llama-4-maverick"),
        ("mistralai/Mistral-Small-3.2-24B-Instruct-2506", "mistral-small-3.2-24b"),
        ("mistralai/Magistral-Small-2509", "magistral-small-2509"),
        ("microsoft/Phi-4-reasoning-plus", "phi-4-reasoning-plus"),
        ("ibm-granite/granite-3.3-2b-instruct", "granite-3.3-2b"),
        ("allenai/OLMo-2-1124-13B-Instruct", "olmo-2-13b"),
        ("CohereForAI/c4ai-command-r7b-12-2024", "command-r7b"),
        # GGUF file stems (<RepoName>-<QUANT>.gguf without the quant)
        ("Llama-4-Scout-17B-16E-Instruct", "llama-4-scout"),
        ("gemma-4-31B-it", "gemma-4-31b"),
        ("Devstral-Small-2507", "devstral-small-2507"),
        ("SmolLM2-1.7B-Instruct", "smollm2-1.7b"),
        ("Ministral-8B-Instruct-2410", "ministral-8b"),
        # Ollama tags
        ("gemma4:26b", "gemma-4-26b-a4b"),
        ("llama4:scout", "llama-4-scout"),
        ("mistral-small3.1:24b", "mistral-small-3.1-24b"),
        ("codestral:22b", "codestral-22b"),
        ("granite3.1-moe:3b", "granite-3.1-3b-a800m"),
        ("olmo2:7b", "olmo-2-7b"),
        ("command-a:111b", "command-a"),
        ("gemma4:12b", "gemma-4-12b"),
        ("mistral-large:123b", "mistral-large-2"),
        ("Ministral-3-14B-Instruct-2512", "ministral-3-14b"),
        ("command-r-plus:104b", "command-r-plus"),
    ],
)
def test_common_names_resolve_to_the_entry(catalog: Catalog, name: str, model_id: str) -> None:
    assert resolve(catalog.models, name, "model").id == model_id


def test_versions_of_one_architecture_stay_distinct(catalog: Catalog) -> None:
    # Same 24B text model, different weights: each release keeps its own entry and name.
    ids = {resolve(catalog.models, name, "model").id
           for name in ("Magistral-Small-2506", "Magistral-Small-2507", "Magistral-Small-2509",
                        "Devstral-Small-2505", "Mistral-Small-3.1-24B-Instruct-2503")}
    assert len(ids) == 5
