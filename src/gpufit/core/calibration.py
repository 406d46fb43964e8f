"""Every constant the estimator does not derive from a spec sheet, in one place.

Efficiencies were fitted on the public llama.cpp measurements in shared/reference (see
docs/estimation.md, "Calibration", and benchmarks/accuracy.py --fit); runtime overheads are
documented engine behaviour. Change a value here and re-run benchmarks/accuracy.py.
"""

from __future__ import annotations

from gpufit.core.specs import MIB

# --- memory -------------------------------------------------------------------------------
# CUDA context, kernels and cuBLAS workspace that llama.cpp's own buffer log does not show.
LLAMA_CPP_CONTEXT_BYTES_PER_GPU = 400 * MIB
# vLLM: CUDA context, CUDA graphs, NCCL buffers and PyTorch's non-tensor memory per GPU.
VLLM_OVERHEAD_BYTES_PER_GPU = 1536 * MIB
# Part of the reported memory the driver reserves (nvidia-smi -q "Reserved": 479 MiB of
# 81559 on an H100, 620 of 40960 on an A100 40GB): about 1 %.
DRIVER_RESERVED_FRACTION = 0.01
# llama.cpp keeps a per-token scratch of about six hidden-size f32 vectors beside the
# attention scores in its compute graph (fits the 560 MiB compute buffer of an 8B model at
# 8192 context and ubatch 512 exactly; see docs/estimation.md).
LLAMA_CPP_SCRATCH_HIDDEN_VECTORS = 6
# vLLM profiles activations with this many batched tokens and up to this many sequences.
VLLM_MAX_BATCHED_TOKENS = 8192
VLLM_MAX_SEQUENCES = 256
# A fit with less headroom than this share of capacity (and at least TIGHT_MIN per GPU) is tight.
TIGHT_FRACTION = 0.05
TIGHT_MIN_BYTES_PER_GPU = 512 * MIB

# --- speed --------------------------------------------------------------------------------
# Share of peak memory bandwidth a decode step achieves streaming weights and KV cache, by
# memory technology: HBM's higher latency needs more bytes in flight than llama.cpp's
# matrix-vector kernels keep outstanding, so HBM parts reach a smaller share of their peak.
DECODE_BANDWIDTH_EFFICIENCY = {"GDDR": 0.858, "HBM": 0.560, "LPDDR": 0.722}
# Dequantizing block-quantized weights costs ALU time: FP16-equivalent operations per weight.
DEQUANT_OPS_PER_WEIGHT = 10.4
# Fixed cost per layer per decode step: kernel launches and synchronisation (seconds).
LAYER_OVERHEAD_S = 45.5e-6
# Extra per-step cost of each additional GPU in a layer split (activation hand-off).
GPU_HOP_S = 163e-6
# llama.cpp splits a batch into micro-batches and pipelines them across a layer split
# (pipeline parallelism, n_batch 2048 = 4 micro-batches of 512 in flight).
LLAMA_CPP_BATCH_TOKENS = 2048
# Share of the dense tensor-core peak that prefill matmuls reach, and the extra cost of
# running them from block-quantized weights (dequantize, then multiply).
PREFILL_COMPUTE_EFFICIENCY = 0.366
PREFILL_QUANT_SLOWDOWN = 1.31
# Relative uncertainty bands reported with each speed (from the accuracy benchmark's spread).
DECODE_BAND = 0.15
PREFILL_BAND = 0.30
# Tensor-parallel all-reduce latency per collective (vLLM; two per layer per step).
ALL_REDUCE_LATENCY_S = 12e-6

# --- CPU offload (not fitted: the reference data has no offloaded runs) --------------------
# Share of peak RAM bandwidth the CPU reaches streaming weights through llama.cpp's matrix-vector
# kernels. Public points: 41 % (default) and 74 % (NUMA-aware page placement) on dual EPYC
# 9175F, 16 × DDR5-6400, Llama 3.1 70B F16 (ggml-org/llama.cpp#11744); M1 CPU 78 %, M1 Pro CPU
# 43 % (ggml-org/llama.cpp#1642). STREAM-type kernels reach 70-80 % on desktops. 0.6 sits in the
# middle of that spread.
RAM_BANDWIDTH_EFFICIENCY = 0.6
# Each hand-over between the GPU and the CPU within one decode step: a synchronous copy of a
# few KiB of activations over PCIe plus a stream synchronisation and waking the CPU threads,
# about 10-20 µs. Checked against the one public --cpu-moe decode figure we have (gpt-oss 20B,
# RTX 4080 + Ryzen 9 7950X, 34.0 tok/s, ikawrakow/ik_llama.cpp#841): 33.5 tok/s with 20 µs;
# the GPU-to-GPU hop of a layer split (GPU_HOP_S, 163 µs) would give 27.
CPU_GPU_SWITCH_S = 20e-6
