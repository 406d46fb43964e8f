"""GGUF import: exact tensor bytes, architecture from metadata or tensors, split files, bad files."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest
from gguf import LlamaFileType
from model_files import LLAMA_METADATA, expected_bytes, llama_tensors, write_gguf

from gpufit.core.catalog import Catalog
from gpufit.core.estimate import estimate
from gpufit.core.specs import Hardware, Workload
from gpufit.core.tensors import weight_breakdown
from gpufit.importers.errors import ModelImportError
from gpufit.importers.gguf_file import read_gguf_header
from gpufit.importers.model_import import import_model


@pytest.fixture()
def llama_gguf(tmp_path: Path) -> Path:
    path = tmp_path / "Tiny-Llama-Q4_K_M.gguf"
    write_gguf(path, "llama", LLAMA_METADATA, llama_tensors(), LlamaFileType.MOSTLY_Q4_K_M, vocab=512)
    return path


def test_weights_are_the_sum_of_tensor_sizes(llama_gguf: Path, catalog: Catalog) -> None:
    tensors = llama_tensors()
    expected = sum(expected_bytes(shape, kind) for _name, shape, kind in tensors)
    imported = import_model(llama_gguf, catalog.quants)
    breakdown = imported.file_weights.breakdown
    assert breakdown.total_bytes == expected
    assert breakdown.total_params == sum(math.prod(shape) for _name, shape, _kind in tensors)
    # The embedding and the head are outside the layers; each layer holds its own tensors.
    assert breakdown.bytes_by_group["embedding"] == expected_bytes((512, 256), "Q4_K")
    assert breakdown.bytes_by_group["output"] == expected_bytes((512, 256), "Q6_K")
    layer_expected = sum(expected_bytes(shape, kind) for name, shape, kind in tensors
                         if name.startswith("blk.0."))
    assert breakdown.layer_bytes == (layer_expected, layer_expected)


def test_architecture_comes_from_the_metadata(llama_gguf: Path, catalog: Catalog) -> None:
    imported = import_model(llama_gguf, catalog.quants)
    spec = imported.spec
    assert (spec.layers, spec.hidden_size, spec.attention_heads, spec.kv_heads, spec.head_dim) \
        == (2, 256, 4, 2, 64)
    assert (spec.intermediate_size, spec.vocab_size, spec.max_context_tokens) == (512, 512, 2048)
    assert not spec.tied_embeddings and spec.mlp_gated
    assert spec.name == "Tiny Test Model"
    assert imported.quant_id == "Q4_K_M"
    assert spec.file_weights is not None and spec.file_weights.label == "MOSTLY_Q4_K_M"
    assert spec.file_weights.bytes_by_type["F32"] == 4 * (2 * 2 * 256 + 256)


def test_estimate_at_the_files_quant_uses_the_file_bytes(llama_gguf: Path, catalog: Catalog) -> None:
    imported = import_model(llama_gguf, catalog.quants)
    result = estimate(imported.spec, catalog.quants["Q4_K_M"], Hardware(catalog.gpus["rtx-4090"]),
                      Workload(context_tokens=1024))
    assert result.memory.weights_bytes == imported.file_weights.breakdown.total_bytes
    assert not any("estimated from the architecture" in note for note in result.notes)
    other = estimate(imported.spec, catalog.quants["Q8_0"], Hardware(catalog.gpus["rtx-4090"]),
                     Workload(context_tokens=1024))
    # At another quant the architecture path is used, and the result says so.
    assert other.memory.weights_bytes == weight_breakdown(
        imported.spec.__class__(**{**_spec_fields(imported.spec), "file_weights": None}),
        catalog.quants["Q8_0"]).total_bytes
    assert any("estimated from the architecture" in note for note in other.notes)


def _spec_fields(spec: object) -> dict[str, object]:
    return {name: getattr(spec, name) for name in spec.__slots__}  # type: ignore[attr-defined]


def test_split_files_are_summed(tmp_path: Path, catalog: Catalog) -> None:
    tensors = llama_tensors()
    first, second = tensors[:10], tensors[10:]
    part1 = tmp_path / "Tiny-00001-of-00002.gguf"
    part2 = tmp_path / "Tiny-00002-of-00002.gguf"
    total = write_gguf(part1, "llama", LLAMA_METADATA, first, LlamaFileType.MOSTLY_Q4_K_M)
    total += write_gguf(part2, "llama", {}, second, name=None)
    imported = import_model(part2, catalog.quants)  # any part names the whole model
    assert imported.file_weights.breakdown.total_bytes == total
    assert len(imported.file_weights.paths) == 2
    part2.unlink()
    with pytest.raises(ModelImportError, match=r"Tiny-00002-of-00002\.gguf is missing"):
        import_model(part1, catalog.quants)


def test_moe_metadata_and_stacked_experts(tmp_path: Path, catalog: Catalog) -> None:
    hidden, experts, width = 256, 8, 128
    tensors = [("token_embd.weight", (512, hidden), "Q8_0")]
    for layer in range(2):
        prefix = f"blk.{layer}."
        tensors += [(prefix + "attn_q.weight", (hidden, hidden), "Q8_0"),
                    (prefix + "attn_k.weight", (64, hidden), "Q8_0"),
                    (prefix + "attn_v.weight", (64, hidden), "Q8_0"),
                    (prefix + "attn_output.weight", (hidden, hidden), "Q8_0"),
                    (prefix + "ffn_gate_inp.weight", (experts, hidden), "F32"),
                    (prefix + "ffn_gate_exps.weight", (experts, width, hidden), "Q8_0"),
                    (prefix + "ffn_up_exps.weight", (experts, width, hidden), "Q8_0"),
                    (prefix + "ffn_down_exps.weight", (experts, hidden, width), "Q8_0")]
    tensors.append(("output.weight", (512, hidden), "Q8_0"))
    path = tmp_path / "moe.gguf"
    write_gguf(path, "qwen3moe", {"block_count": 2, "embedding_length": hidden,
                                  "attention.head_count": 4, "attention.head_count_kv": 1,
                                  "expert_count": experts, "expert_used_count": 2,
                                  "context_length": 4096}, tensors, LlamaFileType.MOSTLY_Q8_0)
    imported = import_model(path, catalog.quants)
    spec, breakdown = imported.spec, imported.file_weights.breakdown
    assert (spec.experts_total, spec.experts_active, spec.expert_intermediate_size) == (8, 2, 128)
    expert_params = 2 * 3 * experts * width * hidden
    assert breakdown.params_by_group["experts"] == expert_params
    # Active = everything but the 6 of 8 experts a token does not use.
    assert breakdown.active_params == breakdown.total_params - expert_params * 6 // 8
    assert breakdown.bytes_by_group["experts"] == expert_params // 32 * 34


def test_unknown_architecture_falls_back_to_tensor_shapes(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "odd.gguf"
    write_gguf(path, "brand-new-arch", {}, llama_tensors(hidden=256, kv_width=128),
               LlamaFileType.MOSTLY_Q4_K_M)
    imported = import_model(path, catalog.quants)
    spec = imported.spec
    assert (spec.layers, spec.hidden_size, spec.vocab_size, spec.intermediate_size) == (2, 256, 512, 512)
    # The KV width per layer is what sizes the cache: kv_heads × head_dim = attn_k rows.
    assert spec.kv_heads * spec.head_dim == 128
    assert any("read from tensor shapes" in note for note in imported.notes)


def test_unlisted_file_type_falls_back_to_the_main_tensor_type(tmp_path: Path,
                                                               catalog: Catalog) -> None:
    path = tmp_path / "mixed.gguf"
    write_gguf(path, "llama", LLAMA_METADATA, llama_tensors(), file_type=None)
    imported = import_model(path, catalog.quants)
    assert catalog.quants[imported.quant_id].default_type == "Q4_K"
    assert any("no general.file_type" in note for note in imported.notes)


def test_big_endian_header_is_read(tmp_path: Path) -> None:
    path = tmp_path / "be.gguf"
    key = b"general.architecture"
    value = b"llama"
    header = (b"GGUF" + struct.pack(">I", 3) + struct.pack(">QQ", 0, 1)
              + struct.pack(">Q", len(key)) + key + struct.pack(">I", 8)
              + struct.pack(">Q", len(value)) + value)
    path.write_bytes(header)
    parsed = read_gguf_header(path)
    assert parsed.version == 3 and parsed.metadata["general.architecture"] == "llama"


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"PK\x03\x04 a zip file", "not a GGUF file"),
    (b"GGUF" + struct.pack("<I", 1) + bytes(16), "unsupported GGUF version 1"),
    (b"GGUF" + struct.pack("<I", 99) + bytes(16), "unsupported GGUF version 99"),
    (b"GGUF" + struct.pack("<I", 3) + struct.pack("<QQ", 10**12, 0), "more than the file can hold"),
])
def test_bad_headers_name_the_problem(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelImportError, match=message) as raised:
        read_gguf_header(path)
    assert str(path) in str(raised.value)


def test_truncated_files_are_caught_in_the_header_and_in_the_data(llama_gguf: Path,
                                                                  tmp_path: Path) -> None:
    data = llama_gguf.read_bytes()
    header_cut = tmp_path / "header-cut.gguf"
    header_cut.write_bytes(data[:200])
    with pytest.raises(ModelImportError, match="truncated"):
        read_gguf_header(header_cut)
    data_cut = tmp_path / "data-cut.gguf"
    data_cut.write_bytes(data[:-1000])
    with pytest.raises(ModelImportError, match="incomplete download"):
        read_gguf_header(data_cut)


def test_unreadable_paths_say_why(tmp_path: Path, catalog: Catalog) -> None:
    with pytest.raises(ModelImportError, match="no such file"):
        import_model(tmp_path / "missing.gguf", catalog.quants)
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(ModelImportError, match="no model here"):
        import_model(empty_dir, catalog.quants)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelImportError, match="not a GGUF or safetensors model"):
        import_model(text, catalog.quants)


def test_permission_denied_is_reported(llama_gguf: Path, catalog: Catalog,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, which reads any file, so the refusal is simulated at open().
    real_open = Path.open

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        if self == llama_gguf:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(ModelImportError, match="permission denied") as raised:
        import_model(llama_gguf, catalog.quants)
    assert str(llama_gguf) in str(raised.value)


def _write_with(path: Path, arch: str, numbers: dict[str, int], tensors) -> None:
    write_gguf(path, arch, numbers, tensors, LlamaFileType.MOSTLY_Q8_0)


def test_mla_lengths_are_read_for_deepseek(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "ds.gguf"
    # DeepSeek-V3's attention (config.json: kv_lora_rank 512, q_lora_rank 1536, qk_rope 64,
    # qk_nope 128, v_head 128) in llama.cpp's keys, with the absorbed-MLA lengths.
    numbers = {"block_count": 2, "embedding_length": 256, "attention.head_count": 4,
               "attention.head_count_kv": 1, "attention.key_length": 576,
               "attention.value_length": 512, "attention.key_length_mla": 192,
               "attention.value_length_mla": 128, "attention.kv_lora_rank": 512,
               "attention.q_lora_rank": 1536, "rope.dimension_count": 64, "context_length": 4096}
    _write_with(path, "deepseek2", numbers, llama_tensors())
    spec = import_model(path, catalog.quants).spec
    assert (spec.kv_lora_rank, spec.q_lora_rank, spec.qk_rope_head_dim, spec.qk_nope_head_dim,
            spec.v_head_dim) == (512, 1536, 64, 128, 128)
    assert spec.uses_mla


def test_sliding_window_pattern_follows_llama_cpp(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "gemma.gguf"
    numbers = {**LLAMA_METADATA, "attention.sliding_window": 1024, "block_count": 2}
    _write_with(path, "gemma3", numbers, llama_tensors())
    spec = import_model(path, catalog.quants).spec
    # Gemma 3: five local layers, then one global (llama.cpp hard-codes the period 6); here
    # the two layers are both local, which the KV cache then reflects.
    assert spec.sliding_window_tokens == 1024
    assert spec.is_sliding_layer(0) and spec.is_sliding_layer(1)


def test_a_folder_holding_one_gguf_opens_it(tmp_path: Path, llama_gguf: Path,
                                            catalog: Catalog) -> None:
    assert import_model(llama_gguf.parent, catalog.quants).path == llama_gguf
    write_gguf(tmp_path / "second.gguf", "llama", LLAMA_METADATA, llama_tensors())
    with pytest.raises(ModelImportError, match="holds 2 GGUF models"):
        import_model(tmp_path, catalog.quants)


@pytest.mark.parametrize(("arch", "kind", "message"), [
    ("llama", "adapter", "LoRA adapter"),
    ("clip", None, "multimodal projector"),
])
def test_adapters_and_projectors_are_not_models(tmp_path: Path, catalog: Catalog, arch: str,
                                                kind: str | None, message: str) -> None:
    from gguf import GGUFWriter

    path = tmp_path / "side.gguf"
    writer = GGUFWriter(path, arch)
    if kind:
        writer.add_string("general.type", kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ModelImportError, match=message):
        import_model(path, catalog.quants)
