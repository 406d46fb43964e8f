"""Quant names: EXL2 (ExLlamaV2) at any chosen bits per weight, and every quant name a user or a
file name states ("q4_k_m", "Q4-K-M", "model-UD-Q4_K_XL.gguf"), resolved case- and
separator-insensitively (gpufit.core.resolve.normalise).

ExLlamaV2's converter takes a free target bitrate (`convert.py -b 4.65`), so EXL2 is a family,
not a fixed list. The catalog holds the bitrates with published quality numbers (EXL2-3.0 …
EXL2-6.0); this module owns everything between them:

- `exl2_quant(bpw, quants)` builds the QuantSpec for a target in [2, 8] bpw. Storage follows the
  catalog's EXL2 entries (same rules: FP16 embedding, 6-bit head), with the decoder layers' linear
  weights at exactly `bpw` — the converter's target already includes EXL2's scale/group overhead.
- Quality is interpolated linearly in bpw between the two nearest catalog EXL2 entries and held
  at the nearest entry's value outside their range. Below the lowest entry (3.0 bpw) that is
  optimistic: real loss keeps growing towards 2 bpw, but no published figure pins it down.
- `parse_exl2(text)` reads "EXL2-4.65", "exl2 4.65" or "exl2_4.65bpw" as 4.65.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from itertools import pairwise

from gpufit.core.specs import QuantSpec

EXL2_MIN_BPW = 2.0
EXL2_MAX_BPW = 8.0
"""The converter's range: convert_exl2.py warns that targets outside [2, 8] are likely unattainable."""

ENGINE = "exllamav2"

_CATALOG_ID = re.compile(r"EXL2-(\d+(?:\.\d+)?)")
_TEXT = re.compile(r"\s*exl2[\s_-]+(\d+(?:\.\d*)?|\.\d+)\s*(?:bpw|b)?\s*", re.IGNORECASE)
_QUALITY_FIELDS = ("quality_kld", "quality_ppl_delta_pct")


def bpw_label(bits_per_weight: float) -> str:
    """4.65 → "4.65", 4.0 → "4.0": `:g`, keeping ".0" on whole numbers (as EXL2 branch names do)."""
    text = f"{bits_per_weight:g}"
    return text if "." in text else f"{text}.0"


def parse_exl2(text: str) -> float | None:
    """The bits per weight named by "EXL2-4.65", "exl2 4.65", "exl2_4.65bpw"; None if not EXL2."""
    match = _TEXT.fullmatch(text)
    return float(match.group(1)) if match else None


def catalog_exl2(quants: Mapping[str, QuantSpec]) -> list[tuple[float, QuantSpec]]:
    """The catalog's EXL2 entries (ids "EXL2-<bpw>" run by exllamav2) as (bpw, quant), by bpw."""
    found = [(float(match.group(1)), quant) for quant in quants.values()
             if (match := _CATALOG_ID.fullmatch(quant.id)) and ENGINE in quant.engines]
    return sorted(found, key=lambda pair: pair[0])


def _interpolate(points: list[tuple[float, float]], x: float) -> float:
    """Piecewise-linear through `points` (sorted by x), flat beyond the first and last."""
    if x <= points[0][0]:
        return points[0][1]
    if x >= points[-1][0]:
        return points[-1][1]
    for (x0, y0), (x1, y1) in pairwise(points):
        if x == x1:
            return y1  # a catalog bitrate: its own published value, exactly
        if x0 <= x < x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]  # unreachable: x lies inside the points' range


def exl2_quant(bits_per_weight: float, quants: Mapping[str, QuantSpec]) -> QuantSpec:
    """EXL2 at `bits_per_weight` (2.0–8.0): catalog EXL2 storage with the layers at that bpw.

    Raises ValueError outside [2, 8] (or for NaN), or when `quants` holds no EXL2 entry to take
    the rules and quality numbers from.
    """
    bpw = float(bits_per_weight)
    if not math.isfinite(bpw) or not EXL2_MIN_BPW <= bpw <= EXL2_MAX_BPW:
        raise ValueError(f"EXL2 bits per weight must be between {EXL2_MIN_BPW:g} and "
                         f"{EXL2_MAX_BPW:g} (ExLlamaV2's converter range), got {bits_per_weight!r}")
    entries = catalog_exl2(quants)
    if not entries:
        raise ValueError("the catalog has no EXL2 entries (ids like 'EXL2-4.0') to build "
                         "an EXL2 quant from")
    template = min(entries, key=lambda pair: abs(pair[0] - bpw))[1]
    label = bpw_label(bpw)
    layer_type = f"EXL2_{label}"
    block_bits = {**template.block_bits, layer_type: bpw}
    quality: dict[str, float | None] = {}
    for name in _QUALITY_FIELDS:
        points = [(entry_bpw, value) for entry_bpw, quant in entries
                  if (value := getattr(quant, name)) is not None]
        quality[name] = _interpolate(points, bpw) if points else None
    return replace(
        template,
        id=f"EXL2-{label}",
        name=f"EXL2 {label} bpw",
        aliases=(),
        default_type=layer_type,
        nominal_bits=bpw,
        block_bits=block_bits,
        quality_kld=quality["quality_kld"],
        quality_ppl_delta_pct=quality["quality_ppl_delta_pct"],
    )


class QuantChoiceError(ValueError):
    """A quant name that reads as EXL2 but asks for an impossible bitrate."""


def resolve_quant(quants: dict[str, QuantSpec], text: str) -> QuantSpec:
    """A catalog quant by id, name or alias, or EXL2 at any bits per weight ("EXL2-4.65").

    Raises ResolveError for unknown names and QuantChoiceError for an EXL2 bitrate out of range."""
    from gpufit.core.resolve import ResolveError, resolve

    try:
        return resolve(quants, text, "quant")
    except ResolveError:
        try:
            quant = resolve_quant_text(quants, text)
        except ValueError as error:
            raise QuantChoiceError(f"quant '{text}': {error}") from None
        if quant is None:
            raise
        return quant


def resolve_quant_text(quants: dict[str, QuantSpec], text: str) -> QuantSpec | None:
    """The EXL2 quant `text` names ("EXL2-4.65"), added to `quants` so every later lookup of its
    id (advice, sweeps, the picker) finds it; None when `text` is not EXL2 or the id is known."""
    bits = parse_exl2(text)
    if bits is None:
        return None
    quant = exl2_quant(bits, quants)
    return quants.setdefault(quant.id, quant)


def resolve_quant_file(quants: dict[str, QuantSpec], file_name: str) -> QuantSpec | None:
    """The catalog quant a model file's name states ("model-UD-Q4_K_XL.gguf" → UD-Q4_K_XL),
    or None when the name states none the catalog knows. A GGUF named "mxfp4" is llama.cpp's
    MXFP4_MOE file type (ggml-org's gpt-oss-20b-mxfp4.gguf), not the safetensors MXFP4 layout."""
    from gpufit.core.resolve import ResolveError
    from gpufit.importers.names import quant_label_from_filename

    label = quant_label_from_filename(file_name)
    if label is None:
        return None
    if label == "MXFP4" and file_name.casefold().endswith(".gguf") and "MXFP4_MOE" in quants:
        label = "MXFP4_MOE"
    try:
        return resolve_quant(quants, label)
    except (ResolveError, QuantChoiceError):
        return None
