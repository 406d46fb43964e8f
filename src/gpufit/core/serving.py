"""Serving under load: TTFT, TPOT and throughput for c concurrent users, and the KV-cache limit.

Owns the steady-state serving model of docs/estimation.md ("Serving"): each of c users sends a
prompt of P tokens, reads the O tokens generated for it, and sends the next prompt at once.
The engine time-shares the GPUs between prefills (one per request) and decode steps batched
over all c sequences. The seconds of one prefill and one decode step come from
gpufit.core.speed, and the number of sequences that fit from gpufit.core.estimate; this module
only combines them, so no byte or operation count is derived twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gpufit.core.estimate import estimate
from gpufit.core.specs import Hardware, ModelSpec, QuantSpec, Workload
from gpufit.core.speed import decode_step_seconds, prefill_seconds, workload_terms
from gpufit.core.tensors import WeightBreakdown

# Human reading speed as a time per output token. Adults read English non-fiction silently at
# 238 words/min on average, most at 175–300 (Brysbaert 2019, a meta-analysis of 190 studies);
# a token is about 0.75 words (OpenAI's rule of thumb). 238 words/min is 0.19 s per token and
# 300 words/min 0.15 s: the stricter figure keeps generation ahead of nearly every reader.
# (MLPerf's server scenario for Mixtral 8x7B allows 0.2 s.)
DEFAULT_TPOT_LIMIT_S = 0.15
# Default concurrency levels double from 1 up to the KV-cache limit; past this many points the
# smallest ones after 1 are dropped (they only matter when the limit is low).
MAX_DEFAULT_LEVELS = 12


@dataclass(frozen=True, slots=True)
class ServingPoint:
    """Steady-state latency and throughput with `concurrency` users in flight."""

    concurrency: int
    """Users (sequences) served at once."""
    ttft_s: float
    """Time to first token: the user's own prefill plus one batched decode step."""
    tpot_s: float
    """Time per output token a user sees while streaming, others' prefills included."""
    per_user_tokens_per_s: float
    """1 / tpot_s: the streaming speed one user sees."""
    aggregate_tokens_per_s: float
    """Generated tokens per second over all users, prefill time included."""
    fits_kv: bool
    """Whether this many sequences of prompt + output tokens fit in memory."""


@dataclass(frozen=True, slots=True)
class ServingProfile:
    """Serving points at increasing concurrency, the KV-cache limit and the best point."""

    prompt_tokens: int
    """Tokens in each prompt (P)."""
    output_tokens: int
    """Tokens generated per request (O)."""
    tpot_limit_s: float
    """The longest acceptable time per output token."""
    max_concurrency: int
    """Most sequences of P + O tokens that fit in memory (0 if not even one)."""
    points: tuple[ServingPoint, ...]
    """One point per level, plus the best point, by increasing concurrency."""
    best: ServingPoint | None
    """Highest aggregate throughput with tpot_s within the limit and fits_kv; None if none."""


def default_levels(max_concurrency: int) -> tuple[int, ...]:
    """1, 2, 4, … below `max_concurrency`, then `max_concurrency` itself (just 1 if it is 0)."""
    if max_concurrency < 1:
        return (1,)
    levels: list[int] = []
    level = 1
    while level < max_concurrency:
        levels.append(level)
        level *= 2
    levels.append(max_concurrency)
    if len(levels) > MAX_DEFAULT_LEVELS:
        levels = [1, *levels[-(MAX_DEFAULT_LEVELS - 1):]]
    return tuple(levels)


class _Server:
    """One model on one setup for one request shape; computes (and memoises) serving points."""

    __slots__ = ("_decode_workload", "_points", "hardware", "max_concurrency", "model",
                 "output_tokens", "prefill_s", "quant", "weights")

    def __init__(self, model: ModelSpec, quant: QuantSpec, hardware: Hardware, workload: Workload,
                 weights: WeightBreakdown, prompt_tokens: int, output_tokens: int,
                 max_concurrency: int) -> None:
        self.model = model
        self.quant = quant
        self.hardware = hardware
        self.weights = weights
        self.output_tokens = output_tokens
        self.max_concurrency = max_concurrency
        # Prefill does not depend on how many sequences decode beside it: one prompt of P.
        prefill_workload = replace(workload, context_tokens=prompt_tokens, sequences=1)
        self.prefill_s = prefill_seconds(model, quant, hardware, prefill_workload,
                                         workload_terms(model, quant, prefill_workload, weights))
        # workload_terms reads the KV cache at context / 2; a request's cache averages
        # P + O/2 tokens while it generates, so decode is asked for a context of 2P + O.
        self._decode_workload = replace(workload, context_tokens=2 * prompt_tokens + output_tokens)
        self._points: dict[int, ServingPoint] = {}

    def step_s(self, concurrency: int) -> float:
        """Seconds of one decode step batched over `concurrency` sequences."""
        decode = replace(self._decode_workload, sequences=concurrency)
        terms = workload_terms(self.model, self.quant, decode, self.weights)
        return decode_step_seconds(self.model, self.quant, self.hardware, decode, terms)[0]

    def point(self, concurrency: int) -> ServingPoint:
        """The steady state with `concurrency` users (see docs/estimation.md, "Serving")."""
        hit = self._points.get(concurrency)
        if hit is not None:
            return hit
        step_s = self.step_s(concurrency)
        output = self.output_tokens
        # Per cycle every user gets one prefill and O tokens; nothing overlaps.
        cycle_s = concurrency * self.prefill_s + output * step_s
        # A user's O tokens stream while the other c − 1 prompts are prefilled.
        tpot_s = step_s + (concurrency - 1) * self.prefill_s / output
        result = ServingPoint(
            concurrency=concurrency,
            ttft_s=self.prefill_s + step_s,
            tpot_s=tpot_s,
            per_user_tokens_per_s=1 / tpot_s,
            aggregate_tokens_per_s=concurrency * output / cycle_s,
            fits_kv=concurrency <= self.max_concurrency,
        )
        self._points[concurrency] = result
        return result

    def best(self, tpot_limit_s: float) -> ServingPoint | None:
        """The largest concurrency that fits with TPOT within the limit, by bisection.

        TPOT grows with concurrency and aggregate throughput does too, so the highest
        throughput under the limit is at the largest such concurrency.
        """
        if self.max_concurrency < 1 or self.point(1).tpot_s > tpot_limit_s:
            return None
        if self.point(self.max_concurrency).tpot_s <= tpot_limit_s:
            return self.point(self.max_concurrency)
        low, high = 1, self.max_concurrency  # within the limit at low, over it at high
        while high - low > 1:
            middle = (low + high) // 2
            if self.point(middle).tpot_s <= tpot_limit_s:
                low = middle
            else:
                high = middle
        return self.point(low)


def serving_profile(model: ModelSpec, quant: QuantSpec, hardware: Hardware, workload: Workload,
                    prompt_tokens: int, output_tokens: int,
                    tpot_limit_s: float = DEFAULT_TPOT_LIMIT_S,
                    levels: Sequence[int] | None = None) -> ServingProfile:
    """Latency and throughput against concurrency for prompts of P and outputs of O tokens.

    `workload` gives the engine, KV-cache type and memory settings; its context and sequence
    count are replaced by P + O and each concurrency level. `levels` defaults to doublings up
    to the KV-cache limit. `best` is searched over every concurrency up to that limit, not only
    the levels, and added to `points` when it is not one of them.
    """
    if prompt_tokens < 1 or output_tokens < 1:
        raise ValueError("prompt_tokens and output_tokens must be at least 1")
    if not tpot_limit_s > 0:
        raise ValueError("tpot_limit_s must be positive")
    if levels is not None and any(level < 1 for level in levels):
        raise ValueError("concurrency levels must be at least 1")
    request = estimate(model, quant, hardware,
                       replace(workload, context_tokens=prompt_tokens + output_tokens, sequences=1))
    max_concurrency = request.max_sequences
    server = _Server(model, quant, hardware, workload, request.weights, prompt_tokens,
                     output_tokens, max_concurrency)
    chosen = sorted(set(levels)) if levels is not None else list(default_levels(max_concurrency))
    best = server.best(tpot_limit_s)
    if best is not None and best.concurrency not in chosen:
        chosen = sorted([*chosen, best.concurrency])
    return ServingProfile(
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        tpot_limit_s=tpot_limit_s,
        max_concurrency=max_concurrency,
        points=tuple(server.point(level) for level in chosen),
        best=best,
    )
