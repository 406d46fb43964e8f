"""Which format a model file is stored in, and how many weights its packed tensors hold.

The file's own words (GGUF `general.file_type`, `config.json`'s `quantization_config`, or the
dtype holding most bytes) name the catalog quant with the same kernels, which supplies speed
and quality. Packed tensors hold several weights per stored element (int32 GPTQ/AWQ words,
uint8 MXFP4 blocks and bitsandbytes nibbles); scales, zero points and permutations hold none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from gpufit.core.specs import QuantSpec

# Tensors that only describe other tensors (scales, zero points, permutations): they take
# bytes but hold no weights of their own.
_AUXILIARY = re.compile(r"(scales?|scale_inv|qzeros|g_idx|zero_point|weight_shape|absmax|"
                        r"quant_map|SCB|weight_format|input_scale|_amax)$")
# The file's own words for its format → the catalog quant with the same kernels.
_GGUF_FILE_TYPES = {"F32": "FP32", "F16": "FP16"}
_FLOAT_DTYPES = {"BF16": "BF16", "F16": "FP16", "F32": "FP32", "F8_E4M3": "FP8"}


def _find_quant(quants: Mapping[str, QuantSpec], wanted: str) -> QuantSpec | None:
    folded = wanted.casefold()
    return next((quant for quant in quants.values()
                 if folded in {name.casefold() for name in (quant.id, *quant.aliases)}), None)


def gguf_quant(label: str, bytes_by_type: Mapping[str, int],
               quants: Mapping[str, QuantSpec]) -> tuple[str, str | None]:
    """(catalog quant id, a note if the match is approximate) for a GGUF's file type label."""
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


def quantization(config: Mapping[str, Any]) -> tuple[str, float]:
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


def exl2_params(tensors: Iterable[Any]) -> dict[str, int]:
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


def packed_params(name: str, dtype: str, elements: int, method: str, bits: float) -> int:
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


def hf_quant(method: str, bits: int, config: Mapping[str, Any], bytes_by_type: Mapping[str, int],
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
