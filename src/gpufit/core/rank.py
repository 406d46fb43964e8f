""""What fits best": rank models × quants for one hardware setup, and hardware for one model.

The rules (docs/estimation.md, "Sweeps") are deliberately simple enough to state in a line:

- **best for hardware**: keep setups that fit with margin (a "fits" verdict, not "tight"),
  decode at least `min_tokens_per_s`, and lose at most `max_quality_loss_pct` perplexity (the
  quant's published indicator, none for the precision the model was released in); per model
  keep the quant with the smallest loss (then the fastest); rank models by one of
  `BEST_ORDERS`: by default capability, estimated as parameter count (for a mixture of experts,
  the geometric mean of total and active parameters, a common rule of thumb for its
  dense-equivalent size), bigger first, then by decode speed.
- **hardware for a model**: for every catalog GPU (and MIG slice) the fewest cards that hold
  it with margin — several cards only of GPUs built to be combined (not laptop GPUs, not
  unified-memory systems); ranked by total memory as shown (to 0.1 GB), then total board power
  (smaller is cheaper to rent and to run), then decode speed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gpufit.core.estimate import Estimate
from gpufit.core.setup import DEFAULT_MAX_QUALITY_LOSS_PCT, DEFAULT_MIN_TOKENS_PER_S, MAX_GPUS, Setup
from gpufit.core.specs import GpuSpec, Hardware, ModelSpec, QuantSpec, Workload
from gpufit.core.split import gpus_needed
from gpufit.core.sweep import SweepRow, sweep


def quality_loss_pct(quant: QuantSpec) -> float | None:
    """The quant's published perplexity increase in %, or None when the catalog has none.

    Where only a KL divergence is published, the perplexity ratio is bounded by exp(KLD)
    (perplexity is exp of the cross-entropy, which the KLD adds to), so that bound is used."""
    if quant.quality_ppl_delta_pct is not None:
        return quant.quality_ppl_delta_pct
    if quant.quality_kld is not None:
        return (math.exp(quant.quality_kld) - 1) * 100
    return None


def model_quality_loss_pct(model: ModelSpec, quant: QuantSpec) -> float | None:
    """The quant's loss for this model: none when it is the precision the model was released in
    (gpt-oss in MXFP4, DeepSeek-V3 in FP8), else the quant's published indicator."""
    if quant.id.casefold() == model.native_dtype.casefold():
        return 0.0
    return quality_loss_pct(quant)


def capability_params(model: ModelSpec) -> float:
    """Dense-equivalent size: total parameters, or √(total × active) for a mixture of experts."""
    total = model.params_total_published
    if model.is_moe and model.params_active_published:
        return math.sqrt(total * model.params_active_published)
    return total


BEST_ORDERS: dict[str, str] = {
    "capability": "largest dense-equivalent model first (a MoE counts as √(total × active) "
                  "parameters), then the fastest",
    "speed": "fastest decode first",
    "quality": "least perplexity loss first, then the largest model",
    "size": "most total parameters first, then the fastest",
}
"""The orders `best_for_hardware` can rank by, each with the rule a screen states."""


@dataclass(frozen=True, slots=True)
class RankedModel:
    """One model at its best quant on the swept hardware."""

    row: SweepRow
    quality_loss_pct: float
    capability_params: float


def best_for_hardware(hardware: Hardware, models: Iterable[ModelSpec], quants: Iterable[QuantSpec],
                      setup: Setup,
                      min_tokens_per_s: float = DEFAULT_MIN_TOKENS_PER_S,
                      max_quality_loss_pct: float = DEFAULT_MAX_QUALITY_LOSS_PCT,
                      order: str = "capability") -> list[RankedModel]:
    """Models that run well on `hardware`, best first by `order` (a BEST_ORDERS key), each at
    its best quant (rule above).

    Each model runs at `setup`'s workload with the setup's context rule (its own default
    context unless the setup names one), so loading a row shows the same verdict."""
    usable = [quant for quant in quants if setup.engine in quant.engines]
    ranked: list[RankedModel] = []
    for model in models:
        losses = {quant.id: loss for quant in usable
                  if (loss := model_quality_loss_pct(model, quant)) is not None
                  and loss <= max_quality_loss_pct}
        per_model = setup.workload_for(model)
        rows = sweep([hardware.gpu], [model], [quant for quant in usable if quant.id in losses],
                     per_model, count=hardware.count)
        good = [row for row in rows if row.verdict == "fits"
                and row.decode_tokens_per_s >= min_tokens_per_s]
        if not good:
            continue
        best = min(good, key=lambda row: (losses[row.quant.id], -row.decode_tokens_per_s))
        ranked.append(RankedModel(best, losses[best.quant.id], capability_params(model)))
    sort_ranked(ranked, order)
    return ranked


def sort_ranked(ranked: list[RankedModel], order: str) -> None:
    """Sort `ranked` in place, best first by `order` (a BEST_ORDERS key; ValueError else)."""
    if order not in BEST_ORDERS:
        raise ValueError(f"order must be one of {', '.join(BEST_ORDERS)}, not {order!r}")
    keys: dict[str, Callable[[RankedModel], tuple[float, float]]] = {
        "capability": lambda item: (-item.capability_params, -item.row.decode_tokens_per_s),
        "speed": lambda item: (-item.row.decode_tokens_per_s, -item.capability_params),
        "quality": lambda item: (item.quality_loss_pct, -item.capability_params),
        "size": lambda item: (-item.row.model.params_total_published,
                              -item.row.decode_tokens_per_s),
    }
    ranked.sort(key=keys[order])


@dataclass(frozen=True, slots=True)
class HardwareFit:
    """The fewest cards of one GPU that hold a model."""

    result: Estimate

    @property
    def total_memory_bytes(self) -> int:
        """Memory of all the cards together."""
        return self.result.hardware.capacity_bytes

    @property
    def power_watts(self) -> float:
        """Board power of all the cards together."""
        return self.result.hardware.gpu.tdp_watts * self.result.hardware.count


def hardware_for(model: ModelSpec, quant: QuantSpec, gpus: Iterable[GpuSpec], workload: Workload,
                 max_count: int = MAX_GPUS) -> list[HardwareFit]:
    """Every GPU that can hold `model` at `quant` with its fewest cards, smallest setup first."""
    fits: list[HardwareFit] = []
    for gpu in gpus:
        if not combinable(gpu) and max_count >= 1:
            # A MIG slice is one instance (slices do not pool memory for one model); a laptop
            # has one GPU; a unified-memory system is one machine.
            found = gpus_needed(model, quant, gpu, workload, limit=1, with_margin=True)
        else:
            found = gpus_needed(model, quant, gpu, workload, limit=max_count, with_margin=True)
        if found is not None:
            fits.append(HardwareFit(found))
    # Memory as the table shows it (0.1 GB), so equal-looking rows are ordered by power.
    fits.sort(key=lambda fit: (round(fit.total_memory_bytes / 1e8), fit.power_watts,
                               -fit.result.speed.decode_tokens_per_s))
    return fits


def combinable(gpu: GpuSpec) -> bool:
    """Whether several of this GPU make sense as one setup (not a MIG slice, a laptop GPU or a
    unified-memory system)."""
    return (gpu.mig_parent is None and gpu.family != "Laptop"
            and gpu.interconnect != "unified")
