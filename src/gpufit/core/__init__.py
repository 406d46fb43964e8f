"""The pure estimation core: specs, catalog loading, memory, speed, verdicts, recommendations.

Nothing here imports Textual or Rich; every function is synchronous and deterministic. Import
from the modules themselves (`gpufit.core.assess`, `gpufit.core.catalog`, …): the package
imports none of them, so the app can list the catalog before the estimation code is loaded.
"""
