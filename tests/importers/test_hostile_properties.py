"""Property tests: whatever a GGUF header or a safetensors folder says, the import ends in a
clean result or one `ModelImportError` naming the file, within a time and memory bound.

A clean result is checked against sizes worked out here from the shapes written (elements ×
bytes per element), not read back from the reader: the tensor bytes add up, the per-layer
bytes are those of the tensors named for each layer, and the estimate built on it is finite.
"""

from __future__ import annotations

import json
import math
import time
import tracemalloc
from pathlib import Path

from hostile_gguf import F16, F32, U32, U64, header_bytes, llama_tensors, tensor_bytes
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from model_files import HF_LLAMA_CONFIG, SAFETENSORS_BYTES, hf_llama_tensors

from gpufit.core.catalog import load_catalog
from gpufit.core.estimate import estimate
from gpufit.core.offload import default_host, plan_for_ngl
from gpufit.core.specs import Hardware, Workload
from gpufit.importers.bounds import FIELD_LIMITS
from gpufit.importers.errors import ModelImportError
from gpufit.importers.model_import import ImportedModel, import_model

CATALOG = load_catalog()
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
# Every call, whatever it is given (headers here stay under 64 KB): at most this long and this
# much allocated at peak. The target for any header up to 10 MB is 1 s and 200 MB.
CALL_SECONDS = 1.0
CALL_PEAK_BYTES = 64 * 2**20
# Data beyond this is not written: the file is then short, and the reader must say so.
SPARSE_DATA_CAP = 2**32

_EDGE_NUMBERS = [0, 1, 2, 64, 10_000, 10_001, 2**20 + 1, 2**31 - 1, 2**31, 2**32 - 1, 2**63,
                 2**64 - 1]
_NUMBERS = st.one_of(st.integers(0, 300), st.sampled_from(_EDGE_NUMBERS), st.integers(0, 2**64 - 1))
_KEYS = ["block_count", "embedding_length", "feed_forward_length", "attention.head_count",
         "attention.head_count_kv", "attention.key_length", "attention.value_length",
         "context_length", "expert_count", "expert_used_count", "attention.kv_lora_rank",
         "vocab_size", "attention.sliding_window", "ssm.inner_size", "ssm.state_size",
         "leading_dense_block_count"]
_EXTENTS = st.one_of(st.sampled_from([0, 1, 32, 64]), st.sampled_from([2**32, 2**63, 2**64 - 1]))
_LAYER_NUMBERS = st.one_of(st.integers(0, 8), st.sampled_from([9_999, 10_000, 4_000_000_000]),
                           st.integers(0, 2**70))
_SUFFIXES = ["attn_q.weight", "attn_k.weight", "ffn_up.weight", "ffn_up_exps.weight",
             "ssm_in.weight", "attn_norm.weight"]


def _run_bounded(path: Path) -> ImportedModel | ModelImportError:
    """Import `path` under the time and memory bound; the error, if any, is returned."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        outcome: ImportedModel | ModelImportError = import_model(path, CATALOG.quants)
    except ModelImportError as error:
        outcome = error
    finally:
        elapsed = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed <= CALL_SECONDS, f"{elapsed:.2f} s"
    assert peak <= CALL_PEAK_BYTES, f"{peak / 2**20:.0f} MiB"
    return outcome


def _check_clean(imported: ImportedModel, layer_sizes: dict[int, int], total_bytes: int) -> None:
    """A result's weights are the tensors written, and an estimate on it is finite."""
    spec, weights = imported.spec, imported.file_weights.breakdown
    assert weights.total_bytes == total_bytes
    expected_layers = tuple(layer_sizes.get(index, 0) for index in range(spec.layers))
    assert weights.layer_bytes == expected_layers
    assert math.isfinite(weights.bits_per_weight) and weights.bits_per_weight > 0
    for field, (_label, limit) in FIELD_LIMITS.items():
        value = getattr(spec, field, None)
        assert value is None or 0 <= value <= limit, (field, value)
    result = estimate(spec, CATALOG.quants[imported.quant_id],
                      Hardware(CATALOG.gpus["rtx-4090"]), Workload(context_tokens=512))
    assert math.isfinite(result.memory.total_bytes)
    plan = plan_for_ngl(result, default_host(result.hardware.gpu), 1)
    assert math.isfinite(plan.decode_tokens_per_s)


def _check_error(error: ModelImportError, named: Path) -> None:
    assert error.path.startswith(str(named)), (error.path, named)
    assert "\n" not in str(error)


@PROPERTY
@given(values=st.dictionaries(st.sampled_from(_KEYS), st.tuples(st.sampled_from([U32, U64]),
                                                                  _NUMBERS), max_size=6),
       layers=st.integers(0, 3),
       extra=st.lists(st.tuples(_LAYER_NUMBERS, st.sampled_from(_SUFFIXES),
                                st.lists(_EXTENTS, min_size=1, max_size=3),
                                st.sampled_from([F16, F32])), max_size=4))
def test_any_gguf_header_fields_import_cleanly_or_fail_naming_the_file(
        tmp_path: Path, values: dict[str, tuple[int, int]], layers: int,
        extra: list[tuple[int, str, list[int], int]]) -> None:
    metadata: list[tuple[str, int, object]] = [
        ("general.architecture", 8, "llama"), ("llama.block_count", U32, 2),
        ("llama.embedding_length", U32, 64), ("llama.attention.head_count", U32, 4)]
    metadata = [item for item in metadata if item[0].removeprefix("llama.") not in values]
    metadata += [(f"llama.{key}", kind, number if kind == U64 else number % 2**32)
                 for key, (kind, number) in values.items()]
    tensors = llama_tensors(layers=layers)
    tensors += [(f"blk.{layer}.{suffix}", tuple(shape), kind)
                for layer, suffix, shape, kind in extra]
    header, data = header_bytes(metadata, tensors)
    path = tmp_path / "crafted.gguf"
    with path.open("wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + min(data, SPARSE_DATA_CAP))
    outcome = _run_bounded(path)
    if isinstance(outcome, ModelImportError):
        event("refused")
        _check_error(outcome, path)
        return
    event("imported")
    # Tensors of layers past the model's count are counted with the head (MTP layers).
    sizes: dict[int, int] = {}
    for name, shape, kind in tensors:
        if name.startswith("blk."):
            index = int(name.split(".")[1])
            if index < outcome.spec.layers:
                sizes[index] = sizes.get(index, 0) + tensor_bytes(shape, kind)
    _check_clean(outcome, sizes, sum(tensor_bytes(shape, kind) for _n, shape, kind in tensors))


_SAFETENSORS_DTYPES = st.sampled_from(["BF16", "F16", "F32", "I32", "U8", "F8_E4M3"])
_CONFIG_KEYS = ["hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim",
                "intermediate_size", "vocab_size", "max_position_embeddings", "num_local_experts",
                "num_experts_per_tok", "kv_lora_rank", "q_lora_rank", "sliding_window",
                "moe_intermediate_size", "first_k_dense_replace"]


@PROPERTY
@given(shard_count=st.integers(1, 4), present=st.lists(st.booleans(), min_size=4, max_size=4),
       config_layers=st.one_of(st.integers(1, 6), st.sampled_from([10_000, 10_001, 2**31])),
       extra_layer=st.one_of(st.none(), _LAYER_NUMBERS), dtype=_SAFETENSORS_DTYPES,
       offset_skew=st.sampled_from([0, 0, 0, 1, -1, 2**40]),
       with_index=st.booleans(),
       config_values=st.dictionaries(st.sampled_from(_CONFIG_KEYS), _NUMBERS, max_size=3))
def test_any_safetensors_folder_imports_cleanly_or_fails_naming_it(
        tmp_path: Path, shard_count: int, present: list[bool], config_layers: int,
        extra_layer: int | None, dtype: str, offset_skew: int, with_index: bool,
        config_values: dict[str, int]) -> None:
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / "config.json").write_text(json.dumps({**HF_LLAMA_CONFIG, **config_values,
                                                    "num_hidden_layers": config_layers}))
    tensors = [(name, dtype, shape) for name, _dtype, shape in hf_llama_tensors(
        layers=2, hidden=32, ffn=64, vocab=64, kv_width=16)]
    if extra_layer is not None:
        tensors.append((f"model.layers.{extra_layer}.mlp.extra_proj.weight", dtype, [4, 8]))
    names = [f"model-{number:05d}-of-{shard_count:05d}.safetensors"
             for number in range(1, shard_count + 1)]
    written: list[tuple[str, str, list[int]]] = []
    weight_map: dict[str, str] = {}
    for number, name in enumerate(names):
        part = tensors[number::shard_count]
        weight_map.update({tensor_name: name for tensor_name, _d, _s in part})
        if present[number]:
            _write_shard(folder / name, part, offset_skew if number == 0 else 0)
            written += part
    if with_index:
        (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    outcome = _run_bounded(folder)
    if isinstance(outcome, ModelImportError):
        event("refused")
        _check_error(outcome, folder)
        return
    event("imported")
    assert all(present[:shard_count]), "a model with a shard missing was read without complaint"
    assert offset_skew == 0, "a header whose offsets disagree with its shapes was accepted"
    sizes: dict[int, int] = {}
    for name, kind, shape in written:
        parts = name.split(".")
        index = int(parts[2]) if parts[1] == "layers" else None
        if index is not None and index < outcome.spec.layers:
            sizes[index] = sizes.get(index, 0) + math.prod(shape) * SAFETENSORS_BYTES[kind]
    _check_clean(outcome, sizes,
                 sum(math.prod(shape) * SAFETENSORS_BYTES[kind] for _n, kind, shape in written))


def _write_shard(path: Path, tensors: list[tuple[str, str, list[int]]], skew: int) -> None:
    """A shard whose first tensor's end offset is off by `skew` bytes (0: a correct header)."""
    header: dict[str, object] = {}
    offset = 0
    for position, (name, dtype, shape) in enumerate(tensors):
        size = math.prod(shape) * SAFETENSORS_BYTES[dtype]
        end = offset + size + (skew if position == 0 else 0)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, max(offset, end)]}
        offset = max(offset, end)
    raw = json.dumps(header).encode()
    with path.open("wb") as handle:
        handle.write(len(raw).to_bytes(8, "little") + raw)
        handle.truncate(8 + len(raw) + min(offset, SPARSE_DATA_CAP))
