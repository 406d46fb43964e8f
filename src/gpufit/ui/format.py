"""Formatting at the edge: bytes become GB or GiB (always spelled out), speeds become short numbers."""

from __future__ import annotations

import re

from rich.cells import cell_len

from gpufit.core.specs import GB, GIB
from gpufit.persist.settings import DEFAULT_UNITS, UNITS

__all__ = ["DEFAULT_UNITS", "UNITS", "compact_gpu_name", "ellipsize", "params", "rate", "size",
           "tokens", "unit_bytes"]

def unit_bytes(units: str) -> int:
    """Bytes in one of `units`: 2^30 for GiB, 10^9 for GB."""
    return GIB if units == "GiB" else GB


def size(value_bytes: float, units: str = "GB", digits: int = 1) -> str:
    """Bytes in decimal GB (10^9) or binary GiB (2^30), with the unit."""
    return f"{value_bytes / unit_bytes(units):,.{digits}f} {units}"


def rate(tokens_per_s: float) -> str:
    """A speed in tokens per second, to three significant-ish figures."""
    if tokens_per_s >= 100:
        return f"{tokens_per_s:,.0f}"
    if tokens_per_s >= 10:
        return f"{tokens_per_s:.1f}"
    return f"{tokens_per_s:.2f}"


def params(count: float) -> str:
    """A parameter count as 8.0B / 141B / 560M / 4.6M / 260K / 512: a tiny test model never
    shows as "0M"."""
    # Thresholds sit where rounding would print "100.0B" or "1,000M" (Gemma 3 1B has 999.9M).
    if count >= 99.95e9:
        return f"{count / 1e9:,.0f}B"
    if count >= 999.5e6:
        return f"{count / 1e9:.1f}B"
    if count >= 9.95e6:
        return f"{count / 1e6:,.0f}M"
    if count >= 999.5e3:
        return f"{count / 1e6:.1f}M"
    if count >= 999.5:
        return f"{count / 1e3:.0f}K"
    return f"{count:.0f}"


def tokens(count: int) -> str:
    """A context length as 8k / 128k / 1M (1k = 1024 tokens, as model cards write it)."""
    if count >= 1024**2 and count % 1024**2 == 0:
        return f"{count // 1024**2}M"
    if count >= 1024 and count % 1024 == 0:
        return f"{count // 1024}k"
    return f"{count:,}"


def seconds(value: float) -> str:
    """A duration: ms below one second, else seconds."""
    if value < 1:
        return f"{value * 1000:,.0f} ms"
    return f"{value:,.2f} s"


def short_gpu_name(name: str) -> str:
    """Drop the vendor boilerplate a grouped list makes redundant ("NVIDIA GeForce ")."""
    for prefix in ("NVIDIA GeForce ", "NVIDIA Tesla ", "NVIDIA "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def ellipsize(text: str, width: int) -> str:
    """`text` in at most `width` cells: cut in the middle with "…" when longer, so both the
    start (the product) and the end (its memory, MIG profile or size: "…MIG 1g.12gb",
    "…Llama 70B") stay, which is where names in one family differ."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:max(width, 0)]
    tail_cells = (width - 1) // 2
    tail = ""
    while cell_len(tail) < tail_cells:
        tail = text[len(text) - len(tail) - 1:]
    head = text[:len(text) - len(tail)]
    while cell_len(head) + 1 + cell_len(tail) > width:
        head = head[:-1]
    return head.rstrip() + "…" + tail.lstrip()


def compact_gpu_name(name: str) -> str:
    """`short_gpu_name` less the word "GPU" said in passing, for tables where every cell counts:
    "RTX 4090 Laptop GPU 16 GB" → "RTX 4090 Laptop 16 GB", "(40-core GPU, 128 GB)" →
    "(40-core, 128 GB)"."""
    return re.sub(r"(?<=\S) GPU\b", "", short_gpu_name(name))
