"""Model import speed: a ~112 GB GGUF and a 60-shard safetensors folder, both sparse files.

The GGUF has a real header: a Qwen3-235B-A22B-shaped MoE (94 layers, 128 experts, 943
tensors) at a Q3_K/Q4_K/Q6_K mix, with a 151,936-token vocabulary and 151,387 merges,
which is what makes headers slow to read. The weights are a hole (`truncate`), so the files
take ~7 MB of disk. The safetensors folder is a Llama-3.1-405B-shaped BF16 model in 60
shards with an index, the way Hugging Face publishes it.

Run: python benchmarks/import_speed.py [--gguf-reader]   (target: each import < 1 s)
`--gguf-reader` also times gguf-py's GGUFReader on the same file, for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from gpufit.core.catalog import load_catalog
from gpufit.importers.model_import import import_model

SHARDS = 60


def write_big_gguf(path: Path) -> int:
    """Write the header of a large MoE GGUF and extend it sparsely; returns the tensor bytes."""
    import numpy as np
    from gguf import GGML_QUANT_SIZES, GGUFWriter, LlamaFileType
    from gguf import GGMLQuantizationType as Type
    from gguf.quants import quant_shape_to_byte_shape

    writer = GGUFWriter(path, "qwen3moe")
    writer.add_name("Qwen3 235B A22B (benchmark)")
    writer.add_block_count(94)
    writer.add_context_length(40960)
    writer.add_embedding_length(4096)
    writer.add_feed_forward_length(12288)
    writer.add_head_count(64)
    writer.add_head_count_kv(4)
    writer.add_key_length(128)
    writer.add_value_length(128)
    writer.add_expert_count(128)
    writer.add_expert_used_count(8)
    writer.add_expert_feed_forward_length(1536)
    writer.add_file_type(LlamaFileType.MOSTLY_Q3_K_M)
    vocab = 151_936
    writer.add_token_list([f"token{index}" for index in range(vocab)])
    writer.add_token_types([1] * vocab)
    writer.add_token_merges([f"a{index} b{index}" for index in range(151_387)])
    total = 0

    def tensor(name: str, shape: tuple[int, ...], kind: Type) -> None:
        nonlocal total
        block, size = GGML_QUANT_SIZES[kind]
        elements = int(np.prod(shape))
        total += elements // block * size
        byte_shape = shape if kind == Type.F32 else quant_shape_to_byte_shape(shape, kind)
        dtype = np.dtype(np.float32) if kind == Type.F32 else np.dtype(np.uint8)
        writer.add_tensor_info(name, byte_shape, dtype, elements // block * size, raw_dtype=kind)

    tensor("token_embd.weight", (vocab, 4096), Type.Q3_K)
    for layer in range(94):
        prefix = f"blk.{layer}."
        tensor(prefix + "attn_norm.weight", (4096,), Type.F32)
        tensor(prefix + "attn_q.weight", (8192, 4096), Type.Q3_K)
        tensor(prefix + "attn_k.weight", (512, 4096), Type.Q3_K)
        tensor(prefix + "attn_v.weight", (512, 4096), Type.Q5_K)
        tensor(prefix + "attn_output.weight", (4096, 8192), Type.Q4_K)
        tensor(prefix + "ffn_norm.weight", (4096,), Type.F32)
        tensor(prefix + "ffn_gate_inp.weight", (128, 4096), Type.F32)
        tensor(prefix + "ffn_gate_exps.weight", (128, 1536, 4096), Type.Q3_K)
        tensor(prefix + "ffn_up_exps.weight", (128, 1536, 4096), Type.Q3_K)
        tensor(prefix + "ffn_down_exps.weight", (128, 4096, 1536), Type.Q4_K)
    tensor("output_norm.weight", (4096,), Type.F32)
    tensor("output.weight", (vocab, 4096), Type.Q6_K)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    header = path.stat().st_size
    os.truncate(path, header + total + 64)
    return total


def write_sharded_safetensors(folder: Path) -> int:
    """A Llama-3.1-405B-shaped BF16 folder in SHARDS sparse shards; returns the tensor bytes."""
    hidden, layers, vocab, ffn, kv_width = 16384, 126, 128256, 53248, 1024
    tensors: list[tuple[str, list[int]]] = [("model.embed_tokens.weight", [vocab, hidden])]
    for layer in range(layers):
        prefix = f"model.layers.{layer}."
        tensors += [(prefix + "input_layernorm.weight", [hidden]),
                    (prefix + "self_attn.q_proj.weight", [hidden, hidden]),
                    (prefix + "self_attn.k_proj.weight", [kv_width, hidden]),
                    (prefix + "self_attn.v_proj.weight", [kv_width, hidden]),
                    (prefix + "self_attn.o_proj.weight", [hidden, hidden]),
                    (prefix + "post_attention_layernorm.weight", [hidden]),
                    (prefix + "mlp.gate_proj.weight", [ffn, hidden]),
                    (prefix + "mlp.up_proj.weight", [ffn, hidden]),
                    (prefix + "mlp.down_proj.weight", [hidden, ffn])]
    tensors += [("model.norm.weight", [hidden]), ("lm_head.weight", [vocab, hidden])]
    per_shard = -(-len(tensors) // SHARDS)
    weight_map: dict[str, str] = {}
    total = 0
    for shard in range(SHARDS):
        name = f"model-{shard + 1:05d}-of-{SHARDS:05d}.safetensors"
        header: dict[str, object] = {"__metadata__": {"format": "pt"}}
        offset = 0
        for tensor_name, shape in tensors[shard * per_shard:(shard + 1) * per_shard]:
            size = 2
            for extent in shape:
                size *= extent
            header[tensor_name] = {"dtype": "BF16", "shape": shape,
                                   "data_offsets": [offset, offset + size]}
            weight_map[tensor_name] = name
            offset += size
        raw = json.dumps(header).encode()
        with (folder / name).open("wb") as handle:
            handle.write(len(raw).to_bytes(8, "little") + raw)
        os.truncate(folder / name, 8 + len(raw) + offset)
        total += offset
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    (folder / "config.json").write_text(json.dumps({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
        "num_hidden_layers": layers, "num_attention_heads": 128, "num_key_value_heads": 8,
        "intermediate_size": ffn, "vocab_size": vocab, "max_position_embeddings": 131072,
        "tie_word_embeddings": False, "torch_dtype": "bfloat16"}))
    return total


def timed(label: str, path: Path, expected_bytes: int, repeats: int = 5) -> None:
    quants = load_catalog().quants
    samples = []
    imported = None
    for _ in range(repeats):
        start = time.perf_counter()
        imported = import_model(path, quants)
        samples.append(time.perf_counter() - start)
    assert imported is not None
    weights = imported.file_weights.breakdown.total_bytes
    status = "exact" if weights == expected_bytes else f"MISMATCH (expected {expected_bytes:,})"
    print(f"{label}: median {statistics.median(samples) * 1000:.0f} ms, first "
          f"{samples[0] * 1000:.0f} ms over {repeats} runs; weights {weights / 1e9:.1f} GB "
          f"({status}), {imported.quant_id}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf-reader", action="store_true",
                        help="also time gguf-py's GGUFReader on the GGUF")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        gguf_path = root / "Qwen3-235B-A22B-Q3_K_M.gguf"
        gguf_bytes = write_big_gguf(gguf_path)
        print(f"GGUF: {gguf_path.stat().st_size / 1e9:.1f} GB apparent, "
              f"{gguf_path.stat().st_blocks * 512 / 1e6:.1f} MB on disk")
        timed("GGUF import", gguf_path, gguf_bytes)
        folder = root / "Llama-3.1-405B"
        folder.mkdir()
        shard_bytes = write_sharded_safetensors(folder)
        print(f"safetensors: {SHARDS} shards, {shard_bytes / 1e9:.1f} GB apparent")
        timed("safetensors import", folder, shard_bytes)
        if args.gguf_reader:
            from gguf import GGUFReader

            start = time.perf_counter()
            GGUFReader(gguf_path)
            print(f"gguf-py GGUFReader on the same GGUF: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
