"""Speed against published llama-bench measurements (shared/reference/tokens_per_second.json)."""

from __future__ import annotations

import pytest

from gpufit.core.estimate import estimate
from gpufit.core.specs import Hardware, Workload

# (gpu, count, model, quant, metric, tokens, published tok/s) — XiongjieDai/GPU-Benchmarks-on-
# LLM-Inference README (llama-bench, May 2024), as recorded in shared/reference.
PUBLISHED = [
    ("rtx-4090", 1, "llama-3-8b", "Q4_K_M", "tg", 512, 130.58),
    ("rtx-3090", 1, "llama-3-8b", "FP16", "tg", 512, 47.40),
    ("a100-80gb-pcie", 1, "llama-3-70b", "Q4_K_M", "tg", 512, 22.31),
    ("rtx-4090", 2, "llama-3-70b", "Q4_K_M", "tg", 512, 19.22),
    ("rtx-4090", 1, "llama-3-8b", "Q4_K_M", "pp", 512, 7138.99),
    ("a100-80gb-pcie", 1, "llama-3-70b", "Q4_K_M", "pp", 512, 744.12),
]


@pytest.mark.parametrize(("gpu", "count", "model", "quant", "metric", "tokens", "published"),
                         PUBLISHED)
def test_speed_within_band_of_published(catalog, gpu, count, model, quant, metric, tokens,
                                        published):
    result = estimate(catalog.models[model], catalog.quants[quant],
                      Hardware(catalog.gpus[gpu], count=count), Workload(context_tokens=tokens))
    if metric == "tg":
        assert result.speed.decode_tokens_per_s == pytest.approx(published, rel=0.15)
    else:
        assert result.speed.prefill_tokens_per_s == pytest.approx(published, rel=0.35)


def test_decode_band_brackets_the_estimate(catalog):
    result = estimate(catalog.models["llama-3.1-8b"], catalog.quants["Q8_0"],
                      Hardware(catalog.gpus["l40s"]), Workload(context_tokens=4096))
    speed = result.speed
    assert speed.decode_low < speed.decode_tokens_per_s < speed.decode_high
    assert speed.time_to_first_token_s > 4096 / speed.prefill_tokens_per_s
