"""CPU offload plans: known answers from hand arithmetic on small hand-built models, llama.cpp's
-ngl / --n-cpu-moe semantics, speed consistency with the GPU-only estimate, and one real case.

Expected sizes are worked out here from the architecture (params × 2 bytes at F16, 4 bytes for
F32 norms and routers), not read back from gpufit's output. The estimate's own compute buffer
and runtime overhead (result.memory) are taken as given: they are not the planner's to decide.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from gpufit.core.calibration import RAM_BANDWIDTH_EFFICIENCY
from gpufit.core.estimate import estimate
from gpufit.core.memory import kv_cache_bytes, layer_kv_bytes
from gpufit.core.offload import (
    SLOW_SHARE_OF_GPU_ONLY,
    SLOW_TOKENS_PER_S,
    default_host,
    ngl_placement,
    plan_for_cpu_moe,
    plan_for_ngl,
    plan_offload,
)
from gpufit.core.run_hints import LLAMA_CPP_ALL_LAYERS
from gpufit.core.specs import GB, GIB, MIB, GpuSpec, Hardware, ModelSpec, QuantSpec, Workload
from gpufit.core.tensors import layer_tensor_bytes

CONTEXT = 4096

F16 = QuantSpec(id="F16", name="F16", format="gguf", default_type="F16", nominal_bits=16,
                compute="fp16", engines=("llama.cpp",), source="test",
                block_bits={"F16": 16.0, "F32": 32.0})

GPU = GpuSpec(id="test-gpu", name="Test GPU", vendor="nvidia", family="Consumer",
              architecture="Ada", memory_mib=24576, bandwidth_gbps=1000.0, fp16_tflops=100.0,
              tdp_watts=300.0, interconnect="pcie", interconnect_gbps=64.0, source="test",
              memory_type="GDDR6X")

# A dense 8-layer model: hidden 4096, 32 query heads and 8 KV heads of 128, MLP 8192, vocab 32000.
DENSE = ModelSpec(id="dense", name="Dense test", family="test", architecture="llama", layers=8,
                  hidden_size=4096, attention_heads=32, kv_heads=8, head_dim=128,
                  intermediate_size=8192, vocab_size=32000, tied_embeddings=False,
                  max_context_tokens=32768, params_total_published=2.6e9, source="test")
DENSE_ATTENTION_PARAMS = 4096 * 4096 * 2 + 4096 * 1024 * 2  # q, o + k, v
DENSE_MLP_TENSOR_PARAMS = 4096 * 8192  # each of gate, up, down
DENSE_LAYER_BYTES = 2 * (DENSE_ATTENTION_PARAMS + 3 * DENSE_MLP_TENSOR_PARAMS) + 4 * 2 * 4096
DENSE_EMBED_BYTES = 2 * 32000 * 4096
DENSE_HEAD_BYTES = 2 * 32000 * 4096 + 4 * 4096  # output matrix + output norm
DENSE_KV_LAYER_BYTES = 2 * 8 * 128 * 2 * CONTEXT  # K and V, f16
DENSE_LARGEST_LAYER_TENSOR = 2 * DENSE_MLP_TENSOR_PARAMS

# A MoE 8-layer model: hidden 2048, 16 heads / 4 KV heads of 128, 16 experts of width 2048, 2 active.
MOE = ModelSpec(id="moe", name="MoE test", family="test", architecture="mixtral", layers=8,
                hidden_size=2048, attention_heads=16, kv_heads=4, head_dim=128,
                intermediate_size=4096, vocab_size=32000, tied_embeddings=False,
                max_context_tokens=32768, params_total_published=3.5e9, source="test",
                experts_total=16, experts_active=2, expert_intermediate_size=2048)
MOE_ATTENTION_BYTES = 2 * (2048 * 2048 * 2 + 2048 * 512 * 2)
MOE_EXPERT_TENSOR_BYTES = 2 * 16 * 2048 * 2048  # one ffn_*_exps tensor: all 16 experts
MOE_EXPERTS_LAYER_BYTES = 3 * MOE_EXPERT_TENSOR_BYTES
MOE_LAYER_BYTES = MOE_ATTENTION_BYTES + MOE_EXPERTS_LAYER_BYTES + 4 * 2 * 2048 + 4 * 2048 * 16
MOE_EMBED_BYTES = 2 * 32000 * 2048
MOE_HEAD_BYTES = 2 * 32000 * 2048 + 4 * 2048
MOE_KV_LAYER_BYTES = 2 * 4 * 128 * 2 * CONTEXT


def run(model: ModelSpec, capacity_bytes: int, count: int = 1, **workload: object):
    hardware = Hardware(GPU, count=count, memory_override_bytes=capacity_bytes)
    # The hand arithmetic here counts the attention-score buffer: flash attention off.
    workload.setdefault("flash_attention", "off")
    return estimate(model, F16, hardware, Workload(context_tokens=CONTEXT, **workload))


def margin_bytes(capacity_bytes: int, count: int = 1) -> float:
    """The headroom a "fits" verdict needs: max(5 % of capacity, 512 MiB per GPU)."""
    return max(0.05 * capacity_bytes * count, 512 * MIB * count)


def buffers_bytes(result) -> int:
    return result.memory.activations_bytes + result.memory.overhead_bytes


def dense_gpu_bytes(result, ngl: int) -> int:
    """GPU bytes of -ngl ngl for DENSE, by hand: head first, then the last layers with their KV,
    plus a staging copy of the largest weight tensor still in RAM."""
    on_gpu = min(ngl, DENSE.layers + 1)
    layers_on_gpu = max(0, on_gpu - 1)
    weights = (DENSE_HEAD_BYTES if on_gpu >= 1 else 0) + layers_on_gpu * DENSE_LAYER_BYTES
    if on_gpu == 0:
        staging = 2 * 32000 * 4096  # the output matrix is the largest tensor in RAM
    elif layers_on_gpu < DENSE.layers:
        staging = DENSE_LARGEST_LAYER_TENSOR
    else:
        staging = 0
    return weights + layers_on_gpu * DENSE_KV_LAYER_BYTES + staging + buffers_bytes(result)


# --- llama.cpp semantics ---------------------------------------------------------------------


def test_ngl_counts_the_output_head_first():
    # llama.cpp since #18148: the last ngl of the n + 1 slots (n layers, then the output).
    assert ngl_placement(0, 8) == (0, False)
    assert ngl_placement(1, 8) == (0, True)
    assert ngl_placement(6, 8) == (5, True)
    assert ngl_placement(9, 8) == (8, True)
    assert ngl_placement(999, 8) == (8, True)


# --- layers mode: known answers -----------------------------------------------------------------


def test_layers_plan_is_the_largest_ngl_that_fits():
    capacity = 3 * GIB
    result = run(DENSE, capacity)
    assert result.verdict == "does-not-fit"
    budget = capacity - margin_bytes(capacity)
    expected = max(ngl for ngl in range(DENSE.layers + 2) if dense_gpu_bytes(result, ngl) <= budget)
    assert expected == 6  # head + 5 layers on the GPU, 3 layers in RAM

    plans = plan_offload(result, default_host(GPU))
    assert [plan.mode for plan in plans] == ["layers"]
    plan = plans[0]
    assert plan.ngl == expected
    assert plan.gpu_layers == 5
    assert plan.cpu_moe_layers == 0
    assert plan.gpu_bytes == pytest.approx(dense_gpu_bytes(result, expected), abs=8)
    assert plan.gpu_bytes <= budget
    # One more would not fit.
    bigger = plan_for_ngl(result, default_host(GPU), expected + 1)
    assert bigger.gpu_bytes == pytest.approx(dense_gpu_bytes(result, expected + 1), abs=8)
    assert bigger.gpu_bytes > budget


def test_layers_plan_flags_and_host_bytes():
    result = run(DENSE, 3 * GIB)
    plan = plan_offload(result, default_host(GPU))[0]
    # -np 1 explicitly: left on auto, llama-server opens several slots over a unified cache.
    # -fa off: the workload's choice is spelled out (auto, llama.cpp's default, needs no flag).
    assert plan.llama_cpp_flags == "-ngl 6 -c 4096 -np 1 -fa off"
    # RAM: the token embedding (always on the CPU) + 3 layers with their KV cache.
    assert plan.host_bytes == pytest.approx(
        DENSE_EMBED_BYTES + 3 * (DENSE_LAYER_BYTES + DENSE_KV_LAYER_BYTES), abs=8)
    # Per token the CPU reads its 3 layers whole and their KV cache at the mean fill (half).
    assert plan.host_read_bytes_per_token == pytest.approx(
        3 * (DENSE_LAYER_BYTES + DENSE_KV_LAYER_BYTES / 2), abs=8)


def test_flags_carry_sequences_cache_type_and_micro_batch():
    result = run(DENSE, 2 * GIB, sequences=2, kv_cache_dtype="q8_0", ubatch_tokens=256,
                 flash_attention="on")
    plan = plan_offload(result, default_host(GPU))[0]
    assert plan.llama_cpp_flags == (f"-ngl {plan.ngl} -c 8192 -np 2 --cache-type-k q8_0 "
                                    "--cache-type-v q8_0 -fa on -ub 256")


def test_fp8_cache_becomes_q8_0_the_nearest_llama_cpp_type():
    plan = plan_offload(run(DENSE, 2 * GIB, kv_cache_dtype="fp8", flash_attention="auto"),
                        default_host(GPU))[0]
    assert plan.llama_cpp_flags.endswith(
        "-c 4096 -np 1 --cache-type-k q8_0 --cache-type-v q8_0")


def test_zero_gpu_layers_when_only_the_buffers_fit():
    # Capacity where the buffers and a staging copy of the output matrix fit, the head does not.
    capacity = 1_580_000_000
    result = run(DENSE, capacity)
    budget = capacity - margin_bytes(capacity)
    assert dense_gpu_bytes(result, 0) <= budget < dense_gpu_bytes(result, 1)
    plan = plan_offload(result, default_host(GPU))[0]
    assert (plan.ngl, plan.gpu_layers) == (0, 0)
    assert plan.llama_cpp_flags.startswith("-ngl 0 ")
    assert plan.host_bytes == pytest.approx(
        DENSE_EMBED_BYTES + DENSE_HEAD_BYTES + 8 * (DENSE_LAYER_BYTES + DENSE_KV_LAYER_BYTES), abs=8)


def test_no_plan_when_the_gpu_cannot_hold_the_buffers():
    assert plan_offload(run(DENSE, 600 * MIB), default_host(GPU)) == ()


def test_ram_fits_follows_the_entered_ram():
    result = run(DENSE, 3 * GIB)
    needed = plan_offload(result, default_host(GPU))[0].host_bytes
    assert plan_offload(result, default_host(GPU))[0].ram_fits is None
    assert plan_offload(result, default_host(GPU, ram_bytes=needed - 1))[0].ram_fits is False
    assert plan_offload(result, default_host(GPU, ram_bytes=needed))[0].ram_fits is True


def test_two_gpus_hold_more_layers_than_one():
    # Each GPU has its own compute buffer and runtime; the layers spread over both.
    capacity = 1800 * MIB
    one = plan_offload(run(DENSE, capacity), default_host(GPU))[0]
    two = plan_offload(run(DENSE, capacity, count=2), default_host(GPU))[0]
    assert two.gpu_layers > one.gpu_layers
    assert two.gpu_bytes <= 2 * capacity - margin_bytes(capacity, count=2)


# --- experts mode: known answers -----------------------------------------------------------------


def moe_gpu_bytes(result, model: ModelSpec, cpu_moe_layers: int) -> int:
    """GPU bytes with the experts of `cpu_moe_layers` MoE layers in RAM, by hand."""
    moe_layers = model.layers - model.dense_layers
    dense_layer_bytes = MOE_LAYER_BYTES - MOE_EXPERTS_LAYER_BYTES - 4 * 2048 * 16 \
        + 2 * 3 * 2048 * 4096  # attention + norms + a dense MLP of width 4096, no router
    weights = moe_layers * MOE_LAYER_BYTES + model.dense_layers * dense_layer_bytes \
        + MOE_HEAD_BYTES - cpu_moe_layers * MOE_EXPERTS_LAYER_BYTES
    staging = MOE_EXPERT_TENSOR_BYTES if cpu_moe_layers else 0
    return weights + model.layers * MOE_KV_LAYER_BYTES + staging + buffers_bytes(result)


@pytest.mark.parametrize("dense_layers", [0, 1])
def test_experts_plan_is_the_fewest_cpu_moe_layers_that_fit(dense_layers):
    model = replace(MOE, dense_layers=dense_layers)
    capacity = 3 * GIB
    result = run(model, capacity)
    assert result.verdict == "does-not-fit"
    budget = capacity - margin_bytes(capacity)
    moe_layers = model.layers - dense_layers
    expected = min(k for k in range(moe_layers + 1) if moe_gpu_bytes(result, model, k) <= budget)

    plan = next(plan for plan in plan_offload(result, default_host(GPU)) if plan.mode == "experts")
    assert plan.cpu_moe_layers == expected
    assert plan.gpu_layers == model.layers
    assert plan.gpu_bytes == pytest.approx(moe_gpu_bytes(result, model, expected), abs=8)
    assert moe_gpu_bytes(result, model, expected - 1) > budget
    # --n-cpu-moe K counts layer indices from 0, so leading dense layers are part of K.
    assert plan.n_cpu_moe == dense_layers + expected
    assert plan.llama_cpp_flags == (f"-ngl {LLAMA_CPP_ALL_LAYERS} --n-cpu-moe "
                                    f"{dense_layers + expected} -c 4096 -np 1 -fa off")
    assert plan.host_bytes == pytest.approx(MOE_EMBED_BYTES + expected * MOE_EXPERTS_LAYER_BYTES,
                                            abs=8)
    # One sequence routes each token to 2 of 16 experts: the CPU reads 1/8 of its experts.
    assert plan.host_read_bytes_per_token == pytest.approx(
        expected * MOE_EXPERTS_LAYER_BYTES * 2 / 16, abs=8)


def test_experts_mode_reads_less_from_ram_and_is_faster_than_layers_mode():
    result = run(MOE, 3 * GIB)
    plans = {plan.mode: plan for plan in plan_offload(result, default_host(GPU))}
    assert set(plans) == {"layers", "experts"}
    # Layers mode reads its CPU layers' attention and KV cache from RAM as well; experts mode
    # only the routed experts a token uses.
    assert plans["experts"].host_read_bytes_per_token < plans["layers"].host_read_bytes_per_token
    assert plans["experts"].decode_tokens_per_s > plans["layers"].decode_tokens_per_s
    assert plan_offload(result, default_host(GPU))[0].mode == "experts"  # fastest first


def test_dense_models_get_no_experts_plan():
    assert {plan.mode for plan in plan_offload(run(DENSE, 3 * GIB), default_host(GPU))} == {"layers"}
    with pytest.raises(ValueError):
        plan_for_cpu_moe(run(DENSE, 3 * GIB), default_host(GPU), 1)


# --- speed ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [DENSE, MOE])
def test_nothing_offloaded_decodes_at_the_gpu_only_speed(model):
    result = run(model, 3 * GIB)
    host = default_host(GPU)
    everything = plan_for_ngl(result, host, LLAMA_CPP_ALL_LAYERS)
    assert everything.host_read_bytes_per_token == 0
    assert everything.decode_tokens_per_s == pytest.approx(result.speed.decode_tokens_per_s,
                                                           rel=0.01)
    assert everything.gpu_bytes == pytest.approx(result.memory.total_bytes, abs=16)
    if model.is_moe:
        none = plan_for_cpu_moe(result, host, 0)
        assert none.decode_tokens_per_s == pytest.approx(result.speed.decode_tokens_per_s,
                                                         rel=0.01)


def test_decode_adds_the_ram_part_in_series():
    result = run(DENSE, 3 * GIB)
    host = default_host(GPU, ram_bandwidth_gbps=100.0)
    everything = plan_for_ngl(result, host, LLAMA_CPP_ALL_LAYERS)
    plan = plan_for_ngl(result, host, 6)
    # The GPU part shrinks, the RAM part is bytes over achieved RAM bandwidth.
    ram_s = plan.host_read_bytes_per_token / (100e9 * RAM_BANDWIDTH_EFFICIENCY)
    step_s = 1 / plan.decode_tokens_per_s
    assert ram_s < step_s < ram_s + 1 / everything.decode_tokens_per_s
    # More RAM bandwidth, faster; fewer GPU layers, slower.
    faster_host = default_host(GPU, ram_bandwidth_gbps=200.0)
    assert plan_for_ngl(result, faster_host, 6).decode_tokens_per_s > plan.decode_tokens_per_s
    speeds = [plan_for_ngl(result, host, ngl).decode_tokens_per_s for ngl in range(10)]
    assert speeds == sorted(speeds)


def test_slow_label():
    result = run(DENSE, 3 * GIB)
    plan = plan_offload(result, default_host(GPU))[0]
    expected = (plan.decode_tokens_per_s < SLOW_SHARE_OF_GPU_ONLY * result.speed.decode_tokens_per_s
                or plan.decode_tokens_per_s < SLOW_TOKENS_PER_S)
    assert plan.slow is expected
    assert plan.gpu_only_decode_tokens_per_s == result.speed.decode_tokens_per_s


# --- when there is nothing to plan ----------------------------------------------------------------


def test_no_plans_when_the_model_fits(catalog):
    result = estimate(catalog.models["llama-3-8b"], catalog.quants["Q4_K_M"],
                      Hardware(catalog.gpus["rtx-4090"]), Workload(context_tokens=8192))
    assert result.verdict == "fits"
    assert plan_offload(result, default_host(catalog.gpus["rtx-4090"])) == ()


def test_no_plans_on_apple_unified_memory(catalog):
    gpu = catalog.gpus["m2-max-96gb"]
    result = estimate(catalog.models["deepseek-v3"], catalog.quants["Q4_K_M"], Hardware(gpu),
                      Workload(context_tokens=8192))
    assert result.verdict == "does-not-fit"
    assert plan_offload(result, default_host(gpu)) == ()
    assert plan_offload(result, default_host(gpu, ram_bytes=192 * GIB)) == ()


def test_no_plans_for_vllm():
    assert plan_offload(run(DENSE, 3 * GIB, engine="vllm"), default_host(GPU)) == ()


# --- the real catalog -------------------------------------------------------------------------------


def test_mixtral_8x22b_fp16_on_one_a100_40gb(catalog):
    gpu = catalog.gpus["a100-40gb-pcie"]
    result = estimate(catalog.models["mixtral-8x22b"], catalog.quants["FP16"], Hardware(gpu),
                      Workload(context_tokens=8192))
    assert result.verdict == "does-not-fit"
    plans = {plan.mode: plan for plan in plan_offload(result, default_host(gpu))}
    assert set(plans) == {"layers", "experts"}
    layers = plans["layers"]
    assert layers.llama_cpp_flags.startswith("-ngl ")
    assert layers.slow and plans["experts"].slow
    # ~281 GB of FP16 weights, ~40 GB of GPU: nearly all of it in RAM, a few tok/s at most.
    assert layers.gpu_layers < 10
    assert layers.host_bytes > 230 * GB
    assert all(plan.decode_tokens_per_s < 5 for plan in plans.values())
    assert all(plan.gpu_bytes <= result.memory.available_bytes for plan in plans.values())


def test_per_layer_sizes_agree_with_the_estimate(catalog):
    # Q4_K_M upgrades attn_v / ffn_down in some layers: per-layer tensor bytes must still add up.
    model, quant = catalog.models["mixtral-8x22b"], catalog.quants["Q4_K_M"]
    result = estimate(model, quant, Hardware(catalog.gpus["rtx-4090"]), Workload())
    tensors = layer_tensor_bytes(model, quant)
    assert [round(sum(size for _group, size in layer)) for layer in tensors] == \
        pytest.approx(list(result.weights.layer_bytes), abs=1)
    experts = sum(size for layer in tensors for group, size in layer if group == "experts")
    assert experts == pytest.approx(result.weights.bytes_by_group["experts"], abs=8)
    # Sliding-window layers cache less; the per-layer split still sums to the whole cache.
    gemma = catalog.models["gemma-2-9b"]
    workload = Workload(context_tokens=16384, sequences=2)
    per_layer = layer_kv_bytes(gemma, "llama.cpp", "f16", 16384, 2)
    assert len(set(per_layer)) == 2
    assert sum(per_layer) == pytest.approx(kv_cache_bytes(gemma, workload))


# --- default host ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("family", "peak_gbps"), [
    ("Data centre", 8 * 4800 * 8 / 1000),  # 8-channel DDR5-4800: 307.2
    ("Workstation", 4 * 4800 * 8 / 1000),  # 4-channel DDR5-4800: 153.6
    ("Consumer", 2 * 5600 * 8 / 1000),  # dual-channel DDR5-5600: 89.6
    ("Laptop", 2 * 5200 * 8 / 1000),  # dual-channel DDR5-5200: 83.2
    ("Something new", 2 * 5600 * 8 / 1000),
])
def test_default_ram_bandwidth_per_platform(family, peak_gbps):
    host = default_host(replace(GPU, family=family))
    assert host.ram_bandwidth_gbps == pytest.approx(peak_gbps)
    assert host.bandwidth_source.startswith("default for ")
    assert host.ram_bytes is None


def test_entered_values_win_and_bad_ones_are_refused(catalog):
    host = default_host(GPU, ram_bytes=64 * GIB, ram_bandwidth_gbps=120.0)
    assert (host.ram_bytes, host.ram_bandwidth_gbps, host.bandwidth_source) == \
        (64 * GIB, 120.0, "entered")
    assert default_host(catalog.gpus["gh200"]).ram_bandwidth_gbps == 512.0
    with pytest.raises(ValueError):
        default_host(GPU, ram_bandwidth_gbps=0)
    with pytest.raises(ValueError):
        default_host(GPU, ram_bytes=-1)


def test_a_large_micro_batch_raises_the_logical_batch_too():
    # llama.cpp caps -ub at -b (default 2048): the offload flags must carry both, as run hints do.
    # 4 GiB: the 4096-token compute buffer leaves room for some layers, not all.
    plan = plan_offload(run(DENSE, 4 * GIB, ubatch_tokens=4096), default_host(GPU))[0]
    assert plan.llama_cpp_flags.endswith("-ub 4096 -b 4096")
