"""What detection found: frozen readings of each GPU and MIG instance, and why none were found.

Every field nvidia-smi may leave out (`[N/A]`, `[Not Supported]`, `Insufficient Permissions`,
blank) is None here: unknown, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

PROBLEM_KINDS = ("not-installed", "driver", "no-devices", "permission", "timeout", "exit",
                 "garbage", "hidden")
"""Why no GPU was found: nvidia-smi missing, driver not loaded, no devices, NVML permissions,
a hang, another non-zero exit, output we could not read, or CUDA_VISIBLE_DEVICES hid them all."""


@dataclass(frozen=True, slots=True)
class GpuReading:
    """One physical GPU as nvidia-smi reports it."""

    index: int
    """nvidia-smi's index (PCI bus order)."""
    name: str
    uuid: str | None = None
    bus_id: str | None = None
    memory_total_bytes: int | None = None
    memory_used_bytes: int | None = None
    memory_free_bytes: int | None = None
    power_limit_watts: float | None = None
    compute_capability: str | None = None
    mig_enabled: bool | None = None
    name_truncated: bool = False
    """The default table cuts long names to `…...`; matching must not trust the prefix alone."""


@dataclass(frozen=True, slots=True)
class MigReading:
    """One MIG instance (a GPU instance with its compute instance) of a parent GPU."""

    gpu_index: int
    device_index: int | None = None
    gpu_instance_id: int | None = None
    compute_instance_id: int | None = None
    profile: str | None = None
    """`3g.40gb`; only `nvidia-smi -L` names it."""
    uuid: str | None = None
    memory_total_bytes: int | None = None
    memory_used_bytes: int | None = None
    memory_free_bytes: int | None = None
    multiprocessor_count: int | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one detection run found, or the reason it found nothing."""

    gpus: tuple[GpuReading, ...] = ()
    mig_devices: tuple[MigReading, ...] = ()
    driver_version: str | None = None
    cuda_version: str | None = None
    source: str = ""
    """Which command or file the readings came from."""
    problem_kind: str | None = None
    """One of PROBLEM_KINDS when no GPU could be read."""
    problem: str | None = None
    """One line for the user: what went wrong and what to do."""
    notes: tuple[str, ...] = field(default=())
    """Smaller things worth saying (a partial read, a filter applied)."""

    @property
    def found(self) -> bool:
        """Whether at least one GPU was read."""
        return bool(self.gpus)

    def with_note(self, note: str) -> Snapshot:
        """This snapshot with one more note."""
        return replace(self, notes=(*self.notes, note))

    def status_line(self) -> str:
        """One line: what was found, or why nothing was."""
        if not self.gpus:
            return self.problem or "No NVIDIA GPU found."
        names: dict[str, int] = {}
        for gpu in self.gpus:
            names[gpu.name] = names.get(gpu.name, 0) + 1
        found = ", ".join(f"{count} × {name}" if count > 1 else name
                          for name, count in names.items())
        if self.mig_devices:
            found += f" ({len(self.mig_devices)} MIG instances)"
        driver = f", driver {self.driver_version}" if self.driver_version else ""
        return f"Detected {found}{driver}"


def failed(kind: str, problem: str, source: str = "") -> Snapshot:
    """A snapshot with no GPUs and the reason."""
    return Snapshot(source=source, problem_kind=kind, problem=problem)
