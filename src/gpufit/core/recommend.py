"""What to do next: a quant that fits, how many GPUs, what to offload, what headroom buys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gpufit.core.engines import ENGINE_PROFILES, engine_profile
from gpufit.core.estimate import Estimate, estimate
from gpufit.core.offload import OffloadPlan, default_host, plan_offload
from gpufit.core.setup import MAX_GPUS
from gpufit.core.specs import GB, GIB, GpuSpec, QuantSpec
from gpufit.core.split import bigger_siblings, gpus_needed

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


NATIVE_BITS = {"fp32": 32.0, "bf16": 16.0, "fp16": 16.0, "fp8": 8.0, "mxfp4": 4.25}
"""Bits per weight of each release precision (MXFP4: 4-bit values plus an 8-bit scale per 32,
OCP Microscaling spec); a quant above them cannot be of higher quality than the release."""


def engine_quants(quants: Mapping[str, QuantSpec], engine: str) -> list[QuantSpec]:
    """Quants the engine runs, best quality first (more effective bits = closer to the original)."""
    usable = [quant for quant in quants.values() if engine in quant.engines]
    return sorted(usable, key=lambda quant: (-quant.default_bits_per_weight, quant.id))


def recommend(result: Estimate, quants: Mapping[str, QuantSpec],
              gpus: Mapping[str, GpuSpec] | None = None,
              offload: tuple[OffloadPlan, ...] | None = None) -> list[Recommendation]:
    """Advice for `result`: alternatives when it does not fit, what the headroom buys when it does.

    `gpus` (the catalog's) adds how many of the larger versions of the GPU would hold it;
    `offload` are the CPU-offload plans for the user's host (default: a typical host)."""
    if result.verdict == "does-not-fit":
        if offload is None:
            offload = plan_offload(result, default_host(result.hardware.gpu))
        return _when_short(result, quants, gpus or {}, offload)
    return _when_fits(result, quants)


def _when_short(result: Estimate, quants: Mapping[str, QuantSpec], gpus: Mapping[str, GpuSpec],
                offload: tuple[OffloadPlan, ...]) -> list[Recommendation]:
    advice: list[Recommendation] = []
    hardware, workload = result.hardware, result.workload
    fitting = [trial for quant in engine_quants(quants, workload.engine)
               if quant.id != result.quant.id
               and quant.default_bits_per_weight < result.quant.default_bits_per_weight
               and (trial := estimate(result.model, quant, hardware, workload)).verdict
               != "does-not-fit"]
    if fitting:
        # Best quality first (most bits); the rest are named so the choice is visible.
        best = fitting[0]
        others = [trial.quant.id for trial in fitting[1:]]
        also = f" Also fit: {', '.join(others)}." if others else ""
        advice.append(Recommendation(
            "quant",
            f"{best.quant.id} fits: {{total}} of {{available}}, "
            f"~{best.speed.decode_tokens_per_s:.0f} tok/s.{also}",
            {"quant": best.quant.id, "total_bytes": best.memory.total_bytes,
             "headroom_bytes": best.memory.headroom_bytes,
             "decode_tokens_per_s": round(best.speed.decode_tokens_per_s, 1),
             "quants_that_fit": [trial.quant.id for trial in fitting]},
            {"total": best.memory.total_bytes, "available": best.memory.available_bytes}))
    advice += _gpu_counts(result, gpus)
    if result.max_context_tokens >= 512 and result.max_context_tokens < workload.context_tokens:
        advice.append(Recommendation(
            "context",
            f"A context of {result.max_context_tokens:,} tokens fits at {result.quant.id}.",
            {"context_tokens": result.max_context_tokens}))
    advice += [_offload(plan) for plan in offload]
    return advice


def _gpu_counts(result: Estimate, gpus: Mapping[str, GpuSpec]) -> list[Recommendation]:
    """How many of this GPU, and of its larger versions, hold the model at this quant."""
    advice: list[Recommendation] = []
    gpu, quant, workload = result.hardware.gpu, result.quant, result.workload
    for candidate in (gpu, *bigger_siblings(gpu, gpus)):
        trial = None if candidate.mig_parent is not None else \
            gpus_needed(result.model, quant, candidate, workload)
        if trial is None:
            advice.append(Recommendation(
                "gpus", f"Even {MAX_GPUS} × {candidate.name} are not enough at {quant.id}."
                if candidate.mig_parent is None else
                f"A MIG slice cannot be pooled: one {candidate.name} does not hold it.",
                {"gpu": candidate.id, "count": None}))
            continue
        count = trial.hardware.count
        advice.append(Recommendation(
            "gpus", f"{count} × {candidate.name} hold it at {quant.id} ({{headroom}} headroom, "
                    f"~{trial.speed.decode_tokens_per_s:.0f} tok/s).",
            {"gpu": candidate.id, "count": count,
             "decode_tokens_per_s": round(trial.speed.decode_tokens_per_s, 1)},
            {"headroom": trial.memory.headroom_bytes}))
    return advice


def _offload(plan: OffloadPlan) -> Recommendation:
    """One CPU-offload plan as a sentence with its exact llama.cpp flags."""
    where = (f"{plan.gpu_layers} of {plan.layers_total} layers on the GPU" if plan.mode == "layers"
             else f"experts of {plan.cpu_moe_layers} of {plan.layers_total} layers in RAM")
    ram = "" if plan.ram_fits is not False else " More than this machine's RAM!"
    slow = " (slow)" if plan.slow else ""
    return Recommendation(
        "offload",
        f"Offload ({where}): llama.cpp {plan.llama_cpp_flags}; {{host}} in system RAM, "
        f"~{plan.decode_tokens_per_s:.1f} tok/s{slow}.{ram}",
        plan.as_dict(),
        {"host": plan.host_bytes})


def _when_fits(result: Estimate, quants: Mapping[str, QuantSpec]) -> list[Recommendation]:
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
        if quant.default_bits_per_weight > NATIVE_BITS.get(model.native_dtype, 16.0):
            continue  # more bits than the model was released in add no quality (FP32 of a BF16)
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


def engine_advice(result: Estimate, quants: Mapping[str, QuantSpec]) -> list[Recommendation]:
    """Advice when the engine cannot run the quant: which engines can, and the best quant this
    engine runs that fits."""
    quant, profile = result.quant, engine_profile(result.workload.engine)
    modelled = [ENGINE_PROFILES[engine].label for engine in quant.engines if engine in ENGINE_PROFILES]
    where = (f"it runs on {', '.join(modelled)} (e switches the engine)" if modelled else
             f"it runs on {', '.join(quant.engines)}, which gpufit does not model; the memory "
             f"figures above use {profile.label}'s buffers")
    advice = [Recommendation("engine", f"{profile.label} cannot run {quant.id}: {where}.",
                             {"engine": profile.id, "quant_engines": list(quant.engines)})]
    for other in engine_quants(quants, profile.id):
        trial = estimate(result.model, other, result.hardware, result.workload)
        if trial.verdict == "fits":
            advice.append(Recommendation(
                "quant", f"{other.id} runs on {profile.label} and fits: {{total}} of {{available}}, "
                         f"~{trial.speed.decode_tokens_per_s:.0f} tok/s.",
                {"quant": other.id, "total_bytes": trial.memory.total_bytes,
                 "decode_tokens_per_s": round(trial.speed.decode_tokens_per_s, 1)},
                {"total": trial.memory.total_bytes, "available": trial.memory.available_bytes}))
            break
    return advice
