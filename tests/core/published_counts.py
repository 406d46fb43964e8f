"""The one check of a catalog model's computed parameters against its published counts
(shared by the per-family catalog tests, each with its own table of published figures)."""

from __future__ import annotations

import pytest

from gpufit.core.specs import ModelSpec
from gpufit.core.tensors import parameter_count

TOTAL_TOLERANCE = 0.02
"""Totals are published to three or four digits (model cards, the Hub's size)."""


def check_parameter_counts(model: ModelSpec, total: float, active: float | None,
                           active_tolerance: float) -> None:
    """Computed total within 2 % of `total`; computed active within `active_tolerance` of
    `active` when one is published (active counts carry fewer digits)."""
    computed_total, computed_active = parameter_count(model)
    assert computed_total == pytest.approx(total, rel=TOTAL_TOLERANCE)
    if active is not None:
        assert computed_active == pytest.approx(active, rel=active_tolerance)
