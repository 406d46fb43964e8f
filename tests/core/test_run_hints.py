"""Run hints: llama-server and vllm serve command lines derived from real catalog estimates.

Commands are parsed with shlex.split, and every expected value is worked out here from the
workload and hardware, not copied from the module.
"""

from __future__ import annotations

import shlex
from dataclasses import replace

import pytest

from gpufit.core.estimate import Estimate, estimate
from gpufit.core.run_hints import (
    RunHint,
    hugging_face_repo,
    llama_cpp_hint,
    run_hints,
    vllm_hint,
)
from gpufit.core.specs import Hardware, Workload


def run(catalog, gpu: str, model: str, quant: str, count: int = 1, **workload) -> Estimate:
    return estimate(catalog.models[model], catalog.quants[quant],
                    Hardware(catalog.gpus[gpu], count=count), Workload(**workload))


def argv(hint: RunHint) -> list[str]:
    return shlex.split(hint.command)


def option(args: list[str], name: str) -> str:
    """The value after `name`, which must appear exactly once."""
    assert args.count(name) == 1, f"{name} appears {args.count(name)} times in {args}"
    return args[args.index(name) + 1]


def notes_text(hint: RunHint) -> str:
    return " ".join(hint.notes)


# ------------------------------------------------------------------------------ Hugging Face repo

def test_hugging_face_repo_comes_from_the_config_json_url(catalog):
    assert hugging_face_repo(catalog.models["llama-3.1-70b"]) == "meta-llama/Llama-3.1-70B"
    assert hugging_face_repo(catalog.models["mixtral-8x7b"]) == "mistralai/Mixtral-8x7B-v0.1"


def test_hugging_face_repo_skips_other_sites_and_dataset_urls(catalog):
    model = catalog.models["llama-3.1-8b"]
    assert hugging_face_repo(replace(model, source="https://github.com/x/y")) is None
    mixed = replace(model, source="https://huggingface.co/datasets/a/b; "
                                  "https://huggingface.co/org/Model-1B/blob/main/config.json")
    assert hugging_face_repo(mixed) == "org/Model-1B"


def test_every_catalog_model_has_a_repo(catalog):
    # models.toml promises that each source starts with its config.json URL.
    for model in catalog.models.values():
        repo = hugging_face_repo(model)
        assert repo is not None and repo.count("/") == 1, model.id


# ------------------------------------------------------------------------------ llama.cpp

def test_llama_70b_q4_k_m_on_two_4090s_with_q8_0_cache(catalog):
    context, sequences = 8192, 2
    result = run(catalog, "rtx-4090", "llama-3.1-70b", "Q4_K_M", count=2,
                 context_tokens=context, sequences=sequences, kv_cache_dtype="q8_0")
    hint = llama_cpp_hint(result)
    args = argv(hint)
    assert hint.engine == "llama.cpp"
    assert args[0] == "llama-server"
    # llama-server splits -c across its -np slots: the total is context × sequences.
    assert int(option(args, "-c")) == context * sequences
    assert int(option(args, "-np")) == sequences
    assert option(args, "--cache-type-k") == "q8_0"
    assert option(args, "--cache-type-v") == "q8_0"
    # A quantized V cache needs flash attention: llama.cpp's default -fa auto turns it on, so
    # the command leaves the flag out (and asks nothing of the user).
    assert "-fa" not in args
    assert "flash attention" not in notes_text(hint).lower()
    # Every layer (and the output head) on the GPUs.
    assert int(option(args, "-ngl")) > result.model.layers
    assert option(args, "-m").endswith("-Q4_K_M.gguf")
    # No split given: llama.cpp's default layer split is left alone.
    assert "--tensor-split" not in args and "--split-mode" not in args
    assert "-ub" not in args and "-b" not in args


def test_f16_cache_without_flash_attention_adds_no_cache_or_fa_flags(catalog):
    args = argv(llama_cpp_hint(run(catalog, "rtx-4090", "llama-3.1-8b", "Q4_K_M")))
    assert not {"--cache-type-k", "--cache-type-v", "-fa"} & set(args)


def test_flash_attention_from_the_workload(catalog):
    args = argv(llama_cpp_hint(run(catalog, "rtx-4090", "llama-3.1-8b", "Q4_K_M",
                                   flash_attention="on")))
    assert option(args, "-fa") == "on"
    assert "--cache-type-v" not in args


def test_bf16_cache_is_passed_without_forcing_flash_attention(catalog):
    args = argv(llama_cpp_hint(run(catalog, "rtx-4090", "llama-3.1-8b", "Q4_K_M",
                                   kv_cache_dtype="bf16")))
    assert option(args, "--cache-type-k") == "bf16"
    assert "-fa" not in args


def test_fp8_cache_maps_to_q8_0_for_llama_cpp(catalog):
    hint = llama_cpp_hint(run(catalog, "rtx-4090", "llama-3.1-8b", "Q4_K_M", kv_cache_dtype="fp8"))
    assert option(argv(hint), "--cache-type-v") == "q8_0"
    assert "no fp8" in notes_text(hint)


def test_gpu_layers_and_cpu_moe_layers(catalog):
    result = run(catalog, "rtx-4090", "mixtral-8x7b", "Q4_K_M", context_tokens=4096)
    hint = llama_cpp_hint(result, gpu_layers=20, cpu_moe_layers=12)
    args = argv(hint)
    assert int(option(args, "-ngl")) == 20
    assert int(option(args, "--n-cpu-moe")) == 12
    assert f"20 of {result.model.layers}" in notes_text(hint)


def test_cpu_moe_layers_are_dropped_for_dense_models(catalog):
    hint = llama_cpp_hint(run(catalog, "rtx-4090", "llama-3.1-8b", "Q4_K_M"), cpu_moe_layers=4)
    assert "--n-cpu-moe" not in argv(hint)
    assert "mixture-of-experts" in notes_text(hint)


def test_negative_layer_counts_are_rejected(catalog):
    result = run(catalog, "rtx-4090", "llama-3.1-8b", "Q4_K_M")
    with pytest.raises(ValueError):
        llama_cpp_hint(result, gpu_layers=-1)
    with pytest.raises(ValueError):
        llama_cpp_hint(result, cpu_moe_layers=-2)


def test_tensor_split_on_several_gpus(catalog):
    result = run(catalog, "rtx-3090", "llama-3.1-70b", "Q4_K_M", count=3)
    args = argv(llama_cpp_hint(result, tensor_split=[3, 2, 1.5]))
    assert option(args, "--split-mode") == "layer"
    assert [float(part) for part in option(args, "--tensor-split").split(",")] == [3, 2, 1.5]


def test_tensor_split_must_match_the_gpu_count(catalog):
    result = run(catalog, "rtx-3090", "llama-3.1-70b", "Q4_K_M", count=2)
    with pytest.raises(ValueError):
        llama_cpp_hint(result, tensor_split=[1, 1, 1])
    with pytest.raises(ValueError):
        llama_cpp_hint(result, tensor_split=[0, 0])


def test_tensor_split_on_one_gpu_is_left_out(catalog):
    args = argv(llama_cpp_hint(run(catalog, "rtx-4090", "llama-3.1-8b", "Q4_K_M"), tensor_split=[1]))
    assert "--tensor-split" not in args


@pytest.mark.parametrize(("ubatch", "expect_batch"), [(1024, False), (4096, True)])
def test_non_default_ubatch(catalog, ubatch, expect_batch):
    args = argv(llama_cpp_hint(run(catalog, "rtx-4090", "llama-3.1-8b", "Q4_K_M",
                                   ubatch_tokens=ubatch)))
    assert int(option(args, "-ub")) == ubatch
    # llama.cpp caps the micro-batch at the logical batch (default 2048).
    assert ("-b" in args) is expect_batch
    if expect_batch:
        assert int(option(args, "-b")) == ubatch


def test_odd_model_file_is_quoted(catalog):
    path = "/models/my models/Llama 3.1 'q4' $HOME;rm.gguf"
    hint = llama_cpp_hint(run(catalog, "rtx-4090", "llama-3.1-8b", "Q4_K_M"), model_file=path)
    assert option(argv(hint), "-m") == path
    assert "-hf" not in notes_text(hint)


def test_unquantized_quant_is_named_by_its_ggml_type(catalog):
    args = argv(llama_cpp_hint(run(catalog, "h100-sxm", "llama-3.1-8b", "FP16")))
    assert option(args, "-m") == "Llama-3.1-8B-F16.gguf"


def test_safetensors_quant_is_flagged_for_llama_cpp(catalog):
    hint = llama_cpp_hint(run(catalog, "a100-80gb-sxm", "mixtral-8x7b", "AWQ-INT4"))
    assert "not GGUF" in notes_text(hint)


def test_does_not_fit_suggests_offloading(catalog):
    result = run(catalog, "rtx-4090", "llama-3.1-70b", "Q4_K_M")
    assert result.verdict == "does-not-fit"
    assert "offload" in notes_text(llama_cpp_hint(result))


# ------------------------------------------------------------------------------ vLLM

def test_vllm_flags_on_four_gpus(catalog):
    context, sequences, utilization = 16384, 8, 0.85
    result = run(catalog, "h100-sxm", "llama-3.1-70b", "BF16", count=4, engine="vllm",
                 context_tokens=context, sequences=sequences, kv_cache_dtype="fp8",
                 gpu_memory_utilization=utilization)
    hint = vllm_hint(result)
    args = argv(hint)
    assert args[:3] == ["vllm", "serve", "meta-llama/Llama-3.1-70B"]
    assert int(option(args, "--tensor-parallel-size")) == 4
    assert "--pipeline-parallel-size" not in args
    assert int(option(args, "--max-model-len")) == context
    assert int(option(args, "--max-num-seqs")) == sequences
    assert float(option(args, "--gpu-memory-utilization")) == utilization
    assert option(args, "--kv-cache-dtype") == "fp8"
    # BF16 is the checkpoint's own precision: nothing to convert.
    assert "--quantization" not in args and "--dtype" not in args
    assert "--enforce-eager" not in args
    assert hint.notes == ()


def test_vllm_single_gpu_has_no_parallel_flags(catalog):
    args = argv(vllm_hint(run(catalog, "a100-80gb-sxm", "llama-3.1-8b", "BF16", engine="vllm")))
    assert "--tensor-parallel-size" not in args and "--pipeline-parallel-size" not in args


def test_vllm_heads_not_divisible_fall_back_to_pipeline_parallel(catalog):
    model = catalog.models["falcon-7b"]
    assert model.attention_heads % 2 != 0
    hint = vllm_hint(run(catalog, "rtx-4090", "falcon-7b", "BF16", count=2, engine="vllm"))
    args = argv(hint)
    assert "--tensor-parallel-size" not in args
    assert int(option(args, "--pipeline-parallel-size")) == 2
    assert "pipeline parallelism" in notes_text(hint)


def test_vllm_mixes_tensor_and_pipeline_parallel(catalog):
    # 64 heads on 6 GPUs: tensor parallel must divide 64, so 2 × 3.
    assert catalog.models["llama-3.1-70b"].attention_heads % 6 != 0
    args = argv(vllm_hint(run(catalog, "a100-40gb-sxm", "llama-3.1-70b", "BF16", count=6,
                              engine="vllm")))
    tensor = int(option(args, "--tensor-parallel-size"))
    pipeline = int(option(args, "--pipeline-parallel-size"))
    assert tensor * pipeline == 6
    assert 64 % tensor == 0 and tensor == 2


def test_vllm_replicated_kv_heads_are_counted_in_the_estimate(catalog):
    model = catalog.models["qwen3-30b-a3b"]
    result = run(catalog, "h100-sxm", "qwen3-30b-a3b", "BF16", count=8, engine="vllm")
    assert int(option(argv(vllm_hint(result)), "--tensor-parallel-size")) == 8
    # vLLM gives each of 8 ranks one of the 4 KV heads: 8 heads' worth in all, twice the cache.
    one_copy = 2 * model.layers * model.kv_heads * model.head_dim * 2 * 8192
    assert result.memory.kv_cache_bytes == 8 // model.kv_heads * one_copy


def test_vllm_mla_latent_is_replicated_per_tensor_parallel_gpu(catalog):
    model = catalog.models["deepseek-v3"]
    result = run(catalog, "h200", "deepseek-v3", "FP8", count=8, engine="vllm")
    assert int(option(argv(vllm_hint(result)), "--tensor-parallel-size")) == 8
    latent = model.layers * ((model.kv_lora_rank or 0) + (model.qk_rope_head_dim or 0)) * 2 * 8192
    assert result.memory.kv_cache_bytes == 8 * latent


def test_vllm_awq_needs_an_awq_checkpoint_and_no_quantization_flag(catalog):
    result = run(catalog, "a100-80gb-sxm", "mixtral-8x7b", "AWQ-INT4", engine="vllm")
    hint = vllm_hint(result)
    args = argv(hint)
    assert "--quantization" not in args
    assert "AWQ-INT4" in args[2]
    assert "mistralai/Mixtral-8x7B-v0.1" in notes_text(hint)
    assert "quantization_config" in notes_text(hint)


@pytest.mark.parametrize(("quant", "method"), [("NF4", "bitsandbytes"), ("FP8", "fp8")])
def test_vllm_online_quantization(catalog, quant, method):
    args = argv(vllm_hint(run(catalog, "h100-sxm", "llama-3.1-8b", quant, engine="vllm")))
    assert args[2] == "meta-llama/Llama-3.1-8B"
    assert option(args, "--quantization") == method


def test_vllm_native_fp8_and_mxfp4_checkpoints_need_no_flags(catalog):
    for model, quant, count in (("deepseek-v3", "FP8", 8), ("gpt-oss-20b", "MXFP4", 1)):
        args = argv(vllm_hint(run(catalog, "h200", model, quant, count=count, engine="vllm")))
        assert args[2] == hugging_face_repo(catalog.models[model])
        assert "--quantization" not in args and "--dtype" not in args


def test_vllm_dtype_for_a_non_native_precision(catalog):
    args = argv(vllm_hint(run(catalog, "h100-sxm", "llama-3.1-8b", "FP16", engine="vllm")))
    assert option(args, "--dtype") == "float16"


def test_vllm_gguf_quant_is_noted(catalog):
    hint = vllm_hint(run(catalog, "rtx-4090", "llama-3.1-8b", "Q4_K_M", engine="vllm"))
    args = argv(hint)
    assert args[2].endswith(".gguf")
    assert option(args, "--tokenizer") == "meta-llama/Llama-3.1-8B"
    assert "GGUF" in notes_text(hint)


@pytest.mark.parametrize("cache", ["q8_0", "q4_0"])
def test_vllm_maps_ggml_cache_types_to_fp8_with_a_note(catalog, cache):
    hint = vllm_hint(run(catalog, "h100-sxm", "llama-3.1-8b", "BF16", engine="vllm",
                         kv_cache_dtype=cache))
    assert option(argv(hint), "--kv-cache-dtype") == "fp8"
    assert f"no {cache}" in notes_text(hint)


def test_vllm_16_bit_cache_keeps_the_default(catalog):
    args = argv(vllm_hint(run(catalog, "h100-sxm", "llama-3.1-8b", "BF16", engine="vllm",
                              kv_cache_dtype="bf16")))
    assert "--kv-cache-dtype" not in args


def test_vllm_model_ref_is_quoted(catalog):
    path = "/srv/my checkpoints/Mixtral AWQ"
    hint = vllm_hint(run(catalog, "a100-80gb-sxm", "mixtral-8x7b", "AWQ-INT4", engine="vllm"),
                     model_ref=path)
    assert argv(hint)[2] == path


# ------------------------------------------------------------------------------ both engines

def test_run_hints_puts_the_selected_engine_first(catalog):
    llama_first = run_hints(run(catalog, "rtx-4090", "llama-3.1-8b", "Q4_K_M"))
    assert [hint.engine for hint in llama_first] == ["llama.cpp", "vllm"]
    vllm_first = run_hints(run(catalog, "h100-sxm", "llama-3.1-8b", "BF16", engine="vllm"))
    assert [hint.engine for hint in vllm_first] == ["vllm", "llama.cpp"]
    # The other engine's hint says the memory figures are not its own.
    assert "re-estimate" in notes_text(vllm_first[1])
    assert "re-estimate" not in notes_text(vllm_first[0])


def test_run_hints_passes_offload_settings_to_llama_cpp(catalog):
    result = run(catalog, "rtx-4090", "mixtral-8x7b", "Q4_K_M")
    llama = run_hints(result, gpu_layers=24, cpu_moe_layers=12)[0]
    args = argv(llama)
    assert int(option(args, "-ngl")) == 24
    assert int(option(args, "--n-cpu-moe")) == 12


def test_every_catalog_combination_gives_parseable_commands(catalog):
    gpu = catalog.gpus["h100-sxm"]
    for model in catalog.models.values():
        for quant in catalog.quants.values():
            result = estimate(model, quant, Hardware(gpu, 2), Workload(kv_cache_dtype="q4_0"))
            for hint in run_hints(result):
                args = argv(hint)
                assert args and shlex.join(args) == hint.command
