"""The pure estimation core: specs, catalog loading, memory, speed, verdicts, recommendations.

Nothing here imports Textual or Rich; every function is synchronous and deterministic.
"""

from gpufit.core.catalog import Catalog, CatalogIssue, load_catalog
from gpufit.core.estimate import Estimate, estimate
from gpufit.core.specs import GpuSpec, Hardware, ModelSpec, QuantSpec, Workload

__all__ = [
    "Catalog",
    "CatalogIssue",
    "Estimate",
    "GpuSpec",
    "Hardware",
    "ModelSpec",
    "QuantSpec",
    "Workload",
    "estimate",
    "load_catalog",
]
