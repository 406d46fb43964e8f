"""Hugging Face folders: safetensors headers (one file or index shards), quantized formats, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from model_files import HF_LLAMA_CONFIG, hf_llama_tensors, write_safetensors

from gpufit.core.catalog import Catalog
from gpufit.importers.errors import ModelImportError
from gpufit.importers.model_import import import_model
from gpufit.importers.safetensors_file import read_safetensors_header


def _folder(tmp_path: Path, config: dict[str, object] | None = None) -> Path:
    folder = tmp_path / "Tiny-Llama-HF"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config or HF_LLAMA_CONFIG))
    return folder


def test_single_file_bytes_and_params_are_exact(tmp_path: Path, catalog: Catalog) -> None:
    folder = _folder(tmp_path)
    tensors = hf_llama_tensors()
    data = write_safetensors(folder / "model.safetensors", tensors)
    imported = import_model(folder, catalog.quants)
    breakdown = imported.file_weights.breakdown
    assert breakdown.total_bytes == data
    assert breakdown.total_params == sum(math.prod(shape) for _name, _dtype, shape in tensors)
    assert imported.quant_id == "BF16"
    assert breakdown.bytes_by_group["embedding"] == 512 * 256 * 2
    assert breakdown.bytes_by_group["output"] == 512 * 256 * 2
    per_layer = (2 * 256 + 2 * 256 * 256 + 2 * 128 * 256 + 3 * 512 * 256) * 2
    assert breakdown.layer_bytes == (per_layer, per_layer)
    spec = imported.spec
    assert (spec.layers, spec.hidden_size, spec.kv_heads, spec.head_dim) == (2, 256, 2, 64)


def test_index_shards_are_summed_and_missing_shards_named(tmp_path: Path, catalog: Catalog) -> None:
    folder = _folder(tmp_path)
    tensors = hf_llama_tensors()
    halves = {"model-00001-of-00002.safetensors": tensors[:11],
              "model-00002-of-00002.safetensors": tensors[11:]}
    total = sum(write_safetensors(folder / name, part) for name, part in halves.items())
    weight_map = {name: shard for shard, part in halves.items() for name, _dtype, _shape in part}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    imported = import_model(folder / "config.json", catalog.quants)  # a file inside names it too
    assert imported.file_weights.breakdown.total_bytes == total
    assert len(imported.file_weights.paths) == 2
    (folder / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(ModelImportError, match=r"model-00002-of-00002\.safetensors is missing"):
        import_model(folder, catalog.quants)


def test_gptq_packed_weights_count_as_their_real_parameters(tmp_path: Path, catalog: Catalog) -> None:
    config = {**HF_LLAMA_CONFIG, "torch_dtype": "float16",
              "quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 128}}
    folder = _folder(tmp_path, config)
    # One 4-bit linear: 8 weights per int32; scales and zeros per group of 128 inputs.
    tensors = [("model.embed_tokens.weight", "F16", [512, 256]),
               ("model.layers.0.mlp.up_proj.qweight", "I32", [256 // 8, 512]),
               ("model.layers.0.mlp.up_proj.qzeros", "I32", [2, 512 // 8]),
               ("model.layers.0.mlp.up_proj.scales", "F16", [2, 512]),
               ("model.layers.0.mlp.up_proj.g_idx", "I32", [256])]
    data = write_safetensors(folder / "model.safetensors", tensors)
    imported = import_model(folder, catalog.quants)
    breakdown = imported.file_weights.breakdown
    assert imported.quant_id == "GPTQ-INT4"
    assert breakdown.total_bytes == data
    assert breakdown.params_by_group["dense_mlp"] == 256 * 512
    assert breakdown.params_by_group["embedding"] == 512 * 256


def test_bad_headers_name_the_file_and_problem(tmp_path: Path) -> None:
    cases = {
        "short.safetensors": (b"\x01\x02", "shorter than the 8-byte header length"),
        "huge.safetensors": ((10**12).to_bytes(8, "little") + b"{}", "header length reads"),
        "notjson.safetensors": ((5).to_bytes(8, "little") + b"hello", "not JSON"),
        "array.safetensors": ((2).to_bytes(8, "little") + b"[]", "not a JSON object"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ModelImportError, match=message) as raised:
            read_safetensors_header(path)
        assert name in str(raised.value)


def test_inconsistent_and_truncated_tensors_are_refused(tmp_path: Path) -> None:
    header = {"w": {"dtype": "BF16", "shape": [4, 4], "data_offsets": [0, 30]}}
    raw = json.dumps(header).encode()
    wrong = tmp_path / "wrong.safetensors"
    wrong.write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(30))
    with pytest.raises(ModelImportError, match="needs 32 bytes but data_offsets give 30"):
        read_safetensors_header(wrong)
    write_safetensors(tmp_path / "whole.safetensors", [("w", "BF16", [64, 64])])
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes((tmp_path / "whole.safetensors").read_bytes()[:-100])
    with pytest.raises(ModelImportError, match="incomplete download"):
        read_safetensors_header(cut)


def test_folders_without_a_model_say_what_is_missing(tmp_path: Path, catalog: Catalog) -> None:
    no_config = tmp_path / "weights-only"
    no_config.mkdir()
    write_safetensors(no_config / "model.safetensors", [("w", "BF16", [2, 2])])
    with pytest.raises(ModelImportError, match=r"no config\.json"):
        import_model(no_config, catalog.quants)
    no_weights = _folder(tmp_path)
    with pytest.raises(ModelImportError, match=r"no \.safetensors files"):
        import_model(no_weights, catalog.quants)
    bad_config = tmp_path / "bad-config"
    bad_config.mkdir()
    (bad_config / "config.json").write_text("{not json")
    with pytest.raises(ModelImportError, match="not valid JSON"):
        import_model(bad_config, catalog.quants)


@pytest.mark.parametrize(("quantization", "tensors", "quant_id", "mlp_params"), [
    # AWQ: int32 qweight [in, out / 8] (8 nibbles each), qzeros and fp16 scales per group.
    ({"quant_method": "awq", "bits": 4, "group_size": 128},
     [("model.layers.0.mlp.up_proj.qweight", "I32", [256, 512 // 8]),
      ("model.layers.0.mlp.up_proj.qzeros", "I32", [2, 512 // 8]),
      ("model.layers.0.mlp.up_proj.scales", "F16", [2, 512])], "AWQ-INT4", 256 * 512),
    # bitsandbytes NF4: two weights per uint8, plus absmax and the quant map.
    ({"quant_method": "bitsandbytes", "load_in_4bit": True},
     [("model.layers.0.mlp.up_proj.weight", "U8", [256 * 512 // 2, 1]),
      ("model.layers.0.mlp.up_proj.weight.absmax", "F32", [256 * 512 // 64]),
      ("model.layers.0.mlp.up_proj.weight.quant_map", "F32", [16])], "NF4", 256 * 512),
    # FP8: one byte per weight and a scale.
    ({"quant_method": "fp8"},
     [("model.layers.0.mlp.up_proj.weight", "F8_E4M3", [512, 256]),
      ("model.layers.0.mlp.up_proj.weight_scale_inv", "F32", [4, 2])], "FP8", 256 * 512),
    # MXFP4 experts (gpt-oss): 16 bytes of nibbles per 32-weight block, one scale byte each.
    ({"quant_method": "mxfp4"},
     [("model.layers.0.mlp.experts.gate_up_proj_blocks", "U8", [4, 512, 8, 16]),
      ("model.layers.0.mlp.experts.gate_up_proj_scales", "U8", [4, 512, 8])], "MXFP4",
     4 * 512 * 8 * 32),
])
def test_quantized_checkpoints_map_to_their_format(tmp_path: Path, catalog: Catalog,
                                                   quantization: dict[str, object],
                                                   tensors: list[tuple[str, str, list[int]]],
                                                   quant_id: str, mlp_params: int) -> None:
    config = {**HF_LLAMA_CONFIG, "quantization_config": quantization}
    if quant_id == "MXFP4":
        config.update(num_local_experts=4, num_experts_per_tok=2)
    folder = _folder(tmp_path, config)
    data = write_safetensors(folder / "model.safetensors", tensors)
    imported = import_model(folder, catalog.quants)
    breakdown = imported.file_weights.breakdown
    assert imported.quant_id == quant_id
    assert breakdown.total_bytes == data
    group = "experts" if quant_id == "MXFP4" else "dense_mlp"
    assert breakdown.params_by_group[group] == mlp_params


def test_exl2_folder_gets_its_own_bitrate_and_layer_shapes(tmp_path: Path, catalog: Catalog) -> None:
    config = {**HF_LLAMA_CONFIG, "torch_dtype": "float16",
              "quantization_config": {"quant_method": "exl2", "version": "0.2.3", "bits": 4.65,
                                      "head_bits": 6}}
    folder = _folder(tmp_path, config)
    # One EXL2 linear (256 in, 512 out): packed weights, one permutation entry per input and one
    # max-scale per output; its bits vary by group, so only those shapes give its weight count.
    prefix = "model.layers.0.mlp.up_proj."
    tensors = [("model.embed_tokens.weight", "F16", [512, 256]),
               (prefix + "q_weight", "I32", [150, 512]),
               (prefix + "q_invperm", "I32", [256]),
               (prefix + "q_scale", "I32", [2, 64]),
               (prefix + "q_scale_max", "F16", [512]),
               (prefix + "q_groups", "I16", [4])]
    data = write_safetensors(folder / "model.safetensors", tensors)
    imported = import_model(folder, catalog.quants)
    breakdown = imported.file_weights.breakdown
    assert imported.quant_id == "EXL2-4.65"
    assert imported.quant is not None and imported.quant.id == "EXL2-4.65"
    assert breakdown.total_bytes == data
    assert breakdown.params_by_group["dense_mlp"] == 256 * 512
    assert breakdown.params_by_group["embedding"] == 512 * 256
