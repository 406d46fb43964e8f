"""A Hugging Face `config.json` (already parsed) → the architecture fields of a `ModelSpec`.

This module owns the translation rules: the alternative names configs use for one quantity,
the nested `text_config` of multimodal wrappers (with the defaults transformers leaves out of
it), MoE and MLA fields, which layers use a sliding window, and the checkpoint's dtype. It reads
no files and builds no ModelSpec; every value is checked, and anything missing or malformed
becomes a `ModelImportError` naming the field. Guesses are returned as human-readable notes.
Field conventions follow `catalog/SCHEMA.md` (models.toml), which the catalog was made by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gpufit.importers.errors import ModelImportError
from gpufit.importers.hf_experts import experts
from gpufit.importers.hf_layers import (
    DEFAULT_SLIDING_PATTERN,
    LLAMA4_TYPES,
    SLIDING_OFF_BY_DEFAULT_TYPES,
    hybrid_layers,
    sliding_window,
)
from gpufit.importers.hf_source import MAX_LAYERS, MAX_VALUE, ConfigSource, describe

_LAYER_NAMES = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
_HIDDEN_NAMES = ("hidden_size", "n_embd", "d_model")
_HEAD_NAMES = ("num_attention_heads", "n_head", "n_heads", "num_heads")
_KV_HEAD_NAMES = ("num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num")
_HEAD_DIM_NAMES = ("head_dim", "kv_channels")
_INTERMEDIATE_NAMES = ("intermediate_size", "ffn_hidden_size", "n_inner", "ffn_dim", "d_ff")
_VOCAB_NAMES = ("vocab_size", "n_vocab", "padded_vocab_size")
_CONTEXT_NAMES = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length",
                  "n_ctx", "max_seq_len")
# Checkpoints whose Q, K and V projections are one tensor (Phi-3's qkv_proj, Falcon's
# query_key_value); llama.cpp keeps them fused as attn_qkv with its own quantization rule.
_FUSED_QKV_TYPES = frozenset({"phi3", "falcon", "RefinedWeb", "RefinedWebModel"})
_BIAS_NAMES = ("attention_bias", "qkv_bias", "use_bias", "add_qkv_bias", "enable_bias", "bias")
_DTYPE_NAMES = ("torch_dtype", "dtype")

# Two-matrix (up, down) MLPs; everything else is taken to be gated (gate, up, down).
_NON_GATED_TYPES = frozenset({
    "gpt2", "gpt_bigcode", "gpt_neo", "gpt_neox", "gptj", "codegen", "falcon", "RefinedWeb",
    "RefinedWebModel", "bloom", "opt", "mpt", "phi", "starcoder2",
})
# q/k/v biases that the model code always creates, with no config flag saying so (Qwen2's
# attention is built with bias=True; GPT-2-style blocks have biases everywhere).
_QKV_BIAS_TYPES = frozenset({
    "qwen2", "qwen2_moe", "qwen2_vl", "qwen2_5_vl", "qwen2_vl_text", "qwen2_5_vl_text",
    "gpt2", "gpt_bigcode", "gpt_neox", "phi",
})
# attention_bias of config classes whose default is true, for configs that leave it out.
_BIASED_BY_DEFAULT = frozenset({"gpt_oss"})
_FALCON_TYPES = frozenset({"falcon", "RefinedWeb", "RefinedWebModel"})
_LEARNED_POSITION_TYPES = frozenset({"gpt2", "gpt_bigcode", "opt", "gpt_neo"})
# Old Falcon checkpoints name their remote-code class; the architecture is Falcon's.
_ARCHITECTURE_ALIASES = {"RefinedWeb": "falcon", "RefinedWebModel": "falcon"}

# tie_word_embeddings of each config class, for configs that leave it out (transformers loads
# the class default; PretrainedConfig's own default, for anything else, is true).
_TIED_BY_DEFAULT = {
    "llama": False, "mistral": False, "mixtral": False, "qwen2": False, "qwen2_moe": False,
    "qwen3": False, "qwen3_moe": False, "phi3": False, "phi": False, "deepseek_v2": False,
    "deepseek_v3": False, "gpt_oss": False, "gpt_neox": False, "gptj": False, "olmo2": False,
    "granite": False, "stablelm": False, "llama4": False, "llama4_text": False,
    "gemma": True, "gemma2": True, "gemma3": True, "gemma3_text": True, "cohere": True,
    "cohere2": True, "falcon": True, "RefinedWeb": True, "RefinedWebModel": True, "gpt2": True,
    "starcoder2": True,
}

# transformers writes a nested text_config with only the keys that differ from its config
# class's defaults (to_diff_dict), so these defaults are part of what the file says. Gemma 3's
# multimodal checkpoints rely on it: gemma-3-4b-it's text_config names no head counts at all.
_TEXT_CONFIG_DEFAULTS: dict[str, dict[str, Any]] = {
    # transformers Gemma3TextConfig.__init__ defaults.
    "gemma3_text": {
        "vocab_size": 262_208, "hidden_size": 2304, "intermediate_size": 9216,
        "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4,
        "head_dim": 256, "max_position_embeddings": 131_072, "tie_word_embeddings": True,
        "sliding_window": 4096, "sliding_window_pattern": 6,
    },
    # transformers MistralConfig.__init__ defaults (Mistral 3's text_config).
    "mistral": {
        "vocab_size": 32_000, "hidden_size": 4096, "intermediate_size": 14_336,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
        "max_position_embeddings": 131_072, "tie_word_embeddings": False, "sliding_window": 4096,
    },
}
# Top-level defaults for configs written before the key existed (Falcon's RefinedWeb configs
# have no context length; FalconConfig's default is the 2,048 the model card documents).
_TOP_LEVEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "falcon": {"max_position_embeddings": 2048},
    "RefinedWeb": {"max_position_embeddings": 2048},
    "RefinedWebModel": {"max_position_embeddings": 2048},
}

# Types whose MLP, biases, embeddings and window are known above (others get a note).
_KNOWN_TYPES = frozenset(
    _NON_GATED_TYPES | _QKV_BIAS_TYPES | set(_TIED_BY_DEFAULT) | set(DEFAULT_SLIDING_PATTERN)
    | LLAMA4_TYPES | SLIDING_OFF_BY_DEFAULT_TYPES | _BIASED_BY_DEFAULT
    | {"mistral3", "phimoe", "olmo", "olmoe", "granitemoe", "internlm2", "glm4_moe"})

_DTYPES = {
    "bfloat16": "bf16", "bf16": "bf16", "float16": "fp16", "fp16": "fp16", "half": "fp16",
    "float32": "fp32", "fp32": "fp32", "float": "fp32", "float8_e4m3fn": "fp8", "fp8": "fp8",
}
_FP8_QUANT_METHODS = frozenset({"fp8", "fbgemm_fp8"})



def architecture_from_hf_config(config: Mapping[str, Any],
                                path: Path) -> tuple[dict[str, Any], list[str]]:
    """Returns (fields, notes). fields are keyword arguments for ModelSpec: architecture
    (model_type), layers, hidden_size, attention_heads, kv_heads, head_dim, intermediate_size,
    vocab_size, tied_embeddings, max_context_tokens, mlp_gated, attention_bias, native_dtype,
    fused_qkv where the checkpoint fuses Q/K/V, and,
    where they apply, experts_total, experts_active, expert_intermediate_size, shared_experts,
    shared_expert_intermediate_size, dense_layers, sliding_window_tokens, sliding_window_pattern,
    kv_lora_rank, q_lora_rank, qk_rope_head_dim, qk_nope_head_dim, v_head_dim.
    notes: sentences about guesses made (e.g. 'head_dim not given; using hidden_size /
    num_attention_heads = 128.').
    Raises ModelImportError(path, problem) naming the missing or invalid config field, whatever
    the mapping contains."""
    if not isinstance(config, Mapping):
        raise ModelImportError(path, f"config.json must be a JSON object, got {describe(config)}")
    text_config = config.get("text_config")
    if text_config is not None and not isinstance(text_config, Mapping):
        raise ModelImportError(path, "config.json text_config must be an object, got "
                               f"{describe(text_config)}")
    top_type = _model_type(config, "model_type", path)
    text_type = _model_type(text_config, "text_config.model_type", path) if text_config else None
    if text_config is not None:
        sections: tuple[tuple[str, Mapping[str, Any]], ...] = (
            ("text_config.", text_config), ("", config))
        defaults = _TEXT_CONFIG_DEFAULTS.get(text_type or "", {})
        label = f"{text_type} text_config"
    else:
        sections = (("", config),)
        defaults = _TOP_LEVEL_DEFAULTS.get(top_type or "", {})
        label = f"{top_type}"
    source = ConfigSource(path, sections, defaults, label)
    kinds = frozenset(kind for kind in (top_type, text_type) if kind)

    fields: dict[str, Any] = {"architecture": _architecture(config, top_type, text_type, path)}
    layers = _required(source, _LAYER_NAMES, maximum=MAX_LAYERS)
    hidden_size = _required(source, _HIDDEN_NAMES)
    attention_heads = _required(source, _HEAD_NAMES)
    fields.update(layers=layers, hidden_size=hidden_size, attention_heads=attention_heads)
    fields.update(_attention(source, kinds, hidden_size, attention_heads))
    mlp_gated = not kinds & _NON_GATED_TYPES
    fields["intermediate_size"] = _dense_width(source, kinds, hidden_size, mlp_gated)
    fields["vocab_size"] = _required(source, _VOCAB_NAMES)
    fields["tied_embeddings"] = _tied(source, kinds)
    fields["max_context_tokens"] = _required(source, _CONTEXT_NAMES)
    fields["mlp_gated"] = mlp_gated
    fields["attention_bias"] = _attention_bias(source, kinds)
    if kinds & _FUSED_QKV_TYPES:
        fields["fused_qkv"] = True
    fields.update(experts(source, kinds, layers))
    hybrid = hybrid_layers(source, kinds, layers, hidden_size)
    fields.update(hybrid)
    if not hybrid:
        fields.update(sliding_window(source, kinds, layers, fields["max_context_tokens"]))
    fields["native_dtype"] = _native_dtype(source)
    _describe_leftovers(source, config, kinds)
    return fields, source.notes


def _required(source: ConfigSource, names: Sequence[str], maximum: int = MAX_VALUE) -> int:
    value = source.integer(names, maximum=maximum)
    if value is None:
        raise source.missing(names)
    return value


def _model_type(section: Mapping[str, Any] | None, where: str, path: Path) -> str | None:
    if not section or section.get("model_type") is None:
        return None
    value = section["model_type"]
    if not isinstance(value, str) or not value.strip():
        raise ModelImportError(path, f"config.json {where} must be a non-empty string, got "
                               f"{describe(value)}")
    return value.strip()


def _architecture(config: Mapping[str, Any], top_type: str | None, text_type: str | None,
                  path: Path) -> str:
    # The catalog's convention: the top-level model_type, which for a multimodal wrapper names
    # the wrapper (gemma3), not its text model (gemma3_text).
    if top_type or text_type:
        name = top_type or text_type or ""
        return _ARCHITECTURE_ALIASES.get(name, name)
    classes = config.get("architectures")
    if isinstance(classes, list) and classes and isinstance(classes[0], str) and classes[0]:
        return classes[0]
    raise ModelImportError(path, "config.json has no model_type (or architectures)")


def _attention(source: ConfigSource, kinds: frozenset[str], hidden_size: int,
               attention_heads: int) -> dict[str, Any]:
    """kv_heads and head_dim, or the MLA fields (DeepSeek's latent attention)."""
    kv_lora_rank = source.integer(("kv_lora_rank",))
    if kv_lora_rank is not None:
        rope = _required(source, ("qk_rope_head_dim",))
        nope = _required(source, ("qk_nope_head_dim",))
        value_dim = _required(source, ("v_head_dim",))
        # null means no query compression; the catalog writes that as 0.
        q_lora_rank = source.integer(("q_lora_rank",), minimum=0) or 0
        # The catalog's MLA convention (SCHEMA.md): one K/V head per query head, and head_dim
        # = the query/key width. A config's own head_dim is not that (transformers sets it to
        # qk_rope_head_dim for DeepSeek-V3).
        return {"kv_heads": attention_heads, "head_dim": nope + rope, "kv_lora_rank": kv_lora_rank,
                "q_lora_rank": q_lora_rank, "qk_rope_head_dim": rope, "qk_nope_head_dim": nope,
                "v_head_dim": value_dim}
    kv_heads = source.integer(_KV_HEAD_NAMES)
    multi_query = source.flag(("multi_query",))
    new_falcon = source.flag(("new_decoder_architecture",))
    if multi_query and not new_falcon:
        # Falcon-7B / GPT-BigCode multi-query attention: one K/V head whatever else is listed.
        kv_heads = 1
    if kv_heads is None:
        kv_heads = attention_heads
        source.notes.append("num_key_value_heads not given; using num_attention_heads "
                            f"= {attention_heads} (multi-head attention).")
    if kv_heads > attention_heads or attention_heads % kv_heads:
        raise source.fail(f"config.json num_key_value_heads {kv_heads} does not divide "
                          f"num_attention_heads {attention_heads}")
    head_dim = source.integer(_HEAD_DIM_NAMES)
    if head_dim is None:
        head_dim = hidden_size // attention_heads
        if head_dim < 1:
            raise source.fail(f"config.json has no head_dim, and hidden_size {hidden_size} is "
                              f"smaller than num_attention_heads {attention_heads}")
        exact = "" if hidden_size % attention_heads == 0 else " (rounded down)"
        source.notes.append("head_dim not given; using hidden_size / num_attention_heads "
                            f"= {head_dim}{exact}.")
    return {"kv_heads": kv_heads, "head_dim": head_dim}


def _dense_width(source: ConfigSource, kinds: frozenset[str], hidden_size: int,
                 mlp_gated: bool) -> int:
    """The dense MLP width (SCHEMA.md's intermediate_size)."""
    if kinds & LLAMA4_TYPES:
        # Llama 4: intermediate_size is each expert's width; dense layers use intermediate_size_mlp.
        dense = source.integer(("intermediate_size_mlp",))
        if dense is not None:
            return dense
    width = source.integer(_INTERMEDIATE_NAMES)
    if width is not None:
        return width
    if not mlp_gated:
        # GPT-2 (n_inner null) and Falcon leave it out: their MLP is 4 x hidden by construction.
        source.notes.append("intermediate_size not given; using 4 x hidden_size "
                            f"= {4 * hidden_size}, the two-matrix MLP's usual width.")
        return 4 * hidden_size
    raise source.missing(_INTERMEDIATE_NAMES)


def _tied(source: ConfigSource, kinds: frozenset[str]) -> bool:
    tied = source.flag(("tie_word_embeddings",))
    if tied is not None:
        return tied
    for kind in sorted(kinds):
        if kind in _TIED_BY_DEFAULT:
            return _TIED_BY_DEFAULT[kind]
    source.notes.append("tie_word_embeddings not given; assuming tied input and output "
                        "embeddings (transformers' default).")
    return True


def _attention_bias(source: ConfigSource, kinds: frozenset[str]) -> bool:
    if kinds & _QKV_BIAS_TYPES:
        return True
    stated = source.flag(_BIAS_NAMES)
    if stated is None:
        return bool(kinds & _BIASED_BY_DEFAULT)
    return stated


def _native_dtype(source: ConfigSource) -> str:
    quantization = source.find(("quantization_config",))
    if quantization is not None:
        where, value = quantization
        if not isinstance(value, Mapping):
            raise source.fail(f"config.json {where} must be an object, got {describe(value)}")
        method = value.get("quant_method")
        if method is not None and not isinstance(method, str):
            raise source.fail(f"config.json {where}.quant_method must be a string, got "
                              f"{describe(method)}")
        float_quantized = value.get("format") == "float-quantized"
        if method in _FP8_QUANT_METHODS or (method == "compressed-tensors" and float_quantized):
            return "fp8"
        if method == "mxfp4":
            return "mxfp4"
        if method:
            source.notes.append(f"quantization_config quant_method '{method[:40]}' is not one "
                                "gpufit models from config.json; native_dtype is the unquantized "
                                "dtype.")
    found = source.text(_DTYPE_NAMES)
    if found is None:
        source.notes.append("torch_dtype not given; assuming bf16 weights.")
        return "bf16"
    where, name = found
    dtype = _DTYPES.get(name.removeprefix("torch."))
    if dtype is None:
        source.notes.append(f"{where} '{name[:40]}' is not a dtype gpufit knows; assuming bf16.")
        return "bf16"
    return dtype


def _describe_leftovers(source: ConfigSource, config: Mapping[str, Any], kinds: frozenset[str]) -> None:
    """Notes for parts of the checkpoint the fields above do not describe."""
    if isinstance(config.get("vision_config"), Mapping):
        source.notes.append("vision_config: the vision tower is not counted; the fields describe "
                            "the language model.")
    extra = source.find(("num_nextn_predict_layers",))
    if extra is not None and isinstance(extra[1], int) and not isinstance(extra[1], bool) \
            and extra[1] > 0:
        source.notes.append(f"{extra[1]} multi-token-prediction layer(s) in the checkpoint are "
                            "not counted (inference engines normally skip them).")
    if kinds & _LEARNED_POSITION_TYPES:
        source.notes.append("learned position embeddings are not counted (small next to the "
                            "token embedding).")
    if not kinds & _KNOWN_TYPES:
        names = " / ".join(sorted(kinds)) or "(none)"
        source.notes.append(f"model_type {names} is not one gpufit knows; assuming a gated "
                            "(SwiGLU-style) MLP and q/k/v biases only where the config says so.")

