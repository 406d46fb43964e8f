"""What a tensor is, from its name: its weight group and its layer, for GGUF and Hugging Face names.

The groups are the estimator's (`gpufit.core.tensors.GROUPS`): speed reads each differently
(routed experts only in part), and the layer split and CPU offload move whole layers.
Tensors of a vision or audio tower sit outside the language model's layers, so they are
grouped as "other" and kept with the head.
"""

from __future__ import annotations

import re

_GGUF_LAYER = re.compile(r"^blk\.(\d+)\.(.+)$")
_HF_LAYER = re.compile(r"(?:^|\.)(?:layers|h|blocks|block|layer)\.(\d+)\.(.+)$")
_HF_EMBEDDING = re.compile(
    r"(?:^|\.)(?:embed_tokens|embed_tokens_per_layer|wte|tok_embeddings|word_embeddings)\.weight$")
_HF_OUTPUT = re.compile(r"(?:^|\.)lm_head\.|^output\.weight$")
_HF_ROUTER = re.compile(r"(?:^|\.)(?:gate|router)\.(?:weight|bias|e_score_correction_bias)$")
_TOWERS = ("vision", "visual", "audio", "image", "mm_projector", "multi_modal_projector",
           "speech", "patch_embed")


def gguf_tensor_role(name: str) -> tuple[str, int | None]:
    """(group, layer index or None) of a tensor named as llama.cpp names them."""
    match = _GGUF_LAYER.match(name)
    if match is None:
        if name.startswith("token_embd.") or name.startswith("per_layer_token_embd."):
            return "embedding", None
        if name.startswith("output."):
            return "output", None
        return "other", None
    layer, rest = int(match.group(1)), match.group(2)
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


def hf_tensor_role(name: str) -> tuple[str, int | None]:
    """(group, layer index or None) of a tensor named as Hugging Face checkpoints name them."""
    if any(tower in name for tower in _TOWERS):
        return "other", None
    match = _HF_LAYER.search(name)
    if match is None:
        if _HF_EMBEDDING.search(name):
            return "embedding", None
        if _HF_OUTPUT.search(name):
            return "output", None
        return "other", None
    layer, rest = int(match.group(1)), match.group(2)
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
