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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpufit.importers.errors import ModelImportError

# Larger values cannot be real (llama.cpp keeps hyperparameters in 32 bits); refusing them keeps
# a junk config from reaching arithmetic that would take forever.
_MAX_VALUE = 2**31 - 1
# No released model has more than a few hundred layers; per-layer loops must stay cheap.
_MAX_LAYERS = 10_000

_LAYER_NAMES = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
_HIDDEN_NAMES = ("hidden_size", "n_embd", "d_model")
_HEAD_NAMES = ("num_attention_heads", "n_head", "n_heads", "num_heads")
_KV_HEAD_NAMES = ("num_key_value_heads", "num_kv_heads", "n_head_kv", "multi_query_group_num")
_HEAD_DIM_NAMES = ("head_dim", "kv_channels")
_INTERMEDIATE_NAMES = ("intermediate_size", "ffn_hidden_size", "n_inner", "ffn_dim", "d_ff")
_VOCAB_NAMES = ("vocab_size", "n_vocab", "padded_vocab_size")
_CONTEXT_NAMES = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length",
                  "n_ctx", "max_seq_len")
_EXPERT_NAMES = ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")
_ACTIVE_EXPERT_NAMES = ("num_experts_per_tok", "moe_topk", "num_experts_per_token",
                        "experts_per_token", "moe_top_k")
_EXPERT_WIDTH_NAMES = ("moe_intermediate_size", "expert_intermediate_size")
_SHARED_EXPERT_NAMES = ("n_shared_experts", "num_shared_experts", "num_shared_expert")
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
# Qwen-family configs list a sliding_window but only use it when use_sliding_window is true,
# which defaults to false in their config classes.
_SLIDING_OFF_BY_DEFAULT_TYPES = frozenset({
    "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "qwen2_vl", "qwen2_5_vl", "qwen2_vl_text",
    "qwen2_5_vl_text",
})
# Every Nth layer global when the config does not spell the layers out (the config classes'
# fixed layouts: Gemma 2 alternates from a local layer, Gemma 3 is 5:1, gpt-oss alternates,
# Command R7B is 3:1).
_DEFAULT_SLIDING_PATTERN = {
    "gemma2": 2, "gemma3": 6, "gemma3_text": 6, "gpt_oss": 2, "cohere2": 4,
}
# llama.cpp disables Phi-3's sliding window ("Phi SWA is currently disabled") and the catalog
# leaves it out, so a config's sliding_window is not applied for these.
_SLIDING_IGNORED_TYPES = frozenset({"phi3"})
_LLAMA4_TYPES = frozenset({"llama4", "llama4_text"})
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
    _NON_GATED_TYPES | _QKV_BIAS_TYPES | set(_TIED_BY_DEFAULT) | set(_DEFAULT_SLIDING_PATTERN)
    | _LLAMA4_TYPES | _SLIDING_OFF_BY_DEFAULT_TYPES | _BIASED_BY_DEFAULT
    | {"mistral3", "phimoe", "olmo", "olmoe", "granitemoe", "internlm2", "glm4_moe"})

_DTYPES = {
    "bfloat16": "bf16", "bf16": "bf16", "float16": "fp16", "fp16": "fp16", "half": "fp16",
    "float32": "fp32", "fp32": "fp32", "float": "fp32", "float8_e4m3fn": "fp8", "fp8": "fp8",
}
_FP8_QUANT_METHODS = frozenset({"fp8", "fbgemm_fp8"})


@dataclass(slots=True)
class _Config:
    """Where a field may come from: text_config first, then the top level, then class defaults."""

    path: Path
    sections: tuple[tuple[str, Mapping[str, Any]], ...]
    defaults: Mapping[str, Any]
    defaults_label: str
    notes: list[str] = field(default_factory=list)

    @property
    def nested(self) -> bool:
        return len(self.sections) > 1

    def fail(self, problem: str) -> ModelImportError:
        return ModelImportError(self.path, problem)

    def find(self, names: Sequence[str], *, keep_null: bool = False) -> tuple[str, Any] | None:
        """(where, value) of the first of `names` the config gives; null counts as absent
        unless `keep_null` (a null sliding_window is a statement: no window)."""
        for prefix, section in self.sections:
            for name in names:
                if name in section and (keep_null or section[name] is not None):
                    return prefix + name, section[name]
        for name in names:
            if name in self.defaults:
                value = self.defaults[name]
                self.notes.append(f"{name} not given; using {value!r}, the {self.defaults_label} "
                                  "default that transformers applies.")
                return name, value
        return None

    def missing(self, names: Sequence[str]) -> ModelImportError:
        others = f" (or {' / '.join(names[1:])})" if len(names) > 1 else ""
        where = " in text_config or at the top level" if self.nested else ""
        return self.fail(f"config.json has no {names[0]}{others}{where}")

    def integer(self, names: Sequence[str], *, minimum: int = 1,
                maximum: int = _MAX_VALUE) -> int | None:
        found = self.find(names)
        if found is None:
            return None
        return self.check_integer(found[0], found[1], minimum, maximum)

    def check_integer(self, where: str, value: Any, minimum: int = 1,
                      maximum: int = _MAX_VALUE) -> int:
        # bool is an int subclass; a count written as true/false is a mistake, not a number.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"config.json {where} must be a whole number, got {_describe(value)}")
        if value < minimum:
            bound = "positive" if minimum == 1 else f"at least {minimum}"
            raise self.fail(f"config.json {where} must be {bound}, got {value}")
        if value > maximum:
            raise self.fail(f"config.json {where} is implausibly large ({_describe(value)})")
        return value

    def flag(self, names: Sequence[str]) -> bool | None:
        found = self.find(names)
        if found is None:
            return None
        where, value = found
        if not isinstance(value, bool):
            raise self.fail(f"config.json {where} must be true or false, got {_describe(value)}")
        return value

    def text(self, names: Sequence[str]) -> tuple[str, str] | None:
        found = self.find(names)
        if found is None:
            return None
        where, value = found
        if not isinstance(value, str):
            raise self.fail(f"config.json {where} must be a string, got {_describe(value)}")
        return where, value

    def integer_list(self, name: str, layers: int) -> list[int] | None:
        """A list of layer indices (mlp_only_layers, moe_layers), each within the model."""
        found = self.find((name,))
        if found is None:
            return None
        where, value = found
        if not isinstance(value, list):
            raise self.fail(f"config.json {where} must be a list of layer numbers, "
                            f"got {_describe(value)}")
        return [self.check_integer(f"{where}[{position}]", item, 0, layers - 1)
                for position, item in enumerate(value)]


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
        raise ModelImportError(path, f"config.json must be a JSON object, got {_describe(config)}")
    text_config = config.get("text_config")
    if text_config is not None and not isinstance(text_config, Mapping):
        raise ModelImportError(path, "config.json text_config must be an object, got "
                               f"{_describe(text_config)}")
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
    source = _Config(path, sections, defaults, label)
    kinds = frozenset(kind for kind in (top_type, text_type) if kind)

    fields: dict[str, Any] = {"architecture": _architecture(config, top_type, text_type, path)}
    layers = _required(source, _LAYER_NAMES, maximum=_MAX_LAYERS)
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
    fields.update(_experts(source, kinds, layers))
    fields.update(_sliding_window(source, kinds, layers, fields["max_context_tokens"]))
    fields["native_dtype"] = _native_dtype(source)
    _describe_leftovers(source, config, kinds)
    return fields, source.notes


def _required(source: _Config, names: Sequence[str], maximum: int = _MAX_VALUE) -> int:
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
                               f"{_describe(value)}")
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


def _attention(source: _Config, kinds: frozenset[str], hidden_size: int,
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


def _dense_width(source: _Config, kinds: frozenset[str], hidden_size: int,
                 mlp_gated: bool) -> int:
    """The dense MLP width (SCHEMA.md's intermediate_size)."""
    if kinds & _LLAMA4_TYPES:
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


def _tied(source: _Config, kinds: frozenset[str]) -> bool:
    tied = source.flag(("tie_word_embeddings",))
    if tied is not None:
        return tied
    for kind in sorted(kinds):
        if kind in _TIED_BY_DEFAULT:
            return _TIED_BY_DEFAULT[kind]
    source.notes.append("tie_word_embeddings not given; assuming tied input and output "
                        "embeddings (transformers' default).")
    return True


def _attention_bias(source: _Config, kinds: frozenset[str]) -> bool:
    if kinds & _QKV_BIAS_TYPES:
        return True
    stated = source.flag(_BIAS_NAMES)
    if stated is None:
        return bool(kinds & _BIASED_BY_DEFAULT)
    return stated


def _experts(source: _Config, kinds: frozenset[str], layers: int) -> dict[str, Any]:
    """MoE fields, or nothing for a dense model."""
    experts_total = source.integer(_EXPERT_NAMES, minimum=0) or 0
    if experts_total == 0:
        return {}
    experts_active = _active_experts(source)
    if experts_active > experts_total:
        raise source.fail(f"config.json num_experts_per_tok {experts_active} is more than the "
                          f"{experts_total} experts")
    fields: dict[str, Any] = {"experts_total": experts_total, "experts_active": experts_active}
    expert_width = source.integer(_EXPERT_WIDTH_NAMES)
    if kinds & _LLAMA4_TYPES:
        # Llama 4: every MoE layer also runs one always-on expert as wide as the routed ones.
        expert_width = expert_width or source.integer(("intermediate_size",))
        fields["shared_experts"] = 1
    if expert_width is not None:
        fields["expert_intermediate_size"] = expert_width
    fields.update(_shared_experts(source))
    dense_layers = _dense_layer_count(source, layers)
    if dense_layers == layers:
        source.notes.append("the config names experts but no layer uses them; read as a dense "
                            "model.")
        return {}
    if dense_layers:
        fields["dense_layers"] = dense_layers
    return fields


def _active_experts(source: _Config) -> int:
    found = source.find(_ACTIVE_EXPERT_NAMES)
    if found is None:
        raise source.fail("config.json names experts but has no num_experts_per_tok "
                          "(or moe_topk)")
    where, value = found
    if isinstance(value, list) and value:
        # Hunyuan writes moe_topk per layer; the estimate takes the largest.
        counts = [source.check_integer(f"{where}[{index}]", item) for index, item in
                  enumerate(value)]
        if len(set(counts)) > 1:
            source.notes.append(f"{where} differs by layer; using the largest, {max(counts)}.")
        return max(counts)
    return source.check_integer(where, value)


def _shared_experts(source: _Config) -> dict[str, Any]:
    count = source.integer(_SHARED_EXPERT_NAMES, minimum=0)
    width = source.integer(("shared_expert_intermediate_size",), minimum=0)
    if width:
        # Qwen2-MoE style: one always-on expert of that width (no count in the config).
        if count and count > 1:
            source.notes.append(f"{count} shared experts with shared_expert_intermediate_size "
                                f"{width}; assuming each is that wide.")
        return {"shared_experts": count or 1, "shared_expert_intermediate_size": width}
    if count:
        return {"shared_experts": count}
    return {}


def _dense_layer_count(source: _Config, layers: int) -> int:
    """How many layers have a dense MLP instead of experts (ModelSpec puts them first)."""
    first_dense = source.integer(("first_k_dense_replace",), minimum=0) or 0
    if first_dense > layers:
        raise source.fail(f"config.json first_k_dense_replace {first_dense} is more than the "
                          f"{layers} layers")
    moe_layers = set(range(first_dense, layers))
    listed = source.integer_list("moe_layers", layers)
    if listed is not None:
        moe_layers = set(listed)
    step = source.integer(("interleave_moe_layer_step", "decoder_sparse_step"))
    if step and step > 1 and listed is None:
        # Llama 4 and Qwen MoE: layer i has experts when (i + 1) is a multiple of the step.
        moe_layers = {layer for layer in moe_layers if (layer + 1) % step == 0}
    frequency = source.integer(("moe_layer_freq",))
    if frequency and frequency > 1:
        # DeepSeek: experts on every frequency-th layer after the leading dense ones.
        moe_layers = {layer for layer in moe_layers if layer % frequency == 0}
    mlp_only = source.integer_list("mlp_only_layers", layers) or []
    moe_layers -= set(mlp_only)
    dense = layers - len(moe_layers)
    if dense and moe_layers != set(range(dense, layers)):
        source.notes.append(f"{dense} of {layers} layers have a dense MLP, interleaved with the "
                            "MoE layers; they are counted as the leading layers (totals are "
                            "unchanged, per-layer placement is approximate).")
    return dense


def _sliding_window(source: _Config, kinds: frozenset[str], layers: int,
                    context_tokens: int) -> dict[str, Any]:
    """sliding_window_tokens and sliding_window_pattern, when the model really uses a window."""
    window, mask = _window_and_mask(source, kinds, layers)
    if window is None or not any(mask):
        return {}
    if window >= context_tokens:
        return {}  # a window as long as the context changes nothing
    if kinds & _SLIDING_IGNORED_TYPES:
        source.notes.append(f"sliding_window {window} is not applied: llama.cpp disables Phi-3's "
                            "sliding window, so KV cache is estimated for full attention.")
        return {}
    pattern = _pattern_from_mask(source, mask)
    if pattern == 0:
        return {}
    fields: dict[str, Any] = {"sliding_window_tokens": window}
    if pattern is not None:
        fields["sliding_window_pattern"] = pattern
    return fields


def _window_and_mask(source: _Config, kinds: frozenset[str],
                     layers: int) -> tuple[int | None, list[bool]]:
    """The window size and, per layer, whether that layer slides."""
    if kinds & _LLAMA4_TYPES:
        chunk = source.integer(("attention_chunk_size",))
        if chunk is not None:
            source.notes.append(f"Llama 4's chunked attention ({chunk}-token chunks) is treated as "
                                "a sliding window of that size on the chunked layers.")
            return chunk, _llama4_chunked_layers(source, layers)
    found = source.find(("sliding_window",), keep_null=True)
    if found is None or found[1] is None:
        return None, []
    # Some configs write 0 for "no window".
    window = source.check_integer(found[0], found[1], minimum=0)
    if window == 0:
        return None, []
    use = source.flag(("use_sliding_window",))
    if use is None:
        use = not kinds & _SLIDING_OFF_BY_DEFAULT_TYPES
    if not use:
        return None, []
    layer_types = source.find(("layer_types",))
    if layer_types is not None:
        return window, _mask_from_layer_types(source, layer_types[0], layer_types[1], layers)
    pattern = source.integer(("sliding_window_pattern",), maximum=_MAX_LAYERS)
    if pattern is None:
        pattern = next((_DEFAULT_SLIDING_PATTERN[kind] for kind in sorted(kinds)
                        if kind in _DEFAULT_SLIDING_PATTERN), None)
    if pattern is not None:
        return window, [(layer + 1) % pattern != 0 for layer in range(layers)]
    max_window_layers = source.integer(("max_window_layers",), minimum=0)
    if kinds & _SLIDING_OFF_BY_DEFAULT_TYPES and max_window_layers is not None:
        # Qwen with use_sliding_window: the first max_window_layers layers keep full attention.
        return window, [layer >= max_window_layers for layer in range(layers)]
    return window, [True] * layers


def _llama4_chunked_layers(source: _Config, layers: int) -> list[bool]:
    found = source.find(("no_rope_layers",))
    if found is not None:
        where, value = found
        if not isinstance(value, list):
            raise source.fail(f"config.json {where} must be a list, got {_describe(value)}")
        if value:
            if len(value) != layers:
                raise source.fail(f"config.json {where} has {len(value)} entries for {layers} "
                                  "layers")
            # 1 = a RoPE layer, which attends within its chunk; 0 = a global NoPE layer.
            return [source.check_integer(f"{where}[{index}]", item, 0, 1) == 1
                    for index, item in enumerate(value)]
    interval = source.integer(("no_rope_layer_interval",), maximum=_MAX_LAYERS) or 4
    return [(layer + 1) % interval != 0 for layer in range(layers)]


def _mask_from_layer_types(source: _Config, where: str, value: Any, layers: int) -> list[bool]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise source.fail(f"config.json {where} must be a list of strings, got {_describe(value)}")
    if len(value) != layers:
        raise source.fail(f"config.json {where} has {len(value)} entries for {layers} layers")
    other = sorted({kind for kind in value
                    if kind not in ("sliding_attention", "full_attention", "chunked_attention")})
    if other:
        source.notes.append(f"{where} lists {', '.join(other)} layers, which gpufit counts as "
                            "full-attention layers.")
    return [kind in ("sliding_attention", "chunked_attention") for kind in value]


def _pattern_from_mask(source: _Config, mask: list[bool]) -> int | None:
    """ModelSpec's sliding_window_pattern for a per-layer mask: None = every layer slides, N =
    every Nth layer is global, 0 = no layer can be treated as sliding."""
    layers = len(mask)
    if all(mask):
        return None
    first_global = mask.index(False)
    period = first_global + 1
    if period >= 2 and all(slides == ((layer + 1) % period != 0)
                           for layer, slides in enumerate(mask)):
        return period
    # Not "every Nth layer": keep at least as many global layers as the model has (so the KV
    # cache errs high) with the longest period that does.
    global_layers = mask.count(False)
    candidates = [period for period in range(2, layers + 1) if layers // period >= global_layers]
    if not candidates:
        source.notes.append(f"{layers - global_layers} of {layers} layers use a sliding window in "
                            "a layout gpufit cannot express; all are counted as full attention.")
        return 0
    chosen = max(candidates)
    source.notes.append(f"{layers - global_layers} of {layers} layers use a sliding window, not as "
                        f"every Nth layer global; approximated as every {chosen}th layer global.")
    return chosen


def _native_dtype(source: _Config) -> str:
    quantization = source.find(("quantization_config",))
    if quantization is not None:
        where, value = quantization
        if not isinstance(value, Mapping):
            raise source.fail(f"config.json {where} must be an object, got {_describe(value)}")
        method = value.get("quant_method")
        if method is not None and not isinstance(method, str):
            raise source.fail(f"config.json {where}.quant_method must be a string, got "
                              f"{_describe(method)}")
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


def _describe_leftovers(source: _Config, config: Mapping[str, Any], kinds: frozenset[str]) -> None:
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


def _describe(value: Any) -> str:
    """A short description of a bad value for an error message (never a huge nested repr)."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, int) and value.bit_length() > 64:
        # repr of a huge int is slow and, past 4300 digits, raises ValueError.
        return "a number with more than 19 digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
