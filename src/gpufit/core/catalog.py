"""Load and validate the catalog (GPUs, models, quants) from TOML.

A bad entry never stops the rest: each problem becomes one `CatalogIssue` naming the file,
the entry id and the field, and every other entry still loads. Later files override earlier
entries with the same id, which is how a user's own catalog directory adds or replaces data.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from gpufit.core.mig import catalog_slices
from gpufit.core.quant_rules import LAYER_SELECTORS
from gpufit.core.specs import MODEL_USES, RECURRENT_KINDS, GpuSpec, ModelSpec, QuantRule, QuantSpec
from gpufit.core.tensors import GROUPS, FileWeights, WeightBreakdown

CATALOG_FILES = ("gpus.toml", "models.toml", "quants.toml")
MODEL_FILES_DIR = "models"
"""Further built-in model files, one per publisher family, loaded after CATALOG_FILES."""
ROLES = (
    "token_embd", "output", "attn_q", "attn_k", "attn_v", "attn_qkv", "attn_kv_b", "attn_output",
    "ffn_gate", "ffn_up", "ffn_down", "other", "*",
)
"""llama.cpp's tensor categories (llama-quant.cpp tensor_get_category), "other" for the rest and
"*" for every quantized tensor."""
RULE_GROUPS = ("experts",)
_WHEN_INTS = ("experts", "min_experts", "min_gqa", "layers")
_WHEN_STRINGS = ("architecture", "not_architecture", "type_in")


@dataclass(frozen=True, slots=True)
class CatalogIssue:
    """One problem found while loading: where it is and what is wrong."""

    file: str
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: entry '{self.entry}', field '{self.field}': {self.message}"


@dataclass(frozen=True, slots=True)
class _Field:
    kind: type | tuple[type, ...]
    required: bool = True
    check: Callable[[Any], str | None] | None = None


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _non_negative(value: Any) -> str | None:
    return None if value >= 0 else "must not be negative"


def _fraction(value: Any) -> str | None:
    return None if 0 < value <= 1 else "must be in (0, 1]"


def _one_of(*allowed: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"

    return check


def _strings(value: Any) -> str | None:
    return None if all(isinstance(item, str) for item in value) else "must be a list of strings"


def _layer_indices(value: Any) -> str | None:
    if all(isinstance(item, int) and not isinstance(item, bool) and item >= 0 for item in value):
        return None if len(set(value)) == len(value) else "lists a layer twice"
    return "must be a list of layer indices (integers from 0)"


def _month(value: Any) -> str | None:
    return None if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])(-\d{2})?", value) else \
        "must be a date like 2025-07 or 2025-07-21"


def _uses(value: Any) -> str | None:
    if all(isinstance(item, str) and item in MODEL_USES for item in value):
        return None
    return f"must list only {', '.join(MODEL_USES)}"


def _file_weights_problem(value: Any) -> str | None:
    """What is wrong with a model's `file_weights` table (written by a model import), if anything."""
    for key, kind in (("quant", str), ("format", str), ("label", str), ("paths", list),
                      ("total_bytes", int), ("total_params", int), ("active_params", int),
                      ("bytes_by_group", dict), ("params_by_group", dict),
                      ("params_by_type", dict), ("bytes_by_type", dict), ("layer_tensors", list)):
        if not isinstance(value.get(key), kind) or isinstance(value.get(key), bool):
            return f"file_weights.{key} is missing or not {_kind_name(kind)}"
    for key in ("bytes_by_group", "params_by_group"):
        if set(value[key]) != set(GROUPS) or not all(
                isinstance(size, int) and size >= 0 for size in value[key].values()):
            return f"file_weights.{key} must give a whole number for each of {', '.join(GROUPS)}"
    for key in ("params_by_type", "bytes_by_type"):
        if not all(isinstance(size, int) and size >= 0 for size in value[key].values()):
            return f"file_weights.{key} must map types to whole numbers"
    for index, layer in enumerate(value["layer_tensors"]):
        if not isinstance(layer, list) or not all(
                isinstance(pair, list) and len(pair) == 2 and pair[0] in GROUPS
                and isinstance(pair[1], int) and not isinstance(pair[1], bool) and pair[1] >= 0
                for pair in layer):
            return f"file_weights.layer_tensors[{index}] must be a list of [group, bytes] pairs"
    if sum(value["bytes_by_group"].values()) != value["total_bytes"]:
        return "file_weights.bytes_by_group does not add up to total_bytes"
    return None


def _build_file_weights(data: dict[str, Any]) -> FileWeights:
    layer_tensors = tuple(tuple((str(group), int(size)) for group, size in layer)
                          for layer in data["layer_tensors"])
    breakdown = WeightBreakdown(
        total_bytes=data["total_bytes"], total_params=data["total_params"],
        bytes_by_group=dict(data["bytes_by_group"]), params_by_group=dict(data["params_by_group"]),
        layer_bytes=tuple(sum(size for _group, size in layer) for layer in layer_tensors),
        params_by_type=dict(data["params_by_type"]), active_params=data["active_params"])
    return FileWeights(quant_id=data["quant"], format=data["format"], label=data["label"],
                       paths=tuple(str(path) for path in data["paths"]), breakdown=breakdown,
                       layer_tensors=layer_tensors, bytes_by_type=dict(data["bytes_by_type"]))


_NUMBER = (int, float)
_COMMON: dict[str, _Field] = {
    "id": _Field(str),
    "name": _Field(str),
    "aliases": _Field(list, required=False, check=_strings),
    "source": _Field(str),
}

GPU_FIELDS: dict[str, _Field] = {
    **_COMMON,
    "vendor": _Field(str, check=_one_of("nvidia", "amd", "apple", "intel")),
    "family": _Field(str),
    "architecture": _Field(str),
    "memory_mib": _Field(int, check=_positive),
    "memory_type": _Field(str, required=False),
    "bandwidth_gbps": _Field(_NUMBER, check=_positive),
    "fp16_tflops": _Field(_NUMBER, check=_positive),
    "bf16_tflops": _Field(_NUMBER, required=False, check=_positive),
    "fp8_tflops": _Field(_NUMBER, required=False, check=_positive),
    "int8_tops": _Field(_NUMBER, required=False, check=_positive),
    "fp4_tflops": _Field(_NUMBER, required=False, check=_positive),
    "tdp_watts": _Field(_NUMBER, check=_positive),
    "interconnect": _Field(str, check=_one_of("nvlink", "pcie", "infinity-fabric", "unified")),
    "interconnect_gbps": _Field(_NUMBER, check=_positive),
    "pcie_generation": _Field(int, required=False, check=_positive),
    "mig_profiles": _Field(list, required=False, check=_strings),
    "gpu_usable_fraction": _Field(_NUMBER, required=False, check=_fraction),
}

MODEL_FIELDS: dict[str, _Field] = {
    **_COMMON,
    "family": _Field(str),
    "architecture": _Field(str),
    "layers": _Field(int, check=_positive),
    "hidden_size": _Field(int, check=_positive),
    "attention_heads": _Field(int, check=_positive),
    "kv_heads": _Field(int, check=_positive),
    "head_dim": _Field(int, check=_positive),
    "intermediate_size": _Field(int, check=_positive),
    "vocab_size": _Field(int, check=_positive),
    "tied_embeddings": _Field(bool),
    "max_context_tokens": _Field(int, check=_positive),
    "mlp_gated": _Field(bool, required=False),
    "attention_bias": _Field(bool, required=False),
    "fused_qkv": _Field(bool, required=False),
    "experts_total": _Field(int, required=False, check=_non_negative),
    "experts_active": _Field(int, required=False, check=_non_negative),
    "expert_intermediate_size": _Field(int, required=False, check=_positive),
    "shared_experts": _Field(int, required=False, check=_non_negative),
    "shared_expert_intermediate_size": _Field(int, required=False, check=_positive),
    "dense_layers": _Field(int, required=False, check=_non_negative),
    "sliding_window_tokens": _Field(int, required=False, check=_positive),
    "sliding_window_pattern": _Field(int, required=False, check=_positive),
    "kv_lora_rank": _Field(int, required=False, check=_positive),
    "q_lora_rank": _Field(int, required=False, check=_non_negative),
    "qk_rope_head_dim": _Field(int, required=False, check=_positive),
    "qk_nope_head_dim": _Field(int, required=False, check=_positive),
    "v_head_dim": _Field(int, required=False, check=_positive),
    "params_total_published": _Field(_NUMBER, check=_positive),
    "params_active_published": _Field(_NUMBER, required=False, check=_positive),
    "native_dtype": _Field(str, required=False,
                           check=_one_of("bf16", "fp16", "fp32", "fp8", "mxfp4")),
    "attention_output_gate": _Field(bool, required=False),
    "moe_layer_step": _Field(int, required=False, check=_positive),
    "recurrent_layers": _Field(list, required=False, check=_layer_indices),
    "attention_layers": _Field(list, required=False, check=_layer_indices),
    "mlp_layers": _Field(list, required=False, check=_layer_indices),
    "recurrent_kind": _Field(str, required=False, check=_one_of(*RECURRENT_KINDS)),
    "ssm_inner_size": _Field(int, required=False, check=_positive),
    "ssm_state_size": _Field(int, required=False, check=_positive),
    "ssm_groups": _Field(int, required=False, check=_non_negative),
    "ssm_heads": _Field(int, required=False, check=_positive),
    "ssm_conv_kernel": _Field(int, required=False, check=_positive),
    "mmproj_params": _Field(_NUMBER, required=False, check=_positive),
    "released": _Field(str, required=False, check=_month),
    "uses": _Field(list, required=False, check=_uses),
    "file_weights": _Field(dict, required=False, check=_file_weights_problem),
}

QUANT_FIELDS: dict[str, _Field] = {
    **_COMMON,
    "format": _Field(str, check=_one_of("any", "gguf", "safetensors")),
    "default_type": _Field(str, required=False),
    "nominal_bits": _Field(_NUMBER, check=_positive),
    "compute": _Field(str, check=_one_of("fp16", "fp8", "int8", "fp4")),
    "engines": _Field(list, check=_strings),
    "rules": _Field(list, required=False),
    "native_architectures": _Field(list, required=False, check=_strings),
    "quality_kld": _Field(_NUMBER, required=False, check=_non_negative),
    "quality_ppl_delta_pct": _Field(_NUMBER, required=False, check=_non_negative),
    "base": _Field(str, required=False),
    "rule_sets": _Field(list, required=False, check=_strings),
    "size_band_pct": _Field(_NUMBER, required=False, check=_positive),
    "note": _Field(str, required=False),
}
"""`base` names a quant whose default type and rules this one starts from (its own rules come
after); `rule_sets` appends shared [[rule_set]] rules after the quant's own."""

BLOCK_TYPE_FIELDS: dict[str, _Field] = {
    "id": _Field(str),
    "bits_per_weight": _Field(_NUMBER, check=_positive),
    "block_weights": _Field(int, required=False, check=_positive),
    "fallback": _Field(str, required=False),
}

RULE_SET_FIELDS: dict[str, _Field] = {
    "id": _Field(str),
    "rules": _Field(list),
    "source": _Field(str),
}

_TABLES: dict[str, dict[str, _Field]] = {
    "gpu": GPU_FIELDS,
    "model": MODEL_FIELDS,
    "quant": QUANT_FIELDS,
    "block_type": BLOCK_TYPE_FIELDS,
    "rule_set": RULE_SET_FIELDS,
}


@dataclass(slots=True)
class Catalog:
    """Everything the estimator can choose from, plus what was skipped while loading."""

    gpus: dict[str, GpuSpec] = field(default_factory=dict)
    models: dict[str, ModelSpec] = field(default_factory=dict)
    quants: dict[str, QuantSpec] = field(default_factory=dict)
    issues: list[CatalogIssue] = field(default_factory=list)


def builtin_catalog_dir() -> Path:
    """Where the shipped catalog lives: inside the wheel, or the repo's `catalog/` in a checkout."""
    packaged = Path(str(resources.files("gpufit"))) / "_data" / "catalog"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "catalog"


def load_catalog(extra_dirs: Sequence[Path] = (), base_dir: Path | None = None) -> Catalog:
    """Load the built-in catalog, then every `*.toml` in `extra_dirs` (later wins by id)."""
    base = base_dir or builtin_catalog_dir()
    paths = [base / name for name in CATALOG_FILES]
    paths.extend(sorted((base / MODEL_FILES_DIR).glob("*.toml")))
    for directory in extra_dirs:
        if directory.is_dir():
            paths.extend(sorted(directory.glob("*.toml")))
    return load_catalog_files(paths)


def load_catalog_files(paths: Iterable[Path]) -> Catalog:
    """Load catalog TOML files in order; problems become issues, never exceptions."""
    issues: list[CatalogIssue] = []
    raw: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {table: {} for table in _TABLES}
    for path in paths:
        _read_file(path, raw, issues)
    catalog = Catalog(issues=issues)
    block_bits = {entry_id: float(data["bits_per_weight"]) for entry_id, (_, data)
                  in raw["block_type"].items()}
    blocks = _BlockTable(
        bits=block_bits,
        weights={entry_id: int(data.get("block_weights", 1))
                 for entry_id, (_, data) in raw["block_type"].items()},
        fallback={entry_id: data["fallback"] for entry_id, (_, data)
                  in raw["block_type"].items() if "fallback" in data},
        rule_sets={entry_id: data["rules"] for entry_id, (_, data) in raw["rule_set"].items()},
    )
    for entry_id, (_file, data) in raw["gpu"].items():
        catalog.gpus[entry_id] = _build_gpu(data)
    for entry_id, (file, data) in raw["model"].items():
        problem = _model_consistency(data)
        if problem:
            issues.append(CatalogIssue(file, entry_id, problem[0], problem[1]))
            continue
        catalog.models[entry_id] = _build_model(data)
    for entry_id, (file, data) in raw["quant"].items():
        built = _build_quant(file, _with_base(data, raw["quant"]), blocks, issues)
        if built is not None:
            catalog.quants[entry_id] = built
    _add_file_quants(catalog)
    _check_aliases(catalog, raw, issues)
    # Slices are derived, not listed: each MIG profile of a catalog GPU becomes hardware too.
    catalog.gpus.update(catalog_slices(catalog.gpus))
    return catalog


def _read_file(
    path: Path,
    raw: dict[str, dict[str, tuple[str, dict[str, Any]]]],
    issues: list[CatalogIssue],
) -> None:
    name = path.name
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        issues.append(CatalogIssue(name, "-", "-", f"file not found: {path}"))
        return
    except (OSError, UnicodeDecodeError) as error:
        issues.append(CatalogIssue(name, "-", "-", f"cannot read {path}: {error}"))
        return
    except tomllib.TOMLDecodeError as error:
        issues.append(CatalogIssue(name, "-", "-", f"not valid TOML: {error}"))
        return
    for table, entries in document.items():
        if table not in _TABLES:
            issues.append(CatalogIssue(name, "-", table, "unknown table (expected "
                                       + ", ".join(f"[[{t}]]" for t in _TABLES) + ")"))
            continue
        if not isinstance(entries, list):
            issues.append(CatalogIssue(name, "-", table, f"must be an array of tables [[{table}]]"))
            continue
        seen_here: set[str] = set()
        for position, entry in enumerate(entries, start=1):
            _read_entry(name, table, position, entry, seen_here, raw, issues)


def _read_entry(
    file: str,
    table: str,
    position: int,
    entry: Any,
    seen_here: set[str],
    raw: dict[str, dict[str, tuple[str, dict[str, Any]]]],
    issues: list[CatalogIssue],
) -> None:
    label = f"#{position}"
    if not isinstance(entry, dict):
        issues.append(CatalogIssue(file, label, "-", f"[[{table}]] entry must be a table"))
        return
    entry_id = entry.get("id")
    if isinstance(entry_id, str) and entry_id:
        label = entry_id
    problem = _validate(entry, _TABLES[table])
    if problem:
        issues.append(CatalogIssue(file, label, problem[0], problem[1] + " — entry skipped"))
        return
    assert isinstance(entry_id, str)  # _validate checked the id
    if entry_id in seen_here:
        issues.append(CatalogIssue(file, label, "id", "duplicate id in this file — entry skipped"))
        return
    seen_here.add(entry_id)
    raw[table][entry_id] = (file, entry)


def _validate(entry: dict[str, Any], schema: dict[str, _Field]) -> tuple[str, str] | None:
    for key in entry:
        if key not in schema:
            return key, "unknown key"
    for key, spec in schema.items():
        if key not in entry:
            if spec.required:
                return key, "missing"
            continue
        value = entry[key]
        # bool is an int subclass; a count given as true/false is a typo, not a number.
        wrong_bool = isinstance(value, bool) and spec.kind is not bool
        if wrong_bool or not isinstance(value, spec.kind):
            return key, f"expected {_kind_name(spec.kind)}, got {type(value).__name__} {value!r}"
        if isinstance(value, str) and not value.strip():
            return key, "must not be empty"
        if spec.check is not None:
            message = spec.check(value)
            if message:
                # A whole table in the message would bury the one field that is wrong.
                return key, message if isinstance(value, dict) else f"{message} (got {value!r})"
    return None


def _kind_name(kind: type | tuple[type, ...]) -> str:
    if kind == _NUMBER:
        return "a number"
    return {str: "a string", int: "an integer", bool: "true/false", list: "a list",
            dict: "a table"}.get(
        kind if isinstance(kind, type) else list, str(kind))


def _model_consistency(data: dict[str, Any]) -> tuple[str, str] | None:
    if data["attention_heads"] % data["kv_heads"] != 0:
        return "kv_heads", (f"{data['kv_heads']} does not divide attention_heads "
                            f"{data['attention_heads']} — entry skipped")
    experts_total = data.get("experts_total", 0)
    experts_active = data.get("experts_active", 0)
    if experts_active > experts_total:
        return "experts_active", (f"{experts_active} is more than experts_total "
                                  f"{experts_total} — entry skipped")
    if experts_total and not experts_active:
        return "experts_active", "required when experts_total is set — entry skipped"
    for key in ("recurrent_layers", "attention_layers", "mlp_layers"):
        if any(index >= data["layers"] for index in data.get(key, ())):
            return key, "lists a layer at or past layers — entry skipped"
    if data.get("recurrent_layers"):
        needed = ("recurrent_kind", "ssm_inner_size", "ssm_state_size", "ssm_conv_kernel")
        missing_ssm = [key for key in needed if key not in data]
        if missing_ssm:
            return missing_ssm[0], ("hybrid models need " + ", ".join(needed)
                                    + " — entry skipped")
    if data.get("dense_layers", 0) > data["layers"]:
        return "dense_layers", "is more than layers — entry skipped"
    mla = [key for key in ("kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim")
           if key in data]
    if mla and len(mla) != 4:
        missing = next(key for key in ("kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim",
                                       "v_head_dim") if key not in data)
        return missing, "MLA models need kv_lora_rank, qk_rope_head_dim, qk_nope_head_dim and " \
                        "v_head_dim — entry skipped"
    return None


def _add_file_quants(catalog: Catalog) -> None:
    """Saved imported models may be stored at an EXL2 bitrate the catalog does not list (4.65):
    derive those quants so the models keep their exact weights."""
    from gpufit.core.exl2 import resolve_quant_text

    for model in catalog.models.values():
        file = model.file_weights
        if file is not None and file.quant_id not in catalog.quants:
            with contextlib.suppress(ValueError):
                resolve_quant_text(catalog.quants, file.quant_id)


def _build_gpu(data: dict[str, Any]) -> GpuSpec:
    values = dict(data)
    values["aliases"] = tuple(values.get("aliases", ()))
    values["mig_profiles"] = tuple(values.get("mig_profiles", ()))
    return GpuSpec(**values)


def _build_model(data: dict[str, Any]) -> ModelSpec:
    values = dict(data)
    values["aliases"] = tuple(values.get("aliases", ()))
    for key in ("recurrent_layers", "uses"):
        if key in values:
            values[key] = tuple(values[key])
    for key in ("attention_layers", "mlp_layers"):
        if key in values:
            values[key] = tuple(values[key])
    if "file_weights" in values:
        values["file_weights"] = _build_file_weights(values["file_weights"])
    return ModelSpec(**values)


@dataclass(frozen=True, slots=True)
class _BlockTable:
    """The [[block_type]] and [[rule_set]] tables every quant is built against."""

    bits: dict[str, float]
    weights: dict[str, int]
    fallback: dict[str, str]
    rule_sets: dict[str, list[Any]]


def _with_base(data: dict[str, Any], quants: dict[str, tuple[str, dict[str, Any]]]
               ) -> dict[str, Any]:
    """A quant with `base`: the base's default type and rules first, then its own rules
    (publisher recipes such as bartowski's Q4_K_L are llama.cpp's Q4_K_M plus overrides)."""
    base_id = data.get("base")
    if base_id is None or base_id not in quants or base_id == data["id"]:
        return data
    base = _with_base(quants[base_id][1], {k: v for k, v in quants.items() if k != data["id"]})
    merged = dict(data)
    merged.setdefault("default_type", base["default_type"])
    merged["rules"] = [*base.get("rules", ()), *data.get("rules", ())]
    merged["rule_sets"] = [*base.get("rule_sets", ()), *data.get("rule_sets", ())]
    return merged


def _build_quant(
    file: str,
    data: dict[str, Any],
    blocks: _BlockTable,
    issues: list[CatalogIssue],
) -> QuantSpec | None:
    entry_id = data["id"]
    if "base" in data and "default_type" not in data:
        issues.append(CatalogIssue(file, entry_id, "base", f"{data['base']!r} is not a quant "
                                   "(or names this one) and no default_type is given — "
                                   "entry skipped"))
        return None
    if "default_type" not in data:
        issues.append(CatalogIssue(file, entry_id, "default_type", "missing — entry skipped"))
        return None
    if data["default_type"] not in blocks.bits:
        issues.append(CatalogIssue(file, entry_id, "default_type",
                                   f"unknown storage type {data['default_type']!r} — entry skipped"))
        return None
    listed = [(f"rules[{index}]", rule) for index, rule in enumerate(data.get("rules", ()), 1)]
    for set_id in data.get("rule_sets", ()):
        if set_id not in blocks.rule_sets:
            issues.append(CatalogIssue(file, entry_id, "rule_sets",
                                       f"unknown rule set {set_id!r} — entry skipped"))
            return None
        listed += [(f"rule_set {set_id} [{index}]", rule)
                   for index, rule in enumerate(blocks.rule_sets[set_id], 1)]
    rules: list[QuantRule] = []
    for where, rule in listed:
        parsed = _parse_rule(rule, blocks.bits)
        if isinstance(parsed, str):
            issues.append(CatalogIssue(file, entry_id, where, parsed + " — entry skipped"))
            return None
        rules.append(parsed)
    values = dict(data)
    for key in ("rules", "rule_sets", "base"):
        values.pop(key, None)
    values["aliases"] = tuple(values.get("aliases", ()))
    values["engines"] = tuple(values["engines"])
    values["native_architectures"] = tuple(values.get("native_architectures", ()))
    return QuantSpec(**values, rules=tuple(rules), block_bits=dict(blocks.bits),
                     block_weights=dict(blocks.weights), block_fallback=dict(blocks.fallback))


def _parse_rule(rule: Any, block_bits: dict[str, float]) -> QuantRule | str:
    if not isinstance(rule, dict):
        return "must be an inline table {role = …, type = …}"
    unknown = set(rule) - {"role", "type", "layers", "when", "group"}
    if unknown:
        return f"unknown key {sorted(unknown)[0]!r}"
    role, storage, layers = rule.get("role"), rule.get("type"), rule.get("layers", "all")
    group = rule.get("group")
    if role not in ROLES:
        return f"role {role!r} must be one of {', '.join(ROLES)}"
    if storage not in block_bits:
        return f"unknown storage type {storage!r}"
    if layers not in LAYER_SELECTORS:
        return f"layers {layers!r} must be one of {', '.join(LAYER_SELECTORS)}"
    if group is not None and group not in RULE_GROUPS:
        return f"group {group!r} must be one of {', '.join(RULE_GROUPS)}"
    when = rule.get("when", {})
    allowed = {*_WHEN_INTS, *_WHEN_STRINGS, "native_dtype", "row_misfit"}
    if not isinstance(when, dict) or set(when) - allowed:
        return "when may only hold " + ", ".join(sorted(allowed))
    for key in _WHEN_INTS:
        value = when.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return f"when.{key} must be an integer"
    texts: dict[str, tuple[str, ...]] = {}
    for key in _WHEN_STRINGS:
        value = when.get(key, [])
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return f"when.{key} must be a string or a list of strings"
        texts[key] = tuple(value)
    if any(name not in block_bits for name in texts["type_in"]):
        return "when.type_in names an unknown storage type"
    native, misfit = when.get("native_dtype"), when.get("row_misfit")
    if native is not None and not isinstance(native, str):
        return "when.native_dtype must be a string"
    if misfit is not None and not isinstance(misfit, bool):
        return "when.row_misfit must be true or false"
    return QuantRule(role=role, type=storage, layers=layers, group=group,
                     when_experts=when.get("experts"), when_min_experts=when.get("min_experts"),
                     when_min_gqa=when.get("min_gqa"), when_layers=when.get("layers"),
                     when_architecture=texts["architecture"],
                     when_not_architecture=texts["not_architecture"],
                     when_native_dtype=native, when_type_in=texts["type_in"],
                     when_row_misfit=misfit)


def _check_aliases(
    catalog: Catalog,
    raw: dict[str, dict[str, tuple[str, dict[str, Any]]]],
    issues: list[CatalogIssue],
) -> None:
    """Within a kind, an alias naming two entries would make lookups ambiguous: report it."""
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("gpu", catalog.gpus), ("model", catalog.models), ("quant", catalog.quants)]
    for table, entries in kinds:
        owner: dict[str, str] = {}
        for entry_id, spec in entries.items():
            for name in (entry_id, spec.name, *spec.aliases):
                key = name.casefold()
                previous = owner.setdefault(key, entry_id)
                if previous != entry_id:
                    file = raw[table][entry_id][0]
                    issues.append(CatalogIssue(file, entry_id, "aliases",
                                               f"{name!r} also names '{previous}'; "
                                               f"'{previous}' keeps it"))
