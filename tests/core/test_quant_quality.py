"""Quant quality indicators: every format has a published one, each is cited, GGUF ladders are ordered.

The numbers live in catalog/quants.toml. The GGUF ones all come from one table, the "LLaMA 3 8b
Scoreboard" in llama.cpp's tools/perplexity/README.md (Llama 3 8B, wikitext-2; added in
ggml-org/llama.cpp PR #6936), so they are comparable with each other and pinned here row by row.
"""

from __future__ import annotations

import math
import re
from itertools import pairwise

import pytest

from gpufit.core.catalog import builtin_catalog_dir, load_catalog

QUALITY_FIELDS = ("quality_kld", "quality_ppl_delta_pct")

_NOT_ON_SCOREBOARD = "not on llama.cpp's Llama 3 8B scoreboard; no comparable published measurement found"
_RECIPE = "a publisher recipe over a llama.cpp type; no published Llama 3 8B measurement found"
UNSOURCED_ALLOWED: dict[str, str] = {
    # Quants allowed to have no quality indicator, each with the reason no published measurement
    # was found.
    "TQ1_0": _NOT_ON_SCOREBOARD + " (ternary: only for ternary-trained models)",
    "TQ2_0": _NOT_ON_SCOREBOARD + " (ternary: only for ternary-trained models)",
    "Q1_0": _NOT_ON_SCOREBOARD,
    "Q2_0": _NOT_ON_SCOREBOARD,
    "MXFP4_MOE": _NOT_ON_SCOREBOARD + " (gpt-oss is trained for MXFP4 experts)",
    **{quant_id: _RECIPE for quant_id in (
        "Q6_K_L", "Q5_K_L", "Q4_K_L", "Q3_K_XL", "Q2_K_L", "UD-Q8_K_XL", "UD-Q6_K_XL",
        "UD-Q5_K_XL", "UD-Q4_K_XL", "UD-Q3_K_XL", "UD-Q2_K_XL", "UD-IQ3_XXS", "UD-IQ2_M",
        "UD-IQ2_XXS", "UD-IQ1_M", "UD-IQ1_S")},
}

# The published table: quant id -> (mean KLD, mean ΔPPL) of the row the catalog cites.
# K-quants and legacy quants: rows without an importance matrix; i-quants: the "WT 10m" rows.
FP16_PPL = 6.233160 - 0.001524  # the f16 row's PPL minus its own ΔPPL (logit-storage rounding)
SCOREBOARD: dict[str, tuple[float, float]] = {
    "Q8_0": (0.001355, 0.002650),
    "Q6_K": (0.005452, 0.021748),
    "Q5_K_M": (0.010762, 0.056974),
    "Q5_K_S": (0.016595, 0.104964),
    "Q5_1": (0.018045, 0.106223),
    "Q5_0": (0.022239, 0.131591),
    "Q4_K_M": (0.031273, 0.175482),
    "Q4_K_S": (0.043136, 0.268895),
    "Q4_1": (0.071683, 0.451103),
    "Q4_0": (0.071940, 0.468514),
    "Q3_K_L": (0.087176, 0.556242),
    "Q3_K_M": (0.101913, 0.656864),
    "Q3_K_S": (0.228217, 1.632152),
    "Q2_K": (0.445132, 3.519934),
    "IQ4_NL": (0.035742, 0.223959),
    "IQ4_XS": (0.036334, 0.228071),
    "IQ3_M": (0.102534, 0.666694),
    "IQ3_S": (0.111278, 0.733867),
    "IQ3_XS": (0.138693, 0.931409),
    "IQ3_XXS": (0.183625, 1.226803),
    "IQ2_M": (0.325989, 2.369166),
    "Q2_K_S": (0.403360, 3.092145),  # WT 10m imatrix row: Q2_K_S requires an importance matrix
    "IQ2_S": (0.439197, 3.419148),
    "IQ2_XS": (0.546290, 4.529791),
    "IQ2_XXS": (0.812022, 7.860148),
    "IQ1_M": (1.393084, 19.262089),
    "IQ1_S": (2.254554, 54.462959),
}

# Orderings the table itself shows (KLD and ΔPPL both strictly increase along each ladder).
# Mixing the two ladders is not asserted: imatrix i-quants beat some plain k-quants of more bits.
K_QUANT_LADDER = ("Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_0",
                  "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K")
I_QUANT_LADDER = ("IQ4_NL", "IQ4_XS", "IQ3_M", "IQ3_XXS", "IQ2_M", "IQ2_XS", "IQ2_XXS",
                  "IQ1_M", "IQ1_S")

# A comment must name where the number comes from: a URL, a paper, a PR, a repository file or a
# named table; "reference" marks the unquantized baselines.
CITATION = re.compile(r"https?://|arXiv:|PR #\d+|README|Table|blog|reference", re.IGNORECASE)


@pytest.fixture(scope="module")
def quants():
    catalog = load_catalog()
    assert catalog.issues == []
    return catalog.quants


def test_every_quant_has_a_quality_indicator(quants):
    missing = sorted(quant_id for quant_id, quant in quants.items()
                     if quant.quality_kld is None and quant.quality_ppl_delta_pct is None
                     and quant_id not in UNSOURCED_ALLOWED)
    assert missing == []


def test_allow_list_names_only_real_quants_that_still_lack_a_number(quants):
    for quant_id in UNSOURCED_ALLOWED:
        assert quant_id in quants
        quant = quants[quant_id]
        assert quant.quality_kld is None and quant.quality_ppl_delta_pct is None, (
            f"{quant_id} now has a quality number; drop it from the allow-list")


@pytest.mark.parametrize("reference", ["FP16", "BF16", "FP32"])
def test_unquantized_formats_are_the_zero_reference(quants, reference):
    assert quants[reference].quality_kld == 0.0
    assert quants[reference].quality_ppl_delta_pct == 0.0


def test_every_quantized_format_loses_something(quants):
    for quant_id, quant in quants.items():
        if quant.is_block_quantized and quant_id not in UNSOURCED_ALLOWED:
            values = [v for v in (quant.quality_kld, quant.quality_ppl_delta_pct) if v is not None]
            assert values and all(v > 0 for v in values), quant_id


@pytest.mark.parametrize("quant_id", sorted(SCOREBOARD))
def test_gguf_numbers_match_the_published_scoreboard(quants, quant_id):
    kld, delta_ppl = SCOREBOARD[quant_id]
    quant = quants[quant_id]
    assert quant.quality_kld == pytest.approx(kld, abs=5e-7)
    assert quant.quality_ppl_delta_pct == pytest.approx(delta_ppl / FP16_PPL * 100, abs=0.006)


def test_every_gguf_quant_is_on_the_scoreboard(quants):
    gguf = {quant_id for quant_id, quant in quants.items() if quant.format == "gguf"}
    assert gguf - set(UNSOURCED_ALLOWED) == set(SCOREBOARD)


@pytest.mark.parametrize("ladder", [K_QUANT_LADDER, I_QUANT_LADDER], ids=["k-quants", "i-quants"])
@pytest.mark.parametrize("field", QUALITY_FIELDS)
def test_more_bits_is_never_worse_along_a_published_ladder(quants, ladder, field):
    values = [getattr(quants[quant_id], field) for quant_id in ladder]
    assert all(value is not None for value in values)
    for (better, worse), (low, high) in zip(pairwise(ladder), pairwise(values), strict=True):
        assert low <= high, f"{better} {field}={low} should not exceed {worse} {field}={high}"


def test_ladders_are_in_bits_order(quants):
    # The ladders above go from more to fewer bits per weight of the default storage type.
    for ladder in (K_QUANT_LADDER, I_QUANT_LADDER):
        bits = [quants[quant_id].default_bits_per_weight for quant_id in ladder]
        assert bits == sorted(bits, reverse=True)


def _quality_lines() -> list[tuple[int, str]]:
    path = builtin_catalog_dir() / "quants.toml"
    return [(number, line) for number, line in
            enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            if line.lstrip().startswith(QUALITY_FIELDS)]


def test_every_quality_value_cites_its_source():
    lines = _quality_lines()
    assert lines
    for number, line in lines:
        value, hash_mark, comment = line.partition("#")
        assert hash_mark, f"quants.toml:{number}: quality value without a source comment"
        assert re.fullmatch(r"\s*quality_\w+\s*=\s*[0-9.eE+-]+\s*", value), (
            f"quants.toml:{number}: expected `field = number  # source`")
        assert CITATION.search(comment), f"quants.toml:{number}: comment names no source"


def test_quality_lines_cover_every_loaded_value(quants):
    # The raw-text check above sees exactly the values the loader sees.
    loaded = sum(getattr(quant, field) is not None for quant in quants.values()
                 for field in QUALITY_FIELDS)
    assert len(_quality_lines()) == loaded


def test_quality_numbers_are_finite(quants):
    for quant_id, quant in quants.items():
        for field in QUALITY_FIELDS:
            value = getattr(quant, field)
            assert value is None or (math.isfinite(value) and value >= 0), (quant_id, field)
