"""Render an `Assessment` as the stable JSON contract, a Markdown report, or plain text.

`report`, the app's exports (x, m, y) and the clipboard all print these, so they agree.
"""

from __future__ import annotations

import json
from typing import Any

from gpufit.core.assess import Assessment
from gpufit.core.engines import engine_profile
from gpufit.core.estimate import Estimate
from gpufit.core.plans import plans_dict, plans_lines
from gpufit.core.specs import GB, GIB
from gpufit.core.tensors import exact_file_weights

VERDICT_WORDS = {"fits": "FITS", "tight": "TIGHT", "does-not-fit": "DOES NOT FIT",
                 "unsupported": "ENGINE CAN'T RUN IT"}


def to_json(assessment: Assessment) -> str:
    """The JSON contract as text; never NaN or Infinity (invalid JSON) — those raise."""
    return json.dumps(to_dict(assessment), indent=2, allow_nan=False) + "\n"


def free_memory_dict(assessment: Assessment) -> dict[str, Any] | None:
    """Per-card free memory against each card's share (detected hardware only)."""
    free = assessment.free_memory
    if free is None:
        return None
    return {"per_gpu_free_bytes": list(free.per_gpu_free_bytes),
            "per_gpu_needed_bytes": list(free.per_gpu_needed_bytes),
            "short_gpus": list(free.short_gpus)}


def weights_band_pct(result: Estimate) -> float | None:
    """± % of the weights when they are a publisher recipe's estimate (unsloth's UD quants),
    not llama.cpp's exact rules or the file's own bytes; None when exact."""
    if exact_file_weights(result.model, result.quant) is not None:
        return None
    return result.quant.size_band_pct


def band_text(result: Estimate) -> str:
    """' ±10 % (publisher mix)' after the weights when they are a band, else ''."""
    band = weights_band_pct(result)
    return f" ±{band:g} % (publisher mix, estimated)" if band else ""


def to_dict(assessment: Assessment) -> dict[str, Any]:
    """The JSON contract of `gpufit-tui report --format json` (keys are stable)."""
    result = assessment.estimate
    advice = assessment.recommendations
    hardware, model, quant, workload = result.hardware, result.model, result.quant, result.workload
    memory, speed = result.memory, result.speed
    profile = engine_profile(workload.engine)
    report: dict[str, Any] = {
        "gpu": {
            "id": hardware.gpu.id,
            "name": hardware.gpu.name,
            "count": hardware.count,
            "memory_bytes": hardware.memory_per_gpu_bytes,
            "bandwidth_gbps": hardware.gpu.bandwidth_gbps,
        },
        "model": {
            "id": model.id,
            "name": model.name,
            "params_total": result.weights.total_params,
            "params_active": result.weights.active_params,
            **({"file": file_dict(result)} if result.model.file_weights else {}),
        },
        "quant": {
            "id": quant.id,
            "bits_per_weight": round(result.weights.bits_per_weight, 4),
            "nominal_bits": quant.nominal_bits,
            "size_band_pct": weights_band_pct(result),
        },
        "workload": {
            "context_tokens": workload.context_tokens,
            "sequences": workload.sequences,
            "kv_cache_dtype": workload.kv_cache_dtype,
            "kv_cache_stored": profile.stored_cache_type(workload.kv_cache_dtype),
            "engine": workload.engine,
            "flash_attention": workload.flash_attention,
            "flash_attention_on": profile.uses_flash_attention(workload),
            "include_vision": workload.include_vision,
        },
        "memory": {
            "weights_bytes": memory.weights_bytes,
            "naive_weights_bytes": memory.naive_weights_bytes,
            "host_weights_bytes": memory.host_weights_bytes,
            "kv_cache_bytes": memory.kv_cache_bytes,
            "activations_bytes": memory.activations_bytes,
            "overhead_bytes": memory.overhead_bytes,
            "vision_bytes": memory.vision_bytes,
            "total_bytes": memory.total_bytes,
            "available_bytes": memory.available_bytes,
            "headroom_bytes": memory.headroom_bytes,
            "fits_in_free_memory": None if assessment.free_memory is None
            else assessment.free_memory.fits,
            "free_memory": free_memory_dict(assessment),
        },
        "verdict": assessment.verdict,
        "memory_verdict": result.verdict,
        "speed": {
            "decode_tokens_per_s": round(speed.decode_tokens_per_s, 2),
            "prefill_tokens_per_s": round(speed.prefill_tokens_per_s, 1),
            "time_to_first_token_s": round(speed.time_to_first_token_s, 3),
            "bound": speed.bound,
            "low": round(speed.decode_low, 2),
            "high": round(speed.decode_high, 2),
            "prefill_low": round(speed.prefill_low, 1),
            "prefill_high": round(speed.prefill_high, 1),
            "aggregate_decode_tokens_per_s": round(speed.aggregate_decode_tokens_per_s, 2),
        },
        "max_context_tokens": result.max_context_tokens,
        "max_sequences": result.max_sequences,
        "recommendations": [item.as_dict() for item in advice],
        "notes": list(result.notes),
    }
    report.update(plans_dict(assessment))
    return report


def file_dict(result: Estimate) -> dict[str, Any]:
    """What an imported model's file says: format, its own type label, and the tensor type mix."""
    file = result.model.file_weights
    assert file is not None
    return {"format": file.format, "label": file.label, "quant": file.quant_id,
            "paths": list(file.paths), "weights_bytes": file.breakdown.total_bytes,
            "tensor_type_bytes": dict(file.bytes_by_type),
            "exact_weights": exact_file_weights(result.model, result.quant) is not None}


def file_line(result: Estimate) -> str | None:
    """'GGUF MOSTLY_Q4_K_M: exact tensor sizes (Q4_K 4.1 GB, Q6_K 0.8 GB, …)', for imports."""
    file = result.model.file_weights
    if file is None:
        return None
    mix = ", ".join(f"{kind} {gb(size)}" for kind, size in list(file.bytes_by_type.items())[:4])
    if exact_file_weights(result.model, result.quant) is not None:
        return f"{file.format.upper()} {file.label}: exact tensor sizes ({mix})"
    return (f"{file.format.upper()} {file.label} is stored as {file.quant_id}; {result.quant.id} "
            "is estimated from the architecture")


def gb(value: float) -> str:
    """Bytes as decimal gigabytes, unit spelled out."""
    return f"{value / GB:,.1f} GB"


def gib(value: float) -> str:
    """Bytes as binary gibibytes, unit spelled out."""
    return f"{value / GIB:,.1f} GiB"


def free_now_text(assessment: Assessment) -> str | None:
    """'70.1 GB free now: fits' or which card is short; None when free memory is unknown."""
    free = assessment.free_memory
    if free is None:
        return None
    if free.fits:
        return f"{gb(free.total_free_bytes)} free now: fits"
    index = free.short_gpus[0]
    card = f"GPU {index}: " if len(free.per_gpu_free_bytes) > 1 else ""
    return (f"does not fit in the memory free now ({card}{gb(free.per_gpu_free_bytes[index])} "
            f"free, needs {gb(free.per_gpu_needed_bytes[index])})")


def verdict_line(assessment: Assessment) -> str:
    """'FITS', 'DOES NOT FIT', or 'FITS — but does not fit in the memory free now (…)'."""
    words = VERDICT_WORDS[assessment.verdict]
    free = assessment.free_memory
    if free is not None and not free.fits and assessment.verdict in ("fits", "tight"):
        return f"{words} — but {free_now_text(assessment)}"
    return words


def hardware_label(result: Estimate) -> str:
    """'2 × NVIDIA A100 80GB SXM4' or just the name for one GPU."""
    name = result.hardware.gpu.name
    return f"{result.hardware.count} × {name}" if result.hardware.count > 1 else name


def _free_now(assessment: Assessment) -> list[str]:
    """'free now     70.1 GB free now: fits' when the free memory is known (detected hardware)."""
    text = free_now_text(assessment)
    return [] if text is None else [f"free now     {text}"]


def to_markdown(assessment: Assessment) -> str:
    """A report like the web pages people read today, but computed for this setup."""
    result, advice = assessment.estimate, assessment.recommendations
    memory, speed, workload = result.memory, result.speed, result.workload
    headroom_word = "headroom" if memory.headroom_bytes >= 0 else "short"
    lines = [
        f"# {result.model.name} at {result.quant.id} on {hardware_label(result)}",
        "",
        f"**Verdict: {verdict_line(assessment)}** — needs {gb(memory.total_bytes)} of "
        f"{gb(memory.available_bytes)}, {gb(abs(memory.headroom_bytes))} {headroom_word}.",
        "",
        f"Workload: {workload.context_tokens:,} tokens of context × {workload.sequences} "
        f"sequence(s), KV cache {workload.kv_cache_dtype}, engine {workload.engine}, "
        f"flash attention {workload.flash_attention}.",
        "",
        "| memory | GB | GiB |",
        "|---|---:|---:|",
    ]
    rows = [
        ("weights (on GPU)", memory.gpu_weights_bytes),
        ("KV cache", memory.kv_cache_bytes),
        ("activations / compute buffers", memory.activations_bytes),
        ("runtime overhead", memory.overhead_bytes),
        *([("vision encoder (mmproj)", memory.vision_bytes)] if memory.vision_bytes else []),
        ("**total**", memory.total_bytes),
        ("available", memory.available_bytes),
        ("headroom" if memory.headroom_bytes >= 0 else "shortfall", abs(memory.headroom_bytes)),
    ]
    if result.hardware.free_memory_bytes is not None:
        rows.append(("free now (nvidia-smi)", result.hardware.free_memory_bytes))
    lines += [f"| {label} | {value / GB:,.2f} | {value / GIB:,.2f} |" for label, value in rows]
    lines += [
        "",
        f"Weights: {gb(memory.weights_bytes)} at {result.weights.bits_per_weight:.2f} effective "
        f"bits per weight; the naive params × {result.quant.nominal_bits:g} bits / 8 figure is "
        f"{gb(memory.naive_weights_bytes)}.",
    ]
    if file_line(result):
        lines.append(f"File: {file_line(result)}.")
    if memory.host_weights_bytes:
        lines.append(f"llama.cpp keeps the token embedding ({gb(memory.host_weights_bytes)}) in "
                     "system RAM.")
    if_fitted = " if it fitted" if result.verdict == "does-not-fit" else ""
    lines += [
        "",
        f"Speed{if_fitted}: ~{speed.decode_tokens_per_s:,.1f} tok/s decode "
        f"({speed.decode_low:,.1f}–{speed.decode_high:,.1f}, {speed.bound}-bound), "
        f"~{speed.prefill_tokens_per_s:,.0f} tok/s prefill, "
        f"time to first token ~{speed.time_to_first_token_s:,.2f} s for a "
        f"{workload.context_tokens:,}-token prompt.",
        "",
        f"Max context that fits: {result.max_context_tokens:,} tokens; "
        f"max concurrent sequences at {workload.context_tokens:,}: {result.max_sequences:,}.",
    ]
    if advice:
        lines += ["", "## Recommendations", ""]
        lines += [f"- {item.text}" for item in advice]
    lines += ["", "## Plans", ""]
    lines += [f"- {line}" for line in plans_lines(assessment) if not line.startswith("run (")]
    for hint in assessment.run_hints:
        lines += ["", f"Run with {hint.engine}:", "", "```sh", hint.command, "```"]
    if result.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def to_text(assessment: Assessment) -> str:
    """A compact plain-text report for terminals and logs."""
    result, advice = assessment.estimate, assessment.recommendations
    memory, speed, workload = result.memory, result.speed, result.workload
    lines = [
        f"{result.model.name} · {result.quant.id} · {hardware_label(result)}",
        f"verdict      {verdict_line(assessment)}",
        f"context      {workload.context_tokens:,} tokens × {workload.sequences} seq "
        f"(KV {workload.kv_cache_dtype}, {workload.engine}, fa {workload.flash_attention})",
        f"weights      {gb(memory.weights_bytes)}  ({result.weights.bits_per_weight:.2f} bpw; "
        f"naive {gb(memory.naive_weights_bytes)})" + band_text(result),
        *([f"file         {file_line(result)}"] if file_line(result) else []),
        f"kv cache     {gb(memory.kv_cache_bytes)}",
        f"activations  {gb(memory.activations_bytes)}",
        f"overhead     {gb(memory.overhead_bytes)}",
        *([f"vision       {gb(memory.vision_bytes)}  (mmproj)"] if memory.vision_bytes else []),
        f"total        {gb(memory.total_bytes)}  of {gb(memory.available_bytes)} "
        f"({gib(memory.total_bytes)} of {gib(memory.available_bytes)})",
        f"headroom     {'+' if memory.headroom_bytes >= 0 else '-'}{gb(abs(memory.headroom_bytes))}",
        *_free_now(assessment),
        f"decode       {speed.decode_tokens_per_s:,.1f} tok/s"
        f"{' if it fitted' if result.verdict == 'does-not-fit' else ''} "
        f"({speed.decode_low:,.1f}–{speed.decode_high:,.1f}, {speed.bound}-bound)",
        f"prefill      {speed.prefill_tokens_per_s:,.0f} tok/s, TTFT {speed.time_to_first_token_s:,.2f} s",
        f"max context  {result.max_context_tokens:,} tokens; max sequences {result.max_sequences:,}",
    ]
    lines += plans_lines(assessment)
    lines += [f"→ {item.text}" for item in advice]
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines) + "\n"
