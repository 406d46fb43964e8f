"""Hybrid models read from their files: which layers attend, which keep a recurrent state, which
have an MLP, and the state's sizes — from a Hugging Face config.json and from a GGUF's tensors.

The configs below carry the published config.json values; the expected fields are the catalog
entries, which were written by hand from the same configs (catalog/models/hybrid.toml).
"""

from __future__ import annotations

from pathlib import Path

from gguf import LlamaFileType
from model_files import write_gguf

from gpufit.core.catalog import Catalog, load_catalog
from gpufit.core.memory import kv_cache_bytes
from gpufit.core.specs import Workload
from gpufit.importers.hf_config import architecture_from_hf_config
from gpufit.importers.model_import import import_model

CONFIG = Path("config.json")
HYBRID_FIELDS = ("recurrent_layers", "recurrent_kind", "ssm_inner_size", "ssm_state_size",
                 "ssm_groups", "ssm_heads", "ssm_conv_kernel")

QWEN3_NEXT = {  # Qwen/Qwen3-Next-80B-A3B-Instruct config.json
    "model_type": "qwen3_next", "num_hidden_layers": 48, "hidden_size": 2048,
    "num_attention_heads": 16, "num_key_value_heads": 2, "head_dim": 256,
    "intermediate_size": 5120, "moe_intermediate_size": 512,
    "shared_expert_intermediate_size": 512, "num_experts": 512, "num_experts_per_tok": 10,
    "decoder_sparse_step": 1, "mlp_only_layers": [], "full_attention_interval": 4,
    "linear_num_value_heads": 32, "linear_num_key_heads": 16, "linear_key_head_dim": 128,
    "linear_value_head_dim": 128, "linear_conv_kernel_dim": 4, "vocab_size": 151936,
    "max_position_embeddings": 262144, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}
GRANITE_H_TINY = {  # ibm-granite/granite-4.0-h-tiny config.json
    "model_type": "granitemoehybrid", "num_hidden_layers": 40, "hidden_size": 1536,
    "num_attention_heads": 12, "num_key_value_heads": 4, "intermediate_size": 512,
    "shared_intermediate_size": 1024, "num_local_experts": 64, "num_experts_per_tok": 6,
    "layer_types": ["attention" if index in (5, 15, 25, 35) else "mamba" for index in range(40)],
    "mamba_n_heads": 48, "mamba_d_head": 64, "mamba_d_state": 128, "mamba_n_groups": 1,
    "mamba_d_conv": 4, "mamba_expand": 2, "vocab_size": 100352,
    "max_position_embeddings": 131072, "tie_word_embeddings": True, "torch_dtype": "bfloat16",
}
NEMOTRON_NANO_9B = {  # nvidia/NVIDIA-Nemotron-Nano-9B-v2 config.json
    "model_type": "nemotron_h", "num_hidden_layers": 56, "hidden_size": 4480,
    "num_attention_heads": 40, "num_key_value_heads": 8, "head_dim": 128,
    "intermediate_size": 15680,
    "hybrid_override_pattern": "M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-",
    "mamba_num_heads": 128, "mamba_head_dim": 80, "ssm_state_size": 128, "n_groups": 8,
    "conv_kernel": 4, "vocab_size": 131072, "max_position_embeddings": 131072,
    "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}


def _hybrid_part(fields: dict, catalog_model) -> None:
    for name in HYBRID_FIELDS:
        expected = getattr(catalog_model, name)
        got = tuple(fields[name]) if isinstance(fields[name], list) else fields[name]
        assert got == expected, name


def test_qwen3_next_config_gives_its_deltanet_layers(catalog: Catalog) -> None:
    fields, _notes = architecture_from_hf_config(QWEN3_NEXT, CONFIG)
    model = catalog.models["qwen3-next-80b-a3b"]
    _hybrid_part(fields, model)
    assert tuple(fields["attention_layers"]) == tuple(range(3, 48, 4))
    assert fields["attention_output_gate"] is True and model.attention_output_gate


def test_granite_hybrid_config_gives_its_mamba2_layers(catalog: Catalog) -> None:
    fields, _notes = architecture_from_hf_config(GRANITE_H_TINY, CONFIG)
    model = catalog.models["granite-4.0-h-tiny"]
    _hybrid_part(fields, model)
    assert tuple(fields["attention_layers"]) == model.attention_layers == (5, 15, 25, 35)


def test_nemotron_h_pattern_gives_mamba_attention_and_mlp_layers(catalog: Catalog) -> None:
    fields, _notes = architecture_from_hf_config(NEMOTRON_NANO_9B, CONFIG)
    model = catalog.models["nemotron-nano-9b-v2"]
    _hybrid_part(fields, model)
    assert tuple(fields["attention_layers"]) == model.attention_layers
    assert tuple(fields["mlp_layers"]) == model.mlp_layers
    assert len(fields["mlp_layers"]) == 25  # "25 MLPs in 56 layers"


def _hybrid_gguf(path: Path) -> None:
    """4 layers: Mamba2 on 0-2, attention on 3, an MLP on every layer (a granitehybrid shape)."""
    hidden, inner, state, heads, ffn = 256, 512, 64, 8, 512
    conv = inner + 2 * state
    tensors: list[tuple[str, tuple[int, ...], str]] = [("token_embd.weight", (512, hidden), "Q8_0")]
    for layer in range(4):
        prefix = f"blk.{layer}."
        tensors.append((prefix + "attn_norm.weight", (hidden,), "F32"))
        if layer < 3:
            tensors += [(prefix + "ssm_in.weight", (2 * inner + 2 * state + heads, hidden), "Q8_0"),
                        (prefix + "ssm_conv1d.weight", (conv, 4), "F32"),
                        (prefix + "ssm_a", (heads,), "F32"),
                        (prefix + "ssm_out.weight", (hidden, inner), "Q8_0")]
        else:
            tensors += [(prefix + "attn_q.weight", (hidden, hidden), "Q8_0"),
                        (prefix + "attn_k.weight", (64, hidden), "Q8_0"),
                        (prefix + "attn_v.weight", (64, hidden), "Q8_0"),
                        (prefix + "attn_output.weight", (hidden, hidden), "Q8_0")]
        tensors += [(prefix + "ffn_norm.weight", (hidden,), "F32"),
                    (prefix + "ffn_gate.weight", (ffn, hidden), "Q8_0"),
                    (prefix + "ffn_up.weight", (ffn, hidden), "Q8_0"),
                    (prefix + "ffn_down.weight", (hidden, ffn), "Q8_0")]
    tensors.append(("output_norm.weight", (hidden,), "F32"))
    metadata = {"block_count": 4, "embedding_length": hidden, "feed_forward_length": ffn,
                "attention.head_count": 4, "attention.head_count_kv": 1,
                "context_length": 4096, "ssm.conv_kernel": 4, "ssm.inner_size": inner,
                "ssm.state_size": state, "ssm.group_count": 1, "ssm.time_step_rank": heads}
    write_gguf(path, "granitehybrid", metadata, tensors, LlamaFileType.MOSTLY_Q8_0, vocab=512)


def test_a_hybrid_gguf_keeps_kv_only_for_its_attention_layer(tmp_path: Path) -> None:
    path = tmp_path / "tiny-hybrid-Q8_0.gguf"
    _hybrid_gguf(path)
    imported = import_model(path, load_catalog().quants)
    spec = imported.spec
    assert spec.recurrent_layers == (0, 1, 2) and spec.attention_layers == (3,)
    assert (spec.recurrent_kind, spec.ssm_inner_size, spec.ssm_state_size, spec.ssm_groups,
            spec.ssm_heads, spec.ssm_conv_kernel) == ("mamba2", 512, 64, 1, 8, 4)
    workload = Workload(context_tokens=1000, sequences=1)
    # One attention layer: K and V of 1 head × 64 dims, f16, for 1,000 tokens; plus three
    # Mamba2 states of (4 − 1) × (512 + 2 × 64) + 64 × 512 F32 elements.
    kv = 2 * 1 * 64 * 2 * 1000
    state = 3 * (3 * (512 + 128) + 64 * 512) * 4
    assert kv_cache_bytes(spec, workload) == kv + state
