"""Which storage type one weight tensor gets under a quant: the interpreter of the quant table.

`catalog/quants.toml` states llama.cpp's quantizer as data (a default type, ordered rules, and
per block type its block size and row-size fallback); this module only applies that data to
one tensor at a time. It owns no facts of its own. The behaviour it mirrors is llama.cpp's
`llama_tensor_get_type` (src/llama-quant.cpp): rules chosen by tensor category, layer position,
expert count, GQA ratio and architecture, then `tensor_type_fallback`, which swaps a type whose
block does not divide the tensor's row length (ne[0]) for another, and F16 when even that fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpufit.core.specs import ModelSpec, QuantRule, QuantSpec

UNQUANTIZED_ROLES = frozenset({"norm", "router"})
"""Kept in F32 by the converter and never quantized (llama-quant.cpp tensor_allows_quantization:
norms, `ffn_gate_inp` routers; 1-D biases)."""

CATEGORY_ROLES = frozenset({
    "token_embd", "output", "attn_q", "attn_k", "attn_v", "attn_qkv", "attn_kv_b",
    "attn_output", "ffn_gate", "ffn_up", "ffn_down",
})
"""llama.cpp's tensor categories (llama-quant.cpp tensor_get_category); a rule for role "other"
matches every other quantized tensor (MLA's q_a/q_b/kv_a, recurrent ssm_* projections)."""

ATTN_V_ROLES = frozenset({"attn_v", "attn_qkv", "attn_kv_b"})
"""Counted together by llama.cpp's i_attention_wv / n_attention_wv (category_is_attn_v)."""

LAYER_SELECTORS = ("all", "more_bits", "first_eighth", "first_sixteenth", "first_2", "first_4",
                   "middle")


@dataclass(frozen=True, slots=True)
class TensorPlace:
    """Where a tensor sits, as llama.cpp's rules see it."""

    role: str
    group: str
    row: int
    """ne[0], the length of one row (the input dimension); the block must divide it."""
    position: int | None = None
    """The tensor's index among its kind (layer, or attention layer for attn_v); None outside
    the layers (embedding, output head)."""
    count: int = 0
    """How many of its kind there are (llama.cpp's n_layer or n_attention_wv)."""


def more_bits(layer: int, layers: int) -> bool:
    """llama.cpp's `use_more_bits`: first and last eighth of layers plus every third between."""
    eighth = layers // 8
    return layer < eighth or layer >= 7 * layers // 8 or (layer - eighth) % 3 == 2


def layer_selected(selector: str, position: int | None, count: int) -> bool:
    """Whether a rule's `layers` selector picks the tensor at `position` of `count`."""
    if selector == "all":
        return True
    if position is None:
        return False
    if selector == "more_bits":
        return more_bits(position, count)
    if selector == "first_eighth":
        return position < count // 8
    if selector == "first_sixteenth":
        return position < count // 16
    if selector == "first_2":
        return position < 2
    if selector == "first_4":
        return position < 4
    return count // 8 <= position < 7 * count // 8  # middle (IQ3_XS ffn_gate / ffn_up)


def model_rules(quant: QuantSpec, model: ModelSpec) -> tuple[QuantRule, ...]:
    """The quant's rules whose model-level conditions hold for `model` (checked once per pair);
    per-tensor conditions (role, group, layers, current type, row fit) stay for `storage_type`."""
    return tuple(rule for rule in quant.rules if _model_matches(rule, model))


def _model_matches(rule: QuantRule, model: ModelSpec) -> bool:
    if rule.when_experts is not None and model.experts_total != rule.when_experts:
        return False
    if rule.when_min_experts is not None and model.experts_total < rule.when_min_experts:
        return False
    if rule.when_min_gqa is not None and model.gqa_ratio < rule.when_min_gqa:
        return False
    if rule.when_layers is not None and model.layers != rule.when_layers:
        return False
    if rule.when_architecture and model.architecture not in rule.when_architecture:
        return False
    if rule.when_not_architecture and model.architecture in rule.when_not_architecture:
        return False
    return rule.when_native_dtype is None or model.native_dtype == rule.when_native_dtype


def role_matches(rule_role: str, role: str) -> bool:
    """A rule's role names one category, "other" (no category) or "*" (every quantized tensor)."""
    if rule_role == role or rule_role == "*":
        return True
    return rule_role == "other" and role not in CATEGORY_ROLES


def position_dependent(rules: tuple[QuantRule, ...], role: str) -> bool:
    """Whether the type of a `role` tensor can differ between layers of the same kind."""
    return any(rule.layers != "all" for rule in rules if role_matches(rule.role, role))


def storage_type(quant: QuantSpec, rules: tuple[QuantRule, ...], place: TensorPlace) -> str:
    """The storage type of one tensor: the default, each matching rule in order (later wins),
    then llama.cpp's row-size fallback."""
    if place.role in UNQUANTIZED_ROLES:
        return "F32"
    blocks = quant.block_weights
    default = quant.default_type
    misfit = place.row % blocks.get(default, 1) != 0
    chosen = default
    for rule in rules:
        if not role_matches(rule.role, place.role):
            continue
        if rule.group is not None and rule.group != place.group:
            continue
        if not layer_selected(rule.layers, place.position, place.count):
            continue
        if rule.when_type_in and chosen not in rule.when_type_in:
            continue
        if rule.when_row_misfit is not None and rule.when_row_misfit != misfit:
            continue
        chosen = rule.type
    return fallback_type(quant, chosen, place.row)


def fallback_type(quant: QuantSpec, storage: str, row: int) -> str:
    """llama-quant.cpp tensor_type_fallback: a type whose block does not divide the row becomes
    its listed fallback, and F16 when the fallback does not fit either."""
    block = quant.block_weights.get(storage, 1)
    if row % block == 0:
        return storage
    substitute = quant.block_fallback.get(storage, "F16")
    if row % quant.block_weights.get(substitute, 1) != 0:
        return "F16"
    return substitute
