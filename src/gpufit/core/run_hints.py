"""Run hints: the llama.cpp and vLLM command lines that reproduce an estimate's setup.

Each hint is one shell line (arguments quoted with `shlex.join`) plus notes for whatever the
command cannot say by itself: a quant the engine does not load, a cache type it lacks, a
checkpoint the user has to fetch. Which estimate field becomes which flag, and the engine
documentation each flag was checked against, is in docs/estimation.md ("Run hints").
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gpufit.core.engines import engine_profile
from gpufit.core.estimate import Estimate
from gpufit.core.specs import ModelSpec, QuantSpec, Workload
from gpufit.core.tensors import exact_file_weights

# Any -ngl above the layer count offloads every layer and the output head; 999 is the idiom
# every llama.cpp build accepts (newer builds also take "all", older ones reject it).
LLAMA_CPP_ALL_LAYERS = 999
# llama.cpp's defaults for -ub and -b (tools/server/README.md). The physical micro-batch is
# capped at the logical batch, so a larger -ub needs a matching -b.
LLAMA_CPP_DEFAULT_UBATCH = 512
LLAMA_CPP_DEFAULT_BATCH = 2048
# llama.cpp pads each slot's context to a multiple of 256 cells (src/llama-context.cpp).
LLAMA_CPP_CONTEXT_PAD = 256

# Cache types llama.cpp accepts for --cache-type-k/-v that gpufit models, and which of them
# are block-quantized (a quantized V cache refuses to start without flash attention).
_LLAMA_CPP_CACHE_TYPES = {"f16": "f16", "bf16": "bf16", "q8_0": "q8_0", "q4_0": "q4_0"}
QUANTIZED_CACHE_TYPES = {"q8_0", "q4_0"}


def llama_cpp_cache_type(kv_cache_dtype: str) -> str:
    """llama.cpp's --cache-type-k/-v value for a gpufit cache type (fp8 has none: q8_0)."""
    return _LLAMA_CPP_CACHE_TYPES.get(kv_cache_dtype, "q8_0")

# Quants whose weights a plain checkpoint already holds, by the catalog's native_dtype.
_NATIVE_DTYPE_OF_QUANT = {"FP16": "fp16", "BF16": "bf16", "FP8": "fp8", "MXFP4": "mxfp4"}
# vLLM --dtype for the unquantized formats, when they differ from the checkpoint's own.
_VLLM_DTYPE = {"FP16": "float16", "BF16": "bfloat16", "FP32": "float32"}
# Formats vLLM quantizes itself while loading an unquantized checkpoint ("online").
_VLLM_ONLINE_QUANTIZATION = {"FP8": "fp8", "NF4": "bitsandbytes"}

_HF_URL = re.compile(r"https?://(?:www\.)?huggingface\.co/([^/\s;?#]+)/([^/\s;?#]+)")
# First path segments on huggingface.co that are not model owners.
_HF_NON_MODEL_ROOTS = {"datasets", "spaces", "docs", "blog", "papers", "collections", "models"}


@dataclass(frozen=True, slots=True)
class RunHint:
    """One engine's command line for an estimate, with the caveats it cannot express."""

    engine: str
    """Which engine the command starts: "llama.cpp" or "vllm"."""
    command: str
    """One shell line; every argument is quoted with `shlex.join`, so `shlex.split` recovers it."""
    notes: tuple[str, ...] = ()
    """Caveats: formats the engine does not load, substituted cache types, checkpoints to fetch."""


def hugging_face_repo(model: ModelSpec) -> str | None:
    """The `owner/name` of the first huggingface.co model URL in the model's source, if any."""
    for match in _HF_URL.finditer(model.source):
        owner, name = match.groups()
        if owner not in _HF_NON_MODEL_ROOTS:
            return f"{owner}/{name}"
    return None


def _base_name(model: ModelSpec) -> str:
    """A file-name-safe stem for placeholders: the repo's name, else the model's name."""
    repo = hugging_face_repo(model)
    stem = repo.split("/", 1)[1] if repo else model.name
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-") or model.id


def _gguf_tag(quant: QuantSpec) -> str:
    """The quant's name in GGUF file names: the ggml type for "any" formats, else its id."""
    # FP16 → F16, FP32 → F32: GGUF files name unquantized weights by their ggml type.
    return quant.default_type if quant.format == "any" else quant.id


def gguf_file_name(model: ModelSpec, quant: QuantSpec) -> str:
    """Placeholder GGUF file name in the usual `<Model>-<QUANT>.gguf` shape."""
    return f"{_base_name(model)}-{_gguf_tag(quant)}.gguf"


def local_model_path(result: Estimate, loads_folders: bool) -> str | None:
    """The file (a GGUF, the first part of a split one) or, for an engine that `loads_folders`,
    the folder the model was read from, when the estimate is at the file's own quant."""
    file = exact_file_weights(result.model, result.quant)
    if file is None or not file.paths:
        return None
    if file.format == "gguf":
        return file.paths[0]
    return os.path.dirname(file.paths[0]) if loads_folders else None


def _engine_mismatch_note(result: Estimate, engine: str) -> tuple[str, ...]:
    if result.workload.engine == engine:
        return ()
    # The two engines budget memory differently (vLLM reserves gpu_memory_utilization and keeps
    # the embedding on the GPU), so the fit shown is not this engine's.
    return (f"The estimate was made for {result.workload.engine}; re-estimate with {engine} "
            "for its memory figures.",)


def llama_cpp_hint(result: Estimate, gpu_layers: int | None = None, cpu_moe_layers: int = 0,
                   tensor_split: Sequence[float] | None = None, *,
                   model_file: str | None = None) -> RunHint:
    """`llama-server` flags for the estimate's context, slots, cache type and GPU split.

    `gpu_layers` is given when offloading (e.g. from the offload advice); None puts every layer
    on the GPU. `cpu_moe_layers` keeps that many layers' experts in system RAM. `tensor_split`
    gives one proportion per GPU. `model_file` replaces the placeholder GGUF file name.
    """
    model, quant, hardware, workload = result.model, result.quant, result.hardware, result.workload
    if gpu_layers is not None and gpu_layers < 0:
        raise ValueError(f"gpu_layers must not be negative, got {gpu_layers}")
    if cpu_moe_layers < 0:
        raise ValueError(f"cpu_moe_layers must not be negative, got {cpu_moe_layers}")
    notes: list[str] = list(_engine_mismatch_note(result, "llama.cpp"))
    loads_gguf = quant.format in ("gguf", "any")
    if not loads_gguf:
        notes.append(f"{quant.id} is a {quant.format} format, not GGUF: llama.cpp loads GGUF "
                     "files only, so pick a GGUF quant (e.g. Q4_K_M) for llama.cpp.")
    repo = hugging_face_repo(model)
    model_file = model_file or local_model_path(result, loads_folders=False)
    args = ["llama-server", "-m", model_file or gguf_file_name(model, quant)]
    if model_file is None and loads_gguf:
        source = f"a GGUF repository of {repo}" if repo else "a GGUF repository"
        notes.append(f"-m names a placeholder file; to download instead, replace it with "
                     f"-hf <{source}>:{_gguf_tag(quant)}.")

    args += ["-ngl", str(LLAMA_CPP_ALL_LAYERS if gpu_layers is None else gpu_layers)]
    if gpu_layers is None and result.verdict == "does-not-fit":
        notes.append("The estimate does not fit in GPU memory with every layer on the GPU; "
                     "pass fewer GPU layers (see the offload advice) or choose a smaller quant.")
    elif gpu_layers is not None and gpu_layers <= model.layers:
        notes.append(f"{gpu_layers} of {model.layers} layers on the GPU: the rest decode from "
                     "system RAM, which is much slower than the estimate's GPU-only speed.")
    if cpu_moe_layers:
        if model.is_moe:
            args += ["--n-cpu-moe", str(cpu_moe_layers)]
        else:
            notes.append(f"{model.name} is not a mixture-of-experts model; --n-cpu-moe left out.")

    args += llama_cpp_workload_flags(workload)
    if workload.context_tokens % LLAMA_CPP_CONTEXT_PAD:
        notes.append(f"llama.cpp pads each slot to a multiple of {LLAMA_CPP_CONTEXT_PAD} tokens, "
                     "so the KV cache is slightly larger than estimated.")
    if workload.kv_cache_dtype not in _LLAMA_CPP_CACHE_TYPES:
        # fp8: llama.cpp has no FP8 cache; the estimate already counts the q8_0 it stores.
        notes.append(f"llama.cpp has no {workload.kv_cache_dtype} KV cache; it runs q8_0, "
                     "which the estimate counts.")
    if llama_cpp_cache_type(workload.kv_cache_dtype) in QUANTIZED_CACHE_TYPES \
            and workload.flash_attention == "off":
        notes.append("A quantized V cache needs flash attention: llama.cpp refuses -fa off "
                     "with it, so use -fa auto (the default) or an f16 cache.")

    if tensor_split is not None:
        if len(tensor_split) != hardware.count:
            raise ValueError(f"tensor_split has {len(tensor_split)} entries for "
                             f"{hardware.count} GPUs")
        if any(part < 0 for part in tensor_split) or sum(tensor_split) <= 0:
            raise ValueError("tensor_split needs non-negative proportions with a positive sum")
        if hardware.count > 1:
            args += ["--split-mode", "layer",
                     "--tensor-split", ",".join(f"{part:g}" for part in tensor_split)]
    return RunHint("llama.cpp", shlex.join(args), tuple(notes))


def llama_cpp_workload_flags(workload: Workload) -> list[str]:
    """The llama.cpp flags of a workload: context, slots, cache type, flash attention, batch.

    The one place these are spelled, for run hints and offload plans alike."""
    # llama-server divides -c among its -np slots (each slot gets c / np), so the total is
    # context × sequences. An explicit -np also turns off the unified KV buffer it uses when
    # the slot count is left on auto.
    flags = ["-c", str(workload.context_tokens * workload.sequences),
             "-np", str(workload.sequences)]
    cache_type = llama_cpp_cache_type(workload.kv_cache_dtype)
    if cache_type != "f16":
        flags += ["--cache-type-k", cache_type, "--cache-type-v", cache_type]
    # The flag takes on/off/auto since llama.cpp's change to auto by default (#15434); a
    # bare -fa is an error now, and auto (the default) needs no flag.
    if workload.flash_attention != "auto":
        flags += ["-fa", workload.flash_attention]
    if workload.ubatch_tokens != LLAMA_CPP_DEFAULT_UBATCH:
        flags += ["-ub", str(workload.ubatch_tokens)]
        # The physical micro-batch is capped at the logical batch.
        if workload.ubatch_tokens > LLAMA_CPP_DEFAULT_BATCH:
            flags += ["-b", str(workload.ubatch_tokens)]
    return flags


def vllm_parallel_sizes(model: ModelSpec, gpu_count: int) -> tuple[int, int]:
    """(tensor, pipeline) parallel sizes for `gpu_count` GPUs: the engine profile's, which the
    estimate uses too."""
    parallel = engine_profile("vllm").parallelism(model, gpu_count)
    return parallel.tensor, parallel.pipeline


def _vllm_model(result: Estimate, repo: str | None, notes: list[str]) -> tuple[list[str], str]:
    """The `vllm serve` model argument plus the flags that select the weights' format."""
    model, quant = result.model, result.quant
    source = repo or model.name
    native = _NATIVE_DTYPE_OF_QUANT.get(quant.id) == model.native_dtype
    if quant.format == "gguf":
        notes.append(f"{quant.id} is a GGUF (llama.cpp) format: vLLM's GGUF support is "
                     "experimental and under-optimised (recent versions need vllm-gguf-plugin).")
        flags = ["--dtype", "float16"]
        if repo:  # vLLM's GGUF docs recommend the base model's tokenizer over the GGUF one.
            flags = ["--tokenizer", repo, *flags]
        return flags, f"./{gguf_file_name(model, quant)}"
    if native:
        return [], source
    # --dtype and online quantization start from 16-bit weights; an FP8 or MXFP4 checkpoint
    # would keep its own quantization_config whatever the flags say.
    plain_checkpoint = model.native_dtype in ("fp16", "bf16")
    if plain_checkpoint and quant.id in _VLLM_DTYPE:
        return ["--dtype", _VLLM_DTYPE[quant.id]], source
    if plain_checkpoint and quant.id in _VLLM_ONLINE_QUANTIZATION:
        if quant.id == "FP8":
            notes.append("--quantization fp8 quantizes the original weights while loading, which "
                         "vLLM's docs say first needs memory for them at original precision; a "
                         f"pre-quantized FP8 checkpoint of {source} avoids that (then drop the flag).")
        return ["--quantization", _VLLM_ONLINE_QUANTIZATION[quant.id]], source
    # AWQ, GPTQ, W8A8, NVFP4, MXFP4: vLLM needs a checkpoint already in that format and reads
    # its quantization_config; naming the method (e.g. awq) would only force a slower kernel.
    placeholder = f"./{_base_name(model)}-{quant.id}"
    notes.append(f"Replace {placeholder} with a checkpoint of {source} quantized as {quant.id}: "
                 "vLLM reads its quantization_config, so no --quantization flag is needed.")
    return [], placeholder


def vllm_hint(result: Estimate, *, model_ref: str | None = None) -> RunHint:
    """`vllm serve` flags for the estimate's parallelism, context, sequences and memory budget.

    `model_ref` (a repository id or local path) replaces the model argument derived from the
    catalog.
    """
    model, hardware, workload = result.model, result.hardware, result.workload
    notes: list[str] = list(_engine_mismatch_note(result, "vllm"))
    repo = hugging_face_repo(model)
    format_flags, model_arg = _vllm_model(result, repo, notes)
    model_ref = model_ref or local_model_path(result, loads_folders=True)
    args = ["vllm", "serve", model_ref or model_arg, *format_flags]

    tensor, pipeline = vllm_parallel_sizes(model, hardware.count)
    if tensor > 1:
        args += ["--tensor-parallel-size", str(tensor)]
    if pipeline > 1:
        args += ["--pipeline-parallel-size", str(pipeline)]
        notes.append(f"{model.attention_heads} attention heads do not divide over "
                     f"{hardware.count} GPUs, which tensor parallelism requires; the remaining "
                     f"factor of {pipeline} splits layers with pipeline parallelism.")

    args += ["--max-model-len", str(workload.context_tokens),
             "--max-num-seqs", str(workload.sequences),
             "--gpu-memory-utilization", f"{workload.gpu_memory_utilization:g}"]
    dtype = workload.kv_cache_dtype
    if dtype in ("fp8", "q8_0", "q4_0"):
        args += ["--kv-cache-dtype", "fp8"]
    if dtype in ("q8_0", "q4_0"):
        notes.append(f"vLLM has no {dtype} KV cache; it runs fp8 (1 byte per element), which "
                     "the estimate counts.")
    if result.verdict == "does-not-fit":
        notes.append("The estimate does not fit: vLLM will stop at start-up for lack of memory "
                     "for the KV cache of --max-model-len.")
    return RunHint("vllm", shlex.join(args), tuple(notes))


class HintBuilder(Protocol):
    """Builds one engine's command line for an estimate and the advice's placement."""

    def __call__(self, result: Estimate, placement: Placement) -> RunHint: ...


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the advice puts the model: GPU layers and MoE layers in RAM (offload), and the
    per-GPU proportions of a balanced layer split; the defaults put everything on the GPUs."""

    gpu_layers: int | None = None
    cpu_moe_layers: int = 0
    tensor_split: Sequence[float] | None = None


def _llama_cpp_builder(result: Estimate, placement: Placement) -> RunHint:
    return llama_cpp_hint(result, placement.gpu_layers, placement.cpu_moe_layers,
                          placement.tensor_split)


def _vllm_builder(result: Estimate, placement: Placement) -> RunHint:
    return vllm_hint(result)


HINT_BUILDERS: dict[str, HintBuilder] = {"llama.cpp": _llama_cpp_builder, "vllm": _vllm_builder}
"""One builder per engine profile (gpufit.core.engines); a new engine adds its own here."""


def run_hints(result: Estimate, gpu_layers: int | None = None, cpu_moe_layers: int = 0, *,
              tensor_split: Sequence[float] | None = None) -> tuple[RunHint, ...]:
    """Hints for every engine, the estimate's own engine first."""
    placement = Placement(gpu_layers, cpu_moe_layers, tensor_split)
    own = result.workload.engine
    order = sorted(HINT_BUILDERS, key=lambda engine: engine != own)
    return tuple(HINT_BUILDERS[engine](result, placement) for engine in order)
