"""Sweep ranking rules: quality loss, capability, best quant per model, smallest hardware."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from gpufit.core.estimate import estimate
from gpufit.core.rank import (
    best_for_hardware,
    capability_params,
    hardware_for,
    quality_loss_pct,
)
from gpufit.core.setup import Setup
from gpufit.core.specs import Hardware, Workload
from gpufit.core.split import split_plan
from gpufit.core.tensors import weight_breakdown


def test_quality_loss_prefers_the_published_perplexity_and_bounds_it_from_kld(catalog):
    quant = catalog.quants["Q4_K_M"]
    assert quality_loss_pct(replace(quant, quality_ppl_delta_pct=2.8, quality_kld=0.5)) == 2.8
    # Only a KLD of 0.1: perplexity can grow by at most e^0.1 − 1 = 10.517 %.
    only_kld = replace(quant, quality_ppl_delta_pct=None, quality_kld=0.1)
    assert quality_loss_pct(only_kld) == pytest.approx(10.517, abs=0.001)
    assert quality_loss_pct(replace(quant, quality_ppl_delta_pct=None, quality_kld=None)) is None


def test_capability_of_a_mixture_of_experts_is_the_geometric_mean(catalog):
    mixtral = catalog.models["mixtral-8x7b"]
    # Mistral's model card: 46.7 B total, 12.9 B active → √(46.7 × 12.9) ≈ 24.5 B.
    assert capability_params(mixtral) == pytest.approx(math.sqrt(46.7e9 * 12.9e9), rel=0.02)
    dense = catalog.models["llama-3.1-8b"]
    assert capability_params(dense) == dense.params_total_published


def test_each_model_gets_its_least_lossy_quant_that_fits_fast_enough(catalog):
    hardware = Hardware(catalog.gpus["rtx-4090"])
    workload = Workload(context_tokens=8192)
    # No context chosen: each model at min(8192, its maximum), the app's and report's rule.
    ranked = best_for_hardware(hardware, catalog.models.values(), catalog.quants.values(), Setup())
    assert ranked
    for item in ranked[:8]:
        model = item.row.model
        own = replace(workload, context_tokens=min(8192, model.max_context_tokens))
        # Recheck by brute force: every llama.cpp quant within the loss limit that fits with
        # margin at ≥ 10 tok/s; the chosen one must have the smallest loss among them.
        candidates = []
        for quant in catalog.quants.values():
            loss = quality_loss_pct(quant)
            if "llama.cpp" not in quant.engines or loss is None or loss > 10:
                continue
            trial = estimate(model, quant, hardware, own)
            if trial.verdict == "fits" and trial.speed.decode_tokens_per_s >= 10:
                candidates.append(loss)
        assert item.quality_loss_pct == min(candidates)
    sizes = [item.capability_params for item in ranked]
    assert sizes == sorted(sizes, reverse=True)


def test_hardware_for_a_model_is_smallest_first_and_each_count_is_minimal(catalog):
    model, quant = catalog.models["llama-3.1-70b"], catalog.quants["Q4_K_M"]
    workload = Workload(context_tokens=8192)
    fits = hardware_for(model, quant, catalog.gpus.values(), workload, max_count=8)
    # Smallest memory as shown (0.1 GB) first, then the least power among equal-looking rows.
    shown = [(round(fit.total_memory_bytes / 1e8), fit.power_watts) for fit in fits]
    assert shown == sorted(shown)
    for fit in fits[:10]:
        hardware = fit.result.hardware
        assert fit.result.verdict == "fits"
        if hardware.count > 1:
            fewer = estimate(model, quant, replace(hardware, count=hardware.count - 1), workload)
            assert fewer.verdict != "fits" or not split_plan(fewer).fits
    # 70.6 B parameters at ~4.8 bits: ≥ 42 GB of weights, so no single 24 GB card is listed.
    assert all(fit.total_memory_bytes > 42e9 for fit in fits)


def test_a_model_loses_nothing_in_the_precision_it_was_released_in(catalog):
    gpt_oss = next(model for model in catalog.models.values() if model.native_dtype == "mxfp4")
    mxfp4 = catalog.quants["MXFP4"]
    # MXFP4's published loss (round-to-nearest on a 16-bit model) is over the 10 % limit …
    assert quality_loss_pct(mxfp4) > 10
    ranked = best_for_hardware(Hardware(catalog.gpus["h100-sxm"]), [gpt_oss],
                               catalog.quants.values(), Setup(context_tokens=8192))
    # … but gpt-oss was trained for it: it is kept, with its experts at MXFP4, with no loss
    # (its "FP16" file keeps the MXFP4 experts too: convert_hf_to_gguf.py writes them as MXFP4).
    assert [item.quality_loss_pct for item in ranked] == [0.0]
    picked = weight_breakdown(gpt_oss, ranked[0].row.quant)
    assert picked.params_by_type.get("MXFP4", 0) > picked.total_params / 2


def test_laptop_and_unified_memory_gpus_are_never_combined(catalog):
    model, quant = catalog.models["llama-3.1-70b"], catalog.quants["Q4_K_M"]
    fits = hardware_for(model, quant, catalog.gpus.values(), Workload(context_tokens=8192),
                        max_count=8)
    for fit in fits:
        gpu = fit.result.hardware.gpu
        if gpu.family == "Laptop" or gpu.interconnect == "unified" or gpu.mig_parent:
            assert fit.result.hardware.count == 1, gpu.id
    assert any(fit.result.hardware.count > 1 for fit in fits)  # data-centre cards still combine


@pytest.mark.parametrize("order", ["capability", "speed", "quality", "size"])
def test_best_for_hardware_keeps_to_the_order_it_states(catalog, order):
    from gpufit.core.rank import BEST_ORDERS, best_for_hardware
    from gpufit.core.setup import Setup
    from gpufit.core.specs import Hardware

    assert order in BEST_ORDERS
    ranked = best_for_hardware(Hardware(catalog.gpus["rtx-4090"], 1), catalog.models.values(),
                               catalog.quants.values(), Setup(), order=order)
    assert len(ranked) > 10
    values = {
        "capability": [-item.capability_params for item in ranked],
        "speed": [-item.row.decode_tokens_per_s for item in ranked],
        "quality": [item.quality_loss_pct for item in ranked],
        "size": [-item.row.model.params_total_published for item in ranked],
    }[order]
    assert values == sorted(values)
