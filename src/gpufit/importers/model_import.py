"""Turn a local model (GGUF file, split GGUF, or Hugging Face folder) into a ModelSpec.

The architecture comes from the file's metadata (GGUF keys or `config.json`); the weights
come from the tensors themselves, exactly: every tensor's bytes, grouped the way the
estimator groups them and per layer, so memory, layer splits and offload plans use the
file's real sizes. The quant is the file's own, matched to the catalog entry with the same
kernels (speed and quality figures come from there).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gpufit.core.specs import ModelSpec, QuantSpec
from gpufit.core.tensors import GROUPS, FileWeights, WeightBreakdown
from gpufit.importers.errors import ModelImportError, unreadable
from gpufit.importers.gguf_arch import architecture_from_gguf
from gpufit.importers.gguf_file import GGUF_MAGIC, file_type_names, read_gguf
from gpufit.importers.names import gguf_tensor_role, hf_tensor_role
from gpufit.importers.safetensors_file import read_safetensors_header, shard_paths

IMPORTED_FAMILY = "Imported"
ID_PREFIX = "local-"
# Tensors that only describe other tensors (scales, zero points, permutations): they take
# bytes but hold no weights of their own.
_AUXILIARY = re.compile(r"(scales?|scale_inv|qzeros|g_idx|zero_point|weight_shape|absmax|"
                        r"quant_map|SCB|weight_format|input_scale|_amax)$")
# The file's own words for its format → the catalog quant with the same kernels.
_GGUF_FILE_TYPES = {"F32": "FP32", "F16": "FP16", "MXFP4_MOE": "MXFP4"}
_FLOAT_DTYPES = {"BF16": "BF16", "F16": "FP16", "F32": "FP32", "F8_E4M3": "FP8"}


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


def looks_like_path(value: str) -> bool:
    """Whether a model value names a file or folder rather than a catalog entry.

    Hugging Face ids ("meta-llama/Llama-3.1-8B") are catalog aliases, not paths: a path starts
    with /, ~, ./ or ../, or ends in a model file's suffix. A bare folder name is a path only
    when nothing in the catalog answers to it (the CLI tries the catalog first)."""
    return (value.startswith(("/", "~", "./", "../", ".\\", "..\\")) or Path(value).is_absolute()
            or Path(value).suffix.lower() in {".gguf", ".safetensors", ".json", ".bin"})


def import_model(path: Path, quants: Mapping[str, QuantSpec]) -> ImportedModel:
    """Read `path` (a .gguf file, a split part, a model folder, or a file inside one)."""
    path = path.expanduser()
    try:
        is_dir = path.is_dir()
        exists = path.exists()
    except OSError as error:
        raise ModelImportError(path, f"cannot look at the path: {error}") from error
    if not exists:
        raise ModelImportError(path, "no such file or folder")
    if is_dir:
        return _import_folder(path, quants)
    if path.name == "config.json" or path.suffix == ".safetensors" \
            or path.name.endswith(".safetensors.index.json"):
        return _import_hf(path.parent, quants)
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise unreadable(path, error, "a model file") from error
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
    headers = read_gguf(path)
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
        records.append(TensorRecord(group, layer, tensor.type_name, tensor.n_elements,
                                    tensor.n_bytes))
    bytes_by_type = _bytes_by_type(records)
    file_type = metadata.get("general.file_type")
    label = file_type_names().get(file_type, "") if isinstance(file_type, int) else ""
    quant_id, quant_note = _gguf_quant(label, bytes_by_type, quants)
    if quant_note:
        notes.append(quant_note)
    name = metadata.get("general.name")
    stem = re.sub(r"-\d{5}-of-\d{5}$", "", path.stem)
    display = name if isinstance(name, str) and name.strip() else stem
    paths = tuple(str(header.path.resolve()) for header in headers)
    return _assemble(path, fields, notes, records, quant_id, "gguf", label or "GGUF", paths,
                     display.strip(), stem, "")


def _import_hf(folder: Path, quants: Mapping[str, QuantSpec]) -> ImportedModel:
    from gpufit.importers.hf_config import architecture_from_hf_config

    config_path = folder / "config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ModelImportError(folder, "no config.json (a Hugging Face model folder has one "
                               "next to its safetensors files)") from error
    except OSError as error:
        raise unreadable(config_path, error, "a JSON file") from error
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ModelImportError(config_path, f"not valid JSON: {str(error)[:80]}") from error
    if not isinstance(config, dict):
        raise ModelImportError(config_path, "is not a JSON object")
    fields, notes = architecture_from_hf_config(config, config_path)
    shards = shard_paths(folder)
    if not shards:
        raise ModelImportError(folder, "has a config.json but no .safetensors files (only "
                               "safetensors weights are read, not .bin or .pt)")
    method, bits = _quantization(config)
    tensors = [tensor for shard in shards for tensor in read_safetensors_header(shard)[0]]
    exl2_params = _exl2_params(tensors) if method == "exl2" else {}
    records = []
    for tensor in tensors:
        group, layer = hf_tensor_role(tensor.name)
        # EXL2's q_* tensors (weights, permutations, scales, groups) hold one linear between them.
        params = exl2_params.get(tensor.name, 0) if method == "exl2" and ".q_" in tensor.name \
            else _hf_params(tensor.name, tensor.dtype, tensor.n_elements, method, bits)
        records.append(TensorRecord(group, layer, tensor.dtype, params, tensor.n_bytes))
    bytes_by_type = _bytes_by_type(records)
    extra_quant = None
    if method == "exl2":
        from gpufit.core.exl2 import exl2_quant

        extra_quant = exl2_quant(float(bits), quants)
        quant_id, label, quant_note = extra_quant.id, f"EXL2 {bits:g} bpw", None
    else:
        quant_id, label, quant_note = _hf_quant(method, int(bits), config, bytes_by_type, quants)
    if quant_note:
        notes.append(quant_note)
    name = config.get("_name_or_path")
    display = Path(name).name if isinstance(name, str) and name.strip() else folder.name
    paths = tuple(str(shard.resolve()) for shard in shards)
    imported = _assemble(folder, fields, notes, records, quant_id, "safetensors", label, paths,
                         display, folder.name, fields.get("native_dtype", ""))
    return replace(imported, quant=extra_quant) if extra_quant is not None else imported


def _assemble(path: Path, fields: dict[str, Any], notes: list[str], records: list[TensorRecord],
              quant_id: str, file_format: str, label: str, paths: tuple[str, ...], display: str,
              stem: str, native_dtype: str) -> ImportedModel:
    layers = int(fields["layers"])
    beyond = [record for record in records if record.layer is not None and record.layer >= layers]
    if beyond:
        notes.append(f"{len(beyond)} tensors belong to layers past the model's {layers} "
                     "(multi-token prediction?); they are counted with the head.")
        records = [replace(record, layer=None) if record in beyond else record
                   for record in records]
    experts_total = int(fields.get("experts_total", 0))
    experts_active = int(fields.get("experts_active", 0))
    breakdown, layer_tensors = _breakdown(records, layers, experts_total, experts_active)
    file_weights = FileWeights(quant_id=quant_id, format=file_format, label=label, paths=paths,
                               breakdown=breakdown, layer_tensors=layer_tensors,
                               bytes_by_type=_bytes_by_type(records))
    spec_fields = {key: value for key, value in fields.items() if key != "native_dtype"}
    if native_dtype in ("bf16", "fp16", "fp32", "fp8", "mxfp4"):
        spec_fields["native_dtype"] = native_dtype
    spec = ModelSpec(
        id=ID_PREFIX + slug(stem), name=display, family=IMPORTED_FAMILY,
        params_total_published=float(breakdown.total_params),
        params_active_published=float(breakdown.active_params) if experts_total else None,
        source=paths[0] if len(paths) == 1 else str(path.resolve()),
        aliases=(str(path),), file_weights=file_weights, **spec_fields)
    return ImportedModel(spec=spec, quant_id=quant_id, notes=tuple(notes), path=path)


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


def _find_quant(quants: Mapping[str, QuantSpec], wanted: str) -> QuantSpec | None:
    folded = wanted.casefold()
    return next((quant for quant in quants.values()
                 if folded in {name.casefold() for name in (quant.id, *quant.aliases)}), None)


def _gguf_quant(label: str, bytes_by_type: Mapping[str, int],
                quants: Mapping[str, QuantSpec]) -> tuple[str, str | None]:
    short = re.sub(r"^(MOSTLY_|ALL_)", "", label)
    quant = _find_quant(quants, _GGUF_FILE_TYPES.get(short, short)) if short else None
    if quant is not None:
        return quant.id, None
    # Name by the type holding most bytes (F32 norms never do in a real model).
    dominant = next(iter(bytes_by_type), "F16")
    candidates = [quant for quant in quants.values() if quant.format in ("gguf", "any")
                  and quant.default_type == dominant]
    fallback = candidates[0] if candidates else (_find_quant(quants, "FP16")
                                                 or next(iter(quants.values())))
    told = f"file type {short}" if short else "no general.file_type"
    return fallback.id, (f"The file has {told}, which the catalog does not list; speed and "
                         f"quality are those of {fallback.id} (its main tensor type is "
                         f"{dominant}); memory is the file's exact bytes.")


def _quantization(config: Mapping[str, Any]) -> tuple[str, float]:
    """(quant_method, weight bits) from config.json's quantization_config ("" if none)."""
    settings = config.get("quantization_config")
    if not isinstance(settings, dict):
        text = config.get("text_config")
        settings = text.get("quantization_config") if isinstance(text, dict) else None
    if not isinstance(settings, dict):
        return "", 16
    method = str(settings.get("quant_method", "")).casefold()
    bits = settings.get("bits")
    if method == "bitsandbytes":
        bits = 4 if settings.get("load_in_4bit") or settings.get("_load_in_4bit") else 8
    elif method == "compressed-tensors":
        bits, kind = _compressed_tensors_weights(settings)
        method = f"compressed-tensors-{kind}"
    elif method in ("fp8", "fbgemm_fp8"):
        bits = 8
    elif method == "mxfp4":
        bits = 4
    elif method == "exl2":
        # EXL2's target bitrate is fractional (4.65); it stays a float.
        bits = settings.get("bits")
        if isinstance(bits, int | float) and not isinstance(bits, bool) and 2 <= bits <= 8:
            return method, bits  # type: ignore[return-value]
        return method, 4
    elif method == "modelopt":
        algo = str(settings.get("quant_algo", "")).upper()
        method, bits = ("modelopt-nvfp4", 4) if "FP4" in algo else ("fp8", 8)
    if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 16:
        bits = 4
    return method, bits


def _exl2_params(tensors: Iterable[Any]) -> dict[str, int]:
    """Weights of each EXL2 linear layer, on its `q_weight` tensor: the bits per weight vary
    within a layer, so they come from its shape instead (`q_invperm` has one entry per input,
    `q_scale_max` one per output)."""
    by_name = {tensor.name: tensor for tensor in tensors}
    params: dict[str, int] = {}
    for name, tensor in by_name.items():
        if not name.endswith(".q_invperm"):
            continue
        prefix = name.removesuffix(".q_invperm")
        outputs = by_name.get(prefix + ".q_scale_max")
        if outputs is not None and outputs.shape and prefix + ".q_weight" in by_name:
            params[prefix + ".q_weight"] = tensor.n_elements * outputs.shape[0]
    return params


def _compressed_tensors_weights(settings: Mapping[str, Any]) -> tuple[int, str]:
    groups = settings.get("config_groups")
    if isinstance(groups, dict):
        for group in groups.values():
            weights = group.get("weights") if isinstance(group, dict) else None
            if isinstance(weights, dict) and isinstance(weights.get("num_bits"), int):
                return weights["num_bits"], str(weights.get("type", "int"))
    return 4, "int"


def _hf_params(name: str, dtype: str, elements: int, method: str, bits: float) -> int:
    """Weights a stored tensor holds: packed formats hold several per stored element."""
    last = name.rsplit(".", 1)[-1]
    if _AUXILIARY.search(last) or ".quant_state" in name or last.startswith("bitsandbytes__"):
        return 0
    if dtype in ("I32", "U32") and last in ("qweight", "weight_packed"):
        return int(elements * 32 // bits)
    if dtype == "U8" and (last.endswith("_blocks") or (method == "bitsandbytes" and bits == 4)):
        return elements * 2
    if dtype in ("I64", "U64", "BOOL") or (dtype in ("I32", "U32") and method):
        return 0
    return elements


def _hf_quant(method: str, bits: int, config: Mapping[str, Any], bytes_by_type: Mapping[str, int],
              quants: Mapping[str, QuantSpec]) -> tuple[str, str, str | None]:
    """(catalog quant id, the file's own label, a note if the match is approximate)."""
    wanted = {
        "gptq": f"GPTQ-INT{bits}", "awq": "AWQ-INT4", "fp8": "FP8", "fbgemm_fp8": "FP8",
        "mxfp4": "MXFP4", "modelopt-nvfp4": "NVFP4",
        "bitsandbytes": "NF4" if bits == 4 else "BNB-INT8",
        "compressed-tensors-int": "GPTQ-INT4" if bits == 4 else "INT8",
        "compressed-tensors-float": "FP8" if bits == 8 else "NVFP4",
    }.get(method)
    if method:
        label = f"{method} {bits}-bit"
    else:
        dominant = next(iter(bytes_by_type), "BF16")
        wanted = _FLOAT_DTYPES.get(dominant, "BF16")
        label = dominant
    quant = _find_quant(quants, wanted) if wanted else None
    if quant is not None:
        return quant.id, label, None
    fallback = _find_quant(quants, "BF16") or next(iter(quants.values()))
    return fallback.id, label, (f"The catalog has no quant for {label}; speed and quality are "
                                f"those of {fallback.id}; memory is the files' exact bytes.")
