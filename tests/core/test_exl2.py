"""EXL2 at a chosen bpw: bytes computed by hand from the architecture, quality from the published
table, parsing and range checks.

Storage rules checked here come from ExLlamaV2's converter (github.com/turboderp-org/exllamav2):
the `-b` target covers the decoder layers' linear weights including scale/group overhead
(conversion/optimize.py budgets numel × bits against QParams.total_bits), the head uses
head_bits 6 (conversion/qparams.py qparams_headoptions[6]), the embedding stays FP16.
"""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from gpufit.core.exl2 import (
    EXL2_MAX_BPW,
    EXL2_MIN_BPW,
    bpw_label,
    catalog_exl2,
    exl2_quant,
    parse_exl2,
)
from gpufit.core.tensors import weight_breakdown

# meta-llama/Llama-3.1-8B config.json (https://huggingface.co/meta-llama/Llama-3.1-8B/blob/main/config.json);
# Meta-Llama-3-8B has the same shapes.
HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, FFN, VOCAB = 4096, 32, 32, 8, 128, 14336, 128256

# exllamav2 doc/qcache_eval.md, "Perplexity": Mistral 7B Instruct, The Pile, FP16 cache column.
QCACHE_FP16_PPL = 12.69
QCACHE_PPL = {3.0: 13.33, 3.5: 13.07, 4.0: 12.90, 5.0: 12.73, 6.0: 12.73}


def linear_params() -> int:
    """Decoder-layer linear weights: q, k, v, o and the gated MLP's three matrices, all layers."""
    attention = HIDDEN * HEADS * HEAD_DIM * 2 + HIDDEN * KV_HEADS * HEAD_DIM * 2
    return LAYERS * (attention + 3 * HIDDEN * FFN)


def head_bits_per_weight(rows: int, columns: int) -> float:
    """QParams(128, [8, 6], [0.15, 0.85], scale_bits 4).total_bits / numel, re-derived from
    exllamav2 conversion/qparams.py for the default head_bits 6 (rows = in_features)."""
    group_size, scale_bits = 128, 4
    groups, remaining, bits_total = 0, rows, 0
    for bits, share in ((8, 0.15), (6, 0.85)):
        count = math.ceil(min(rows * share, remaining) / group_size)
        used_rows = min(count * group_size, remaining)
        bits_total += used_rows * columns * bits
        groups += count
        remaining -= count * group_size
    bits_total += groups * 16 + groups * 32 + groups * columns * scale_bits + rows * 32
    return bits_total / (rows * columns)


def expected_bytes(bpw: float, head_bpw: float) -> float:
    """Layers at `bpw`, head at `head_bpw`, FP16 embedding, norms in F32 (gpufit's convention)."""
    norms = LAYERS * 2 * HIDDEN + HIDDEN
    return (linear_params() * bpw / 8 + VOCAB * HIDDEN * head_bpw / 8
            + VOCAB * HIDDEN * 2 + norms * 4)


def test_head_block_is_exllamav2_default_head_bits(catalog):
    head = catalog.quants["EXL2-4.0"].block_bits["EXL2_H6"]
    assert head == pytest.approx(head_bits_per_weight(HIDDEN, VOCAB), abs=5e-4)
    assert head == pytest.approx(head_bits_per_weight(8192, VOCAB), abs=5e-4)  # 70B width


@pytest.mark.parametrize("bpw", [3.0, 3.5, 4.0, 5.0, 6.0])
def test_catalog_entry_bytes_from_the_architecture(catalog, bpw):
    quant = catalog.quants[f"EXL2-{bpw_label(bpw)}"]
    breakdown = weight_breakdown(catalog.models["llama-3.1-8b"], quant)
    expected = expected_bytes(bpw, quant.block_bits["EXL2_H6"])
    assert breakdown.total_bytes == pytest.approx(expected, abs=2)
    assert breakdown.bytes_by_group["embedding"] == VOCAB * HIDDEN * 2
    assert breakdown.bytes_by_group["output"] == round(VOCAB * HIDDEN * quant.block_bits["EXL2_H6"] / 8)


# turboderp/Llama-3-8B-Instruct-exl2 on Hugging Face, file listing of each branch:
# output.safetensors is 4.96 GB at 4.0bpw and 6.7 GB at 6.0bpw (all weights in one file).
@pytest.mark.parametrize(("bpw", "published_gb"), [(4.0, 4.96), (6.0, 6.7)])
def test_sizes_match_turboderps_published_files(catalog, bpw, published_gb):
    breakdown = weight_breakdown(catalog.models["llama-3-8b"], exl2_quant(bpw, catalog.quants))
    assert breakdown.total_bytes / 1e9 == pytest.approx(published_gb, rel=0.01)


def test_chosen_bpw_uses_that_bpw_for_the_layers(catalog):
    quant = exl2_quant(4.65, catalog.quants)
    assert (quant.id, quant.name, quant.default_type) == ("EXL2-4.65", "EXL2 4.65 bpw", "EXL2_4.65")
    assert quant.default_bits_per_weight == 4.65
    assert quant.nominal_bits == 4.65
    assert (quant.engines, quant.compute, quant.format) == (("exllamav2",), "fp16", "safetensors")
    breakdown = weight_breakdown(catalog.models["llama-3.1-8b"], quant)
    assert breakdown.total_bytes == pytest.approx(
        expected_bytes(4.65, catalog.quants["EXL2-4.0"].block_bits["EXL2_H6"]), abs=2)


def test_building_a_variant_leaves_the_catalog_untouched(catalog):
    before = dict(catalog.quants["EXL2-4.0"].block_bits)
    quant = exl2_quant(4.65, catalog.quants)
    assert "EXL2_4.65" in quant.block_bits
    assert catalog.quants["EXL2-4.0"].block_bits == before
    assert "EXL2-4.65" not in catalog.quants


@pytest.mark.parametrize("bpw", [3.0, 3.5, 4.0, 5.0, 6.0])
def test_variant_at_a_catalog_bpw_equals_the_catalog_entry(catalog, bpw):
    entry = catalog.quants[f"EXL2-{bpw_label(bpw)}"]
    variant = exl2_quant(bpw, catalog.quants)
    assert variant.id == entry.id
    assert variant.rules == entry.rules
    assert variant.quality_ppl_delta_pct == entry.quality_ppl_delta_pct
    model = catalog.models["llama-3.1-70b"]
    assert weight_breakdown(model, variant) == weight_breakdown(model, entry)


def test_bytes_grow_and_loss_shrinks_with_bpw(catalog):
    grid = [2.0 + step * 0.25 for step in range(25)]  # 2.0 … 8.0
    variants = [exl2_quant(bpw, catalog.quants) for bpw in grid]
    model = catalog.models["llama-3.1-8b"]
    sizes = [weight_breakdown(model, quant).total_bytes for quant in variants]
    assert all(low < high for low, high in pairwise(sizes))
    losses = [quant.quality_ppl_delta_pct for quant in variants]
    assert all(high >= low for high, low in pairwise(losses))


@pytest.mark.parametrize("bpw", sorted(QCACHE_PPL))
def test_catalog_quality_matches_the_published_table(catalog, bpw):
    quant = catalog.quants[f"EXL2-{bpw_label(bpw)}"]
    published = (QCACHE_PPL[bpw] / QCACHE_FP16_PPL - 1) * 100
    assert quant.quality_ppl_delta_pct == pytest.approx(published, abs=0.006)


def test_quality_is_interpolated_between_neighbours_and_held_at_the_ends(catalog):
    quants = catalog.quants
    low, high = quants["EXL2-4.0"].quality_ppl_delta_pct, quants["EXL2-5.0"].quality_ppl_delta_pct
    assert exl2_quant(4.5, quants).quality_ppl_delta_pct == pytest.approx((low + high) / 2)
    assert exl2_quant(4.65, quants).quality_ppl_delta_pct == pytest.approx(
        low + (high - low) * 0.65)
    lowest, highest = catalog_exl2(quants)[0][1], catalog_exl2(quants)[-1][1]
    assert exl2_quant(2.0, quants).quality_ppl_delta_pct == lowest.quality_ppl_delta_pct
    assert exl2_quant(8.0, quants).quality_ppl_delta_pct == highest.quality_ppl_delta_pct
    assert exl2_quant(4.65, quants).quality_kld is None  # no catalog EXL2 entry has a KLD


@pytest.mark.parametrize(("text", "bpw"), [
    ("EXL2-4.65", 4.65), ("exl2 4.65", 4.65), ("exl2_4.65bpw", 4.65), ("EXL2-4.0", 4.0),
    ("exl2-5bpw", 5.0), (" EXL2 2.5 bpw ", 2.5), ("exl2_8.0b", 8.0),
])
def test_parse_reads_exl2_names(text, bpw):
    assert parse_exl2(text) == bpw


@pytest.mark.parametrize("text", ["Q4_K_M", "exl3 4.0", "exl2", "", "exl2 four", "EXL24.65",
                                  "exl2 4.65 h8", "4.65bpw"])
def test_parse_rejects_other_text(text):
    assert parse_exl2(text) is None


@pytest.mark.parametrize("bpw", [1.99, 8.01, 0.0, -4.0, math.nan, math.inf])
def test_out_of_range_bpw_is_refused(catalog, bpw):
    with pytest.raises(ValueError, match="between 2 and 8"):
        exl2_quant(bpw, catalog.quants)


def test_range_ends_are_accepted(catalog):
    assert exl2_quant(EXL2_MIN_BPW, catalog.quants).id == "EXL2-2.0"
    assert exl2_quant(EXL2_MAX_BPW, catalog.quants).id == "EXL2-8.0"


def test_a_catalog_without_exl2_entries_is_an_error(catalog):
    others = {quant_id: quant for quant_id, quant in catalog.quants.items()
              if not quant_id.startswith("EXL2-")}
    with pytest.raises(ValueError, match="no EXL2 entries"):
        exl2_quant(4.0, others)


def test_catalog_entries_are_the_published_bitrates(catalog):
    assert [bpw for bpw, _quant in catalog_exl2(catalog.quants)] == [3.0, 3.5, 4.0, 5.0, 6.0]
