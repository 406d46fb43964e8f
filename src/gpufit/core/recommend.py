"""What to do next: a quant that fits, how many GPUs, what to offload, what headroom buys."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from gpufit.core.estimate import Estimate, estimate
from gpufit.core.specs import GB, GIB, QuantSpec

MAX_GPUS = 16


SIZE_UNITS = {"GB": GB, "GiB": GIB}


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One piece of advice: a machine-readable kind, a sentence, and the numbers behind it.

    The sentence is a template whose `{name}` fields are sizes in bytes from `sizes`, so it can
    be written in GB or GiB to match what the rest of the screen shows."""

    kind: str
    template: str
    data: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, float] = field(default_factory=dict)

    def text_in(self, unit: str = "GB") -> str:
        """The sentence with sizes in `unit` (GB = 10^9 bytes, GiB = 2^30 bytes)."""
        divisor = SIZE_UNITS[unit]
        return self.template.format_map(
            {name: f"{value / divisor:.1f} {unit}" for name, value in self.sizes.items()})

    @property
    def text(self) -> str:
        """The sentence in GB."""
        return self.text_in("GB")

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape: kind, text and the data fields side by side."""
        return {"kind": self.kind, "text": self.text, **self.data}


def engine_quants(quants: dict[str, QuantSpec], engine: str) -> list[QuantSpec]:
    """Quants the engine runs, best quality first (more effective bits = closer to the original)."""
    usable = [quant for quant in quants.values() if engine in quant.engines]
    return sorted(usable, key=lambda quant: (-quant.default_bits_per_weight, quant.id))


def recommend(result: Estimate, quants: dict[str, QuantSpec]) -> list[Recommendation]:
    """Advice for `result`: alternatives when it does not fit, what the headroom buys when it does."""
    if result.verdict == "does-not-fit":
        return _when_short(result, quants)
    return _when_fits(result, quants)


def _when_short(result: Estimate, quants: dict[str, QuantSpec]) -> list[Recommendation]:
    advice: list[Recommendation] = []
    hardware, workload = result.hardware, result.workload
    for quant in engine_quants(quants, workload.engine):
        if quant.id == result.quant.id or quant.default_bits_per_weight >= \
                result.quant.default_bits_per_weight:
            continue
        trial = estimate(result.model, quant, hardware, workload)
        if trial.verdict != "does-not-fit":
            advice.append(Recommendation(
                "quant",
                f"{quant.id} fits: {{total}} of {{available}}, "
                f"~{trial.speed.decode_tokens_per_s:.0f} tok/s.",
                {"quant": quant.id, "total_bytes": trial.memory.total_bytes,
                 "headroom_bytes": trial.memory.headroom_bytes,
                 "decode_tokens_per_s": round(trial.speed.decode_tokens_per_s, 1)},
                {"total": trial.memory.total_bytes, "available": trial.memory.available_bytes}))
            break
    for count in range(hardware.count + 1, MAX_GPUS + 1):
        trial = estimate(result.model, result.quant, replace(hardware, count=count), workload)
        if trial.verdict != "does-not-fit":
            advice.append(Recommendation(
                "gpus",
                f"{count} × {hardware.gpu.name} hold it at {result.quant.id} "
                "({headroom} headroom).",
                {"gpu": hardware.gpu.id, "count": count},
                {"headroom": trial.memory.headroom_bytes}))
            break
    else:
        advice.append(Recommendation(
            "gpus", f"Even {MAX_GPUS} × {hardware.gpu.name} are not enough at {result.quant.id}.",
            {"gpu": hardware.gpu.id, "count": None}))
    if result.max_context_tokens >= 512 and result.max_context_tokens < workload.context_tokens:
        advice.append(Recommendation(
            "context",
            f"A context of {result.max_context_tokens:,} tokens fits at {result.quant.id}.",
            {"context_tokens": result.max_context_tokens}))
    advice.append(_offload(result))
    return advice


def _offload(result: Estimate) -> Recommendation:
    shortfall = -result.memory.headroom_bytes
    layer_bytes = result.weights.layer_bytes
    mean_layer = sum(layer_bytes) / len(layer_bytes)
    layers_off = min(len(layer_bytes), math.ceil(shortfall / mean_layer))
    on_gpu = len(layer_bytes) - layers_off
    offload_bytes = layers_off * mean_layer
    return Recommendation(
        "offload",
        f"Offload {layers_off} of {len(layer_bytes)} layers ({{offload}}) to system RAM: "
        f"llama.cpp -ngl {on_gpu}. Decode becomes limited by RAM bandwidth (slow).",
        {"layers_offloaded": layers_off, "layers_on_gpu": on_gpu,
         "offload_bytes": round(offload_bytes), "llama_cpp_flags": f"-ngl {on_gpu}"},
        {"offload": offload_bytes})


def _when_fits(result: Estimate, quants: dict[str, QuantSpec]) -> list[Recommendation]:
    advice: list[Recommendation] = []
    workload, model = result.workload, result.model
    if result.max_context_tokens > workload.context_tokens:
        advice.append(Recommendation(
            "context",
            f"Headroom allows up to {result.max_context_tokens:,} tokens of context "
            f"(model maximum {model.max_context_tokens:,}).",
            {"context_tokens": result.max_context_tokens}))
    if result.max_sequences > workload.sequences:
        advice.append(Recommendation(
            "sequences",
            f"Up to {result.max_sequences:,} concurrent sequences of {workload.context_tokens:,} "
            "tokens fit.",
            {"sequences": result.max_sequences}))
    for quant in engine_quants(quants, workload.engine):
        if quant.default_bits_per_weight <= result.quant.default_bits_per_weight:
            break
        trial = estimate(model, quant, result.hardware, workload)
        if trial.verdict == "fits":
            advice.append(Recommendation(
                "quant",
                f"{quant.id} (higher quality) also fits: {{total}}, "
                f"~{trial.speed.decode_tokens_per_s:.0f} tok/s.",
                {"quant": quant.id, "total_bytes": trial.memory.total_bytes,
                 "decode_tokens_per_s": round(trial.speed.decode_tokens_per_s, 1)},
                {"total": trial.memory.total_bytes}))
            break
    if result.verdict == "tight":
        advice.append(Recommendation(
            "margin",
            "Only {headroom} to spare: other processes or a longer "
            "prompt can push it out of memory.", {}, {"headroom": result.memory.headroom_bytes}))
    return advice
