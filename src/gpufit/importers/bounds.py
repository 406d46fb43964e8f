"""Plausibility bounds every model reader applies: layer counts and indices, architecture values.

One set for GGUF metadata, `config.json` and tensor names, checked before anything is built per
layer, so a crafted file fails in microseconds instead of allocating gigabytes (or printing a
petabyte KV cache). Each bound sits far above every published model: the catalog's largest
values (January 2026) are 126 layers (Llama 3.1 405B), hidden 16,384, 128 heads, head_dim 256,
MLP 53,248, vocabulary 262,208 (Gemma 3), 512 experts (Qwen3.5 397B), MLA ranks 512/1,536,
an SSM state of 256 — every limit below is at least 60 times those.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gpufit.core.limits import MAX_LAYERS as CATALOG_MAX_LAYERS
from gpufit.importers.errors import ModelImportError

# llama.cpp keeps hyperparameters in 32-bit integers (llama_hparams); nothing larger is real.
MAX_VALUE = 2**31 - 1
# No released model has more than a few hundred layers; per-layer loops must stay cheap. The
# catalog's own bound, so an imported model saved with `a` always loads again.
MAX_LAYERS = CATALOG_MAX_LAYERS
_WIDTH = 2**20
_HEADS = 16_384
_HEAD_DIM = 16_384

# ModelSpec field → (what it is, in words; the largest plausible value).
FIELD_LIMITS: dict[str, tuple[str, int]] = {
    "layers": ("layer count", MAX_LAYERS),
    "hidden_size": ("hidden size", _WIDTH),
    "attention_heads": ("attention head count", _HEADS),
    "kv_heads": ("KV head count", _HEADS),
    "head_dim": ("head dimension", _HEAD_DIM),
    "intermediate_size": ("MLP width", _WIDTH),
    "vocab_size": ("vocabulary size", 2**24),
    "max_context_tokens": ("context length", MAX_VALUE),
    "experts_total": ("expert count", 65_536),
    "experts_active": ("active expert count", 65_536),
    "expert_intermediate_size": ("expert MLP width", _WIDTH),
    "shared_experts": ("shared expert count", 65_536),
    "shared_expert_intermediate_size": ("shared expert MLP width", _WIDTH),
    "dense_layers": ("leading dense layer count", MAX_LAYERS),
    "kv_lora_rank": ("KV LoRA rank", _WIDTH),
    "q_lora_rank": ("query LoRA rank", _WIDTH),
    "qk_rope_head_dim": ("RoPE head dimension", _HEAD_DIM),
    "qk_nope_head_dim": ("non-RoPE head dimension", _HEAD_DIM),
    "v_head_dim": ("value head dimension", _HEAD_DIM),
    "sliding_window_tokens": ("sliding window", MAX_VALUE),
    "sliding_window_pattern": ("sliding window pattern", MAX_LAYERS),
    "ssm_inner_size": ("SSM inner size", _WIDTH),
    "ssm_state_size": ("SSM state size", 65_536),
    "ssm_groups": ("SSM group count", _HEADS),
    "ssm_heads": ("SSM head count", _HEADS),
    "ssm_conv_kernel": ("SSM convolution kernel", 1_024),
}


def check_layer_count(path: str | Path, layers: int, where: str) -> int:
    """`layers` if it is a plausible layer count, else the error naming `where` it came from."""
    if not 1 <= layers <= MAX_LAYERS:
        raise ModelImportError(path, f"{where} gives {_number(layers)} layers; a model has "
                               f"1 to {MAX_LAYERS:,} (corrupt file?)")
    return layers


def check_layer_index(path: str | Path, tensor: str, layer: int) -> None:
    """Refuse a tensor whose name puts it in a layer no model has (`blk.4000000000.…`)."""
    if layer >= MAX_LAYERS:
        # The number is in the name (and may have thousands of digits): not repeated here.
        raise ModelImportError(path, f"tensor {_short(tensor)!r} names a layer past the most "
                               f"any model has ({MAX_LAYERS:,} layers; corrupt file?)")


def check_fields(path: str | Path, fields: Mapping[str, Any]) -> None:
    """Refuse architecture fields (ModelSpec keyword arguments) outside their plausible range,
    and layer lists that name a layer the model does not have."""
    for field, (label, limit) in FIELD_LIMITS.items():
        value = fields.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= limit:
            raise ModelImportError(path, f"the {label} reads {_number(value)}, outside the "
                                   f"plausible 0 to {limit:,} (corrupt file?)")
    layers = int(fields.get("layers", 0))
    for field in ("recurrent_layers", "attention_layers", "mlp_layers"):
        values = fields.get(field) or ()
        if any(not 0 <= index < layers for index in values):
            raise ModelImportError(path, f"{field} names a layer outside the model's {layers}")


def _number(value: int) -> str:
    # repr of a huge int is slow and past 4,300 digits raises ValueError.
    return f"{value:,}" if value.bit_length() <= 64 else "a number with more than 19 digits"


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."
