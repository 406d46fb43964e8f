"""Everything beyond the single estimate that a report carries: per-GPU split, CPU-offload
plans, run hints, the serving profile and energy/cost — built once, rendered as JSON or text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpufit.core.energy import EnergyCost, energy_cost
from gpufit.core.estimate import Estimate
from gpufit.core.offload import HostMemory, OffloadPlan, plan_offload
from gpufit.core.run_hints import RunHint, run_hints
from gpufit.core.serving import ServingProfile, serving_profile
from gpufit.core.specs import GB
from gpufit.core.split import SplitPlan, split_plan


@dataclass(frozen=True, slots=True)
class Plans:
    """The plans for one estimate."""

    split: SplitPlan
    offload: tuple[OffloadPlan, ...]
    run_hints: tuple[RunHint, ...]
    serving: ServingProfile
    energy: EnergyCost | None
    """At the serving profile's best concurrency (else at the estimate's own decode rate);
    None when the model does not fit (there is no GPU-only rate to charge)."""
    host: HostMemory


def make_plans(result: Estimate, host: HostMemory, price_per_gpu_hour: float | None,
               prompt_tokens: int, output_tokens: int, tpot_limit_s: float) -> Plans:
    """Build every plan for `result` on `host`."""
    split = split_plan(result)
    offload = plan_offload(result, host)
    hints = hints_for(result, split, offload)
    serving = serving_profile(result.model, result.quant, result.hardware, result.workload,
                              prompt_tokens, output_tokens, tpot_limit_s)
    rate = serving.best.aggregate_tokens_per_s if serving.best else \
        result.speed.aggregate_decode_tokens_per_s
    energy = None if result.verdict == "does-not-fit" else \
        energy_cost(result.hardware, rate, price_per_gpu_hour)
    return Plans(split, offload, hints, serving, energy, host)


def hints_for(result: Estimate, split: SplitPlan,
              offload: tuple[OffloadPlan, ...]) -> tuple[RunHint, ...]:
    """Run hints that match the advice: the fastest offload plan's -ngl / --n-cpu-moe when it
    does not fit, the balanced --tensor-split when llama.cpp's default split would overflow."""
    tensor_split = [float(count) for count in split.layers_per_gpu] if split.default_overflows \
        else None
    if offload:
        fastest = max(offload, key=lambda plan: plan.decode_tokens_per_s)
        return run_hints(result, fastest.ngl if fastest.mode == "layers" else None,
                         fastest.n_cpu_moe, tensor_split=tensor_split)
    return run_hints(result, tensor_split=tensor_split)


def plans_dict(plans: Plans) -> dict[str, Any]:
    """The JSON shape of the plans (keys are part of the report contract)."""
    serving = plans.serving
    return {
        "per_gpu": {
            "mode": plans.split.mode,
            "tensor_split": plans.split.tensor_split,
            "gpus": [{"index": share.index, "layers": share.layer_count,
                      "weights_bytes": share.weights_bytes, "kv_cache_bytes": share.kv_cache_bytes,
                      "buffers_bytes": share.buffers_bytes, "total_bytes": share.total_bytes,
                      "available_bytes": share.available_bytes} for share in plans.split.shares],
            "notes": list(plans.split.notes),
        },
        "offload": [plan.as_dict() for plan in plans.offload],
        "host": {"ram_bytes": plans.host.ram_bytes,
                 "ram_bandwidth_gbps": plans.host.ram_bandwidth_gbps,
                 "bandwidth_source": plans.host.bandwidth_source},
        "run_hints": [{"engine": hint.engine, "command": hint.command, "notes": list(hint.notes)}
                      for hint in plans.run_hints],
        "serving": {
            "prompt_tokens": serving.prompt_tokens, "output_tokens": serving.output_tokens,
            "tpot_limit_s": serving.tpot_limit_s, "max_concurrency": serving.max_concurrency,
            "best_concurrency": serving.best.concurrency if serving.best else None,
            "points": [{"concurrency": point.concurrency, "ttft_s": round(point.ttft_s, 4),
                        "tpot_s": round(point.tpot_s, 4),
                        "per_user_tokens_per_s": round(point.per_user_tokens_per_s, 2),
                        "aggregate_tokens_per_s": round(point.aggregate_tokens_per_s, 1),
                        "fits_kv": point.fits_kv} for point in serving.points],
        },
        "energy": None if plans.energy is None else {
                   "power_watts": plans.energy.power_watts,
                   "joules_per_token": round(plans.energy.joules_per_token, 4),
                   "watt_hours_per_million_tokens": round(plans.energy.watt_hours_per_million_tokens, 1),
                   "price_per_gpu_hour": plans.energy.price_per_gpu_hour,
                   "cost_per_million_tokens": None if plans.energy.cost_per_million_tokens is None
                   else round(plans.energy.cost_per_million_tokens, 4)},
    }


def plans_lines(plans: Plans) -> list[str]:
    """The plans as plain-text lines (the text report's tail; Markdown lists them too)."""
    lines: list[str] = []
    if plans.split.mode != "single":
        shares = ", ".join(f"{share.total_bytes / GB:,.1f}" for share in plans.split.shares)
        lines.append(f"per GPU      {shares} GB of {plans.split.shares[0].available_bytes / GB:,.1f} "
                     f"({plans.split.mode} split"
                     + (f", --tensor-split {plans.split.tensor_split}" if plans.split.mode == "layer"
                        else "") + ")")
        lines += [f"note: {note}" for note in plans.split.notes]
    serving = plans.serving
    if serving.best is not None:
        best = serving.best
        lines.append(f"serving      {best.concurrency} users × {serving.prompt_tokens:,}+"
                     f"{serving.output_tokens:,} tokens: {best.aggregate_tokens_per_s:,.0f} tok/s "
                     f"total, TTFT {best.ttft_s:.2f} s, TPOT {best.tpot_s * 1000:.0f} ms "
                     f"(limit {serving.tpot_limit_s * 1000:.0f} ms; KV holds "
                     f"{serving.max_concurrency:,})")
    elif serving.max_concurrency:
        lines.append(f"serving      even 1 user gets TPOT {serving.points[0].tpot_s * 1000:.0f} ms, "
                     f"over the {serving.tpot_limit_s * 1000:.0f} ms limit")
    energy = plans.energy
    if energy is not None:
        cost = "" if energy.cost_per_million_tokens is None else \
            f", {energy.cost_per_million_tokens:,.3f} per M tokens"
        lines.append(f"energy       ≤ {energy.joules_per_token:.2f} J/token "
                     f"({energy.watt_hours_per_million_tokens:,.0f} Wh per M tokens at "
                     f"{energy.power_watts:,.0f} W){cost}")
    for hint in plans.run_hints:
        lines.append(f"run ({hint.engine}) {hint.command}")
    return lines
