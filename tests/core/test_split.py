"""Multi-GPU splits: per-GPU bytes of a hand-sized model, llama.cpp's layer rule, GPUs needed."""

from __future__ import annotations

import math

import pytest

from gpufit.core.estimate import estimate
from gpufit.core.plans import split_text
from gpufit.core.specs import GB, MIB, GpuSpec, Hardware, ModelSpec, QuantSpec, Workload
from gpufit.core.split import _even_counts, bigger_siblings, gpus_needed, split_plan

TINY = ModelSpec(
    id="tiny", name="Tiny", family="test", architecture="llama", layers=4, hidden_size=64,
    attention_heads=4, kv_heads=2, head_dim=16, intermediate_size=128, vocab_size=1000,
    tied_embeddings=False, max_context_tokens=4096, params_total_published=0.0, source="test")
F16 = QuantSpec(id="F16", name="F16", format="any", default_type="F16", nominal_bits=16,
                compute="fp16", engines=("llama.cpp", "vllm"), source="test",
                block_bits={"F16": 16.0, "F32": 32.0})
CARD = GpuSpec(id="card", name="Card", vendor="nvidia", family="Data centre",
               architecture="Hopper", memory_mib=1024, bandwidth_gbps=1000.0, fp16_tflops=100.0,
               tdp_watts=300.0, interconnect="nvlink", interconnect_gbps=600.0, source="test")

# By hand: q 64×64, k and v 64×32 each, o 64×64, gate/up/down 64×128 each, all F16 (2 bytes),
# plus two F32 norms of 64.
LAYER_WEIGHT_BYTES = (4096 + 2048 + 2048 + 4096 + 3 * 8192) * 2 + 2 * 64 * 4
HEAD_BYTES = 1000 * 64 * 2 + 64 * 4  # output head (F16) and the final norm (F32)
CONTEXT = 100
LAYER_KV_BYTES = 2 * 2 * 16 * CONTEXT * 2  # K and V, 2 KV heads × 16 dims, 100 tokens, f16


def tiny(count: int, engine: str = "llama.cpp"):
    return estimate(TINY, F16, Hardware(CARD, count=count),
                    Workload(context_tokens=CONTEXT, engine=engine))


def test_layer_split_is_llama_cpps_equal_split_when_every_gpu_holds_it():
    plan = split_plan(tiny(2))  # a few hundred kB on 1 GiB cards
    assert plan.mode == "layer"
    assert plan.layers_per_gpu == (2, 2) and not plan.default_overflows and plan.notes == ()
    first, last = plan.shares
    assert first.weights_bytes == 2 * LAYER_WEIGHT_BYTES
    assert last.weights_bytes == 2 * LAYER_WEIGHT_BYTES + HEAD_BYTES  # the head goes last
    assert first.kv_cache_bytes == last.kv_cache_bytes == 2 * LAYER_KV_BYTES
    # Each GPU keeps its own compute buffer and runtime, so the buffers are equal.
    assert first.buffers_bytes == last.buffers_bytes > 0


def test_layer_split_balances_bytes_when_the_equal_split_overflows_the_last_gpu():
    # Per layer 74,240 + 12,800 = 87,040 bytes; head 128,256. [2, 2] puts 302,336 on the last
    # GPU, [3, 1] at most 261,120 on either: a GPU with 290,000 bytes beside its buffers holds
    # only the balanced split. (The runtime overhead grows with the card's memory, so the card
    # size that leaves that room is found by iterating.)
    room, card_bytes = 290_000, CARD.memory_mib * MIB

    def two_cards(memory_bytes: int):
        return estimate(TINY, F16, Hardware(CARD, count=2, memory_override_bytes=memory_bytes),
                        Workload(context_tokens=CONTEXT))

    for _ in range(8):
        result = two_cards(card_bytes)
        share = split_plan(result).shares[0]
        card_bytes += room - (share.available_bytes - share.buffers_bytes)
    result = two_cards(card_bytes)
    plan = split_plan(result)
    assert plan.layers_per_gpu == (3, 1) and plan.tensor_split == "3,1"
    assert plan.default_overflows and "--tensor-split 3,1" in plan.notes[0]
    first, last = plan.shares
    assert first.weights_bytes == 3 * LAYER_WEIGHT_BYTES
    assert last.weights_bytes == LAYER_WEIGHT_BYTES + HEAD_BYTES
    assert first.kv_cache_bytes == 3 * LAYER_KV_BYTES
    assert last.kv_cache_bytes == LAYER_KV_BYTES
    assert plan.fits
    assert split_text(plan) == "layer split 3,1 (--tensor-split)"


def test_the_split_is_named_by_where_its_layers_come_from():
    assert split_text(split_plan(tiny(2))) == "layer split 2,2 (default)"
    assert split_text(split_plan(tiny(2, "vllm"))) == "tensor parallel 2"
    # 4 attention heads over 3 GPUs: 3 does not divide 4, so T = 1 and P = 3 (T × P = N).
    assert split_text(split_plan(tiny(3, "vllm"))) == "tensor parallel 1 × pipeline 3"


def test_layer_split_accounts_for_every_gpu_byte_of_the_estimate():
    result = tiny(3)
    plan = split_plan(result)
    assert sum(share.total_bytes for share in plan.shares) == pytest.approx(
        result.memory.total_bytes, abs=3)


def test_tensor_parallel_cuts_everything_in_n_and_replicates_kv_heads_past_their_count():
    two = split_plan(tiny(2, "vllm"))
    assert two.mode == "tensor"
    assert two.shares[0].kv_cache_bytes == pytest.approx(4 * LAYER_KV_BYTES / 2, abs=1)
    # Four GPUs and two KV heads: each head lives on two GPUs, so each GPU caches 2/4 of it.
    four = split_plan(tiny(4, "vllm"))
    assert four.shares[0].kv_cache_bytes == pytest.approx(4 * LAYER_KV_BYTES * 2 / 4, abs=1)
    assert any("replicates" in note for note in four.notes)
    three = split_plan(tiny(3, "vllm"))
    assert any("do not divide" in note for note in three.notes)


def test_even_split_follows_llama_cpp_upper_bound_rule():
    # llama.cpp: layer i goes to the first GPU g with i / n_layer < (g + 1) / n_gpu.
    # 80 layers on 3 GPUs: i ≤ 26 → 0 (26/80 < 1/3), 27 ≤ i ≤ 53 → 1, the rest → 2.
    assert _even_counts(80, 3) == [27, 27, 26]
    assert _even_counts(32, 2) == [16, 16]
    assert sum(_even_counts(61, 7)) == 61


def test_single_gpu_plan_is_the_estimate():
    result = tiny(1)
    plan = split_plan(result)
    assert plan.mode == "single"
    assert plan.shares[0].total_bytes == result.memory.total_bytes


def test_mixtral_8x22b_fp16_needs_at_least_seven_a100_40gb(catalog):
    model, quant = catalog.models["mixtral-8x22b"], catalog.quants["FP16"]
    # 140.6 B published parameters × 2 bytes = 281 GB; one A100 40GB holds 40,960 MiB.
    lower_bound = math.ceil(140.6e9 * 2 / (40960 * MIB))
    needed = gpus_needed(model, quant, catalog.gpus["a100-40gb-sxm"], Workload(context_tokens=8192))
    assert needed is not None
    assert lower_bound <= needed.hardware.count <= lower_bound + 1
    assert all(share.headroom_bytes >= 0 for share in split_plan(needed).shares)
    big = gpus_needed(model, quant, catalog.gpus["a100-80gb-sxm"], Workload(context_tokens=8192))
    assert big is not None
    assert math.ceil(140.6e9 * 2 / (81920 * MIB)) <= big.hardware.count <= needed.hardware.count


def test_bigger_siblings_are_the_larger_versions_of_the_same_card(catalog):
    assert [gpu.id for gpu in bigger_siblings(catalog.gpus["a100-40gb-sxm"], catalog.gpus)] \
        == ["a100-80gb-sxm"]
    larger = bigger_siblings(catalog.gpus["rtx-4090"], catalog.gpus)
    assert larger and all(gpu.memory_bytes >= 1.25 * 24 * GB for gpu in larger)


def test_tensor_parallel_decode_pays_for_all_reduce_over_the_link(catalog):
    model, quant = catalog.models["llama-3.1-70b"], catalog.quants["FP16"]
    workload = Workload(context_tokens=4096, engine="vllm")
    nvlink = estimate(model, quant, Hardware(catalog.gpus["h100-sxm"], count=4), workload)
    pcie_card = catalog.gpus["h100-sxm"]
    slow_link = estimate(model, quant, Hardware(_with_link(pcie_card, 64.0), count=4), workload)
    assert slow_link.speed.prefill_tokens_per_s < nvlink.speed.prefill_tokens_per_s
    assert slow_link.speed.decode_tokens_per_s < nvlink.speed.decode_tokens_per_s


def _with_link(gpu: GpuSpec, gbps: float) -> GpuSpec:
    from dataclasses import replace

    return replace(gpu, interconnect="pcie", interconnect_gbps=gbps)


def test_catalog_offers_every_mig_profile_as_hardware(catalog):
    from gpufit.core.resolve import resolve

    slices = [gpu for gpu in catalog.gpus.values() if gpu.mig_parent == "a100-80gb-sxm"]
    assert {gpu.id.rsplit("-mig-", 1)[1] for gpu in slices} == {
        "1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"}
    half = resolve(catalog.gpus, "a100-80gb-sxm:3g.40gb", "GPU")
    parent = catalog.gpus["a100-80gb-sxm"]
    # NVIDIA's table: 3g.40gb is 3 of 7 compute slices and 4 of 8 memory slices (40 of 80 GB).
    assert half.memory_mib == pytest.approx(parent.memory_mib * 40 / 80, abs=1)
    assert half.fp16_tflops == pytest.approx(parent.fp16_tflops * 3 / 7)
    assert half.bandwidth_gbps == pytest.approx(parent.bandwidth_gbps * 40 / 80, rel=1e-3)
    assert half.family == "MIG slice"
    h200 = {gpu.id for gpu in catalog.gpus.values() if gpu.mig_parent == "h200"}
    assert "h200-mig-1g.18gb" in h200
    fit = estimate(catalog.models["llama-3.1-8b"], catalog.quants["Q4_K_M"], Hardware(half),
                   Workload(context_tokens=8192))
    assert fit.verdict == "fits"
