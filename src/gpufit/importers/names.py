"""What a tensor is, from its name: its weight group and its layer, for GGUF and Hugging Face names.

The groups are the estimator's (`gpufit.core.tensors.GROUPS`): speed reads each differently
(routed experts only in part), and the layer split and CPU offload move whole layers.
Tensors of a vision or audio tower sit outside the language model's layers, so they are
grouped as "other" and kept with the head.
"""

from __future__ import annotations

import re

_GGUF_LAYER = re.compile(r"^blk\.([0-9]+)\.(.+)$", re.DOTALL)
_HF_LAYER = re.compile(r"(?:^|\.)(?:layers|h|blocks|block|layer)\.([0-9]+)\.(.+)$", re.DOTALL)
# Layer numbers longer than this are read as this (no model has a billion layers), so a crafted
# 100,000-digit name neither slows int() down nor makes it fail; the readers then refuse it.
_LAYER_DIGITS = 9
UNREAL_LAYER = 10**_LAYER_DIGITS
_HF_EMBEDDING = re.compile(
    r"(?:^|\.)(?:embed_tokens|embed_tokens_per_layer|wte|tok_embeddings|word_embeddings)\.weight$")
_HF_OUTPUT = re.compile(r"(?:^|\.)lm_head\.|^output\.weight$")
_HF_ROUTER = re.compile(r"(?:^|\.)(?:gate|router)\.(?:weight|bias|e_score_correction_bias)$")
_TOWERS = re.compile("vision|visual|audio|image|mm_projector|multi_modal_projector|speech"
                     "|patch_embed")


def gguf_tensor_role(name: str) -> tuple[str, int | None]:
    """(group, layer index or None) of a tensor named as llama.cpp names them."""
    match = _GGUF_LAYER.match(name)
    if match is None:
        if name.startswith("token_embd.") or name.startswith("per_layer_token_embd."):
            return "embedding", None
        if name.startswith("output."):
            return "output", None
        return "other", None
    layer, rest = _layer_number(match.group(1)), match.group(2)
    if "norm" in rest or rest.startswith(("ffn_gate_inp", "exp_probs_b")):
        return "other", layer
    if "_shexp" in rest:
        return "shared_experts", layer
    if "_exps" in rest:
        return "experts", layer
    if rest.startswith("attn"):
        return "attention", layer
    if rest.startswith("ffn"):
        return "dense_mlp", layer
    return "other", layer


def _layer_number(digits: str) -> int:
    return int(digits) if len(digits) <= _LAYER_DIGITS else UNREAL_LAYER


def hf_tensor_role(name: str) -> tuple[str, int | None]:
    """(group, layer index or None) of a tensor named as Hugging Face checkpoints name them."""
    if _TOWERS.search(name):
        return "other", None
    match = _HF_LAYER.search(name)
    if match is None:
        if _HF_EMBEDDING.search(name):
            return "embedding", None
        if _HF_OUTPUT.search(name):
            return "output", None
        return "other", None
    layer, rest = _layer_number(match.group(1)), match.group(2)
    if "norm" in rest or rest.startswith(("ln_", "ln.")) or _HF_ROUTER.search(rest):
        return "other", layer
    if "shared_expert" in rest:
        return "shared_experts", layer
    if "experts." in rest or rest.startswith("experts"):
        return "experts", layer
    if "attn" in rest or "attention" in rest:
        return "attention", layer
    if "mlp" in rest or "ffn" in rest or "feed_forward" in rest:
        return "dense_mlp", layer
    return "other", layer


# A quant label as publishers put it in a file name: llama.cpp's types (Q4_K_M, Q4_0_4_4, IQ2_XXS,
# TQ1_0, Q2_K_S), their _L/_XL variants, unsloth's UD- prefix, and the float and MXFP4 types.
_QUANT_LABEL = re.compile(
    r"(?<![a-z0-9])((?:ud-)?(?:i?q\d(?:_(?:[0-9]+|k|xxs|xs|s|m|l|xl|nl|moe))*|tq\d_\d"
    r"|bf16|fp16|f16|fp32|f32|mxfp4(?:_moe)?))(?![a-z0-9])",
    re.IGNORECASE)
_SHARD = re.compile(r"-\d{5}-of-\d{5}$", re.IGNORECASE)


def quant_label_from_filename(name: str) -> str | None:
    """The quant a model file's name states, upper-cased as llama.cpp writes it ("Q4_K_M",
    "UD-Q4_K_XL", "BF16", "MXFP4_MOE"); None when the name states none.

    Reads the usual publisher patterns: `Model-Q4_K_M.gguf`, `model.Q4_K_M.gguf`,
    `model-UD-Q4_K_XL.gguf`, `model-q4_k_m-00001-of-00003.gguf`, `ggml-model-Q8_0.gguf`, a folder
    named after the quant (`Q5_K_M/model.gguf`); the last label in the name wins, since model
    names come first ("qwen2.5-0.5b-instruct-q4_k_m")."""
    stem = name.replace("\\", "/")
    parts = [part for part in stem.split("/") if part]
    for part in reversed(parts):
        base = re.sub(r"\.gguf$", "", part, flags=re.IGNORECASE)
        base = _SHARD.sub("", base)
        found = _QUANT_LABEL.findall(base)
        if found:
            return found[-1].upper()
    return None
