"""Building quants from the catalog's [[quant]], [[block_type]] and [[rule_set]] tables: a
publisher recipe's `base`, shared rule sets, and each llama.cpp-style rule, checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpufit.core.catalog_schema import CatalogIssue
from gpufit.core.limits import MAX_HEADS
from gpufit.core.quant_rules import LAYER_SELECTORS
from gpufit.core.specs import QuantRule, QuantSpec

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
class BlockTable:
    """The [[block_type]] and [[rule_set]] tables every quant is built against."""

    bits: dict[str, float]
    weights: dict[str, int]
    fallback: dict[str, str]
    rule_sets: dict[str, list[Any]]


def with_base(data: dict[str, Any], quants: dict[str, tuple[str, dict[str, Any]]]
               ) -> dict[str, Any]:
    """A quant with `base`: the base's default type and rules first, then its own rules
    (publisher recipes such as bartowski's Q4_K_L are llama.cpp's Q4_K_M plus overrides)."""
    base_id = data.get("base")
    if base_id is None or base_id not in quants or base_id == data["id"]:
        return data
    base = with_base(quants[base_id][1], {k: v for k, v in quants.items() if k != data["id"]})
    merged = dict(data)
    merged.setdefault("default_type", base["default_type"])
    merged["rules"] = [*base.get("rules", ()), *data.get("rules", ())]
    merged["rule_sets"] = [*base.get("rule_sets", ()), *data.get("rule_sets", ())]
    return merged


def build_quant(
    file: str,
    data: dict[str, Any],
    blocks: BlockTable,
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
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or not 0 <= value <= MAX_HEADS):
            return f"when.{key} must be an integer from 0 to {MAX_HEADS}"
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


