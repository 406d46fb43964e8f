"""Crafted model files never crash, hang or eat memory (issue 17, items 1, 8, 9, 15–18).

Each file is built here from raw bytes (tests/hostile_gguf.py, after llama.cpp's gguf.md) or
tests/model_files.py, mostly as sparse files; every reader call is timed and its peak Python
allocation measured, against the bounds stated below. Expected sizes are worked out from the
shapes written (elements × bytes per element), never read back from the reader.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hostile_gguf import (
    ARRAY,
    F16,
    STRING,
    U8,
    U32,
    U64,
    header_bytes,
    llama_metadata,
    llama_tensors,
    string,
    tensor_bytes,
    write_raw_gguf,
)
from model_files import HF_LLAMA_CONFIG, hf_llama_tensors, write_safetensors

from gpufit.core.catalog import Catalog
from gpufit.core.estimate import estimate
from gpufit.core.offload import default_host, plan_for_ngl
from gpufit.core.specs import Hardware, Workload
from gpufit.core.tensors import WeightBreakdown
from gpufit.importers.errors import ModelImportError
from gpufit.importers.gguf_file import read_gguf_header
from gpufit.importers.model_import import ImportedModel, import_model

# Bounds each crafted input must stay within (the target is 1 s and 200 MB for any
# header up to 10 MB; these inputs are far smaller, so the bounds are tighter).
SECONDS = 1.0
PEAK_BYTES = 64 * 2**20


@contextmanager
def bounded(seconds: float = SECONDS, peak_bytes: int = PEAK_BYTES) -> Iterator[None]:
    """Fail unless the block runs within `seconds` and allocates at most `peak_bytes` at peak."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed <= seconds, f"took {elapsed:.2f} s (bound {seconds} s)"
    assert peak <= peak_bytes, f"peaked at {peak / 2**20:.0f} MiB (bound {peak_bytes / 2**20:.0f})"


def refused(path: Path, quants: Catalog, match: str) -> ModelImportError:
    """The error importing `path` raises, checked to name the file and say `match`."""
    with bounded(), pytest.raises(ModelImportError, match=match) as raised:
        import_model(path, quants.quants)
    message = str(raised.value)
    assert "\n" not in message
    return raised.value


def in_thread(call: Callable[[], object], seconds: float = 5.0) -> object:
    """Run `call` in a thread; fail (rather than hang the suite) if it blocks past `seconds`."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # handed back to the test
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still blocked after {seconds} s"
    return outcome[0]


# Item 1: layer counts and layer numbers are bounded before per-layer lists are built.

@pytest.mark.parametrize("layer", [4_000_000_000, 10_000, 10**30])
def test_a_tensor_in_an_absurd_layer_is_refused_at_once(tmp_path: Path, catalog: Catalog,
                                                        layer: int) -> None:
    path = tmp_path / "far-layer.gguf"
    tensors = [*llama_tensors(layers=1), (f"blk.{layer}.attn_q.weight", (64, 64), F16)]
    write_raw_gguf(path, llama_metadata(llama__block_count=None), tensors)
    error = refused(path, catalog, f"blk.{layer}.attn_q.weight")
    assert "2,048 layers" in error.problem  # the catalog's bound (core.limits.MAX_LAYERS)


def test_a_layer_number_of_4000_digits_is_refused_at_once(tmp_path: Path,
                                                          catalog: Catalog) -> None:
    path = tmp_path / "long-layer.gguf"
    tensors = [*llama_tensors(layers=1), ("blk." + "9" * 4_000 + ".attn_q.weight", (64, 64), F16)]
    write_raw_gguf(path, llama_metadata(), tensors)
    refused(path, catalog, "names a layer past the most any model has")


@pytest.mark.parametrize(("kind", "count"), [(U32, 100_000_000), (U32, 2**32 - 1),
                                             (U64, 2**63), (U32, 10_001)])
def test_an_absurd_block_count_is_refused_at_once(tmp_path: Path, catalog: Catalog, kind: int,
                                                  count: int) -> None:
    path = tmp_path / "blocks.gguf"
    write_raw_gguf(path, llama_metadata(llama__block_count=(kind, count)), llama_tensors())
    refused(path, catalog, "llama.block_count")


def test_a_huge_hf_layer_number_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(HF_LLAMA_CONFIG))
    write_safetensors(folder / "model.safetensors",
                      [*hf_llama_tensors(), ("model.layers.4000000000.mlp.up_proj.weight", "BF16",
                                             [4, 4])])
    refused(folder, catalog, "model.layers.4000000000.mlp.up_proj.weight")


# Item 18: architecture values have the same plausibility bounds in every reader.

@pytest.mark.parametrize(("key", "kind", "number"), [
    ("llama.attention.key_length", U64, 2**64 - 1),
    ("llama.attention.head_count", U32, 2**32 - 1),
    ("llama.attention.kv_lora_rank", U64, 2**63),
    ("llama.embedding_length", U32, 2**31 - 1),
    ("llama.expert_count", U32, 1_000_000),
])
def test_absurd_architecture_values_are_refused(tmp_path: Path, catalog: Catalog, key: str,
                                                kind: int, number: int) -> None:
    path = tmp_path / "absurd.gguf"
    write_raw_gguf(path, llama_metadata(**{key.replace(".", "__"): (kind, number)}),
                   llama_tensors())
    error = refused(path, catalog, "implausib|outside the plausible")
    assert error.path == str(path)


def test_hf_config_values_meet_the_same_bounds(tmp_path: Path, catalog: Catalog) -> None:
    # 2^20 heads passed config.json's old 32-bit bound; no model has more than 16,384.
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(
        {**HF_LLAMA_CONFIG, "num_attention_heads": 2**20, "head_dim": 64}))
    write_safetensors(folder / "model.safetensors", hf_llama_tensors())
    refused(folder, catalog, "attention head count reads 1,048,576")


# Item 17: the header's array elements are bounded in total, not only one array at a time.

def test_many_large_arrays_are_refused_by_their_total(tmp_path: Path) -> None:
    # 33 arrays of 4M one-byte elements: each alone is plausible, together they are not.
    path = tmp_path / "arrays.gguf"
    length = 4_000_000
    with path.open("wb") as handle:
        handle.write(b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little")
                     + (33).to_bytes(8, "little"))
        for index in range(33):
            handle.write(string(f"junk.{index}") + ARRAY.to_bytes(4, "little")
                         + U8.to_bytes(4, "little") + length.to_bytes(8, "little"))
            handle.seek(length, os.SEEK_CUR)  # the elements: a hole of zeros
        handle.truncate()
    with bounded(), pytest.raises(ModelImportError, match="more than 8,000,000 elements together"):
        read_gguf_header(path)


def test_a_string_array_longer_than_the_rest_of_the_file_is_refused(tmp_path: Path) -> None:
    # 1M empty strings need 8 MB; the file has 1 MB after the count.
    path = tmp_path / "strings.gguf"
    with path.open("wb") as handle:
        handle.write(b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little")
                     + (1).to_bytes(8, "little") + string("tokenizer.ggml.tokens")
                     + ARRAY.to_bytes(4, "little") + STRING.to_bytes(4, "little")
                     + (1_000_000).to_bytes(8, "little"))
        handle.truncate(handle.tell() + 2**20)
    with bounded(0.2), pytest.raises(ModelImportError, match="more than the file can hold"):
        read_gguf_header(path)


def _one_string_gguf(path: Path, key_length: int, value_length: int) -> None:
    """A GGUF whose one key (of `key_length` bytes) has a string value of `value_length`
    bytes, both zeros in a sparse file, then a Llama's metadata and tensors."""
    header, data = header_bytes(llama_metadata(), llama_tensors())
    count = int.from_bytes(header[16:24], "little") + 1
    with path.open("wb") as handle:
        handle.write(header[:16] + count.to_bytes(8, "little"))
        handle.write(key_length.to_bytes(8, "little") + b"k" * min(key_length, 16))
        handle.seek(24 + 8 + key_length)
        handle.write(STRING.to_bytes(4, "little") + value_length.to_bytes(8, "little"))
        handle.seek(value_length, os.SEEK_CUR)
        handle.write(header[24:])
        handle.truncate(handle.tell() + data + 32)  # the data start moved: realigned


def test_a_4_gb_string_value_is_skipped_not_read(tmp_path: Path, catalog: Catalog) -> None:
    # A sparse file whose one metadata value claims 4 GB: decoding it would take 4 GB.
    path = tmp_path / "long-value.gguf"
    _one_string_gguf(path, 16, 4 * 2**30)
    with bounded():
        imported = import_model(path, catalog.quants)
    assert imported.spec.layers == 2


def test_a_4_gb_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long-key.gguf"
    _one_string_gguf(path, 4 * 2**30, 4)
    with bounded(), pytest.raises(ModelImportError, match="more than the 4,096 a name may have"):
        read_gguf_header(path)


def test_a_tensor_count_beyond_the_header_bytes_is_refused(tmp_path: Path) -> None:
    # A tensor info takes at least 32 bytes: 100,000 of them cannot fit in 1 MB.
    path = tmp_path / "tensors.gguf"
    path.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + (100_000).to_bytes(8, "little")
                     + (0).to_bytes(8, "little") + bytes(2**20))
    with bounded(0.2), pytest.raises(ModelImportError, match="more than the file can hold"):
        read_gguf_header(path)


def test_json_of_a_million_empty_objects_is_refused_before_parsing(tmp_path: Path,
                                                                   catalog: Catalog) -> None:
    # 4.5 MB of "{}," parse into ~100 MB of dicts; no real config.json opens more than a few.
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_bytes(b'{"x": [' + b"{}," * 1_500_000 + b"{}]}")
    refused(folder, catalog, "config.json opens 1,500,003 JSON objects and arrays")


def test_a_safetensors_header_of_a_million_lists_is_refused(tmp_path: Path,
                                                            catalog: Catalog) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(HF_LLAMA_CONFIG))
    raw = b'{"x": [' + b"[]," * 1_500_000 + b"[]]}"
    (folder / "model.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw)
    error = refused(folder, catalog, "the safetensors header opens")
    assert error.path.endswith("model.safetensors")


# Item 8: a layer without tensors, or no weights at all, gives an estimate or a clear error.

def _plan_offload_of(imported: ImportedModel, catalog: Catalog) -> None:
    quant = catalog.quants[imported.quant_id]
    result = estimate(imported.spec, quant, Hardware(catalog.gpus["rtx-4090"]),
                      Workload(context_tokens=1024))
    plan = plan_for_ngl(result, default_host(result.hardware.gpu), 1)
    assert plan.layers_total == imported.spec.layers
    assert math.isfinite(plan.decode_tokens_per_s) and plan.decode_tokens_per_s > 0


def test_a_block_count_above_the_tensor_layers_is_estimated_with_empty_layers(
        tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "short.gguf"
    tensors = llama_tensors(layers=2)
    write_raw_gguf(path, llama_metadata(llama__block_count=(U32, 4)), tensors)
    imported = import_model(path, catalog.quants)
    weights = imported.file_weights.breakdown
    assert weights.layer_bytes[2:] == (0, 0)
    assert weights.total_bytes == sum(tensor_bytes(shape, kind) for _name, shape, kind in tensors)
    assert any("layers 2–3" in note for note in imported.notes)
    _plan_offload_of(imported, catalog)


def test_a_gap_in_layer_numbers_is_estimated(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "gap.gguf"
    tensors = [(name.replace("blk.1.", "blk.2."), shape, kind)
               for name, shape, kind in llama_tensors(layers=2)]
    write_raw_gguf(path, llama_metadata(llama__block_count=(U32, 3)), tensors)
    imported = import_model(path, catalog.quants)
    assert imported.file_weights.breakdown.layer_bytes[1] == 0
    assert any("(layer 1)" in note for note in imported.notes)
    _plan_offload_of(imported, catalog)


def test_an_hf_config_with_more_layers_than_the_checkpoint_is_estimated(
        tmp_path: Path, catalog: Catalog) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({**HF_LLAMA_CONFIG, "num_hidden_layers": 4}))
    write_safetensors(folder / "model.safetensors", hf_llama_tensors(layers=2))
    imported = import_model(folder, catalog.quants)
    assert imported.file_weights.breakdown.layer_bytes[2:] == (0, 0)
    _plan_offload_of(imported, catalog)


def test_only_zero_size_tensors_is_a_clear_error(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "empty.gguf"
    tensors = [(name, (0, *shape[1:]), kind) for name, shape, kind in llama_tensors()]
    write_raw_gguf(path, llama_metadata(), tensors)
    refused(path, catalog, "holds no weights")


def test_bits_per_weight_of_weights_without_params_is_zero() -> None:
    empty = WeightBreakdown(total_bytes=0, total_params=0, bytes_by_group={},
                            params_by_group={}, layer_bytes=(), params_by_type={},
                            active_params=0)
    assert empty.bits_per_weight == 0.0


# Item 9: a missing shard is noticed from the shard names when there is no index.

def test_a_missing_shard_without_an_index_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(HF_LLAMA_CONFIG))
    tensors = hf_llama_tensors()
    write_safetensors(folder / "model-00001-of-00002.safetensors", tensors[:10])
    error = refused(folder, catalog, "model-00002-of-00002.safetensors is missing")
    assert error.path == str(folder)
    # With the part present the model reads whole: both halves' bytes.
    write_safetensors(folder / "model-00002-of-00002.safetensors", tensors[10:])
    weights = import_model(folder, catalog.quants).file_weights.breakdown
    assert weights.total_bytes == sum(2 * math.prod(shape) for _n, _d, shape in tensors)


def test_shards_of_two_sets_without_an_index_are_refused(tmp_path: Path, catalog: Catalog) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(HF_LLAMA_CONFIG))
    tensors = hf_llama_tensors()
    write_safetensors(folder / "model-00001-of-00001.safetensors", tensors)
    write_safetensors(folder / "model-00001-of-00002.safetensors", tensors[:10])
    write_safetensors(folder / "model-00002-of-00002.safetensors", tensors[10:])
    refused(folder, catalog, "2 different sets of safetensors shards")


# Item 15: only regular files are opened; a pipe or a device is refused at once.

def _fifo(path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("name", ["x.gguf", "model-00001-of-00002.gguf", "noext"])
def test_a_named_pipe_is_refused_not_waited_on(tmp_path: Path, catalog: Catalog,
                                               name: str) -> None:
    pipe = _fifo(tmp_path / name)
    outcome = in_thread(lambda: import_model(pipe, catalog.quants))
    assert isinstance(outcome, ModelImportError), outcome
    assert "is a named pipe" in outcome.problem and outcome.path == str(pipe)


@pytest.mark.parametrize("pipe_name", ["config.json", "model.safetensors",
                                       "model.safetensors.index.json"])
def test_a_pipe_in_a_model_folder_is_refused(tmp_path: Path, catalog: Catalog,
                                             pipe_name: str) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    if pipe_name != "config.json":
        (folder / "config.json").write_text(json.dumps(HF_LLAMA_CONFIG))
    if pipe_name == "model.safetensors.index.json":
        write_safetensors(folder / "model.safetensors", hf_llama_tensors())
    _fifo(folder / pipe_name)
    outcome = in_thread(lambda: import_model(folder, catalog.quants))
    assert isinstance(outcome, ModelImportError), outcome
    assert "is a named pipe" in outcome.problem and pipe_name in outcome.path


def test_a_device_is_refused(catalog: Catalog) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    outcome = in_thread(lambda: import_model(Path("/dev/zero"), catalog.quants))
    assert isinstance(outcome, ModelImportError), outcome
    assert "is a device" in outcome.problem


# Item 16: a name too long for the file system is a one-line error.

@pytest.mark.parametrize("name", ["x" * 10_000 + ".gguf", "/tmp/" + "y" * 300 + "/model.gguf",
                                  "./" + "/".join(["d" * 200] * 30)],
                         ids=["10000-characters", "300-character-folder", "6000-character-path"])
def test_a_too_long_name_is_a_short_one_line_error(catalog: Catalog, name: str) -> None:
    with bounded(), pytest.raises(ModelImportError, match="name is too long") as raised:
        import_model(Path(name), catalog.quants)
    message = str(raised.value)
    assert "\n" not in message and len(message) < 300
    assert message.startswith(str(Path(name))[:40])


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gpufit.cli", *args], capture_output=True,
                          text=True, timeout=60, check=False, cwd=cwd)


def test_report_on_a_pipe_or_a_long_name_exits_2_in_one_line(tmp_path: Path) -> None:
    _fifo(tmp_path / "x.gguf")
    # A long name without a model suffix is not a catalog name either: the same one line.
    for model in ("./x.gguf", "z" * 10_000 + ".gguf", "z" * 10_000):
        done = cli("report", "--gpu", "rtx-4090", "--model", model, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
