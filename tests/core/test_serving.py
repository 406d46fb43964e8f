"""The serving model against figures worked out here from estimate()'s decode and prefill speeds.

Expected values use only the public estimate(): a decode step is 1 / decode tok/s of an
estimate with c sequences at context 2P + O (mean fill P + O/2), a prefill is P / prefill tok/s
of an estimate at context P. The serving formulas are then applied by hand:
cycle = c × prefill + O × step, TPOT = step + (c − 1) × prefill / O, TTFT = prefill + step,
aggregate = c × O / cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from gpufit.core.estimate import estimate
from gpufit.core.serving import DEFAULT_TPOT_LIMIT_S, default_levels, serving_profile
from gpufit.core.specs import Hardware, ModelSpec, QuantSpec, Workload

PROMPT = 1000
OUTPUT = 200


@dataclass(frozen=True)
class Setup:
    model: ModelSpec
    quant: QuantSpec
    hardware: Hardware
    workload: Workload

    def profile(self, **kwargs):
        return serving_profile(self.model, self.quant, self.hardware, self.workload,
                               kwargs.pop("prompt", PROMPT), kwargs.pop("output", OUTPUT), **kwargs)

    def run(self, context: int, sequences: int = 1):
        return estimate(self.model, self.quant, self.hardware,
                        replace(self.workload, context_tokens=context, sequences=sequences))

    def step_s(self, sequences: int, prompt: int = PROMPT, output: int = OUTPUT) -> float:
        return 1 / self.run(2 * prompt + output, sequences).speed.decode_tokens_per_s

    def prefill_s(self, prompt: int = PROMPT) -> float:
        return prompt / self.run(prompt).speed.prefill_tokens_per_s

    def expected_tpot_s(self, users: int) -> float:
        return self.step_s(users) + (users - 1) * self.prefill_s() / OUTPUT


def make_setup(catalog, model, quant, gpu, count=1, engine="vllm") -> Setup:
    return Setup(catalog.models[model], catalog.quants[quant],
                 Hardware(catalog.gpus[gpu], count=count), Workload(engine=engine))


@pytest.fixture(scope="module")
def mixtral(catalog) -> Setup:
    # The serving seed (shared/seeds/002): Mixtral 8x7B AWQ on one A100 80GB under vLLM.
    return make_setup(catalog, "mixtral-8x7b", "AWQ-INT4", "a100-80gb-sxm")


SETUPS = [
    ("mixtral-8x7b", "AWQ-INT4", "a100-80gb-sxm", 1, "vllm"),
    ("llama-3.1-70b", "FP8", "h100-sxm", 2, "vllm"),
    ("llama-3-8b", "Q4_K_M", "rtx-4090", 1, "llama.cpp"),
]


@pytest.mark.parametrize(("model", "quant", "gpu", "count", "engine"), SETUPS)
def test_single_user_matches_estimate(catalog, model, quant, gpu, count, engine):
    setup = make_setup(catalog, model, quant, gpu, count, engine)
    point = setup.profile(levels=[1]).points[0]
    step_s, prefill_s = setup.step_s(1), setup.prefill_s()
    # Alone, a user streams at the single-sequence decode speed with no one else's prefill.
    assert point.tpot_s == pytest.approx(step_s, rel=1e-12)
    assert point.per_user_tokens_per_s == pytest.approx(1 / step_s, rel=1e-12)
    assert point.ttft_s == pytest.approx(prefill_s + step_s, rel=1e-12)
    assert point.aggregate_tokens_per_s == pytest.approx(OUTPUT / (prefill_s + OUTPUT * step_s),
                                                         rel=1e-12)
    # The plain estimate at context P reads its KV cache at P/2 instead of P + O/2: close.
    single = setup.run(PROMPT).speed
    assert point.tpot_s == pytest.approx(1 / single.decode_tokens_per_s, rel=0.02)
    assert point.ttft_s == pytest.approx(single.time_to_first_token_s, rel=0.02)


def test_every_level_matches_hand_formulas(mixtral):
    profile = mixtral.profile()
    prefill_s = mixtral.prefill_s()
    for point in profile.points:
        users = point.concurrency
        step_s = mixtral.step_s(users)
        cycle_s = users * prefill_s + OUTPUT * step_s
        assert point.tpot_s == pytest.approx((cycle_s - prefill_s) / OUTPUT, rel=1e-9)
        assert point.ttft_s == pytest.approx(prefill_s + step_s, rel=1e-9)
        assert point.aggregate_tokens_per_s == pytest.approx(users * OUTPUT / cycle_s, rel=1e-9)
        assert point.per_user_tokens_per_s == pytest.approx(1 / point.tpot_s, rel=1e-12)


def test_tpot_grows_and_throughput_grows_then_saturates(mixtral):
    points = mixtral.profile(tpot_limit_s=1e-6).points  # no best: only the doubling levels
    tpots = [point.tpot_s for point in points]
    aggregates = [point.aggregate_tokens_per_s for point in points]
    assert tpots == sorted(tpots)
    assert aggregates == sorted(aggregates)
    # Were decoding free, c users would still wait for c prefills per cycle: O / prefill.
    ceiling = OUTPUT / mixtral.prefill_s()
    assert all(aggregate < ceiling for aggregate in aggregates)
    # Saturation: the last doubling adds far less than the first.
    first_gain = aggregates[1] / aggregates[0]
    last_doubling = [point for point in points if point.concurrency * 2 == points[-2].concurrency]
    last_gain = aggregates[-2] / last_doubling[0].aggregate_tokens_per_s
    assert last_gain < first_gain
    assert last_gain < 1.10


def test_max_concurrency_is_estimates_max_sequences(mixtral):
    profile = mixtral.profile(tpot_limit_s=1e-6)  # no best: only the default levels
    capacity = mixtral.run(PROMPT + OUTPUT).max_sequences
    assert capacity > 100  # 45 sequences of 8192 fit (docs/estimation.md); ~7× shorter here
    assert profile.max_concurrency == capacity
    doublings = [2**power for power in range(12) if 2**power < capacity]
    assert [point.concurrency for point in profile.points] == [*doublings, capacity]
    assert all(point.fits_kv for point in profile.points)


def test_levels_beyond_capacity_do_not_fit(mixtral):
    capacity = mixtral.run(PROMPT + OUTPUT).max_sequences
    profile = mixtral.profile(levels=[capacity + 1, 1, capacity], tpot_limit_s=1e-6)
    assert [point.concurrency for point in profile.points] == [1, capacity, capacity + 1]
    assert [point.fits_kv for point in profile.points] == [True, True, False]


def test_best_is_the_largest_concurrency_within_the_limit(mixtral):
    profile = mixtral.profile()
    best = profile.best
    assert best is not None
    assert best.fits_kv
    assert best.tpot_s <= DEFAULT_TPOT_LIMIT_S
    assert best.tpot_s == pytest.approx(mixtral.expected_tpot_s(best.concurrency), rel=1e-9)
    # One more user breaks the limit (or does not fit).
    assert (best.concurrency == profile.max_concurrency
            or mixtral.expected_tpot_s(best.concurrency + 1) > DEFAULT_TPOT_LIMIT_S)
    qualifying = [point for point in profile.points if point.fits_kv
                  and point.tpot_s <= profile.tpot_limit_s]
    assert best == max(qualifying, key=lambda point: point.aggregate_tokens_per_s)
    assert best in profile.points


def test_best_is_added_to_explicit_levels(mixtral):
    profile = mixtral.profile(levels=[2, 1])
    assert profile.best is not None
    assert [point.concurrency for point in profile.points] == [1, 2, profile.best.concurrency]


def test_no_best_when_one_user_is_already_too_slow(mixtral):
    limit_s = 0.5 * mixtral.step_s(1)
    profile = mixtral.profile(tpot_limit_s=limit_s)
    assert profile.best is None
    assert profile.points  # the curve is still there to look at
    assert profile.points[0].tpot_s > limit_s


def test_generous_limit_makes_the_capacity_the_best(mixtral):
    profile = mixtral.profile(tpot_limit_s=10.0)
    assert profile.best is not None
    assert profile.best.concurrency == profile.max_concurrency


def test_nothing_fits_gives_one_point_and_no_best(catalog):
    setup = make_setup(catalog, "mixtral-8x22b", "FP16", "a100-40gb-pcie")
    profile = setup.profile()
    assert profile.max_concurrency == 0
    assert profile.best is None
    assert [point.concurrency for point in profile.points] == [1]
    assert not profile.points[0].fits_kv


def test_seed_scenario_has_several_points_and_a_best(mixtral):
    profile = mixtral.profile()
    assert profile.tpot_limit_s == DEFAULT_TPOT_LIMIT_S
    assert len(profile.points) >= 6
    assert profile.best is not None
    assert 1 < profile.best.concurrency < profile.max_concurrency
    # Batching pays: the best point serves several times one user's throughput.
    assert profile.best.aggregate_tokens_per_s > 3 * profile.points[0].aggregate_tokens_per_s


def test_default_limit_is_reading_speed():
    # Brysbaert (2019): adults read 238 words/min on average, most 175–300; ~0.75 words/token.
    seconds_per_token_at = {wpm: 60 / (wpm / 0.75) for wpm in (238, 300)}
    limit_s = DEFAULT_TPOT_LIMIT_S
    assert limit_s == pytest.approx(seconds_per_token_at[300])  # the fast end of the range
    assert limit_s < seconds_per_token_at[238]  # ahead of the average reader (0.19 s)


def test_default_levels():
    assert default_levels(0) == (1,)
    assert default_levels(1) == (1,)
    assert default_levels(5) == (1, 2, 4, 5)
    assert default_levels(8) == (1, 2, 4, 8)
    many = default_levels(4096)
    assert len(many) == 12
    assert many[0] == 1 and many[-1] == 4096 and 2 not in many


@pytest.mark.parametrize("kwargs", [{"prompt": 0}, {"output": 0}, {"tpot_limit_s": 0.0},
                                    {"levels": [0, 1]}])
def test_rejects_meaningless_inputs(mixtral, kwargs):
    with pytest.raises(ValueError):
        mixtral.profile(**kwargs)
