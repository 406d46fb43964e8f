"""From a model's architecture and a quant to exact weight bytes, tensor by tensor.

The model is expanded into its weight tensors (token embedding, per-layer attention, dense MLP
or experts, output head, norms), each tensor is given the storage type the quant assigns to it
(llama.cpp's per-tensor rules), and bytes are params × that type's bits / 8. The same mapping
feeds memory (all weights) and speed (the weights one token reads), so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpufit.core.quant_rules import (
    ATTN_V_ROLES,
    TensorPlace,
    model_rules,
    position_dependent,
    storage_type,
)
from gpufit.core.quant_rules import more_bits as more_bits
from gpufit.core.specs import ModelSpec, QuantSpec

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
        """Effective bits per weight over the whole model (what a file's size implies); 0.0
        for weights without parameters (a saved file entry whose tensors are all empty)."""
        return self.total_bytes * 8 / self.total_params if self.total_params else 0.0

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


def layer_tensors(model: ModelSpec, layer: int) -> list[tuple[str, str, int]]:
    """The weight tensors of one transformer layer as (role, group, params)."""
    return [(role, group, params) for role, group, params, _row in layer_tensor_rows(model, layer)]


def layer_tensor_rows(model: ModelSpec, layer: int) -> list[tuple[str, str, int, int]]:
    """The weight tensors of one transformer layer as (role, group, params, row length).

    The row length is ggml's ne[0], the input dimension: hidden_size for q/k/v, gate, up and
    the recurrent in-projection, heads × head_dim for attn_output, the (expert) intermediate
    size for ffn_down. llama.cpp's quantizer needs it: a block type whose block does not
    divide it falls back to another type (`gpufit.core.quant_rules.fallback_type`).

    A layer has attention, a recurrent mixer (hybrid models), or both side by side (Falcon-H1),
    then a dense MLP or a mixture of experts."""
    tensors: list[tuple[str, str, int, int]] = []
    attends, recurrent, has_mlp = (model.has_attention(layer), layer in model.recurrent_layers,
                                   model.has_mlp(layer))
    # One norm before the token mixer (shared by Falcon-H1's parallel pair), one before the MLP.
    norm_params = model.hidden_size * ((attends or recurrent) + has_mlp)
    if attends:
        norm_params += _attention_tensors(model, tensors)
    if recurrent:
        norm_params += _recurrent_tensors(model, tensors)
    tensors.append(("norm", "other", norm_params, 1))
    hidden = model.hidden_size
    matrices = ("ffn_gate", "ffn_up", "ffn_down") if model.mlp_gated else ("ffn_up", "ffn_down")
    if not has_mlp:
        return tensors
    if model.is_moe_layer(layer):
        expert_width = model.expert_intermediate_size or model.intermediate_size
        for role in matrices:
            row = expert_width if role == "ffn_down" else hidden
            tensors.append((role, "experts", model.experts_total * hidden * expert_width, row))
        if model.shared_experts:
            shared_width = model.shared_expert_intermediate_size or expert_width
            for role in matrices:
                # llama.cpp stores the shared experts as one MLP of n_shared × width (ffn_*_shexp).
                row = model.shared_experts * shared_width if role == "ffn_down" else hidden
                tensors.append((role, "shared_experts",
                                model.shared_experts * hidden * shared_width, row))
        tensors.append(("router", "other", hidden * model.experts_total, hidden))
    else:
        for role in matrices:
            row = model.intermediate_size if role == "ffn_down" else hidden
            tensors.append((role, "dense_mlp", hidden * model.intermediate_size, row))
    return tensors


def _attention_tensors(model: ModelSpec, tensors: list[tuple[str, str, int, int]]) -> int:
    """Append one layer's attention matrices; return its small F32 params (MLA's latent
    norms, q/k/v biases)."""
    hidden = model.hidden_size
    if model.uses_mla:
        nope, rope = model.qk_nope_head_dim or 0, model.qk_rope_head_dim or 0
        heads, v_dim = model.attention_heads, model.v_head_dim or 0
        q_rank, kv_rank = model.q_lora_rank or 0, model.kv_lora_rank or 0
        # llama.cpp names these attn_q_a / attn_q_b / attn_kv_a_mqa, outside its categories
        # (role "other"), attn_q when there is no q LoRA, and attn_kv_b (counted with attn_v).
        if q_rank:
            tensors += [("attn_q_a", "attention", hidden * q_rank, hidden),
                        ("attn_q_b", "attention", q_rank * heads * (nope + rope), q_rank)]
        else:
            tensors.append(("attn_q", "attention", hidden * heads * (nope + rope), hidden))
        tensors += [
            ("attn_kv_a", "attention", hidden * (kv_rank + rope), hidden),
            ("attn_kv_b", "attention", kv_rank * heads * (nope + v_dim), kv_rank),
            ("attn_output", "attention", heads * v_dim * hidden, heads * v_dim),
        ]
        return q_rank + kv_rank
    q_width = model.attention_heads * model.head_dim
    kv_width = model.kv_heads * model.head_dim
    q_rows = q_width * (2 if model.attention_output_gate else 1)
    if model.fused_qkv:
        tensors.append(("attn_qkv", "attention", hidden * (q_rows + 2 * kv_width), hidden))
    else:
        tensors += [
            ("attn_q", "attention", hidden * q_rows, hidden),
            ("attn_k", "attention", hidden * kv_width, hidden),
            ("attn_v", "attention", hidden * kv_width, hidden),
        ]
    tensors.append(("attn_output", "attention", q_width * hidden, q_width))
    return q_width + 2 * kv_width if model.attention_bias else 0


def _recurrent_tensors(model: ModelSpec, tensors: list[tuple[str, str, int, int]]) -> int:
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
        tensors += [("ssm_in", "attention", hidden * (2 * key_width + 2 * inner), hidden),
                    ("ssm_in", "attention", hidden * 2 * heads, hidden),
                    ("ssm_out", "attention", inner * hidden, inner)]
        return conv_channels * kernel + 2 * heads + inner // heads
    if model.recurrent_kind == "mamba":
        dt_rank = -(-hidden // 16)
        tensors += [("ssm_in", "attention", hidden * 2 * inner, hidden),
                    ("ssm_x", "attention", inner * (dt_rank + 2 * state), inner),
                    ("ssm_dt", "attention", dt_rank * inner, dt_rank),
                    ("ssm_out", "attention", inner * hidden, inner)]
        return inner * kernel + inner + inner + inner * state + inner
    conv_channels = inner + 2 * groups * state
    tensors += [("ssm_in", "attention", hidden * (2 * inner + 2 * groups * state + heads), hidden),
                ("ssm_out", "attention", inner * hidden, inner)]
    return conv_channels * kernel + conv_channels + 3 * heads + inner


def _layer_kind(model: ModelSpec, layer: int) -> tuple[bool, bool, bool, bool]:
    """Layers with the same kind have the same tensors."""
    return (model.has_attention(layer), layer in model.recurrent_layers, model.has_mlp(layer),
            model.is_moe_layer(layer))


def layer_tensor_bytes(model: ModelSpec, quant: QuantSpec) -> tuple[tuple[tuple[str, float], ...], ...]:
    """Per repeating layer, (group, bytes) of each weight tensor, typed exactly as the totals are.

    A routed-experts entry is one ggml tensor holding every expert (`ffn_up_exps` etc.); CPU
    offload needs the per-layer expert bytes and the largest tensor of each layer."""
    file = exact_file_weights(model, quant)
    if file is not None:
        return tuple(tuple((group, float(size)) for group, size in layer)
                     for layer in file.layer_tensors)
    rules = model_rules(quant, model)
    bits = quant.block_bits
    attention_index = _attention_positions(model)
    layers: list[tuple[tuple[str, float], ...]] = []
    for layer in range(model.layers):
        row: list[tuple[str, float]] = []
        for role, group, params, length in layer_tensor_rows(model, layer):
            place = _place(model, attention_index, layer, role, group, length)
            row.append((group, params * bits[storage_type(quant, rules, place)] / 8))
        layers.append(tuple(row))
    return tuple(layers)


def _attention_positions(model: ModelSpec) -> dict[int, int]:
    """Layer → its index among the layers with attention (llama.cpp counts attn_v tensors)."""
    attending = [layer for layer in range(model.layers) if model.has_attention(layer)]
    return {layer: index for index, layer in enumerate(attending)}


def _place(model: ModelSpec, attention_index: dict[int, int], layer: int, role: str, group: str,
           row: int) -> TensorPlace:
    """Where llama.cpp's counters put a layer tensor: attn_v-like tensors by their index among
    attention layers (i_attention_wv of n_attention_wv), the rest by layer (i_layer of n_layer)."""
    if role in ATTN_V_ROLES:
        return TensorPlace(role, group, row, attention_index.get(layer, layer),
                           len(attention_index))
    return TensorPlace(role, group, row, layer, model.layers)


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
    rules = model_rules(quant, model)
    bits = quant.block_bits
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
    hidden = model.hidden_size
    output_type = storage_type(quant, rules, TensorPlace("output", "output", hidden))
    # A tied table is quantized as the output head (llama-quant.cpp: has_tied_embeddings).
    embed_type = output_type if model.tied_embeddings else storage_type(
        quant, rules, TensorPlace("token_embd", "embedding", hidden))
    add("embedding", embed_type, embed_params)
    if not model.tied_embeddings:
        add("output", output_type, embed_params)
    add("other", "F32", model.hidden_size)

    # Layers differ only in their kind (attention / recurrent / MoE) and in the few tensors
    # whose rules pick layers (attn_v, ffn_*): uniform tensors are typed once per kind.
    attention_index = _attention_positions(model)
    layer_bytes = [0.0] * model.layers
    kinds: dict[tuple[bool, bool, bool, bool], list[int]] = {}
    for layer in range(model.layers):
        kinds.setdefault(_layer_kind(model, layer), []).append(layer)
    for members in kinds.values():
        for role, group, params, row in layer_tensor_rows(model, members[0]):
            if not position_dependent(rules, role):
                place = _place(model, attention_index, members[0], role, group, row)
                size = add(group, storage_type(quant, rules, place), params * len(members))
                for layer in members:
                    layer_bytes[layer] += size / len(members)
                continue
            for layer in members:
                place = _place(model, attention_index, layer, role, group, row)
                layer_bytes[layer] += add(group, storage_type(quant, rules, place), params)

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
    # Layers of one kind hold the same tensors: count each kind once (the picker lists every
    # model's size at start-up).
    kinds: dict[tuple[bool, bool, bool, bool], int] = {}
    first_of: dict[tuple[bool, bool, bool, bool], int] = {}
    for layer in range(model.layers):
        kind = _layer_kind(model, layer)
        kinds[kind] = kinds.get(kind, 0) + 1
        first_of.setdefault(kind, layer)
    for kind, count in kinds.items():
        for _role, group, params in layer_tensors(model, first_of[kind]):
            total += params * count
            if group == "experts":
                routed += params * count
    if not model.is_moe:
        return total, total
    active = total - round(routed * (1 - model.experts_active / model.experts_total))
    return total, active
