"""A Hugging Face config's mixture of experts: how many experts, how many run per token, their
widths, shared experts, and which layers have experts (leading dense layers, every Nth layer).
"""

from __future__ import annotations

from typing import Any

from gpufit.importers.hf_layers import LLAMA4_TYPES
from gpufit.importers.hf_source import ConfigSource

EXPERT_NAMES = ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")
ACTIVE_EXPERT_NAMES = ("num_experts_per_tok", "moe_topk", "num_experts_per_token",
                        "experts_per_token", "moe_top_k")
EXPERT_WIDTH_NAMES = ("moe_intermediate_size", "expert_intermediate_size")
SHARED_EXPERT_NAMES = ("n_shared_experts", "num_shared_experts", "num_shared_expert")


def experts(source: ConfigSource, kinds: frozenset[str], layers: int) -> dict[str, Any]:
    """MoE fields, or nothing for a dense model."""
    experts_total = source.integer(EXPERT_NAMES, minimum=0) or 0
    if experts_total == 0:
        return {}
    experts_active = _active_experts(source)
    if experts_active > experts_total:
        raise source.fail(f"config.json num_experts_per_tok {experts_active} is more than the "
                          f"{experts_total} experts")
    fields: dict[str, Any] = {"experts_total": experts_total, "experts_active": experts_active}
    expert_width = source.integer(EXPERT_WIDTH_NAMES)
    if kinds & LLAMA4_TYPES:
        # Llama 4: every MoE layer also runs one always-on expert as wide as the routed ones.
        expert_width = expert_width or source.integer(("intermediate_size",))
        fields["shared_experts"] = 1
    if expert_width is not None:
        fields["expert_intermediate_size"] = expert_width
    fields.update(_shared_experts(source))
    dense_layers, step = _moe_layout(source, layers)
    if dense_layers == layers:
        source.notes.append("the config names experts but no layer uses them; read as a dense "
                            "model.")
        return {}
    if dense_layers:
        fields["dense_layers"] = dense_layers
    if step > 1:
        fields["moe_layer_step"] = step
    return fields


def _active_experts(source: ConfigSource) -> int:
    found = source.find(ACTIVE_EXPERT_NAMES)
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


def _shared_experts(source: ConfigSource) -> dict[str, Any]:
    count = source.integer(SHARED_EXPERT_NAMES, minimum=0)
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


def _moe_layout(source: ConfigSource, layers: int) -> tuple[int, int]:
    """(leading dense layers, MoE every Nth layer after them) as ModelSpec states the MoE
    layers; an irregular layout is approximated with the dense layers first."""
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
    period = source.integer(("expert_layer_period",))
    offset = source.integer(("expert_layer_offset",), minimum=0)
    if period and period > 1 and offset is not None:
        # Jamba: experts on layers where index % period == offset.
        moe_layers = {layer for layer in moe_layers if layer % period == offset}
    mlp_only = source.integer_list("mlp_only_layers", layers) or []
    moe_layers -= set(mlp_only)
    if not moe_layers:
        return layers, 1
    for every in range(1, 9):
        for first in range(min(moe_layers) + 1):
            if moe_layers == {layer for layer in range(first, layers) if (layer + 1) % every == 0}:
                return first, every
    dense = layers - len(moe_layers)
    source.notes.append(f"{dense} of {layers} layers have a dense MLP, interleaved with the "
                        "MoE layers in no regular pattern; they are counted as the leading layers "
                        "(totals are unchanged, per-layer placement is approximate).")
    return dense, 1
