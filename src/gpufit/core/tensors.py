"""From a model's architecture and a quant to exact weight bytes, tensor by tensor.

The model is expanded into its weight tensors (token embedding, per-layer attention, dense MLP
or experts, output head, norms), each tensor is given the storage type the quant assigns to it
(llama.cpp's per-tensor rules), and bytes are params × that type's bits / 8. The same mapping
feeds memory (all weights) and speed (the weights one token reads), so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

    @property
    def head_bytes(self) -> int:
        """What follows the last layer: the output head and the final norm (not the embedding)."""
        return self.total_bytes - self.bytes_by_group["embedding"] - sum(self.layer_bytes)

    @property
    def head_matrix_bytes(self) -> int:
        """The output projection every token multiplies by: the output tensor, or the embedding
        table itself when the two are tied (a model without an output tensor)."""
        return self.bytes_by_group["output"] or self.bytes_by_group["embedding"]

    def bytes_read_per_token(self, expert_fraction: float) -> float:
        """Weight bytes one decode step streams: all but the embedding lookup and unused experts
        (a tied embedding is read in full, as the output projection)."""
        groups = self.bytes_by_group
        return (groups["attention"] + groups["dense_mlp"] + groups["shared_experts"]
                + self.head_matrix_bytes + groups["other"] + groups["experts"] * expert_fraction)


@dataclass(frozen=True, slots=True)
class FileWeights:
    """Exact weight sizes read from a model file (GGUF or safetensors), tensor by tensor.

    They replace the architecture-derived breakdown when the model is estimated at the quant
    the file is stored in (`quant_id`); any other quant is still derived from the architecture.
    """

    quant_id: str
    format: str
    """"gguf" or "safetensors"."""
    label: str
    """The file's own name for its type (GGUF general.file_type, or the quantization_config)."""
    paths: tuple[str, ...]
    breakdown: WeightBreakdown
    layer_tensors: tuple[tuple[tuple[str, int], ...], ...]
    """Per layer, (group, bytes) of each tensor (offload needs the expert and largest ones)."""
    bytes_by_type: dict[str, int]
    """Storage type → bytes, the file's actual type mix (Q4_K, Q6_K, F32, BF16, I32 …)."""

    def as_dict(self) -> dict[str, Any]:
        """The TOML/JSON shape, read back by the catalog loader (`file_weights` of a model)."""
        weights = self.breakdown
        return {
            "quant": self.quant_id, "format": self.format, "label": self.label,
            "paths": list(self.paths), "total_bytes": weights.total_bytes,
            "total_params": weights.total_params, "active_params": weights.active_params,
            "bytes_by_group": dict(weights.bytes_by_group),
            "params_by_group": dict(weights.params_by_group),
            "params_by_type": dict(weights.params_by_type),
            "bytes_by_type": dict(self.bytes_by_type),
            "layer_tensors": [[[group, size] for group, size in layer]
                              for layer in self.layer_tensors],
        }


def exact_file_weights(model: ModelSpec, quant: QuantSpec) -> FileWeights | None:
    """The model file's own weights when `quant` is the one the file is stored in, else None
    (any other quant is derived from the architecture)."""
    file = model.file_weights
    return file if file is not None and file.quant_id == quant.id else None


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
    """The weight tensors of one transformer layer as (role, group, params).

    A layer has attention, a recurrent mixer (hybrid models), or both side by side (Falcon-H1),
    then a dense MLP or a mixture of experts."""
    tensors: list[tuple[str, str, int]] = []
    norm_params = 2 * model.hidden_size  # the layer's input norm and its MLP's norm
    if model.has_attention(layer):
        norm_params += _attention_tensors(model, tensors)
    if layer in model.recurrent_layers:
        norm_params += _recurrent_tensors(model, tensors)
    tensors.append(("norm", "other", norm_params))
    hidden = model.hidden_size
    matrices = ("ffn_gate", "ffn_up", "ffn_down") if model.mlp_gated else ("ffn_up", "ffn_down")
    if model.is_moe_layer(layer):
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


def _attention_tensors(model: ModelSpec, tensors: list[tuple[str, str, int]]) -> int:
    """Append one layer's attention matrices; return its small F32 params (MLA's latent
    norms, q/k/v biases)."""
    hidden = model.hidden_size
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
        return q_rank + kv_rank
    q_width = model.attention_heads * model.head_dim
    kv_width = model.kv_heads * model.head_dim
    q_rows = q_width * (2 if model.attention_output_gate else 1)
    if model.fused_qkv:
        tensors.append(("attn_qkv", "attention", hidden * (q_rows + 2 * kv_width)))
    else:
        tensors += [
            ("attn_q", "attention", hidden * q_rows),
            ("attn_k", "attention", hidden * kv_width),
            ("attn_v", "attention", hidden * kv_width),
        ]
    tensors.append(("attn_output", "attention", q_width * hidden))
    return q_width + 2 * kv_width if model.attention_bias else 0


def _recurrent_tensors(model: ModelSpec, tensors: list[tuple[str, str, int]]) -> int:
    """Append one recurrent mixer's matrices (counted with attention: both mix tokens); return
    its F32 params (convolution, A, D, dt bias, norm), which llama.cpp never quantizes.

    Shapes follow the reference implementations: Mamba2 in_proj → z, x, B, C, dt; gated
    DeltaNet in_proj_qkvz + in_proj_ba; Mamba1 in_proj → x, z plus x_proj and dt_proj."""
    hidden = model.hidden_size
    inner = model.ssm_inner_size or 0
    state = model.ssm_state_size or 0
    groups = model.ssm_groups
    heads = model.ssm_heads or 1
    kernel = model.ssm_conv_kernel or 1
    if model.recurrent_kind == "gated_deltanet":
        key_width = groups * state
        conv_channels = 2 * key_width + inner
        tensors += [("ssm_in", "attention", hidden * (2 * key_width + 2 * inner)),
                    ("ssm_in", "attention", hidden * 2 * heads),
                    ("ssm_out", "attention", inner * hidden)]
        return conv_channels * kernel + 2 * heads + inner // heads
    if model.recurrent_kind == "mamba":
        dt_rank = -(-hidden // 16)
        tensors += [("ssm_in", "attention", hidden * 2 * inner),
                    ("ssm_x", "attention", inner * (dt_rank + 2 * state)),
                    ("ssm_dt", "attention", dt_rank * inner),
                    ("ssm_out", "attention", inner * hidden)]
        return inner * kernel + inner + inner + inner * state + inner
    conv_channels = inner + 2 * groups * state
    tensors += [("ssm_in", "attention", hidden * (2 * inner + 2 * groups * state + heads)),
                ("ssm_out", "attention", inner * hidden)]
    return conv_channels * kernel + conv_channels + 3 * heads + inner


def _layer_kind(model: ModelSpec, layer: int) -> tuple[bool, bool, bool]:
    """Layers with the same kind have the same tensors."""
    return (model.has_attention(layer), layer in model.recurrent_layers, model.is_moe_layer(layer))


def layer_tensor_bytes(model: ModelSpec, quant: QuantSpec) -> tuple[tuple[tuple[str, float], ...], ...]:
    """Per repeating layer, (group, bytes) of each weight tensor, typed exactly as the totals are.

    A routed-experts entry is one ggml tensor holding every expert (`ffn_up_exps` etc.); CPU
    offload needs the per-layer expert bytes and the largest tensor of each layer."""
    file = exact_file_weights(model, quant)
    if file is not None:
        return tuple(tuple((group, float(size)) for group, size in layer)
                     for layer in file.layer_tensors)
    rules = tuple(rule for rule in quant.rules if _rule_applies(rule, model))
    bits = quant.block_bits
    layers: list[tuple[tuple[str, float], ...]] = []
    for layer in range(model.layers):
        row: list[tuple[str, float]] = []
        for role, group, params in layer_tensors(model, layer):
            # Norms, biases and routers are F32 whatever the quant (as in _compute_breakdown).
            storage = "F32" if role in ("norm", "router") else _storage_type(
                role, layer, model, rules, quant.default_type)
            row.append((group, params * bits[storage] / 8))
        layers.append(tuple(row))
    return tuple(layers)


_CACHE_LIMIT = 20_000
_breakdowns: dict[tuple[int, int], tuple[ModelSpec, QuantSpec, WeightBreakdown]] = {}


def weight_breakdown(model: ModelSpec, quant: QuantSpec) -> WeightBreakdown:
    """Bytes and params of every weight group of `model` stored as `quant` (cached per pair).

    The cache is keyed on object identity (and checked with `is`), because hashing two large
    frozen dataclasses on every keypress costs more than the estimate itself.
    """
    file = exact_file_weights(model, quant)
    if file is not None:
        return file.breakdown
    key = (id(model), id(quant))
    hit = _breakdowns.get(key)
    if hit is not None and hit[0] is model and hit[1] is quant:
        return hit[2]
    if len(_breakdowns) >= _CACHE_LIMIT:
        _breakdowns.clear()
    breakdown = _compute_breakdown(model, quant)
    _breakdowns[key] = (model, quant, breakdown)
    return breakdown


def _compute_breakdown(model: ModelSpec, quant: QuantSpec) -> WeightBreakdown:
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

    # Layers differ only in being dense or MoE, and in the few tensors whose rules pick layers
    # (attn_v, ffn_down): uniform tensors are sized once per kind, the rest layer by layer.
    layer_bytes = [0.0] * model.layers
    kinds: dict[tuple[bool, bool, bool], list[int]] = {}
    for layer in range(model.layers):
        kinds.setdefault(_layer_kind(model, layer), []).append(layer)
    for members in kinds.values():
        for role, group, params in layer_tensors(model, members[0]):
            if role in ("norm", "router"):
                role_rules: tuple[QuantRule, ...] = ()
                storage_default = "F32"
            else:
                role_rules = tuple(rule for rule in rules if rule.role == role)
                storage_default = default
            if all(rule.layers == "all" for rule in role_rules):
                storage = role_rules[-1].type if role_rules else storage_default
                size = add(group, storage, params * len(members))
                for layer in members:
                    layer_bytes[layer] += size / len(members)
                continue
            for layer in members:
                storage = _storage_type(role, layer, model, role_rules, storage_default)
                layer_bytes[layer] += add(group, storage, params)

    total_params = sum(params_by_group.values())
    expert_fraction = model.experts_active / model.experts_total if model.is_moe else 0.0
    active_params = round(total_params - params_by_group["experts"] * (1 - expert_fraction))
    return WeightBreakdown(
        total_bytes=round(sum(bytes_by_group.values())),
        total_params=total_params,
        bytes_by_group={group: round(size) for group, size in bytes_by_group.items()},
        params_by_group=params_by_group,
        layer_bytes=tuple(round(size) for size in layer_bytes),
        params_by_type=params_by_type,
        active_params=active_params,
    )


def parameter_count(model: ModelSpec) -> tuple[int, int]:
    """(total, active) parameters: counted in the file for a model read from one, else computed
    from the architecture alone."""
    if model.file_weights is not None:
        return model.file_weights.breakdown.total_params, model.file_weights.breakdown.active_params
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
