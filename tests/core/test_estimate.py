"""Whole estimates: the seed scenarios, verdict logic and monotonic properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpufit.core.estimate import estimate
from gpufit.core.recommend import recommend
from gpufit.core.specs import GB, Hardware, Workload


def run(catalog, gpu, model, quant, count=1, **workload):
    return estimate(catalog.models[model], catalog.quants[quant],
                    Hardware(catalog.gpus[gpu], count=count), Workload(**workload))


def test_seed_mixtral_8x22b_q4_k_m_on_a100_80gb_does_not_fit(catalog):
    # The seed report claims ~70.5 GB and 9.5 GB headroom: that is params × 4 / 8.
    result = run(catalog, "a100-80gb-sxm", "mixtral-8x22b", "Q4_K_M", context_tokens=8192)
    assert result.memory.naive_weights_bytes == pytest.approx(70.5 * GB, rel=0.01)
    # The real Q4_K_M file is 85.58 GB (bartowski/Mixtral-8x22B-v0.1-GGUF): K-quant mix.
    assert result.memory.weights_bytes == pytest.approx(85.6 * GB, rel=0.02)
    assert result.verdict == "does-not-fit"
    advice = recommend(result, catalog.quants)
    kinds = {item.kind for item in advice}
    assert {"quant", "gpus", "offload"} <= kinds
    gpus = next(item for item in advice if item.kind == "gpus")
    assert gpus.data["count"] == 2


def test_seed_mixtral_8x22b_fp16_on_a100_40gb_shortfall(catalog):
    result = run(catalog, "a100-40gb-pcie", "mixtral-8x22b", "FP16", context_tokens=65536)
    # Seed: ~282 GB needed (params × 2 bytes), 242 GB short.
    assert result.memory.naive_weights_bytes == pytest.approx(281 * GB, rel=0.01)
    assert result.verdict == "does-not-fit"
    assert -result.memory.headroom_bytes > 242 * GB
    gpus = next(item for item in recommend(result, catalog.quants) if item.kind == "gpus")
    # 281 GB of weights need at least 8 × 40 GB cards, before any KV cache.
    assert gpus.data["count"] is None or gpus.data["count"] >= 8


def test_seed_mixtral_8x22b_q3_k_m_on_rtx_3090(catalog):
    result = run(catalog, "rtx-3090", "mixtral-8x22b", "Q3_K_M", context_tokens=8192)
    assert result.verdict == "does-not-fit"
    assert result.memory.weights_bytes > 56.4 * GB  # the seed's figure undercounts


def test_llama_3_8b_q4_k_m_fits_on_rtx_4090(catalog):
    result = run(catalog, "rtx-4090", "llama-3-8b", "Q4_K_M", context_tokens=8192)
    assert result.verdict == "fits"
    assert result.max_context_tokens == 8192  # the model's maximum
    assert result.max_sequences > 1


def test_verdict_tight_when_headroom_is_small(catalog):
    model, gpu = "llama-3.1-8b", "rtx-4090"
    loose = run(catalog, gpu, model, "Q8_0", context_tokens=8192)
    assert loose.verdict == "fits"
    # Grow the context until the headroom drops under the margin but stays positive.
    tight = run(catalog, gpu, model, "Q8_0", context_tokens=loose.max_context_tokens)
    assert tight.verdict == "tight"
    over = run(catalog, gpu, model, "Q8_0", context_tokens=loose.max_context_tokens + 2048)
    assert over.verdict == "does-not-fit"


def test_max_sequences_is_the_boundary(catalog):
    result = run(catalog, "a100-80gb-sxm", "llama-3.1-8b", "Q4_K_M", context_tokens=16384)
    at_max = run(catalog, "a100-80gb-sxm", "llama-3.1-8b", "Q4_K_M", context_tokens=16384,
                 sequences=result.max_sequences)
    past = run(catalog, "a100-80gb-sxm", "llama-3.1-8b", "Q4_K_M", context_tokens=16384,
               sequences=result.max_sequences + 1)
    assert at_max.memory.headroom_bytes >= 0 > past.memory.headroom_bytes


def test_moe_decode_reads_only_active_experts(catalog):
    mixtral = run(catalog, "h100-sxm", "mixtral-8x7b", "Q4_K_M", context_tokens=2048)
    dense = run(catalog, "h100-sxm", "llama-3.1-70b", "Q4_K_M", context_tokens=2048)
    # 12.9B active vs 70B: Mixtral must decode several times faster.
    assert mixtral.speed.decode_tokens_per_s > 2.5 * dense.speed.decode_tokens_per_s


def test_vllm_available_memory_is_utilisation_share(catalog):
    result = run(catalog, "h100-sxm", "llama-3.1-8b", "FP16", engine="vllm")
    capacity = catalog.gpus["h100-sxm"].memory_bytes
    assert result.memory.available_bytes == int(capacity * 0.9)
    assert result.memory.host_weights_bytes == 0


contexts = st.integers(min_value=256, max_value=65536)
sequence_counts = st.integers(min_value=1, max_value=32)


@settings(max_examples=60, deadline=None)
@given(context=contexts, extra=st.integers(min_value=1, max_value=16384),
       sequences=sequence_counts, engine=st.sampled_from(["llama.cpp", "vllm"]))
def test_memory_grows_with_context_and_sequences(catalog, context, extra, sequences, engine):
    base = run(catalog, "h100-sxm", "qwen2.5-7b", "Q4_K_M", context_tokens=context,
               sequences=sequences, engine=engine)
    longer = run(catalog, "h100-sxm", "qwen2.5-7b", "Q4_K_M", context_tokens=context + extra,
                 sequences=sequences, engine=engine)
    more = run(catalog, "h100-sxm", "qwen2.5-7b", "Q4_K_M", context_tokens=context,
               sequences=sequences + 1, engine=engine)
    assert longer.memory.total_bytes > base.memory.total_bytes
    assert more.memory.total_bytes > base.memory.total_bytes


@settings(max_examples=40, deadline=None)
@given(context=contexts, model=st.sampled_from(["llama-3.1-8b", "mixtral-8x7b", "gemma-2-9b",
                                                "deepseek-v2-lite"]))
def test_decode_slows_as_context_grows(catalog, context, model):
    short = run(catalog, "a100-80gb-sxm", model, "Q8_0", context_tokens=context)
    long = run(catalog, "a100-80gb-sxm", model, "Q8_0", context_tokens=context * 2)
    assert long.speed.decode_tokens_per_s < short.speed.decode_tokens_per_s


@settings(max_examples=30, deadline=None)
@given(context=contexts)
def test_fewer_bits_need_less_memory(catalog, context):
    totals = [run(catalog, "h100-sxm", "llama-3.1-70b", quant, context_tokens=context)
              .memory.total_bytes for quant in ("FP16", "Q8_0", "Q5_K_M", "Q4_K_M", "Q2_K")]
    assert totals == sorted(totals, reverse=True)


def test_sweep_rows_agree_with_full_estimates(catalog):
    from gpufit.core.sweep import sweep

    gpus = [catalog.gpus[gpu_id] for gpu_id in ("rtx-3090", "a100-80gb-sxm", "h200")]
    models = [catalog.models[model_id] for model_id in ("llama-3.1-70b", "mixtral-8x7b")]
    quants = [catalog.quants[quant_id] for quant_id in ("Q4_K_M", "FP16", "AWQ-INT4")]
    for engine in ("llama.cpp", "vllm"):
        workload = Workload(context_tokens=16384, engine=engine)
        for row in sweep(gpus, models, quants, workload, count=2):
            full = estimate(row.model, row.quant, Hardware(row.gpu, count=2), workload)
            assert row.verdict == full.verdict
            assert row.total_bytes == pytest.approx(full.memory.total_bytes, abs=2)
            assert row.decode_tokens_per_s == pytest.approx(full.speed.decode_tokens_per_s)


def test_advice_sizes_follow_the_chosen_unit(catalog):
    result = run(catalog, "a100-80gb-sxm", "mixtral-8x22b", "Q4_K_M", context_tokens=8192)
    offload = next(item for item in recommend(result, catalog.quants) if item.kind == "offload")
    host_bytes = offload.data["host_bytes"]
    assert f"{host_bytes / 1e9:.1f} GB in system RAM" in offload.text
    assert f"{host_bytes / 2**30:.1f} GiB in system RAM" in offload.text_in("GiB")
    assert "{" not in offload.text_in("GiB")


def test_a_tied_embedding_is_loaded_twice_by_llama_cpp_and_read_as_the_head(catalog):
    # Llama 3.2 1B ties its output to the embedding (config.json: tie_word_embeddings true,
    # vocab 128,256 × hidden 2,048). llama.cpp keeps the table on the CPU for lookups and loads
    # a copy for the output layer (TENSOR_DUPLICATED); Q8_0 stores it in 34-byte blocks of 32.
    model, quant = catalog.models["llama-3.2-1b"], catalog.quants["Q8_0"]
    table = 128_256 * 2_048 * 34 // 32
    llama = estimate(model, quant, Hardware(catalog.gpus["rtx-4090"]), Workload(context_tokens=4096))
    assert llama.memory.host_weights_bytes == table
    assert llama.memory.head_copy_bytes == table
    assert llama.memory.gpu_weights_bytes == llama.weights.total_bytes
    # Each token multiplies by the whole table as the output projection.
    assert llama.weights.bytes_read_per_token(0.0) == llama.weights.total_bytes
    vllm = estimate(model, quant, Hardware(catalog.gpus["rtx-4090"]),
                    Workload(context_tokens=4096, engine="vllm"))
    assert vllm.memory.head_copy_bytes == 0  # one tensor on the GPU serves both
    untied = estimate(catalog.models["llama-3.1-8b"], quant, Hardware(catalog.gpus["rtx-4090"]),
                      Workload(context_tokens=4096))
    assert untied.memory.head_copy_bytes == 0
    assert untied.weights.bytes_read_per_token(0.0) \
        == untied.weights.total_bytes - untied.weights.bytes_by_group["embedding"]


def test_higher_quality_advice_stops_at_the_precision_the_model_was_released_in(catalog):
    # Llama 3.1 8B was released in BF16: with room for anything, FP32 adds no quality.
    roomy = run(catalog, "a100-80gb-sxm", "llama-3.1-8b", "Q4_K_M", count=7)
    better = [item for item in recommend(roomy, catalog.quants) if item.kind == "quant"]
    assert [item.data["quant"] for item in better] == ["BF16"]
    # DeepSeek-V3 was released in FP8: nothing above 8 bits is offered as better.
    fp8 = run(catalog, "h200", "deepseek-v3", "Q4_K_M", count=8)
    offered = [catalog.quants[item.data["quant"]] for item in recommend(fp8, catalog.quants)
               if item.kind == "quant"]
    assert offered and all(quant.default_bits_per_weight <= 8.0 for quant in offered)
