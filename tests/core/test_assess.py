"""assess(): one setup in, one assessment out — and the defects that two code paths allowed.

Expected figures are worked out here from the architecture and the documented engine rules
(llama.cpp's q8_0 block of 34 bytes per 32 values, vLLM's pipeline stages, a MIG instance
being one device), not read back from gpufit.
"""

from __future__ import annotations

import pytest

from gpufit.core.assess import assess
from gpufit.core.engines import engine_profile
from gpufit.core.setup import Setup, SetupError, default_context_tokens
from gpufit.core.specs import MIB, Hardware


def test_default_context_is_one_rule_for_every_model(catalog):
    llama2 = catalog.models["llama-2-7b"]
    assert default_context_tokens(llama2) == 4096  # its maximum is below 8192
    result = assess(Setup(model_id="llama-2-7b", quant_id="Q4_K_M"), catalog)
    assert result.estimate.workload.context_tokens == 4096
    big = assess(Setup(model_id="llama-3.1-8b", quant_id="Q4_K_M"), catalog)
    assert big.estimate.workload.context_tokens == 8192


def test_flash_attention_defaults_to_what_llama_cpp_does(catalog):
    setup = Setup(model_id="llama-3.1-8b", quant_id="Q4_K_M", context_tokens=131072)
    # Current llama.cpp runs -fa auto (on for GPUs): the long context fits a 24 GB card.
    assert assess(setup, catalog).verdict == "fits"
    # The old behaviour, one setting away: the f32 score buffer of 32 heads × 131072 cells ×
    # 512 tokens × 4 bytes alone is 8.6 GB.
    off = assess(Setup(model_id="llama-3.1-8b", quant_id="Q4_K_M", context_tokens=131072,
                       flash_attention="off"), catalog)
    assert off.estimate.memory.activations_bytes >= 32 * 131072 * 512 * 4
    assert off.verdict == "does-not-fit"


def test_fp8_cache_under_llama_cpp_is_the_q8_0_it_runs(catalog):
    model = catalog.models["llama-3.1-8b"]
    result = assess(Setup(model_id="llama-3.1-8b", quant_id="Q4_K_M", kv_cache_dtype="fp8"),
                    catalog)
    values = 2 * model.layers * model.kv_heads * model.head_dim * 8192
    assert result.estimate.memory.kv_cache_bytes == pytest.approx(values * 34 / 32, abs=1)
    hint = next(hint for hint in result.run_hints if hint.engine == "llama.cpp")
    assert "--cache-type-k q8_0" in hint.command
    vllm = assess(Setup(model_id="llama-3.1-8b", quant_id="BF16", kv_cache_dtype="q8_0",
                        engine="vllm"), catalog)
    assert vllm.estimate.memory.kv_cache_bytes == values  # vLLM runs fp8: one byte each


def test_a_quant_the_engine_cannot_run_is_not_fits(catalog):
    result = assess(Setup(model_id="llama-3.1-8b", quant_id="AWQ-INT4"), catalog)
    assert result.estimate.verdict == "fits"  # the memory would fit …
    assert result.verdict == "unsupported"  # … but llama.cpp does not load AWQ
    assert all(hint.engine != "llama.cpp" for hint in result.run_hints)
    assert result.recommendations[0].kind == "engine"
    assert "vLLM" in result.recommendations[0].text
    assert result.energy is None


def test_vllm_on_a_count_that_does_not_divide_the_heads_uses_pipeline_stages(catalog):
    model = catalog.models["llama-3.1-70b"]
    assert model.attention_heads % 3  # 64 heads: tensor parallelism over 3 is refused
    three = assess(Setup(gpu_count=3, model_id="llama-3.1-70b", quant_id="AWQ-INT4",
                         engine="vllm"), catalog)
    assert (three.split.parallel.tensor, three.split.parallel.pipeline) == (1, 3)
    hint = next(hint for hint in three.run_hints if hint.engine == "vllm")
    assert "--pipeline-parallel-size 3" in hint.command
    assert "--tensor-parallel-size" not in hint.command
    # Pipeline stages take turns on one stream: no faster than one card's bandwidth.
    one = assess(Setup(gpu_count=1, model_id="llama-3.1-70b", quant_id="AWQ-INT4",
                       engine="vllm"), catalog)
    assert three.estimate.speed.decode_tokens_per_s <= one.estimate.speed.decode_tokens_per_s
    four = assess(Setup(gpu_count=4, model_id="llama-3.1-70b", quant_id="AWQ-INT4",
                        engine="vllm"), catalog)
    assert four.split.parallel.tensor == 4
    assert four.estimate.speed.decode_tokens_per_s > 2 * one.estimate.speed.decode_tokens_per_s


def test_a_mig_slice_is_never_pooled(catalog):
    slice_id = "a100-80gb-sxm-mig-3g.40gb"
    assert catalog.gpus[slice_id].mig_parent is not None
    with pytest.raises(SetupError, match="MIG"):
        assess(Setup(gpu_id=slice_id, gpu_count=2, model_id="llama-3.1-8b", quant_id="Q8_0"),
               catalog)


class _Detected:
    """A detected option as the detect package makes them (the protocol assess takes)."""

    def __init__(self, key, hardware: Hardware) -> None:
        self.key, self.gpu, self._hardware = key, hardware.gpu, hardware

    def hardware(self, count=None) -> Hardware:
        return self._hardware


def test_free_memory_is_checked_card_by_card(catalog):
    total_mib = 81559
    used_mib = [1 + 4000 * index for index in range(8)]  # 1 … 28,001 MiB in use
    hardware = Hardware(catalog.gpus["h100-sxm"], 8, memory_override_bytes=total_mib * MIB,
                        free_memory_per_gpu_bytes=tuple((total_mib - used) * MIB
                                                        for used in used_mib))
    setup = Setup(gpu_id="detected:0-7", gpu_count=8, model_id="llama-3.1-405b",
                  quant_id="Q8_0", context_tokens=72000)
    result = assess(setup, catalog, detected={"detected:0-7": _Detected("detected:0-7", hardware)})
    free = result.free_memory
    assert free is not None
    # The sum would say yes …
    assert result.estimate.memory.total_bytes <= free.total_free_bytes
    # … but the busiest cards cannot hold their share.
    assert not free.fits and 7 in free.short_gpus and 0 not in free.short_gpus
    needed = dict(enumerate(free.per_gpu_needed_bytes))
    assert all(needed[index] > free.per_gpu_free_bytes[index] for index in free.short_gpus)


def test_energy_is_one_figure_with_its_load_stated(catalog):
    result = assess(Setup(model_id="llama-3.1-8b", quant_id="Q4_K_M"), catalog,
                    price_per_gpu_hour=2.0)
    assert result.energy is not None and result.energy_basis is not None
    assert result.serving.best is not None
    assert result.energy_basis.concurrency == result.serving.best.concurrency
    # 450 W board power over the stated throughput.
    assert result.energy.joules_per_token == pytest.approx(450 / result.energy_basis.tokens_per_s)


def test_no_engine_name_is_compared_outside_the_engine_profiles():
    import pathlib
    import re

    source = pathlib.Path(engine_profile.__code__.co_filename).parent.parent
    pattern = re.compile(r"""(==|!=)\s*["'](vllm|llama\.cpp)["']|["'](vllm|llama\.cpp)["']\s*(==|!=)""")
    offenders = [f"{path.relative_to(source)}:{number}"
                 for path in source.rglob("*.py")
                 for number, line in enumerate(path.read_text().splitlines(), start=1)
                 if pattern.search(line)]
    assert offenders == []


def test_a_publisher_mix_reports_its_band_and_an_exact_quant_does_not(catalog) -> None:
    from gpufit.core.report import to_dict, to_text

    ud = [quant for quant in catalog.quants.values() if quant.size_band_pct]
    assert ud, "the catalog lists publisher mixes with a stated band"
    banded = assess(Setup(gpu_id="rtx-4090", model_id="llama-3.1-8b", quant_id=ud[0].id), catalog)
    exact = assess(Setup(gpu_id="rtx-4090", model_id="llama-3.1-8b", quant_id="Q4_K_M"), catalog)
    assert to_dict(banded)["quant"]["size_band_pct"] == ud[0].size_band_pct
    assert f"±{ud[0].size_band_pct:g} %" in to_text(banded)
    assert to_dict(exact)["quant"]["size_band_pct"] is None and "±" not in to_text(exact)
