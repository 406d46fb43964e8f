"""MIG slices as GPUs of their own: a parent card's spec cut down to one instance.

A MIG profile `<g>g.<m>gb` gets `g` of the parent's compute slices (7 on A100/H100/H200/B200,
4 on A30 and RTX PRO 6000) and a share of its memory. Memory bandwidth follows the memory
slices an instance owns, so it scales with the instance's memory share; tensor throughput and
power scale with its compute share. NVLink peer-to-peer is not available to a MIG instance, so
traffic between instances is costed at the parent's PCIe link. Sources: NVIDIA
MIG user guide, "Supported MIG Profiles"; see docs/estimation.md.
"""

from __future__ import annotations

import re
from dataclasses import replace

from gpufit.core.specs import MIB, GpuSpec

PROFILE_PATTERN = re.compile(r"^(?:\d{1,3}c\.)?(\d{1,3})g\.(\d{1,6})gb(?:\+\w+)*$")
"""`3g.40gb`, `1g.10gb+me`, `1c.3g.40gb` (compute-instance profiles)."""
DEFAULT_COMPUTE_SLICES = 7
PCIE_GBPS = {3: 32.0, 4: 64.0, 5: 128.0, 6: 256.0}
"""Bidirectional x16 bandwidth per PCIe generation, as in catalog/gpus.toml."""


SLICE_FAMILY = "MIG slice"


def slice_id(parent: GpuSpec, label: str) -> str:
    """The catalog id of one slice: `a100-80gb-sxm-mig-3g.40gb`."""
    return f"{parent.id}-mig-{label.replace(' ', '-').lower()}"


def catalog_slices(gpus: dict[str, GpuSpec]) -> dict[str, GpuSpec]:
    """Every MIG profile of every catalog GPU that has them, as hardware of its own.

    Media-extension (`+me`) and compute-instance variants are left out: they have the same
    memory and compute as their plain profile."""
    slices: dict[str, GpuSpec] = {}
    for parent in gpus.values():
        if parent.mig_parent is not None:
            continue
        for profile in parent.mig_profiles:
            if "+" in profile or profile.count(".") > 1 or parse_profile(profile) is None:
                continue
            spec = mig_slice(parent, profile, None)
            slices[spec.id] = spec
    return slices


def parse_profile(profile: str) -> tuple[int, int] | None:
    """(compute slices, memory GB) of a profile name, or None if it is not one."""
    found = PROFILE_PATTERN.match(profile.strip())
    if not found:
        return None
    slices, memory_gb = int(found.group(1)), int(found.group(2))
    # `1g.0gb` or `0g.10gb` would divide by zero below; no profile has either.
    return (slices, memory_gb) if slices > 0 and memory_gb > 0 else None


def compute_slices(parent: GpuSpec) -> int:
    """How many compute slices the parent has: the largest `g` among its profiles."""
    sizes = [parsed[0] for profile in parent.mig_profiles if (parsed := parse_profile(profile))]
    return max(sizes, default=DEFAULT_COMPUTE_SLICES)


def mig_slice(parent: GpuSpec, profile: str | None, memory_mib: int | None) -> GpuSpec:
    """The spec of one MIG instance of `parent`.

    `memory_mib` is what the device reports for the instance (it wins); without it the
    instance gets the parent's memory in the ratio of its profile's GB to the largest
    profile's (3g.40gb of an 81559 MiB H100 → 40780 MiB; nvidia-smi shows 40448).
    Without a profile, the compute share is taken to equal the memory share, which holds for
    every profile NVIDIA lists to within one slice.
    """
    parsed = parse_profile(profile) if profile else None
    if memory_mib is None:
        if parsed is None:
            raise ValueError(f"a MIG slice needs a profile or a memory size (parent {parent.id})")
        largest_gb = max((found[1] for name in parent.mig_profiles
                          if (found := parse_profile(name))), default=0)
        memory_mib = round(parent.memory_mib * parsed[1] / largest_gb) if largest_gb >= parsed[1] \
            else round(parsed[1] * 1e9 / MIB)
    memory_share = min(1.0, memory_mib / max(1, parent.memory_mib))
    compute_share = memory_share if parsed is None else \
        min(1.0, parsed[0] / compute_slices(parent))

    def scaled(value: float | None) -> float | None:
        return None if value is None else value * compute_share

    label = profile or f"{memory_mib / 1024:.0f} GiB slice"
    return replace(
        parent,
        id=slice_id(parent, label),
        name=f"{parent.name} MIG {label}",
        family=SLICE_FAMILY,
        mig_parent=parent.id,
        aliases=(f"{parent.id}:{label}",) if parsed else (),
        memory_mib=memory_mib,
        bandwidth_gbps=parent.bandwidth_gbps * memory_share,
        fp16_tflops=parent.fp16_tflops * compute_share,
        bf16_tflops=scaled(parent.bf16_tflops),
        fp8_tflops=scaled(parent.fp8_tflops),
        int8_tops=scaled(parent.int8_tops),
        fp4_tflops=scaled(parent.fp4_tflops),
        tdp_watts=parent.tdp_watts * compute_share,
        interconnect="pcie",
        interconnect_gbps=PCIE_GBPS.get(parent.pcie_generation or 4, 64.0),
        mig_profiles=(),
        source=f"{parent.source}; MIG share of {parent.id}",
    )
