"""The one description of a setup the user asks about, and its defaults.

A `Setup` names the hardware (GPU id, count, memory override), the model and quant (catalog
ids; an imported file joins the catalog under its own id) and the workload. It is the main
screen's state, the body of a saved profile, what `report`'s flags build, what a sweep row or
a compare pin holds. `gpufit.core.assess.assess` turns one into the `Assessment` every surface
renders. Defaults live here and nowhere else (the rankings' thresholds too). `HostInputs`,
what the user or the OS says about the host, travels beside a setup to `assess`; it lives here
so the app can build a request without loading the estimation code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Protocol

from gpufit.core.engines import (
    ENGINES,
    FLASH_ATTENTION_CHOICES,
    EngineId,
    FlashAttention,
)
from gpufit.core.plans import DEFAULT_CURRENCY, currency_problem
from gpufit.core.specs import KV_CACHE_DTYPES, GpuSpec, Hardware, ModelSpec, Workload

DEFAULT_GPU = "rtx-4090"
DEFAULT_MODEL = "llama-3.1-8b"
DEFAULT_QUANT = "Q4_K_M"
DEFAULT_CONTEXT_TOKENS = 8192
"""The context when none is chosen: this, or the model's maximum if that is smaller."""
DEFAULT_PROMPT_TOKENS = 1000
DEFAULT_OUTPUT_TOKENS = 200
DEFAULT_TPOT_LIMIT_S = 0.1
"""Serving: the slowest acceptable time per output token (10 tokens/s per user)."""
# Rankings (`best here`, `sweep --gpu`): what counts as usable.
DEFAULT_MIN_TOKENS_PER_S = 10.0
"""Human reading speed is 5–7 tokens/s; 10 leaves a margin (see docs/estimation.md)."""
DEFAULT_MAX_QUALITY_LOSS_PCT = 10.0
"""Perplexity increase beyond which a quant is a last resort rather than a recommendation."""
MAX_GPUS = 16
DETECTED_PREFIX = "detected:"
"""Hardware ids of the options nvidia-smi found begin with this (`detected:0`)."""
MIN_CONTEXT_TOKENS = 256
MAX_SEQUENCES = 4096


class SetupError(ValueError):
    """A setup that cannot be estimated, with the reason in words (names the field)."""


def default_context_tokens(model: ModelSpec) -> int:
    """The one rule for a model's context when the user has not chosen one."""
    return min(DEFAULT_CONTEXT_TOKENS, model.max_context_tokens)


@dataclass(frozen=True, slots=True)
class Setup:
    """Hardware, model, quant and workload: everything an assessment is made from."""

    gpu_id: str = DEFAULT_GPU
    """Catalog GPU id, or a detected option's key (`detected:0-7`)."""
    gpu_count: int = 1
    memory_override_bytes: int | None = None
    """Usable memory per GPU typed by the user; None: the catalog's (or the measured) size."""
    model_id: str = DEFAULT_MODEL
    quant_id: str = DEFAULT_QUANT
    context_tokens: int | None = None
    """Context per sequence; None: `default_context_tokens` of the model."""
    sequences: int = 1
    kv_cache_dtype: str = "f16"
    engine: EngineId = "llama.cpp"
    flash_attention: FlashAttention = "auto"
    include_vision: bool = False
    """Count a multimodal model's vision encoder (the mmproj file); off: text only."""
    prompt_tokens: int = DEFAULT_PROMPT_TOKENS
    """Serving: prompt tokens per request."""
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    """Serving: generated tokens per request."""
    tpot_limit_s: float = DEFAULT_TPOT_LIMIT_S

    def __post_init__(self) -> None:
        problem = setup_problem(self)
        if problem is not None:
            raise SetupError(problem)

    def context_for(self, model: ModelSpec) -> int:
        """The context this setup runs `model` at."""
        return self.context_tokens if self.context_tokens is not None \
            else default_context_tokens(model)

    def workload_for(self, model: ModelSpec) -> Workload:
        """The estimator's workload for `model`."""
        return Workload(context_tokens=self.context_for(model), sequences=self.sequences,
                        kv_cache_dtype=self.kv_cache_dtype, engine=self.engine,
                        flash_attention=self.flash_attention,
                        include_vision=self.include_vision)

    def with_changes(self, **changes: object) -> Setup:
        """A copy with `changes` (None values are ignored: "not given"), validated."""
        given = {name: value for name, value in changes.items() if value is not None}
        return replace(self, **given)  # type: ignore[arg-type]


SETUP_FIELDS = tuple(field.name for field in fields(Setup))


def setup_problem(setup: Setup) -> str | None:
    """Why `setup` cannot be estimated, naming the field; None when it can."""
    if not 1 <= setup.gpu_count <= MAX_GPUS:
        return f"gpu_count must be 1..{MAX_GPUS}, not {setup.gpu_count}"
    if setup.memory_override_bytes is not None and not 0 < setup.memory_override_bytes <= 2**50:
        return f"memory_override_bytes must be positive and plausible, not {setup.memory_override_bytes}"
    if setup.context_tokens is not None and not 1 <= setup.context_tokens <= 2**24:
        return f"context_tokens must be 1..{2**24:,}, not {setup.context_tokens}"
    if not 1 <= setup.sequences <= MAX_SEQUENCES:
        return f"sequences must be 1..{MAX_SEQUENCES}, not {setup.sequences}"
    if setup.kv_cache_dtype not in KV_CACHE_DTYPES:
        return f"kv_cache_dtype must be one of {', '.join(KV_CACHE_DTYPES)}, not {setup.kv_cache_dtype!r}"
    if setup.engine not in ENGINES:
        return f"engine must be one of {', '.join(ENGINES)}, not {setup.engine!r}"
    if setup.flash_attention not in FLASH_ATTENTION_CHOICES:
        return (f"flash_attention must be one of {', '.join(FLASH_ATTENTION_CHOICES)}, "
                f"not {setup.flash_attention!r}")
    if not 1 <= setup.prompt_tokens <= 2**24 or not 1 <= setup.output_tokens <= 2**24:
        return "prompt_tokens and output_tokens must be 1..16,777,216"
    if not (math.isfinite(setup.tpot_limit_s) and 0 < setup.tpot_limit_s <= 3600):
        return f"tpot_limit_s must be a positive number of seconds, not {setup.tpot_limit_s}"
    return None


def gpu_count_problem(gpu: GpuSpec, count: int) -> str | None:
    """Why `count` of `gpu` is not one pool of memory for one model; None when it is."""
    if gpu.mig_parent is not None and count > 1:
        return (f"{gpu.name} is a MIG instance: one process sees one instance, so instances "
                "cannot be pooled for one model (run one replica per instance instead)")
    if not 1 <= count <= MAX_GPUS:
        return f"GPU count must be 1..{MAX_GPUS}, not {count}"
    return None


class HardwareSource(Protocol):
    """Detected hardware (gpufit.detect.match.DetectedOption): measured memory, free memory."""

    @property
    def key(self) -> str: ...

    @property
    def gpu(self) -> GpuSpec: ...

    def hardware(self, count: int | None = None) -> Hardware: ...


def setup_hardware(setup: Setup, gpus: Mapping[str, GpuSpec],
                   detected: Mapping[str, HardwareSource]) -> Hardware | None:
    """The `Hardware` a setup names (None when neither the catalog nor detection has it).

    A detected option brings its measured memory and the free memory of each card, unless
    the user typed a memory size, which then wins (and free memory is unknown)."""
    option = detected.get(setup.gpu_id)
    if option is not None:
        if setup.memory_override_bytes is None:
            return option.hardware(setup.gpu_count)
        return Hardware(option.gpu, setup.gpu_count, setup.memory_override_bytes)
    gpu = gpus.get(setup.gpu_id)
    if gpu is None:
        return None
    return Hardware(gpu, setup.gpu_count, setup.memory_override_bytes)


@dataclass(frozen=True, slots=True)
class HostInputs:
    """What the user (or the OS) says about the host: RAM size and bandwidth, None = unknown
    size / the platform's typical bandwidth (see offload.default_host); and the currency the
    user's price is in, which the host dialog and settings keep beside that price."""

    ram_bytes: int | None = None
    ram_bandwidth_gbps: float | None = None
    currency: str = DEFAULT_CURRENCY
    """A code or symbol ("USD", "€"); every price and cost of the assessment is shown in it."""

    def __post_init__(self) -> None:
        # Checked where it enters the core, so no renderer can meet an empty or multi-line one.
        problem = currency_problem(self.currency)
        if problem is not None:
            raise ValueError(f"currency {self.currency!r} {problem}")
        object.__setattr__(self, "currency", self.currency.strip())
