"""A GGUF's architecture: ModelSpec fields from its `<arch>.*` metadata, else from tensor shapes.

Keys are llama.cpp's (gguf-py `Keys`): `<arch>.block_count`, `.embedding_length`,
`.feed_forward_length`, `.attention.head_count(_kv)`, `.attention.key_length/value_length`,
`.context_length`, `.expert_count`, `.expert_used_count`, `.attention.sliding_window`, the
MLA lengths, and so on. Where a key is missing (an architecture this reader does not know, or
an old conversion) the value is read off the tensor shapes instead, and a note says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gpufit.importers.bounds import MAX_VALUE, check_fields, check_layer_count, check_layer_index
from gpufit.importers.errors import ModelImportError
from gpufit.importers.gguf_file import ArrayInfo, GgufTensor

DEFAULT_CONTEXT_TOKENS = 4096
# Where llama.cpp hard-codes which layers slide (src/llama-model.cpp) and older files carry
# no `sliding_window_pattern`: every Nth layer attends globally.
KNOWN_SLIDING_PATTERNS = {"gemma2": 2, "gemma3": 6, "gemma3n": 5, "cohere2": 4, "gpt-oss": 2}


class _Reader:
    """Looks up `<arch>.<key>` values, checking they are positive whole numbers."""

    def __init__(self, path: Path, metadata: Mapping[str, Any], arch: str) -> None:
        self.path = path
        self.metadata = metadata
        self.arch = arch

    def number(self, key: str, largest: bool = True) -> int | None:
        value = self.metadata.get(f"{self.arch}.{key}")
        if value is None:
            return None
        if isinstance(value, list):
            # Per-layer arrays (e.g. head_count_kv with 0 for layers without attention): the
            # largest layer is what sizes the model.
            numbers = [item for item in value if _whole(item) and item > 0]
            if not numbers:
                return None
            value = max(numbers) if largest else numbers[0]
        if not _whole(value) or value < 0:
            raise ModelImportError(self.path, f"metadata {self.arch}.{key} is {_shown(value)}, "
                                   "not a whole number")
        if value > MAX_VALUE:
            # llama.cpp reads these into 32-bit fields; a larger one is a corrupt or crafted file.
            raise ModelImportError(self.path, f"metadata {self.arch}.{key} is {value:,}, "
                                   f"implausibly large (at most {MAX_VALUE:,})")
        return int(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def architecture_from_gguf(path: Path, metadata: Mapping[str, Any],
                           tensors: Sequence[GgufTensor]) -> tuple[dict[str, Any], list[str]]:
    """ModelSpec architecture fields of a GGUF, and notes on anything read from tensors instead."""
    notes: list[str] = []
    arch = metadata.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        notes.append("The file names no architecture (general.architecture); the shape is "
                     "read from its tensors.")
        arch = "unknown"
    read = _Reader(path, metadata, arch)
    by_name = {tensor.name: tensor for tensor in tensors}
    from_tensors: list[str] = []

    def pick(key: str, fallback: int | None, field: str) -> int:
        value = read.number(key)
        if value:
            return value
        if fallback:
            from_tensors.append(field)
            return fallback
        raise ModelImportError(path, f"cannot tell the model's {field}: the file has no "
                               f"{arch}.{key} and no tensor to read it from")

    embedding = by_name.get("token_embd.weight")
    layer_indexes = _layer_indexes(path, by_name)
    layers = pick("block_count", max(layer_indexes) + 1 if layer_indexes else None, "layer count")
    # Bounded before anything is built per layer (a crafted block_count of 2^32 − 1 would).
    check_layer_count(path, layers, "layer count" if "layer count" in from_tensors
                      else f"{arch}.block_count")
    hidden = pick("embedding_length", embedding.shape[0] if embedding else None, "hidden size")
    attention_q = by_name.get("blk.0.attn_q.weight")
    attention_k = by_name.get("blk.0.attn_k.weight")
    key_length = read.number("attention.key_length_mla") or read.number("attention.key_length")
    value_length = read.number("attention.value_length_mla") or read.number(
        "attention.value_length")
    head_dim_guess = key_length or 128
    q_width, k_width = _extent(attention_q, 1), _extent(attention_k, 1)
    heads = pick("attention.head_count", q_width // head_dim_guess if q_width else None,
                 "attention heads")
    kv_heads = read.number("attention.head_count_kv")
    if not kv_heads:
        kv_heads = k_width // head_dim_guess if k_width else heads
        if k_width:
            from_tensors.append("KV heads")
    head_dim = key_length or (hidden // heads if hidden % heads == 0 else head_dim_guess)
    ffn_up = by_name.get("blk.0.ffn_up.weight") or by_name.get(f"blk.{layers - 1}.ffn_up.weight")
    experts = _experts(read, by_name, layers)
    intermediate = read.number("feed_forward_length") or _extent(ffn_up, 1) \
        or experts.get("expert_intermediate_size")
    if not intermediate:
        intermediate = 4 * hidden
        from_tensors.append(f"MLP width (assumed 4 × hidden = {intermediate})")
    tokens = metadata.get("tokenizer.ggml.tokens")
    vocab = read.number("vocab_size") or (tokens.length if isinstance(tokens, ArrayInfo) else 0) \
        or (embedding.shape[1] if embedding and len(embedding.shape) > 1 else 0)
    if not vocab:
        raise ModelImportError(path, "cannot tell the vocabulary size: no tokenizer.ggml.tokens "
                               "and no token_embd.weight tensor")
    context = read.number("context_length")
    if not context:
        context = DEFAULT_CONTEXT_TOKENS
        notes.append(f"No {arch}.context_length; assuming {DEFAULT_CONTEXT_TOKENS:,} tokens.")
    fields: dict[str, Any] = {
        "architecture": arch, "layers": layers, "hidden_size": hidden,
        "attention_heads": heads, "kv_heads": max(1, kv_heads), "head_dim": head_dim,
        "intermediate_size": intermediate, "vocab_size": vocab,
        "tied_embeddings": "output.weight" not in by_name, "max_context_tokens": context,
        "mlp_gated": any(".ffn_gate" in name and "ffn_gate_inp" not in name for name in by_name),
        "attention_bias": "blk.0.attn_q.bias" in by_name or "blk.0.attn_qkv.bias" in by_name,
        "fused_qkv": "blk.0.attn_qkv.weight" in by_name,
    }
    fields.update(experts)
    fields.update(_hybrid_layers(read, arch, by_name, layers))
    fields.update(_sliding_window(read, arch, layers))
    fields.update(_mla(read, key_length, value_length))
    if heads % fields["kv_heads"]:
        # The estimator needs whole query groups; what matters for memory is KV width.
        fields["attention_heads"] = fields["kv_heads"] * max(1, round(heads / fields["kv_heads"]))
    if from_tensors:
        notes.append(f"Architecture {arch!r}: {', '.join(from_tensors)} read from tensor shapes "
                     "(the metadata does not give them).")
    check_fields(path, fields)
    return fields, notes


def _extent(tensor: GgufTensor | None, axis: int) -> int | None:
    """One dimension of a tensor, None when there is no tensor or it has fewer dimensions."""
    return tensor.shape[axis] if tensor is not None and len(tensor.shape) > axis else None


def _layer_indexes(path: Path, by_name: Mapping[str, GgufTensor]) -> list[int]:
    """The layer number of every `blk.N.…` tensor, each within the bounds a model can have."""
    indexes = []
    for name in by_name:
        parts = name.split(".", 2)
        # isdecimal, not isdigit: int() refuses superscript digits that isdigit accepts.
        if len(parts) > 1 and parts[0] == "blk" and parts[1].isdecimal() and parts[1].isascii():
            if len(parts[1]) > 9:  # int() of a 100,000-digit name is slow; no layer needs 10
                check_layer_index(path, name, 10**9)
            index = int(parts[1])
            check_layer_index(path, name, index)
            indexes.append(index)
    return indexes


def _experts(read: _Reader, by_name: Mapping[str, GgufTensor], layers: int) -> dict[str, Any]:
    experts = read.number("expert_count") or 0
    if not experts:
        stacked = next((tensor for name, tensor in by_name.items()
                        if name.endswith("ffn_up_exps.weight")), None)
        experts = stacked.shape[2] if stacked and len(stacked.shape) > 2 else 0
    if not experts:
        return {}
    fields: dict[str, Any] = {"experts_total": experts,
                              "experts_active": min(experts, read.number("expert_used_count") or 2)}
    stacked_up = next((tensor for name, tensor in by_name.items()
                       if name.endswith("ffn_up_exps.weight")), None)
    if stacked_up is not None and len(stacked_up.shape) > 2:
        fields["expert_intermediate_size"] = stacked_up.shape[1]
    for key, field in (("expert_feed_forward_length", "expert_intermediate_size"),
                       ("expert_shared_feed_forward_length", "shared_expert_intermediate_size"),
                       ("leading_dense_block_count", "dense_layers")):
        value = read.number(key)
        if value:
            fields[field] = min(value, layers) if field == "dense_layers" else value
    shared = read.number("expert_shared_count") or (
        1 if any("_shexp" in name for name in by_name) else 0)
    if shared:
        fields["shared_experts"] = shared
    return fields


_ATTENTION_TENSORS = ("attn_q.weight", "attn_qkv.weight", "attn_q_a.weight")
_MLP_TENSORS = ("ffn_down.weight", "ffn_down_exps.weight", "ffn_up.weight", "ffn_up_exps.weight")


def _hybrid_layers(read: _Reader, arch: str, by_name: Mapping[str, GgufTensor],
                   layers: int) -> dict[str, Any]:
    """Which layers attend, which keep a recurrent state and which have an MLP, read off the
    tensors each `blk.N` holds (exact for any hybrid llama.cpp writes), with the state's sizes
    from `<arch>.ssm.*` (the same values llama_hparams n_embd_r / n_embd_s use)."""
    kinds: dict[str, set[int]] = {"attention": set(), "recurrent": set(), "mlp": set()}
    for name in by_name:
        parts = name.split(".", 2)
        if len(parts) < 3 or parts[0] != "blk" or not parts[1].isdecimal() \
                or not parts[1].isascii():
            continue
        layer, tensor = int(parts[1]), parts[2]
        if tensor in _ATTENTION_TENSORS:
            kinds["attention"].add(layer)
        elif tensor.startswith("ssm_"):
            kinds["recurrent"].add(layer)
        elif tensor in _MLP_TENSORS:
            kinds["mlp"].add(layer)
    recurrent = sorted(index for index in kinds["recurrent"] if index < layers)
    inner, state = read.number("ssm.inner_size"), read.number("ssm.state_size")
    if not recurrent or not inner or not state:
        return {}
    groups = read.number("ssm.group_count") or 0
    if arch.startswith("qwen3next") or arch.startswith("qwen35"):
        kind = "gated_deltanet"
    else:
        kind = "mamba2" if groups else "mamba"
    fields: dict[str, Any] = {
        "recurrent_layers": recurrent, "recurrent_kind": kind, "ssm_inner_size": inner,
        "ssm_state_size": state, "ssm_groups": groups,
        "ssm_conv_kernel": read.number("ssm.conv_kernel") or 4,
        "attention_layers": sorted(index for index in kinds["attention"] if index < layers)}
    heads = read.number("ssm.time_step_rank")
    if heads and kind != "mamba":
        fields["ssm_heads"] = heads  # Mamba2 / DeltaNet: one time step per head
    mlp = sorted(index for index in kinds["mlp"] if index < layers)
    if mlp and len(mlp) < layers:
        fields["mlp_layers"] = mlp
    if kind == "gated_deltanet":
        fields["attention_output_gate"] = True
    return fields


def _sliding_window(read: _Reader, arch: str, layers: int) -> dict[str, Any]:
    window = read.number("attention.sliding_window")
    if not window:
        return {}
    pattern_value = read.metadata.get(f"{arch}.attention.sliding_window_pattern")
    pattern: int | None = None
    if _whole(pattern_value) and isinstance(pattern_value, int) and pattern_value > 0:
        pattern = int(pattern_value)
    elif isinstance(pattern_value, list) and pattern_value:
        # One flag per layer, true where the layer slides: the period of the global layers.
        global_layers = [index for index, slides in enumerate(pattern_value) if not slides]
        if global_layers:
            pattern = global_layers[0] + 1
    else:
        pattern = KNOWN_SLIDING_PATTERNS.get(arch)
    fields: dict[str, Any] = {"sliding_window_tokens": window}
    if pattern and pattern > 1 and pattern <= layers:
        fields["sliding_window_pattern"] = pattern
    return fields


def _mla(read: _Reader, key_length: int | None, value_length: int | None) -> dict[str, Any]:
    kv_rank = read.number("attention.kv_lora_rank")
    if not kv_rank:
        return {}
    rope = read.number("rope.dimension_count") or 64
    qk_head = key_length or rope * 3
    return {"kv_lora_rank": kv_rank, "q_lora_rank": read.number("attention.q_lora_rank") or 0,
            "qk_rope_head_dim": rope, "qk_nope_head_dim": max(1, qk_head - rope),
            "v_head_dim": value_length or max(1, qk_head - rope)}
