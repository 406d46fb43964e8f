"""Turn an estimate into the stable JSON contract, a Markdown report, or plain text."""

from __future__ import annotations

from typing import Any

from gpufit.core.estimate import Estimate
from gpufit.core.plans import Plans, plans_dict, plans_lines
from gpufit.core.recommend import Recommendation
from gpufit.core.specs import GB, GIB
from gpufit.core.tensors import exact_file_weights

VERDICT_WORDS = {"fits": "FITS", "tight": "TIGHT", "does-not-fit": "DOES NOT FIT"}


def to_dict(result: Estimate, advice: list[Recommendation], plans: Plans | None = None) -> dict[str, Any]:
    """The JSON contract of `gpufit-tui report --format json` (keys are stable); with `plans`,
    also per_gpu, offload, host, run_hints, serving and energy."""
    hardware, model, quant, workload = result.hardware, result.model, result.quant, result.workload
    memory, speed = result.memory, result.speed
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
        },
        "workload": {
            "context_tokens": workload.context_tokens,
            "sequences": workload.sequences,
            "kv_cache_dtype": workload.kv_cache_dtype,
            "engine": workload.engine,
        },
        "memory": {
            "weights_bytes": memory.weights_bytes,
            "naive_weights_bytes": memory.naive_weights_bytes,
            "host_weights_bytes": memory.host_weights_bytes,
            "kv_cache_bytes": memory.kv_cache_bytes,
            "activations_bytes": memory.activations_bytes,
            "overhead_bytes": memory.overhead_bytes,
            "total_bytes": memory.total_bytes,
            "available_bytes": memory.available_bytes,
            "headroom_bytes": memory.headroom_bytes,
            "fits_in_free_memory": result.fits_in_free,
        },
        "verdict": result.verdict,
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
    if plans is not None:
        report.update(plans_dict(plans))
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


def hardware_label(result: Estimate) -> str:
    """'2 × NVIDIA A100 80GB SXM4' or just the name for one GPU."""
    name = result.hardware.gpu.name
    return f"{result.hardware.count} × {name}" if result.hardware.count > 1 else name


def _free_now(result: Estimate) -> list[str]:
    """'free now     70.1 GB: fits' when the free memory is known (detected hardware)."""
    free = result.hardware.free_memory_bytes
    if free is None or result.fits_in_free is None:
        return []
    return [f"free now     {gb(free)}: {'fits' if result.fits_in_free else 'does not fit'}"]


def to_markdown(result: Estimate, advice: list[Recommendation], plans: Plans | None = None) -> str:
    """A report like the web pages people read today, but computed for this setup."""
    memory, speed, workload = result.memory, result.speed, result.workload
    headroom_word = "headroom" if memory.headroom_bytes >= 0 else "short"
    lines = [
        f"# {result.model.name} at {result.quant.id} on {hardware_label(result)}",
        "",
        f"**Verdict: {VERDICT_WORDS[result.verdict]}** — needs {gb(memory.total_bytes)} of "
        f"{gb(memory.available_bytes)}, {gb(abs(memory.headroom_bytes))} {headroom_word}.",
        "",
        f"Workload: {workload.context_tokens:,} tokens of context × {workload.sequences} "
        f"sequence(s), KV cache {workload.kv_cache_dtype}, engine {workload.engine}.",
        "",
        "| memory | GB | GiB |",
        "|---|---:|---:|",
    ]
    rows = [
        ("weights (on GPU)", memory.gpu_weights_bytes),
        ("KV cache", memory.kv_cache_bytes),
        ("activations / compute buffers", memory.activations_bytes),
        ("runtime overhead", memory.overhead_bytes),
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
    if plans is not None:
        lines += ["", "## Plans", ""]
        lines += [f"- {line}" for line in plans_lines(plans) if not line.startswith("run (")]
        for hint in plans.run_hints:
            lines += ["", f"Run with {hint.engine}:", "", "```sh", hint.command, "```"]
    if result.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def to_text(result: Estimate, advice: list[Recommendation], plans: Plans | None = None) -> str:
    """A compact plain-text report for terminals and logs."""
    memory, speed, workload = result.memory, result.speed, result.workload
    lines = [
        f"{result.model.name} · {result.quant.id} · {hardware_label(result)}",
        f"verdict      {VERDICT_WORDS[result.verdict]}",
        f"context      {workload.context_tokens:,} tokens × {workload.sequences} seq "
        f"(KV {workload.kv_cache_dtype}, {workload.engine})",
        f"weights      {gb(memory.weights_bytes)}  ({result.weights.bits_per_weight:.2f} bpw; "
        f"naive {gb(memory.naive_weights_bytes)})",
        *([f"file         {file_line(result)}"] if file_line(result) else []),
        f"kv cache     {gb(memory.kv_cache_bytes)}",
        f"activations  {gb(memory.activations_bytes)}",
        f"overhead     {gb(memory.overhead_bytes)}",
        f"total        {gb(memory.total_bytes)}  of {gb(memory.available_bytes)} "
        f"({gib(memory.total_bytes)} of {gib(memory.available_bytes)})",
        f"headroom     {'+' if memory.headroom_bytes >= 0 else '-'}{gb(abs(memory.headroom_bytes))}",
        *_free_now(result),
        f"decode       {speed.decode_tokens_per_s:,.1f} tok/s"
        f"{' if it fitted' if result.verdict == 'does-not-fit' else ''} "
        f"({speed.decode_low:,.1f}–{speed.decode_high:,.1f}, {speed.bound}-bound)",
        f"prefill      {speed.prefill_tokens_per_s:,.0f} tok/s, TTFT {speed.time_to_first_token_s:,.2f} s",
        f"max context  {result.max_context_tokens:,} tokens; max sequences {result.max_sequences:,}",
    ]
    if plans is not None:
        lines += plans_lines(plans)
    lines += [f"→ {item.text}" for item in advice]
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines) + "\n"
