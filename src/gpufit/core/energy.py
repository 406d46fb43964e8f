"""Energy per generated token and cost per million tokens, from board power and a user's price.

Owns the power and cost arithmetic of docs/estimation.md ("Power and cost"). Power is the
board power the user's GPUs may draw (their nvidia-smi power limit, else the catalog TDP), so
energy figures are upper bounds. Prices are never built in: GPU-hour prices vary by provider,
region and month, so the caller passes the user's own figure or gets no cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpufit.core.specs import Hardware

SECONDS_PER_HOUR = 3600
JOULES_PER_WATT_HOUR = 3600
TOKENS_PER_MILLION = 1_000_000


@dataclass(frozen=True, slots=True)
class EnergyCost:
    """What generating tokens at a given rate draws and costs on one setup."""

    power_watts: float
    """Board power of the whole setup: GPU count × per-GPU power limit (or TDP)."""
    joules_per_token: float
    """Energy per generated token at that power."""
    watt_hours_per_million_tokens: float
    """Energy per million generated tokens."""
    cost_per_million_tokens: float | None
    """Price of a million generated tokens, in the price's currency; None without a price."""
    price_per_gpu_hour: float | None
    """The user's price for one GPU for one hour, as given."""


def energy_cost(hardware: Hardware, aggregate_tokens_per_s: float,
                price_per_gpu_hour: float | None = None,
                power_limit_watts: float | None = None) -> EnergyCost:
    """Energy and cost per generated token for `hardware` producing `aggregate_tokens_per_s`.

    `power_limit_watts` is the per-GPU limit nvidia-smi reports (`power.limit`); without it the
    catalog TDP stands in. Either is the most a board may draw, and decode, which waits on
    memory, rarely draws it all, so energy is an upper bound. No utilisation factor is applied.
    """
    if not aggregate_tokens_per_s > 0:
        raise ValueError("aggregate_tokens_per_s must be positive")
    if power_limit_watts is not None and not power_limit_watts > 0:
        raise ValueError("power_limit_watts must be positive")
    if price_per_gpu_hour is not None and price_per_gpu_hour < 0:
        raise ValueError("price_per_gpu_hour must not be negative")
    board_watts = power_limit_watts if power_limit_watts is not None else hardware.gpu.tdp_watts
    # Every GPU of the setup is powered (and rented) while tokens are made, busy or not.
    power_watts = board_watts * hardware.count
    joules_per_token = power_watts / aggregate_tokens_per_s
    cost = None
    if price_per_gpu_hour is not None:
        millions_per_hour = aggregate_tokens_per_s * SECONDS_PER_HOUR / TOKENS_PER_MILLION
        cost = price_per_gpu_hour * hardware.count / millions_per_hour
    return EnergyCost(
        power_watts=power_watts,
        joules_per_token=joules_per_token,
        watt_hours_per_million_tokens=joules_per_token * TOKENS_PER_MILLION / JOULES_PER_WATT_HOUR,
        cost_per_million_tokens=cost,
        price_per_gpu_hour=price_per_gpu_hour,
    )
