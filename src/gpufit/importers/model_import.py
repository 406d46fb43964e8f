"""Turn a local model (GGUF file, split GGUF, or Hugging Face folder) into a ModelSpec.

The architecture comes from the file's metadata (GGUF keys or `config.json`); the weights
come from the tensors themselves, exactly: every tensor's bytes, grouped the way the
estimator groups them and per layer, so memory, layer splits and offload plans use the
file's real sizes. The quant is the file's own (gpufit.importers.formats).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gpufit.core.catalog import Catalog
from gpufit.core.specs import ModelSpec, QuantSpec
from gpufit.core.tensors import GROUPS, FileWeights, WeightBreakdown
from gpufit.importers.bounds import check_fields, check_layer_index
from gpufit.importers.errors import ModelImportError
from gpufit.importers.files import (
    check_json_containers,
    check_name,
    open_regular,
    paused_gc,
    read_capped,
)
from gpufit.importers.formats import exl2_params, gguf_quant, hf_quant, packed_params, quantization
from gpufit.importers.gguf_arch import architecture_from_gguf
from gpufit.importers.gguf_file import GGUF_MAGIC, GgufHeader, file_type_names, read_gguf
from gpufit.importers.names import gguf_tensor_role, hf_tensor_role
from gpufit.importers.safetensors_file import SafetensorsTensor, read_safetensors_header, shard_paths

IMPORTED_FAMILY = "Imported"
ID_PREFIX = "local-"
@dataclass(frozen=True, slots=True)
class TensorRecord:
    """One weight tensor as the estimator sees it."""

    group: str
    layer: int | None
    storage_type: str
    params: int
    n_bytes: int


@dataclass(frozen=True, slots=True)
class ImportedModel:
    """A model read from disk: its spec (with exact file weights) and how it was read."""

    spec: ModelSpec
    quant_id: str
    notes: tuple[str, ...]
    path: Path
    quant: QuantSpec | None = None
    """A quant the file needs that the catalog lacks (EXL2 at the file's bitrate); register it."""

    @property
    def file_weights(self) -> FileWeights:
        """The exact weights (always present on an imported spec)."""
        assert self.spec.file_weights is not None
        return self.spec.file_weights

    def join(self, catalog: Catalog) -> bool:
        """Add the model (and a quant only the file needs) to `catalog`; True if a quant was new."""
        catalog.models[self.spec.id] = self.spec
        if self.quant is None or self.quant.id in catalog.quants:
            return False
        catalog.quants[self.quant.id] = self.quant
        return True


def import_model(path: Path, quants: Mapping[str, QuantSpec]) -> ImportedModel:
    """Read `path` (a .gguf file, a split part, a model folder, or a file inside one)."""
    with paused_gc():  # tens of thousands of tensors become objects that all stay alive
        return _import_path(path, quants)


def _import_path(path: Path, quants: Mapping[str, QuantSpec]) -> ImportedModel:
    check_name(path)
    try:
        path = path.expanduser()
        check_name(path)
        is_dir = path.is_dir()
        exists = path.exists()
    except (OSError, RuntimeError) as error:  # RuntimeError: ~user of no such user
        raise ModelImportError(path, f"cannot look at the path: {error}") from error
    if not exists:
        raise ModelImportError(path, "no such file or folder")
    if is_dir:
        return _import_folder(path, quants)
    if path.name == "config.json" or path.suffix == ".safetensors" \
            or path.name.endswith(".safetensors.index.json"):
        return _import_hf(path.parent, quants)
    with open_regular(path, "a model file") as handle:
        try:
            magic = handle.read(4)
        except OSError as error:
            raise ModelImportError(path, f"cannot read the file: {error.strerror or error}") \
                from error
    if magic == GGUF_MAGIC or path.suffix == ".gguf":
        return _import_gguf(path, quants)
    raise ModelImportError(path, "not a GGUF or safetensors model (expected a .gguf file, a "
                           "Hugging Face model folder, or a file in one)")


def _import_folder(folder: Path, quants: Mapping[str, QuantSpec]) -> ImportedModel:
    if (folder / "config.json").exists():
        return _import_hf(folder, quants)
    ggufs = sorted(folder.glob("*.gguf"))
    models = sorted({re.sub(r"-\d{5}-of-\d{5}\.gguf$", ".gguf", item.name) for item in ggufs})
    if len(models) == 1:
        return _import_gguf(ggufs[0], quants)
    if models:
        raise ModelImportError(folder, f"holds {len(models)} GGUF models ("
                               f"{', '.join(models[:3])}{' …' if len(models) > 3 else ''}); "
                               "name the file to open")
    if any(folder.glob("*.safetensors")):
        raise ModelImportError(folder, "has safetensors files but no config.json (a Hugging "
                               "Face model folder needs both)")
    raise ModelImportError(folder, "no model here: no .gguf file and no config.json with "
                           "safetensors")


def _import_gguf(path: Path, quants: Mapping[str, QuantSpec]) -> ImportedModel:
    return model_from_gguf(path, read_gguf(path), quants)


def model_from_gguf(path: Path, headers: list[GgufHeader],
                    quants: Mapping[str, QuantSpec]) -> ImportedModel:
    """The model whose GGUF headers (every part of a split file, in order) are `headers`."""
    metadata = headers[0].metadata
    kind, arch = metadata.get("general.type"), metadata.get("general.architecture")
    if kind == "adapter":
        raise ModelImportError(path, "is a LoRA adapter (general.type = adapter), not a model; "
                               "open the base model it applies to")
    if kind == "mmproj" or arch == "clip":
        raise ModelImportError(path, "is a multimodal projector (mmproj), not a language model; "
                               "open the model file it goes with")
    tensors = [tensor for header in headers for tensor in header.tensors]
    if not tensors:
        raise ModelImportError(path, "the GGUF holds no tensors (a vocabulary-only file?)")
    fields, notes = architecture_from_gguf(path, metadata, tensors)
    records = []
    for tensor in tensors:
        group, layer = gguf_tensor_role(tensor.name)
        if layer is not None:
            check_layer_index(path, tensor.name, layer)
        records.append(TensorRecord(group, layer, tensor.type_name, tensor.n_elements,
                                    tensor.n_bytes))
    bytes_by_type = _bytes_by_type(records)
    file_type = metadata.get("general.file_type")
    label = file_type_names().get(file_type, "") if isinstance(file_type, int) else ""
    quant_id, quant_note = gguf_quant(label, bytes_by_type, quants)
    if quant_note:
        notes.append(quant_note)
    name = metadata.get("general.name")
    stem = re.sub(r"-\d{5}-of-\d{5}$", "", path.stem)
    display = name if isinstance(name, str) and name.strip() else stem
    paths = tuple(str(header.path.resolve()) for header in headers)
    return _assemble(path, fields, notes, records, bytes_by_type, quant_id, "gguf",
                     label or "GGUF", paths, display.strip(), stem, "")


def _import_hf(folder: Path, quants: Mapping[str, QuantSpec]) -> ImportedModel:
    config_path = folder / "config.json"
    if not config_path.exists():
        raise ModelImportError(folder, "no config.json (a Hugging Face model folder has one "
                               "next to its safetensors files)")
    try:
        raw = read_capped(config_path, "a JSON file")
        check_json_containers(config_path, raw, "config.json")
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ModelImportError(config_path, f"not valid JSON: {str(error)[:80]}") from error
    if not isinstance(config, dict):
        raise ModelImportError(config_path, "is not a JSON object")
    shards = shard_paths(folder)
    if not shards:
        raise ModelImportError(folder, "has a config.json but no .safetensors files (only "
                               "safetensors weights are read, not .bin or .pt)")
    tensors = [tensor for shard in shards for tensor in read_safetensors_header(shard)[0]]
    return model_from_hf(folder, config, tensors, shards, quants)


def model_from_hf(folder: Path, config: dict[str, Any], tensors: list[SafetensorsTensor],
                  shards: list[Path], quants: Mapping[str, QuantSpec]) -> ImportedModel:
    """The model of a Hugging Face folder from its parsed config.json and every shard's tensors."""
    from gpufit.importers.hf_config import architecture_from_hf_config

    fields, notes = architecture_from_hf_config(config, folder / "config.json")
    method, bits = quantization(config)
    exl2_weights = exl2_params(tensors) if method == "exl2" else {}
    records = []
    for tensor in tensors:
        group, layer = hf_tensor_role(tensor.name)
        if layer is not None:
            check_layer_index(folder, tensor.name, layer)
        # EXL2's q_* tensors (weights, permutations, scales, groups) hold one linear between them.
        params = exl2_weights.get(tensor.name, 0) if method == "exl2" and ".q_" in tensor.name \
            else packed_params(tensor.name, tensor.dtype, tensor.n_elements, method, bits)
        records.append(TensorRecord(group, layer, tensor.dtype, params, tensor.n_bytes))
    bytes_by_type = _bytes_by_type(records)
    extra_quant = None
    if method == "exl2":
        from gpufit.core.exl2 import exl2_quant

        extra_quant = exl2_quant(float(bits), quants)
        quant_id, label, quant_note = extra_quant.id, f"EXL2 {bits:g} bpw", None
    else:
        quant_id, label, quant_note = hf_quant(method, int(bits), config, bytes_by_type, quants)
    if quant_note:
        notes.append(quant_note)
    name = config.get("_name_or_path")
    display = Path(name).name if isinstance(name, str) and name.strip() else folder.name
    paths = tuple(str(shard.resolve()) for shard in shards)
    imported = _assemble(folder, fields, notes, records, bytes_by_type, quant_id, "safetensors",
                         label, paths, display, folder.name, fields.get("native_dtype", ""))
    return replace(imported, quant=extra_quant) if extra_quant is not None else imported


def _assemble(path: Path, fields: dict[str, Any], notes: list[str], records: list[TensorRecord],
              bytes_by_type: dict[str, int], quant_id: str, file_format: str, label: str,
              paths: tuple[str, ...], display: str, stem: str, native_dtype: str) -> ImportedModel:
    # The readers bound these already; checked here too because the Hub's readers and any
    # future one come through here, before the per-layer lists below are built.
    check_fields(path, fields)
    layers = int(fields["layers"])
    if not any(record.n_bytes for record in records) or not any(record.params for record in records):
        raise ModelImportError(path, "holds no weights: every tensor is empty (0 elements)")
    beyond = [record for record in records if record.layer is not None and record.layer >= layers]
    if beyond:
        notes.append(f"{len(beyond)} tensors belong to layers past the model's {layers} "
                     "(multi-token prediction?); they are counted with the head.")
        records = [replace(record, layer=None) if record in beyond else record
                   for record in records]
    experts_total = int(fields.get("experts_total", 0))
    experts_active = int(fields.get("experts_active", 0))
    breakdown, layer_tensors = _breakdown(records, layers, experts_total, experts_active)
    empty = [index for index, layer in enumerate(layer_tensors) if not any(size for _g, size in layer)]
    if empty:
        # A layer count above the checkpoint's layers, or a gap in their numbers: estimated as
        # layers without weights (their KV cache still counts), and said.
        notes.append(f"{len(empty)} of the {layers} layers have no weights in the file "
                     f"({_ranges(empty)}); they are counted as empty.")
    file_weights = FileWeights(quant_id=quant_id, format=file_format, label=label, paths=paths,
                               breakdown=breakdown, layer_tensors=layer_tensors,
                               bytes_by_type=bytes_by_type)
    # Layer lists arrive as lists; the frozen spec keeps tuples.
    spec_fields: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value
                   for key, value in fields.items() if key != "native_dtype"}
    if native_dtype in ("bf16", "fp16", "fp32", "fp8", "mxfp4"):
        spec_fields["native_dtype"] = native_dtype
    spec = ModelSpec(
        id=ID_PREFIX + slug(stem), name=display, family=IMPORTED_FAMILY,
        params_total_published=float(breakdown.total_params),
        params_active_published=float(breakdown.active_params) if experts_total else None,
        source=paths[0] if len(paths) == 1 else str(path.resolve()),
        aliases=(str(path),), file_weights=file_weights, **spec_fields)
    return ImportedModel(spec=spec, quant_id=quant_id, notes=tuple(notes), path=path)


def _ranges(indexes: list[int]) -> str:
    """"layer 3", "layers 2–5, 9" for sorted layer numbers."""
    spans: list[list[int]] = []
    for index in indexes:
        if spans and spans[-1][1] == index - 1:
            spans[-1][1] = index
        else:
            spans.append([index, index])
    text = ", ".join(f"{start}" if start == end else f"{start}–{end}" for start, end in spans[:5])
    more = " …" if len(spans) > 5 else ""
    return f"layer{'s' if len(indexes) > 1 else ''} {text}{more}"


def slug(text: str) -> str:
    """A catalog id from a file or folder name: lowercase words joined by hyphens."""
    words = re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", text.casefold())
    return "-".join(words)[:80] or "model"


def _breakdown(records: Iterable[TensorRecord], layers: int, experts_total: int,
               experts_active: int) -> tuple[WeightBreakdown, tuple[tuple[tuple[str, int], ...], ...]]:
    bytes_by_group = dict.fromkeys(GROUPS, 0)
    params_by_group = dict.fromkeys(GROUPS, 0)
    params_by_type: dict[str, int] = {}
    per_layer: list[list[tuple[str, int]]] = [[] for _ in range(layers)]
    for record in records:
        bytes_by_group[record.group] += record.n_bytes
        params_by_group[record.group] += record.params
        params_by_type[record.storage_type] = params_by_type.get(record.storage_type, 0) \
            + record.params
        if record.layer is not None:
            per_layer[record.layer].append((record.group, record.n_bytes))
    total_params = sum(params_by_group.values())
    unused = 1 - experts_active / experts_total if experts_total else 0.0
    breakdown = WeightBreakdown(
        total_bytes=sum(bytes_by_group.values()), total_params=total_params,
        bytes_by_group=bytes_by_group, params_by_group=params_by_group,
        layer_bytes=tuple(sum(size for _group, size in layer) for layer in per_layer),
        params_by_type=params_by_type,
        active_params=round(total_params - params_by_group["experts"] * unused))
    return breakdown, tuple(tuple(layer) for layer in per_layer)


def _bytes_by_type(records: Iterable[TensorRecord]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for record in records:
        totals[record.storage_type] = totals.get(record.storage_type, 0) + record.n_bytes
    return dict(sorted(totals.items(), key=lambda item: -item[1]))
