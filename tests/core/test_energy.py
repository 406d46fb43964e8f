"""Energy and cost per token, worked out by hand on a made-up GPU and checked on the catalog."""

from __future__ import annotations

import pytest

from gpufit.core.energy import energy_cost
from gpufit.core.serving import serving_profile
from gpufit.core.specs import GpuSpec, Hardware, Workload

TEST_GPU = GpuSpec(
    id="test-300w", name="Test GPU 300 W", vendor="test", family="test", architecture="Test",
    memory_mib=24576, bandwidth_gbps=1000.0, fp16_tflops=100.0, tdp_watts=300.0,
    interconnect="pcie", interconnect_gbps=32.0, source="made up for tests",
)


def test_energy_per_token_is_setup_watts_over_tokens_per_second():
    result = energy_cost(Hardware(TEST_GPU, count=2), aggregate_tokens_per_s=1200.0)
    assert result.power_watts == 600.0  # 2 × 300 W
    assert result.joules_per_token == 0.5  # 600 J/s ÷ 1200 tokens/s
    # 10^6 tokens × 0.5 J = 500,000 J = 500,000 / 3,600 Wh.
    assert result.watt_hours_per_million_tokens == pytest.approx(138.8888889, rel=1e-9)


def test_power_limit_replaces_tdp():
    result = energy_cost(Hardware(TEST_GPU, count=2), 1000.0, power_limit_watts=250.0)
    assert result.power_watts == 500.0
    assert result.joules_per_token == 0.5


def test_cost_per_million_tokens_from_hourly_price():
    # 1000 tokens/s is 3.6 million tokens an hour; two GPUs at 2.50 an hour cost 5.00 an hour.
    result = energy_cost(Hardware(TEST_GPU, count=2), 1000.0, price_per_gpu_hour=2.5)
    assert result.price_per_gpu_hour == 2.5
    assert result.cost_per_million_tokens == pytest.approx(5.0 / 3.6, rel=1e-12)


def test_free_hardware_costs_nothing():
    result = energy_cost(Hardware(TEST_GPU), 100.0, price_per_gpu_hour=0.0)
    assert result.cost_per_million_tokens == 0.0


def test_no_price_no_cost():
    result = energy_cost(Hardware(TEST_GPU), 1000.0)
    assert result.cost_per_million_tokens is None
    assert result.price_per_gpu_hour is None


def test_catalog_a100_uses_its_tdp(catalog):
    gpu = catalog.gpus["a100-80gb-sxm"]
    result = energy_cost(Hardware(gpu), 400.0)
    assert gpu.tdp_watts == 400.0  # NVIDIA's A100 SXM4 data sheet
    assert result.joules_per_token == 1.0


def test_serving_best_point_energy(catalog):
    hardware = Hardware(catalog.gpus["a100-80gb-sxm"])
    profile = serving_profile(catalog.models["mixtral-8x7b"], catalog.quants["AWQ-INT4"], hardware,
                              Workload(engine="vllm"), 1000, 200)
    assert profile.best is not None
    rate = profile.best.aggregate_tokens_per_s
    result = energy_cost(hardware, rate, price_per_gpu_hour=2.0)
    assert result.joules_per_token == pytest.approx(400.0 / rate, rel=1e-12)
    assert result.cost_per_million_tokens == pytest.approx(2.0 / (rate * 3600 / 1e6), rel=1e-12)
    # Batching makes tokens cheaper: the best point beats one user.
    single = energy_cost(hardware, profile.points[0].aggregate_tokens_per_s)
    assert result.joules_per_token < single.joules_per_token


@pytest.mark.parametrize("kwargs", [{"aggregate_tokens_per_s": 0.0},
                                    {"aggregate_tokens_per_s": -1.0},
                                    {"aggregate_tokens_per_s": 10.0, "power_limit_watts": 0.0},
                                    {"aggregate_tokens_per_s": 10.0, "price_per_gpu_hour": -1.0}])
def test_rejects_meaningless_inputs(kwargs):
    with pytest.raises(ValueError):
        energy_cost(Hardware(TEST_GPU), **kwargs)
