"""Whatever the bytes, the header readers fail only with ModelImportError (never a traceback)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from gguf import LlamaFileType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_files import (
    HF_LLAMA_CONFIG,
    LLAMA_METADATA,
    llama_tensors,
    write_gguf,
    write_safetensors,
)

from gpufit.core.catalog import load_catalog
from gpufit.importers.errors import ModelImportError
from gpufit.importers.gguf_file import read_gguf_header
from gpufit.importers.model_import import import_model
from gpufit.importers.safetensors_file import read_safetensors_header

QUANTS = load_catalog().quants
FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _read_or_refuse(reader: object, path: Path) -> None:
    try:
        reader(path)  # type: ignore[operator]
    except ModelImportError as error:
        assert str(path) in str(error)


@pytest.fixture(scope="module")
def valid_gguf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("gguf") / "valid.gguf"
    write_gguf(path, "llama", LLAMA_METADATA, llama_tensors(hidden=256, ffn=256, vocab=256),
               LlamaFileType.MOSTLY_Q4_K_M, vocab=64)
    return path.read_bytes()


@FUZZ
@given(content=st.binary(max_size=512))
def test_gguf_reader_on_arbitrary_bytes(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "any.gguf"
    path.write_bytes(content)
    _read_or_refuse(read_gguf_header, path)


@FUZZ
@given(body=st.binary(max_size=512), version=st.sampled_from([2, 3]))
def test_gguf_reader_on_arbitrary_bytes_after_a_valid_preamble(tmp_path: Path, body: bytes,
                                                              version: int) -> None:
    path = tmp_path / "preamble.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<I", version) + body)
    _read_or_refuse(read_gguf_header, path)


@FUZZ
@given(data=st.data())
def test_gguf_reader_on_corrupted_real_files(tmp_path: Path, valid_gguf: bytes,
                                             data: st.DataObject) -> None:
    content = bytearray(valid_gguf)
    header_end = min(len(content), 4096)  # corrupt where the header lives
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, header_end - 1))
        content[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(content)))
    path = tmp_path / "corrupt.gguf"
    path.write_bytes(bytes(content[:cut]))
    _read_or_refuse(read_gguf_header, path)


@FUZZ
@given(content=st.binary(max_size=512))
def test_safetensors_reader_on_arbitrary_bytes(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "any.safetensors"
    path.write_bytes(content)
    _read_or_refuse(read_safetensors_header, path)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)


@FUZZ
@given(header=st.dictionaries(st.text(max_size=12), _JSON, max_size=5), padding=st.integers(0, 64))
def test_safetensors_reader_on_arbitrary_json_headers(tmp_path: Path, header: dict[str, object],
                                                       padding: int) -> None:
    raw = json.dumps(header).encode()
    path = tmp_path / "json.safetensors"
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(padding))
    _read_or_refuse(read_safetensors_header, path)



@FUZZ
@given(quantization=_JSON, dtype=st.sampled_from(["BF16", "F16", "I32", "U8", "F8_E4M3", "I16"]))
def test_folder_import_with_any_quantization_config(tmp_path: Path, quantization: object,
                                                    dtype: str) -> None:
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(
        json.dumps({**HF_LLAMA_CONFIG, "quantization_config": quantization}))
    write_safetensors(folder / "model.safetensors",
                      [("model.layers.0.mlp.up_proj.weight", dtype, [8, 8]),
                       ("model.layers.0.mlp.up_proj.q_weight", "I32", [4, 8])])
    try:
        imported = import_model(folder, QUANTS)
    except ModelImportError as error:
        assert str(folder) in str(error)
    else:
        # Whatever the config says, the quant is one the estimator can find.
        assert imported.quant_id in QUANTS or imported.quant is not None
