"""Writers for tiny but real model files: GGUF through gguf-py's writer, safetensors by hand.

Block sizes below are written out from ggml's type definitions (ggml/src/ggml-common.h:
block_q4_K is 2 fp16 + 12 scale bytes + 128 nibble bytes per 256 weights = 144, block_q6_K
128 + 64 + 16 + 2 = 210, block_q8_0 2 + 32 = 34 per 32), so expected sizes in the tests do
not come from the code under test or from gguf's own table.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter, LlamaFileType
from gguf.quants import quant_shape_to_byte_shape

# ggml type → (weights per block, bytes per block), from ggml-common.h.
BLOCKS = {"F32": (1, 4), "F16": (1, 2), "Q8_0": (32, 34), "Q4_K": (256, 144),
          "Q6_K": (256, 210), "Q5_K": (256, 176), "Q3_K": (256, 110)}
SAFETENSORS_BYTES = {"BF16": 2, "F16": 2, "F32": 4, "I32": 4, "I16": 2, "U8": 1, "F8_E4M3": 1}


def expected_bytes(shape: tuple[int, ...], kind: str) -> int:
    """Bytes of one tensor of `kind` with `shape`, from ggml's block layout."""
    block, size = BLOCKS[kind]
    elements = int(np.prod(shape))
    return elements // block * size


def write_gguf(path: Path, arch: str, metadata: dict[str, int],
               tensors: list[tuple[str, tuple[int, ...], str]],
               file_type: LlamaFileType | None = None, name: str | None = "Tiny Test Model",
               vocab: int = 0) -> int:
    """A GGUF with real metadata keys and tensors filled with bytes; returns the tensor bytes.

    `tensors` are (name, numpy-order shape (rows, …, row length), ggml type name).
    """
    writer = GGUFWriter(path, arch)
    if name:
        writer.add_name(name)
    for key, value in metadata.items():
        writer.add_uint32(f"{arch}.{key}", value)
    if file_type is not None:
        writer.add_file_type(file_type)
    if vocab:
        writer.add_token_list([f"t{index}" for index in range(vocab)])
    total = 0
    rng = np.random.default_rng(0)
    for tensor_name, shape, kind in tensors:
        qtype = GGMLQuantizationType[kind]
        size = expected_bytes(shape, kind)
        total += size
        if kind == "F32":
            data = rng.standard_normal(shape).astype(np.float32)
            writer.add_tensor(tensor_name, data)
        elif kind == "F16":
            writer.add_tensor(tensor_name, rng.standard_normal(shape).astype(np.float16))
        else:
            raw = rng.integers(0, 255, size=quant_shape_to_byte_shape(shape, qtype), dtype=np.uint8)
            writer.add_tensor(tensor_name, raw, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return total


def llama_tensors(layers: int = 2, hidden: int = 256, ffn: int = 512, vocab: int = 512,
                  kv_width: int = 128, main: str = "Q4_K", head: str = "Q6_K",
                  tied: bool = False) -> list[tuple[str, tuple[int, ...], str]]:
    """A small Llama-shaped tensor list in llama.cpp's names."""
    tensors = [("token_embd.weight", (vocab, hidden), main)]
    for layer in range(layers):
        prefix = f"blk.{layer}."
        tensors += [(prefix + "attn_norm.weight", (hidden,), "F32"),
                    (prefix + "attn_q.weight", (hidden, hidden), main),
                    (prefix + "attn_k.weight", (kv_width, hidden), main),
                    (prefix + "attn_v.weight", (kv_width, hidden), "Q6_K"),
                    (prefix + "attn_output.weight", (hidden, hidden), main),
                    (prefix + "ffn_norm.weight", (hidden,), "F32"),
                    (prefix + "ffn_gate.weight", (ffn, hidden), main),
                    (prefix + "ffn_up.weight", (ffn, hidden), main),
                    (prefix + "ffn_down.weight", (hidden, ffn), "Q6_K")]
    tensors.append(("output_norm.weight", (hidden,), "F32"))
    if not tied:
        tensors.append(("output.weight", (vocab, hidden), head))
    return tensors


LLAMA_METADATA = {"block_count": 2, "embedding_length": 256, "feed_forward_length": 512,
                  "attention.head_count": 4, "attention.head_count_kv": 2,
                  "context_length": 2048}


def write_safetensors(path: Path, tensors: list[tuple[str, str, list[int]]]) -> int:
    """A safetensors file with zero-filled data; returns the data bytes."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, dtype, shape in tensors:
        size = int(np.prod(shape)) * SAFETENSORS_BYTES[dtype] if shape else SAFETENSORS_BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(offset))
    return offset


def hf_llama_tensors(layers: int = 2, hidden: int = 256, ffn: int = 512, vocab: int = 512,
                     kv_width: int = 128, dtype: str = "BF16") -> list[tuple[str, str, list[int]]]:
    """A small Llama checkpoint in Hugging Face names."""
    tensors = [("model.embed_tokens.weight", dtype, [vocab, hidden])]
    for layer in range(layers):
        prefix = f"model.layers.{layer}."
        tensors += [(prefix + "input_layernorm.weight", dtype, [hidden]),
                    (prefix + "self_attn.q_proj.weight", dtype, [hidden, hidden]),
                    (prefix + "self_attn.k_proj.weight", dtype, [kv_width, hidden]),
                    (prefix + "self_attn.v_proj.weight", dtype, [kv_width, hidden]),
                    (prefix + "self_attn.o_proj.weight", dtype, [hidden, hidden]),
                    (prefix + "post_attention_layernorm.weight", dtype, [hidden]),
                    (prefix + "mlp.gate_proj.weight", dtype, [ffn, hidden]),
                    (prefix + "mlp.up_proj.weight", dtype, [ffn, hidden]),
                    (prefix + "mlp.down_proj.weight", dtype, [hidden, ffn])]
    tensors += [("model.norm.weight", dtype, [hidden]), ("lm_head.weight", dtype, [vocab, hidden])]
    return tensors


HF_LLAMA_CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                   "hidden_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
                   "num_key_value_heads": 2, "intermediate_size": 512, "vocab_size": 512,
                   "max_position_embeddings": 2048, "tie_word_embeddings": False,
                   "torch_dtype": "bfloat16"}
