"""Which layers of a Hugging Face model do what: sliding-window (and Llama 4 chunked) attention,
and, for hybrid models, which layers attend, which keep a recurrent state (Mamba, gated
DeltaNet) and which have an MLP, with the recurrent state's sizes.
"""

from __future__ import annotations

from typing import Any

from gpufit.importers.hf_source import MAX_LAYERS, ConfigSource, describe

# Qwen-family configs list a sliding_window but only use it when use_sliding_window is true,
# which defaults to false in their config classes.
SLIDING_OFF_BY_DEFAULT_TYPES = frozenset({
    "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "qwen2_vl", "qwen2_5_vl", "qwen2_vl_text",
    "qwen2_5_vl_text",
})
# Every Nth layer global when the config does not spell the layers out (the config classes'
# fixed layouts: Gemma 2 alternates from a local layer, Gemma 3 is 5:1, gpt-oss alternates,
# Command R7B is 3:1).
DEFAULT_SLIDING_PATTERN = {
    "gemma2": 2, "gemma3": 6, "gemma3_text": 6, "gpt_oss": 2, "cohere2": 4,
}
# llama.cpp disables Phi-3's sliding window ("Phi SWA is currently disabled") and the catalog
# leaves it out, so a config's sliding_window is not applied for these.
_SLIDING_IGNORED_TYPES = frozenset({"phi3"})
LLAMA4_TYPES = frozenset({"llama4", "llama4_text"})


def sliding_window(source: ConfigSource, kinds: frozenset[str], layers: int,
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


def _window_and_mask(source: ConfigSource, kinds: frozenset[str],
                     layers: int) -> tuple[int | None, list[bool]]:
    """The window size and, per layer, whether that layer slides."""
    if kinds & LLAMA4_TYPES:
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
        use = not kinds & SLIDING_OFF_BY_DEFAULT_TYPES
    if not use:
        return None, []
    layer_types = source.find(("layer_types",))
    if layer_types is not None:
        return window, _mask_from_layer_types(source, layer_types[0], layer_types[1], layers)
    pattern = source.integer(("sliding_window_pattern",), maximum=MAX_LAYERS)
    if pattern is None:
        pattern = next((DEFAULT_SLIDING_PATTERN[kind] for kind in sorted(kinds)
                        if kind in DEFAULT_SLIDING_PATTERN), None)
    if pattern is not None:
        return window, [(layer + 1) % pattern != 0 for layer in range(layers)]
    max_window_layers = source.integer(("max_window_layers",), minimum=0)
    if kinds & SLIDING_OFF_BY_DEFAULT_TYPES and max_window_layers is not None:
        # Qwen with use_sliding_window: the first max_window_layers layers keep full attention.
        return window, [layer >= max_window_layers for layer in range(layers)]
    return window, [True] * layers


def _llama4_chunked_layers(source: ConfigSource, layers: int) -> list[bool]:
    found = source.find(("no_rope_layers",))
    if found is not None:
        where, value = found
        if not isinstance(value, list):
            raise source.fail(f"config.json {where} must be a list, got {describe(value)}")
        if value:
            if len(value) != layers:
                raise source.fail(f"config.json {where} has {len(value)} entries for {layers} "
                                  "layers")
            # 1 = a RoPE layer, which attends within its chunk; 0 = a global NoPE layer.
            return [source.check_integer(f"{where}[{index}]", item, 0, 1) == 1
                    for index, item in enumerate(value)]
    interval = source.integer(("no_rope_layer_interval",), maximum=MAX_LAYERS) or 4
    return [(layer + 1) % interval != 0 for layer in range(layers)]


def _mask_from_layer_types(source: ConfigSource, where: str, value: Any, layers: int) -> list[bool]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise source.fail(f"config.json {where} must be a list of strings, got {describe(value)}")
    if len(value) != layers:
        raise source.fail(f"config.json {where} has {len(value)} entries for {layers} layers")
    other = sorted({kind for kind in value
                    if kind not in ("sliding_attention", "full_attention", "chunked_attention")})
    if other:
        source.notes.append(f"{where} lists {', '.join(other)} layers, which gpufit counts as "
                            "full-attention layers.")
    return [kind in ("sliding_attention", "chunked_attention") for kind in value]


def _pattern_from_mask(source: ConfigSource, mask: list[bool]) -> int | None:
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


# -- hybrid models ------------------------------------------------------------------------

RECURRENT_LAYER_TYPES = frozenset({"mamba", "mamba2", "linear_attention", "ssm"})
ATTENTION_LAYER_TYPES = frozenset({"attention", "full_attention", "sliding_attention",
                                   "chunked_attention"})
GATED_DELTANET_TYPES = frozenset({"qwen3_next", "qwen3_5", "qwen3_5_moe", "qwen3_5_text",
                                  "qwen3_5_moe_text"})
"""Qwen's hybrids: gated DeltaNet layers, and a per-head output gate on attention's q_proj."""
_PARALLEL_HYBRID_TYPES = frozenset({"falcon_h1"})
"""Attention and Mamba2 side by side in every layer."""


def hybrid_layers(source: ConfigSource, kinds: frozenset[str], layers: int,
                  hidden_size: int) -> dict[str, Any]:
    """recurrent_layers, attention_layers, mlp_layers and the recurrent state's sizes of a hybrid
    model; nothing for a model whose every layer attends."""
    recurrent, attention, mlp = _layer_roles(source, kinds, layers)
    if not recurrent:
        return {}
    sizes = _recurrent_sizes(source, kinds, hidden_size)
    if sizes is None:
        source.notes.append(f"{len(recurrent)} of {layers} layers are recurrent, but the config "
                            "gives no state sizes gpufit knows; every layer is counted as "
                            "attention (the KV cache errs high).")
        return {}
    fields: dict[str, Any] = {"recurrent_layers": recurrent, **sizes}
    if attention is not None:
        fields["attention_layers"] = attention
    if mlp is not None:
        fields["mlp_layers"] = mlp
    if kinds & GATED_DELTANET_TYPES:
        fields["attention_output_gate"] = True
    return fields


def _layer_roles(source: ConfigSource, kinds: frozenset[str], layers: int
                 ) -> tuple[list[int], list[int] | None, list[int] | None]:
    """(recurrent layers, attention layers or None = the rest, MLP layers or None = all)."""
    everything = list(range(layers))
    if kinds & _PARALLEL_HYBRID_TYPES:
        return everything, everything, None
    found = source.find(("layer_types",))
    if found is not None and isinstance(found[1], list) and len(found[1]) == layers \
            and all(isinstance(kind, str) for kind in found[1]) \
            and any(kind in RECURRENT_LAYER_TYPES for kind in found[1]):
        types = found[1]
        return ([index for index, kind in enumerate(types) if kind in RECURRENT_LAYER_TYPES],
                [index for index, kind in enumerate(types) if kind in ATTENTION_LAYER_TYPES], None)
    pattern = source.find(("hybrid_override_pattern",))
    if pattern is not None and isinstance(pattern[1], str):
        # Nemotron-H: one block per layer, M = Mamba2, * = attention, - (or E) = MLP.
        blocks = pattern[1]
        if len(blocks) != layers:
            raise source.fail(f"config.json {pattern[0]} has {len(blocks)} blocks for {layers} "
                              "layers")
        return ([index for index, block in enumerate(blocks) if block == "M"],
                [index for index, block in enumerate(blocks) if block == "*"],
                [index for index, block in enumerate(blocks) if block in "-E"])
    interval = source.integer(("full_attention_interval",), maximum=MAX_LAYERS)
    if interval and kinds & GATED_DELTANET_TYPES:
        attention = [index for index in everything if (index + 1) % interval == 0]
        return [index for index in everything if index not in attention], attention, None
    period = source.integer(("attn_layer_period",), maximum=MAX_LAYERS)
    offset = source.integer(("attn_layer_offset",), minimum=0, maximum=MAX_LAYERS)
    if period and offset is not None and source.find(("mamba_d_state",)) is not None:
        # Jamba: attention where index % period == offset, Mamba elsewhere.
        attention = [index for index in everything if index % period == offset]
        return [index for index in everything if index not in attention], attention, None
    return [], None, None


def _recurrent_sizes(source: ConfigSource, kinds: frozenset[str],
                     hidden_size: int) -> dict[str, Any] | None:
    """recurrent_kind and the ssm_* fields (catalog/SCHEMA.md says which config key is which)."""
    if kinds & GATED_DELTANET_TYPES:
        value_heads = source.integer(("linear_num_value_heads",))
        value_dim = source.integer(("linear_value_head_dim",))
        key_heads = source.integer(("linear_num_key_heads",))
        key_dim = source.integer(("linear_key_head_dim",))
        if not (value_heads and value_dim and key_heads and key_dim):
            return None
        return {"recurrent_kind": "gated_deltanet", "ssm_inner_size": value_heads * value_dim,
                "ssm_state_size": key_dim, "ssm_groups": key_heads, "ssm_heads": value_heads,
                "ssm_conv_kernel": source.integer(("linear_conv_kernel_dim",)) or 4}
    state = source.integer(("mamba_d_state", "ssm_state_size", "state_size"))
    if not state:
        return None
    heads = source.integer(("mamba_n_heads", "mamba_num_heads"))
    head_dim = source.integer(("mamba_d_head", "mamba_head_dim"))
    inner = source.integer(("mamba_d_ssm",))
    if inner is None and heads and head_dim:
        inner = heads * head_dim
    if inner is None:
        inner = (source.integer(("mamba_expand", "expand")) or 2) * hidden_size
    groups = source.integer(("mamba_n_groups", "n_groups"), minimum=0)
    fields: dict[str, Any] = {
        "ssm_inner_size": inner, "ssm_state_size": state,
        "ssm_conv_kernel": source.integer(("mamba_d_conv", "conv_kernel")) or 4}
    if heads:  # Mamba2 (heads); Jamba's Mamba1 has neither heads nor groups
        fields.update(recurrent_kind="mamba2", ssm_heads=heads, ssm_groups=groups or 1)
    else:
        fields.update(recurrent_kind="mamba", ssm_groups=0)
    return fields
