"""The catalog's schema: every field of a GPU, model and quant entry with its type and check,
each entry's consistency rules, and building the typed specs from checked entries.

Problems are returned (field, message) for `gpufit.core.catalog` to turn into `CatalogIssue`s
naming the file and entry: a bad entry never stops the rest. Every number is finite and within
a plausible range (`core/limits.py`), so nothing downstream meets NaN, infinity or a count that
would take minutes to loop over.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpufit.core import limits
from gpufit.core.mig import parse_profile
from gpufit.core.specs import MODEL_USES, RECURRENT_KINDS, GpuSpec, ModelSpec
from gpufit.core.tensors import GROUPS, FileWeights, WeightBreakdown


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
class Field:
    kind: type | tuple[type, ...]
    required: bool = True
    check: Callable[[Any], str | None] | None = None


def _within(low: float, high: float, *, above_low: bool = False) -> Callable[[Any], str | None]:
    """A check that a number lies in [low, high] (or (low, high] with `above_low`)."""
    def check(value: Any) -> str | None:
        inside = (value > low if above_low else value >= low) and value <= high
        if inside:
            return None
        if value <= 0 < low or (above_low and low == 0 and value <= 0):
            return f"must be greater than 0 (from {low:g} to {high:g})"
        return f"must be {'above' if above_low else 'at least'} {low:g} and at most {high:g}"

    return check


def _positive_up_to(high: float) -> Callable[[Any], str | None]:
    return _within(1, high)


def _count_up_to(high: float) -> Callable[[Any], str | None]:
    return _within(0, high)


def _fraction(value: Any) -> str | None:
    return None if 0 < value <= 1 else "must be in (0, 1]"


def _mig_profiles(value: Any) -> str | None:
    problem = _strings(value)
    if problem:
        return problem
    if len(value) > limits.MAX_MIG_PROFILES:
        return f"lists more than {limits.MAX_MIG_PROFILES} profiles"
    for name in value:
        parsed = parse_profile(name)
        if parsed is None or not 1 <= parsed[0] <= limits.MAX_MIG_SLICES \
                or not 1 <= parsed[1] <= limits.MAX_MEMORY_MIB // 1024:
            return (f"{name!r} is not a MIG profile like 3g.40gb (1 to {limits.MAX_MIG_SLICES} "
                    "compute slices, at least 1 GB)")
    return None


def _one_of(*allowed: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"

    return check


def _strings(value: Any) -> str | None:
    return None if all(isinstance(item, str) for item in value) else "must be a list of strings"


def _layer_indices(value: Any) -> str | None:
    if len(value) > limits.MAX_LAYERS:
        return f"lists more than {limits.MAX_LAYERS} layers"
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
            return f"file_weights.{key} is missing or not {kind_name(kind)}"
    for key in ("total_bytes", "total_params", "active_params"):
        if not 0 <= value[key] <= limits.MAX_FILE_BYTES:
            return f"file_weights.{key} must be from 0 to {limits.MAX_FILE_BYTES}"
    for key in ("bytes_by_group", "params_by_group"):
        if set(value[key]) != set(GROUPS) or not all(
                _whole(size) for size in value[key].values()):
            return f"file_weights.{key} must give a whole number for each of {', '.join(GROUPS)}"
    for key in ("params_by_type", "bytes_by_type"):
        if not all(_whole(size) for size in value[key].values()):
            return f"file_weights.{key} must map types to whole numbers"
    if len(value["layer_tensors"]) > limits.MAX_LAYERS:
        return f"file_weights.layer_tensors lists more than {limits.MAX_LAYERS} layers"
    for index, layer in enumerate(value["layer_tensors"]):
        if not isinstance(layer, list) or not all(
                isinstance(pair, list) and len(pair) == 2 and pair[0] in GROUPS
                and _whole(pair[1]) for pair in layer):
            return f"file_weights.layer_tensors[{index}] must be a list of [group, bytes] pairs"
    if sum(value["bytes_by_group"].values()) != value["total_bytes"]:
        return "file_weights.bytes_by_group does not add up to total_bytes"
    return None


def _whole(value: Any) -> bool:
    """A byte or parameter count: an integer from 0 to MAX_FILE_BYTES."""
    return isinstance(value, int) and not isinstance(value, bool) \
        and 0 <= value <= limits.MAX_FILE_BYTES


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


NUMBER = (int, float)
_TFLOPS = _within(limits.MIN_TFLOPS, limits.MAX_TFLOPS)
_WIDTH = _positive_up_to(limits.MAX_WIDTH)
_HEADS = _positive_up_to(limits.MAX_HEADS)
_BITS = _within(0, limits.MAX_BITS_PER_WEIGHT, above_low=True)
"""Bits per stored weight: above 0 and no wider than a double."""
_COMMON: dict[str, Field] = {
    "id": Field(str),
    "name": Field(str),
    "aliases": Field(list, required=False, check=_strings),
    "source": Field(str),
}

GPU_FIELDS: dict[str, Field] = {
    **_COMMON,
    "vendor": Field(str, check=_one_of("nvidia", "amd", "apple", "intel")),
    "family": Field(str),
    "architecture": Field(str),
    "memory_mib": Field(int, check=_positive_up_to(limits.MAX_MEMORY_MIB)),
    "memory_type": Field(str, required=False),
    "bandwidth_gbps": Field(NUMBER, check=_within(limits.MIN_BANDWIDTH_GBPS, limits.MAX_BANDWIDTH_GBPS)),
    "fp16_tflops": Field(NUMBER, check=_TFLOPS),
    "bf16_tflops": Field(NUMBER, required=False, check=_TFLOPS),
    "fp8_tflops": Field(NUMBER, required=False, check=_TFLOPS),
    "int8_tops": Field(NUMBER, required=False, check=_TFLOPS),
    "fp4_tflops": Field(NUMBER, required=False, check=_TFLOPS),
    "tdp_watts": Field(NUMBER, check=_within(1, limits.MAX_WATTS)),
    "interconnect": Field(str, check=_one_of("nvlink", "pcie", "infinity-fabric", "unified")),
    "interconnect_gbps": Field(NUMBER, check=_within(limits.MIN_LINK_GBPS, limits.MAX_LINK_GBPS)),
    "pcie_generation": Field(int, required=False, check=_within(1, 9)),
    "mig_profiles": Field(list, required=False, check=_mig_profiles),
    "gpu_usable_fraction": Field(NUMBER, required=False, check=_fraction),
}

MODEL_FIELDS: dict[str, Field] = {
    **_COMMON,
    "family": Field(str),
    "architecture": Field(str),
    "layers": Field(int, check=_positive_up_to(limits.MAX_LAYERS)),
    "hidden_size": Field(int, check=_WIDTH),
    "attention_heads": Field(int, check=_HEADS),
    "kv_heads": Field(int, check=_HEADS),
    "head_dim": Field(int, check=_HEADS),
    "intermediate_size": Field(int, check=_WIDTH),
    "vocab_size": Field(int, check=_positive_up_to(limits.MAX_VOCAB)),
    "tied_embeddings": Field(bool),
    "max_context_tokens": Field(int, check=_positive_up_to(limits.MAX_CONTEXT_TOKENS)),
    "mlp_gated": Field(bool, required=False),
    "attention_bias": Field(bool, required=False),
    "fused_qkv": Field(bool, required=False),
    "experts_total": Field(int, required=False, check=_count_up_to(limits.MAX_HEADS)),
    "experts_active": Field(int, required=False, check=_count_up_to(limits.MAX_HEADS)),
    "expert_intermediate_size": Field(int, required=False, check=_WIDTH),
    "shared_experts": Field(int, required=False, check=_count_up_to(limits.MAX_HEADS)),
    "shared_expert_intermediate_size": Field(int, required=False, check=_WIDTH),
    "dense_layers": Field(int, required=False, check=_count_up_to(limits.MAX_LAYERS)),
    "sliding_window_tokens": Field(int, required=False, check=_positive_up_to(limits.MAX_CONTEXT_TOKENS)),
    "sliding_window_pattern": Field(int, required=False, check=_positive_up_to(limits.MAX_LAYERS)),
    "kv_lora_rank": Field(int, required=False, check=_WIDTH),
    "q_lora_rank": Field(int, required=False, check=_count_up_to(limits.MAX_WIDTH)),
    "qk_rope_head_dim": Field(int, required=False, check=_HEADS),
    "qk_nope_head_dim": Field(int, required=False, check=_HEADS),
    "v_head_dim": Field(int, required=False, check=_HEADS),
    "params_total_published": Field(NUMBER, check=_positive_up_to(limits.MAX_PARAMS)),
    "params_active_published": Field(NUMBER, required=False, check=_positive_up_to(limits.MAX_PARAMS)),
    "native_dtype": Field(str, required=False,
                           check=_one_of("bf16", "fp16", "fp32", "fp8", "mxfp4")),
    "attention_output_gate": Field(bool, required=False),
    "moe_layer_step": Field(int, required=False, check=_positive_up_to(limits.MAX_LAYERS)),
    "recurrent_layers": Field(list, required=False, check=_layer_indices),
    "attention_layers": Field(list, required=False, check=_layer_indices),
    "mlp_layers": Field(list, required=False, check=_layer_indices),
    "recurrent_kind": Field(str, required=False, check=_one_of(*RECURRENT_KINDS)),
    "ssm_inner_size": Field(int, required=False, check=_WIDTH),
    "ssm_state_size": Field(int, required=False, check=_WIDTH),
    "ssm_groups": Field(int, required=False, check=_count_up_to(limits.MAX_HEADS)),
    "ssm_heads": Field(int, required=False, check=_HEADS),
    "ssm_conv_kernel": Field(int, required=False, check=_HEADS),
    "mmproj_params": Field(NUMBER, required=False, check=_positive_up_to(limits.MAX_PARAMS)),
    "released": Field(str, required=False, check=_month),
    "uses": Field(list, required=False, check=_uses),
    "file_weights": Field(dict, required=False, check=_file_weights_problem),
}

QUANT_FIELDS: dict[str, Field] = {
    **_COMMON,
    "format": Field(str, check=_one_of("any", "gguf", "safetensors")),
    "default_type": Field(str, required=False),
    "nominal_bits": Field(NUMBER, check=_BITS),
    "compute": Field(str, check=_one_of("fp16", "fp8", "int8", "fp4")),
    "engines": Field(list, check=_strings),
    "rules": Field(list, required=False),
    "native_architectures": Field(list, required=False, check=_strings),
    "quality_kld": Field(NUMBER, required=False, check=_count_up_to(1000)),
    "quality_ppl_delta_pct": Field(NUMBER, required=False, check=_count_up_to(1e6)),
    "base": Field(str, required=False),
    "rule_sets": Field(list, required=False, check=_strings),
    "size_band_pct": Field(NUMBER, required=False, check=_within(0, 100, above_low=True)),
    "note": Field(str, required=False),
}
"""`base` names a quant whose default type and rules this one starts from (its own rules come
after); `rule_sets` appends shared [[rule_set]] rules after the quant's own."""

BLOCK_TYPE_FIELDS: dict[str, Field] = {
    "id": Field(str),
    "bits_per_weight": Field(NUMBER, check=_BITS),
    "block_weights": Field(int, required=False, check=_positive_up_to(limits.MAX_BLOCK_WEIGHTS)),
    "fallback": Field(str, required=False),
}

RULE_SET_FIELDS: dict[str, Field] = {
    "id": Field(str),
    "rules": Field(list),
    "source": Field(str),
}

TABLES: dict[str, dict[str, Field]] = {
    "gpu": GPU_FIELDS,
    "model": MODEL_FIELDS,
    "quant": QUANT_FIELDS,
    "block_type": BLOCK_TYPE_FIELDS,
    "rule_set": RULE_SET_FIELDS,
}




def validate(entry: dict[str, Any], schema: dict[str, Field]) -> tuple[str, str] | None:
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
            return key, f"expected {kind_name(spec.kind)}, got {type(value).__name__} {value!r}"
        if isinstance(value, str) and not value.strip():
            return key, "must not be empty"
        if isinstance(value, float) and not math.isfinite(value):
            return key, f"must be a finite number (got {value!r})"
        if spec.check is not None:
            message = spec.check(value)
            if message:
                # A whole table in the message would bury the one field that is wrong.
                return key, message if isinstance(value, dict) else f"{message} (got {value!r})"
    return None


def kind_name(kind: type | tuple[type, ...]) -> str:
    if kind == NUMBER:
        return "a number"
    return {str: "a string", int: "an integer", bool: "true/false", list: "a list",
            dict: "a table"}.get(
        kind if isinstance(kind, type) else list, str(kind))


def model_consistency(data: dict[str, Any]) -> tuple[str, str] | None:
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




def build_gpu(data: dict[str, Any]) -> GpuSpec:
    values = dict(data)
    values["aliases"] = tuple(values.get("aliases", ()))
    values["mig_profiles"] = tuple(values.get("mig_profiles", ()))
    return GpuSpec(**values)


def build_model(data: dict[str, Any]) -> ModelSpec:
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


