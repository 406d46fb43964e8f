"""Small past-tense messages the panes post upward; the main screen owns what they change.

A pane never queries its siblings: it reports what the user did and the main screen updates
its reactives, which flow back down to every pane bound to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class HubLookupRequested(Message):
    """The user typed `org/name` (no model answers to it) and pressed Enter."""

    text: str


@dataclass
class GpuChosen(Message):
    """The user moved to a GPU in the hardware list."""

    gpu_id: str
    """Catalog id of the GPU."""


@dataclass
class GpuCountChanged(Message):
    """The user typed a GPU count."""

    count: int
    """Number of identical GPUs (1–16)."""


@dataclass
class MemoryOverrideChanged(Message):
    """The user typed (or cleared) a per-GPU memory size."""

    memory_bytes: int | None
    """Usable bytes per GPU, or None to use the catalog figure."""


@dataclass
class ModelChosen(Message):
    """The user moved to a model in the model list."""

    model_id: str
    """Catalog id of the model."""


@dataclass
class QuantChosen(Message):
    """The user moved to a quantization in the quant list."""

    quant_id: str
    """Catalog id of the quant."""


@dataclass
class WorkloadChanged(Message):
    """The user changed part of the workload; fields left as None are unchanged."""

    context_tokens: int | None = None
    """Context tokens per sequence."""
    sequences: int | None = None
    """Concurrent sequences."""
    kv_cache_dtype: str | None = None
    """One of `gpufit.core.specs.KV_CACHE_DTYPES`."""
    engine: str | None = None
    """One of `gpufit.core.engines.ENGINES`."""
    flash_attention: str | None = None
    """One of `gpufit.core.engines.FLASH_ATTENTION_CHOICES`."""
