"""A detection result as JSON-ready data and as text, for `gpufit-tui detect`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from gpufit.core.specs import GB, GpuSpec
from gpufit.detect.match import hardware_options, match_gpu, unusable
from gpufit.detect.snapshot import Snapshot


def to_dict(snapshot: Snapshot, gpus: Mapping[str, GpuSpec]) -> dict[str, Any]:
    """Everything found, each GPU with its catalog match, and the hardware options."""
    readings = []
    for reading in snapshot.gpus:
        match = match_gpu(reading, gpus)
        readings.append({**asdict(reading), "catalog_id": match.gpu.id if match.gpu else None,
                         "match_reason": match.reason})
    return {
        "found": snapshot.found,
        "problem_kind": snapshot.problem_kind,
        "problem": snapshot.problem,
        "source": snapshot.source,
        "driver_version": snapshot.driver_version,
        "cuda_version": snapshot.cuda_version,
        "notes": list(snapshot.notes),
        "gpus": readings,
        "mig_devices": [asdict(mig) for mig in snapshot.mig_devices],
        "options": [{"key": option.key, "label": option.label, "gpu_id": option.gpu.id,
                     "count": option.count, "memory_per_gpu_bytes": option.memory_per_gpu_bytes,
                     "free_memory_bytes": option.free_memory_bytes,
                     "match_reason": option.match_reason, "speed_from": option.speed_from}
                    for option in hardware_options(snapshot, gpus)],
        "unusable": unusable(snapshot, gpus),
    }


def _gb(value: int | None) -> str:
    return "unknown" if value is None else f"{value / GB:.1f} GB"


def to_text(snapshot: Snapshot, gpus: Mapping[str, GpuSpec]) -> str:
    """A few readable lines per GPU, then the options the app would offer."""
    if not snapshot.found:
        return f"No GPU found: {snapshot.problem or 'nvidia-smi reported none'}\n"
    heading = snapshot.status_line()
    if snapshot.cuda_version:
        heading += f", CUDA {snapshot.cuda_version}"
    lines = [heading]
    for reading in snapshot.gpus:
        match = match_gpu(reading, gpus)
        lines.append(f"  GPU {reading.index}: {reading.name}"
                     + (f"  [{reading.bus_id}]" if reading.bus_id else ""))
        lines.append(f"      memory total {_gb(reading.memory_total_bytes)}, used "
                     f"{_gb(reading.memory_used_bytes)}, free {_gb(reading.memory_free_bytes)}")
        lines.append(f"      catalog: {match.gpu.id if match.gpu else 'no match'} ({match.reason})")
    for mig in snapshot.mig_devices:
        lines.append(f"  MIG GPU {mig.gpu_index} device {mig.device_index}: "
                     f"{mig.profile or 'profile unknown'}, memory {_gb(mig.memory_total_bytes)}, "
                     f"free {_gb(mig.memory_free_bytes)}")
    options = hardware_options(snapshot, gpus)
    if options:
        lines.append("Hardware options:")
        lines += [f"  {option.key:<16} {option.label}"
                  + (f"  (speed as {option.speed_from})" if option.speed_from else "")
                  for option in options]
    lines += [f"  ! {reason}" for reason in unusable(snapshot, gpus)]
    lines += [f"Note: {note}" for note in snapshot.notes]
    return "\n".join(lines) + "\n"
