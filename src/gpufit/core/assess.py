"""One setup in, one assessment out: the estimate, the advice and every plan, built once.

`assess` is the only place an `Assessment` is made. The result pane, `report` (text, Markdown,
JSON), the exports, compare and the serving view all render one, so a number never differs
between two screens. See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gpufit.core.catalog import Catalog
from gpufit.core.energy import EnergyCost, energy_cost
from gpufit.core.engines import engine_profile
from gpufit.core.estimate import Estimate, estimate
from gpufit.core.exl2 import resolve_quant_text
from gpufit.core.offload import HostMemory, OffloadPlan, default_host, plan_offload
from gpufit.core.recommend import Recommendation, engine_advice, recommend
from gpufit.core.run_hints import RunHint, run_hints
from gpufit.core.serving import ServingProfile, serving_profile
from gpufit.core.setup import (
    HardwareSource,
    HostInputs,
    Setup,
    SetupError,
    gpu_count_problem,
    setup_hardware,
)
from gpufit.core.specs import Hardware, ModelSpec, QuantSpec
from gpufit.core.split import SplitPlan, split_plan

AssessmentVerdict = Literal["fits", "tight", "does-not-fit", "unsupported"]
"""The memory verdict, or "unsupported" when the engine cannot run the quant at all."""


@dataclass(frozen=True, slots=True)
class FreeMemory:
    """Whether each GPU's share fits in what nvidia-smi says is free on that card right now."""

    per_gpu_free_bytes: tuple[int, ...]
    per_gpu_needed_bytes: tuple[int, ...]

    @property
    def short_gpus(self) -> tuple[int, ...]:
        """Indices (within the setup) of the cards whose share exceeds their free memory."""
        return tuple(index for index, (free, needed) in enumerate(
            zip(self.per_gpu_free_bytes, self.per_gpu_needed_bytes, strict=True)) if needed > free)

    @property
    def fits(self) -> bool:
        """Every card's share fits in its free memory."""
        return not self.short_gpus

    @property
    def total_free_bytes(self) -> int:
        """Free memory of all the cards together."""
        return sum(self.per_gpu_free_bytes)


@dataclass(frozen=True, slots=True)
class EnergyBasis:
    """At which load the energy figure is given: the serving view's best concurrency under
    the TPOT limit (else its highest-throughput level), or the setup's own sequences."""

    concurrency: int
    tokens_per_s: float
    source: Literal["serving-best", "serving-peak", "workload"]


@dataclass(frozen=True, slots=True)
class Assessment:
    """Everything gpufit says about one setup."""

    setup: Setup
    estimate: Estimate
    verdict: AssessmentVerdict
    recommendations: tuple[Recommendation, ...]
    quant_rows: tuple[Estimate, ...]
    """The same setup at every catalog quant (the quant pane's rows)."""
    split: SplitPlan
    offload: tuple[OffloadPlan, ...]
    run_hints: tuple[RunHint, ...]
    serving: ServingProfile
    energy: EnergyCost | None
    """None when it does not fit (there is no GPU-only rate to charge) or cannot run."""
    energy_basis: EnergyBasis | None
    host: HostMemory
    free_memory: FreeMemory | None
    """Per-card free-memory check, for detected hardware whose free memory is known."""
    price_per_gpu_hour: float | None
    currency: str
    """What the price (and so every cost) is in: the host inputs' currency."""

    @property
    def runnable(self) -> bool:
        """The engine can run the quant."""
        return self.verdict != "unsupported"


def resolve_parts(setup: Setup, catalog: Catalog,
                  detected: Mapping[str, HardwareSource]) -> tuple[Hardware, ModelSpec, QuantSpec]:
    """The hardware, model and quant a setup names; SetupError says which one is missing."""
    hardware = setup_hardware(setup, catalog.gpus, detected)
    if hardware is None:
        raise SetupError(f"GPU {setup.gpu_id!r} is neither in the catalog nor detected")
    problem = gpu_count_problem(hardware.gpu, hardware.count)
    if problem is not None:
        raise SetupError(problem)
    model = catalog.models.get(setup.model_id)
    if model is None:
        raise SetupError(f"model {setup.model_id!r} is not in the catalog")
    quant = catalog.quants.get(setup.quant_id) or resolve_quant_text(catalog.quants, setup.quant_id)
    if quant is None:
        raise SetupError(f"quant {setup.quant_id!r} is not in the catalog")
    return hardware, model, quant


def assess(setup: Setup, catalog: Catalog, *, host: HostInputs | None = None,
           price_per_gpu_hour: float | None = None,
           detected: Mapping[str, HardwareSource] | None = None) -> Assessment:
    """Assess `setup`: estimate, advice, per-GPU split, offload, run hints, serving, energy.

    `host` is the system RAM for offload plans (default: the platform's typical bandwidth,
    size unknown); `detected` maps detected options' keys to them. Raises SetupError when the
    setup names something neither the catalog nor detection has."""
    hardware, model, quant = resolve_parts(setup, catalog, detected or {})
    workload = setup.workload_for(model)
    main = estimate(model, quant, hardware, workload)
    profile = engine_profile(workload.engine)
    runnable = profile.runs(quant.engines)
    given = host or HostInputs()
    host_memory = default_host(hardware.gpu, given.ram_bytes, given.ram_bandwidth_gbps)
    split = split_plan(main)
    offload = plan_offload(main, host_memory) if runnable else ()
    advice = tuple(recommend(main, catalog.quants, catalog.gpus, offload)) if runnable \
        else tuple(engine_advice(main, catalog.quants))
    serving = serving_profile(model, quant, hardware, workload, setup.prompt_tokens,
                              setup.output_tokens, setup.tpot_limit_s)
    verdict: AssessmentVerdict = main.verdict if runnable else "unsupported"
    energy, basis = _energy(main, serving, verdict, price_per_gpu_hour)
    return Assessment(
        setup=setup, estimate=main, verdict=verdict, recommendations=advice,
        quant_rows=tuple(estimate(model, other, hardware, workload)
                         for other in catalog.quants.values()),
        split=split, offload=offload, run_hints=_hints(main, split, offload),
        serving=serving, energy=energy, energy_basis=basis, host=host_memory,
        free_memory=_free_memory(hardware, split), price_per_gpu_hour=price_per_gpu_hour,
        currency=given.currency)


def _energy(result: Estimate, serving: ServingProfile, verdict: AssessmentVerdict,
            price_per_gpu_hour: float | None) -> tuple[EnergyCost | None, EnergyBasis | None]:
    """Energy per token at one stated load, the same figure on every surface."""
    if verdict in ("does-not-fit", "unsupported"):
        return None, None
    if serving.best is not None:
        basis = EnergyBasis(serving.best.concurrency, serving.best.aggregate_tokens_per_s,
                            "serving-best")
    elif serving.points:
        peak = max(serving.points, key=lambda point: point.aggregate_tokens_per_s)
        basis = EnergyBasis(peak.concurrency, peak.aggregate_tokens_per_s, "serving-peak")
    else:
        basis = EnergyBasis(result.workload.sequences,
                            result.speed.aggregate_decode_tokens_per_s, "workload")
    return energy_cost(result.hardware, basis.tokens_per_s, price_per_gpu_hour), basis


def _hints(result: Estimate, split: SplitPlan,
           offload: tuple[OffloadPlan, ...]) -> tuple[RunHint, ...]:
    """Run hints that match the advice: the fastest offload plan's -ngl / --n-cpu-moe when it
    does not fit, the balanced --tensor-split when llama.cpp's default split would overflow;
    only engines that run the quant get a command."""
    tensor_split = [float(count) for count in split.layers_per_gpu] if split.default_overflows \
        else None
    if offload:
        fastest = max(offload, key=lambda plan: plan.decode_tokens_per_s)
        hints = run_hints(result, fastest.ngl if fastest.mode == "layers" else None,
                          fastest.n_cpu_moe, tensor_split=tensor_split)
    else:
        hints = run_hints(result, tensor_split=tensor_split)
    return tuple(hint for hint in hints if engine_profile(hint.engine).runs(result.quant.engines))


def _free_memory(hardware: Hardware, split: SplitPlan) -> FreeMemory | None:
    frees = hardware.free_memory_per_gpu_bytes
    if frees is None or len(frees) != len(split.shares):
        return None
    return FreeMemory(tuple(frees), tuple(share.total_bytes for share in split.shares))
