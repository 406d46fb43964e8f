"""From a model's architecture and a quant to exact weight bytes, tensor by tensor.

The model is expanded into its weight tensors (token embedding, per-layer attention, dense MLP
or experts, output head, norms), each tensor is given the storage type the quant assigns to it
(llama.cpp's per-tensor rules), and bytes are params × that type's bits / 8. The same mapping
feeds memory (all weights) and speed (the weights one token reads), so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from gpufit.core.specs import ModelSpec, QuantRule, QuantSpec

# Groups a tensor can belong to; speed reads each group differently (experts only in part).
GROUPS = ("embedding", "attention", "dense_mlp", "experts", "shared_experts", "output", "other")


@dataclass(frozen=True, slots=True)
class WeightBreakdown:
    """Exact weight sizes of one model at one quant."""

    total_bytes: int
    total_params: int
    bytes_by_group: dict[str, int]
    params_by_group: dict[str, int]
    layer_bytes: tuple[int, ...]
    params_by_type: dict[str, int]
    active_params: int

    @property
    def bits_per_weight(self) -> float:
        """Effective bits per weight over the whole model (what a file's size implies)."""
        return self.total_bytes * 8 / self.total_params

    def bytes_read_per_token(self, expert_fraction: float) -> float:
        """Weight bytes one decode step streams: all but the embedding table and unused experts."""
        groups = self.bytes_by_group
        return (groups["attention"] + groups["dense_mlp"] + groups["shared_experts"]
                + groups["output"] + groups["other"] + groups["experts"] * expert_fraction)


def more_bits(layer: int, layers: int) -> bool:
    """llama.cpp's `use_more_bits`: first and last eighth of layers plus every third between."""
    eighth = layers // 8
    return layer < eighth or layer >= 7 * layers // 8 or (layer - eighth) % 3 == 2


def _layer_selected(selector: str, layer: int, layers: int) -> bool:
    if selector == "all":
        return True
    if selector == "more_bits":
        return more_bits(layer, layers)
    if selector == "first_eighth":
        return layer < layers // 8
    if selector == "first_sixteenth":
        return layer < layers // 16
    if selector == "first_2":
        return layer < 2
    return layer < 4  # first_4


def _rule_applies(rule: QuantRule, model: ModelSpec) -> bool:
    if rule.when_experts is not None and model.experts_total != rule.when_experts:
        return False
    if rule.when_min_gqa is not None and model.gqa_ratio < rule.when_min_gqa:
        return False
    return rule.when_layers is None or model.layers == rule.when_layers


def _storage_type(role: str, layer: int | None, model: ModelSpec, rules: tuple[QuantRule, ...],
                  default: str) -> str:
    chosen = default
    for rule in rules:
        if rule.role != role:
            continue
        if layer is not None and not _layer_selected(rule.layers, layer, model.layers):
            continue
        chosen = rule.type
    return chosen


def layer_tensors(model: ModelSpec, layer: int) -> list[tuple[str, str, int]]:
    """The weight tensors of one transformer layer as (role, group, params)."""
    hidden = model.hidden_size
    tensors: list[tuple[str, str, int]] = []
    if model.uses_mla:
        qk_dim = (model.qk_nope_head_dim or 0) + (model.qk_rope_head_dim or 0)
        heads = model.attention_heads
        q_rank = model.q_lora_rank or 0
        q_params = (hidden * q_rank + q_rank * heads * qk_dim) if q_rank else hidden * heads * qk_dim
        kv_rank = model.kv_lora_rank or 0
        tensors += [
            ("attn_q", "attention", q_params),
            # MLA's compressed K/V projections; llama.cpp's attn_v upgrades do not touch them.
            ("attn_k", "attention", hidden * (kv_rank + (model.qk_rope_head_dim or 0))),
            ("attn_k", "attention",
             kv_rank * heads * ((model.qk_nope_head_dim or 0) + (model.v_head_dim or 0))),
            ("attn_output", "attention", heads * (model.v_head_dim or 0) * hidden),
        ]
        norm_params = 2 * hidden + q_rank + kv_rank
    else:
        q_width = model.attention_heads * model.head_dim
        kv_width = model.kv_heads * model.head_dim
        tensors += [
            ("attn_q", "attention", hidden * q_width),
            ("attn_k", "attention", hidden * kv_width),
            ("attn_v", "attention", hidden * kv_width),
            ("attn_output", "attention", q_width * hidden),
        ]
        norm_params = 2 * hidden
        if model.attention_bias:
            norm_params += q_width + 2 * kv_width
    tensors.append(("norm", "other", norm_params))
    matrices = ("ffn_gate", "ffn_up", "ffn_down") if model.mlp_gated else ("ffn_up", "ffn_down")
    if model.is_moe and layer >= model.dense_layers:
        expert_width = model.expert_intermediate_size or model.intermediate_size
        for role in matrices:
            tensors.append((role, "experts", model.experts_total * hidden * expert_width))
        if model.shared_experts:
            shared_width = model.shared_expert_intermediate_size or expert_width
            for role in matrices:
                tensors.append((role, "shared_experts", model.shared_experts * hidden * shared_width))
        tensors.append(("router", "other", hidden * model.experts_total))
    else:
        for role in matrices:
            tensors.append((role, "dense_mlp", hidden * model.intermediate_size))
    return tensors


@lru_cache(maxsize=4096)
def weight_breakdown(model: ModelSpec, quant: QuantSpec) -> WeightBreakdown:
    """Bytes and params of every weight group of `model` stored as `quant` (cached per pair)."""
    rules = tuple(rule for rule in quant.rules if _rule_applies(rule, model))
    bits = quant.block_bits
    default = quant.default_type
    bytes_by_group = dict.fromkeys(GROUPS, 0.0)
    params_by_group = dict.fromkeys(GROUPS, 0)
    params_by_type: dict[str, int] = {}

    def add(group: str, storage: str, params: int) -> float:
        size = params * bits[storage] / 8
        bytes_by_group[group] += size
        params_by_group[group] += params
        params_by_type[storage] = params_by_type.get(storage, 0) + params
        return size

    embed_params = model.vocab_size * model.hidden_size
    output_type = _storage_type("output", None, model, rules, default)
    embed_type = output_type if model.tied_embeddings else _storage_type(
        "token_embd", None, model, rules, default)
    add("embedding", embed_type, embed_params)
    if not model.tied_embeddings:
        add("output", output_type, embed_params)
    add("other", "F32", model.hidden_size)

    layer_bytes: list[int] = []
    for layer in range(model.layers):
        layer_size = 0.0
        for role, group, params in layer_tensors(model, layer):
            if role in ("norm", "router"):
                storage = "F32"
            else:
                storage = _storage_type(role, layer, model, rules, default)
            layer_size += add(group, storage, params)
        layer_bytes.append(round(layer_size))

    total_params = sum(params_by_group.values())
    expert_fraction = model.experts_active / model.experts_total if model.is_moe else 0.0
    active_params = round(total_params - params_by_group["experts"] * (1 - expert_fraction))
    return WeightBreakdown(
        total_bytes=round(sum(bytes_by_group.values())),
        total_params=total_params,
        bytes_by_group={group: round(size) for group, size in bytes_by_group.items()},
        params_by_group=params_by_group,
        layer_bytes=tuple(layer_bytes),
        params_by_type=params_by_type,
        active_params=active_params,
    )


def parameter_count(model: ModelSpec) -> tuple[int, int]:
    """(total, active) parameters computed from the architecture alone."""
    total = model.vocab_size * model.hidden_size * (1 if model.tied_embeddings else 2)
    total += model.hidden_size
    routed = 0
    for layer in range(model.layers):
        for _role, group, params in layer_tensors(model, layer):
            total += params
            if group == "experts":
                routed += params
    if not model.is_moe:
        return total, total
    active = total - round(routed * (1 - model.experts_active / model.experts_total))
    return total, active
