"""Names people and nvidia-smi use resolve to catalog ids; unknown names get suggestions."""

from __future__ import annotations

import pytest

from gpufit.core.resolve import ResolveError, resolve


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a100-80gb-sxm", "a100-80gb-sxm"),
        ("A100 80GB SXM", "a100-80gb-sxm"),
        ("NVIDIA A100-SXM4-80GB", "a100-80gb-sxm"),
        ("NVIDIA A100 80GB PCIe", "a100-80gb-pcie"),
        ("NVIDIA H100 80GB HBM3", "h100-sxm"),
        ("NVIDIA GeForce RTX 4090", "rtx-4090"),
        ("rtx 3090", "rtx-3090"),
    ],
)
def test_gpu_names_resolve(catalog, query, expected):
    assert resolve(catalog.gpus, query, "GPU").id == expected


def test_model_and_quant_names_resolve(catalog):
    assert resolve(catalog.models, "Mixtral 8x22B", "model").id == "mixtral-8x22b"
    assert resolve(catalog.quants, "q4_k_m", "quant").id == "Q4_K_M"


def test_unknown_name_lists_close_candidates(catalog):
    with pytest.raises(ResolveError) as caught:
        resolve(catalog.gpus, "A100 80", "GPU")
    assert caught.value.candidates
    assert all(candidate.startswith("a100") for candidate in caught.value.candidates)


def test_nonsense_is_not_in_catalog(catalog):
    with pytest.raises(ResolveError) as caught:
        resolve(catalog.models, "definitely-not-a-model-xyz", "model")
    assert not caught.value.ambiguous
