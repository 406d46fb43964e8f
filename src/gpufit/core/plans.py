"""The plans part of a report — per-GPU split, CPU offload, host, run hints, serving and
energy — rendered from an `Assessment` as JSON or as plain-text lines.

Also owns money: the currency rule (`currency_problem`), its default, and `money`, the one
function every surface (result pane, serving view, compare, host dialog, report, exports)
formats a price or a cost with, so "47.53 USD" never reads differently on two screens.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from gpufit.core.specs import GB

if TYPE_CHECKING:
    from gpufit.core.assess import Assessment
    from gpufit.core.split import SplitPlan

DEFAULT_CURRENCY = "USD"
"""Public cloud GPU-hour prices are quoted in US dollars almost everywhere, so a price typed
without a currency is most likely in dollars; the host dialog shows it beside the price, where
the user can type their own."""
MAX_CURRENCY_CHARS = 8
"""Room for a code ("USD"), a symbol ("€", "R$") or a short word ("kr", "credits")."""


def currency_problem(text: object) -> str | None:
    """Why `text` cannot be a currency (None when it can): it must be text of 1 to
    MAX_CURRENCY_CHARS printable characters once surrounding spaces are dropped."""
    if not isinstance(text, str):
        return "is not text"
    code = text.strip()
    if not code:
        return "must not be empty (a code or symbol such as USD, EUR, $ or €)"
    if len(code) > MAX_CURRENCY_CHARS:
        return f"must be at most {MAX_CURRENCY_CHARS} characters, not {len(code)}"
    if not code.isprintable():
        return "must be printable characters only (no tabs, newlines or control codes)"
    return None


def money(amount: float, currency: str) -> str:
    """An amount with its currency: letters follow the number ("47.53 USD", "12.00 kr"), a
    symbol leads it ("$47.53", "€0.042"). Two decimals, more below 0.10 so a small cost keeps
    two significant digits instead of reading "0.00"."""
    digits = 2
    if 0 < abs(amount) < 0.1:
        digits = -math.floor(math.log10(abs(amount))) + 1
    number = f"{amount:,.{digits}f}"
    if currency.isalpha():
        return f"{number} {currency}"
    return f"{currency}{number}"


def cost_text(plans: Assessment) -> str | None:
    """'47.53 USD per M tokens at 2.00 USD per GPU-hour', or None without a price."""
    energy = plans.energy
    if energy is None or energy.cost_per_million_tokens is None \
            or energy.price_per_gpu_hour is None:
        return None
    return (f"{money(energy.cost_per_million_tokens, plans.currency)} per M tokens at "
            f"{money(energy.price_per_gpu_hour, plans.currency)} per GPU-hour")


def plans_dict(plans: Assessment) -> dict[str, Any]:
    """The JSON shape of the plans (keys are part of the report contract)."""
    serving = plans.serving
    return {
        "per_gpu": {
            "mode": plans.split.mode,
            "tensor_parallel_size": plans.split.parallel.tensor,
            "pipeline_parallel_size": plans.split.parallel.pipeline,
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
        "energy": None if plans.energy is None or plans.energy_basis is None else {
                   "basis": plans.energy_basis.source,
                   "concurrency": plans.energy_basis.concurrency,
                   "tokens_per_s": round(plans.energy_basis.tokens_per_s, 2),
                   "power_watts": plans.energy.power_watts,
                   "joules_per_token": round(plans.energy.joules_per_token, 4),
                   "watt_hours_per_million_tokens": round(plans.energy.watt_hours_per_million_tokens, 1),
                   "price_per_gpu_hour": plans.energy.price_per_gpu_hour,
                   "cost_per_million_tokens": None if plans.energy.cost_per_million_tokens is None
                   else round(plans.energy.cost_per_million_tokens, 4),
                   "currency": plans.currency},
    }


def split_text(split: SplitPlan) -> str:
    """How a multi-GPU plan spreads the model, in the words every surface uses: the layers per
    GPU and where they come from (llama.cpp's default, `--tensor-split`, or — when nothing
    fits — the balanced split that comes closest), or the tensor × pipeline sizes."""
    if split.mode == "tensor":
        parallel = split.parallel
        return f"tensor parallel {parallel.tensor}" + (
            f" × pipeline {parallel.pipeline}" if parallel.pipeline > 1 else "")
    counts = split.tensor_split
    if split.default_overflows:
        return f"layer split {counts} (--tensor-split)"
    return f"layer split {counts} ({'default' if split.fits else 'balanced'})"


def plans_lines(plans: Assessment) -> list[str]:
    """The plans as plain-text lines (the text report's tail; Markdown lists them too)."""
    lines: list[str] = []
    if plans.split.mode != "single":
        shares = ", ".join(f"{share.total_bytes / GB:,.1f}" for share in plans.split.shares)
        lines.append(f"per GPU      {shares} GB of {plans.split.shares[0].available_bytes / GB:,.1f} "
                     f"· {split_text(plans.split)}")
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
    if energy is not None and plans.energy_basis is not None:
        cost = "" if cost_text(plans) is None else f", {cost_text(plans)}"
        lines.append(f"energy       ≤ {energy.joules_per_token:.2f} J/token "
                     f"{energy_basis_text(plans)} "
                     f"({energy.watt_hours_per_million_tokens:,.0f} Wh per M tokens at "
                     f"{energy.power_watts:,.0f} W){cost}")
    for hint in plans.run_hints:
        lines.append(f"run ({hint.engine}) {hint.command}")
    return lines


def energy_basis_text(plans: Assessment) -> str:
    """'at 32 users (serving best)': the load the energy figure is for."""
    basis = plans.energy_basis
    if basis is None:
        return ""
    users = f"{basis.concurrency:,} {'user' if basis.concurrency == 1 else 'users'}"
    label = {"serving-best": "best under the TPOT limit", "serving-peak": "peak throughput",
             "workload": "the setup's sequences"}[basis.source]
    return f"at {users} ({label})"
