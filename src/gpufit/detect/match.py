"""From readings to hardware the estimator can use: catalog matches, MIG slices, N × card groups.

A reported name maps to a catalog GPU by its aliases (the catalog lists nvidia-smi's exact
strings), then by the normalised name, then by the product name without its memory size (one
nvidia-smi name such as "NVIDIA RTX PRO 5000 Blackwell" covers a 48 GB and a 72 GB card, and an
alias may name only one entry); laptop parts only ever match laptop entries, and the
reported memory breaks ties and vetoes a match more than 10 % off. The measured memory always
overrides the catalog's. A card the catalog lacks stays usable: nvidia-smi's name and memory,
with speed borrowed from the catalog GPU of the same kind closest in memory, labelled as such.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from gpufit.core.mig import mig_slice
from gpufit.core.resolve import base_key, normalise
from gpufit.core.setup import DETECTED_PREFIX
from gpufit.core.specs import MIB, GpuSpec, Hardware
from gpufit.detect.snapshot import GpuReading, MigReading, Snapshot

MEMORY_TOLERANCE = 0.10
MIN_PLAUSIBLE_MEMORY_BYTES = 256 * MIB
MAX_PLAUSIBLE_MEMORY_BYTES = 4 * 1024**4
"""Deliberately loose bounds on one GPU's (or MIG slice's) memory: a reading outside them is a
misread (a saved output with a thousands dot, "24.564"), a broken driver or a crafted file, and
matching on it would pick the wrong card. Such figures are set aside and the reason says so."""


@dataclass(frozen=True, slots=True)
class Match:
    """The catalog GPU a reading is, and why we think so (None: not in the catalog)."""

    gpu: GpuSpec | None
    reason: str
    named: GpuSpec | None = None
    """With gpu None: the catalog GPU the name does match, refused because the memory differs."""


def plausible(reading: GpuReading) -> tuple[GpuReading, str | None]:
    """`reading` with memory figures no GPU can have set to unknown, and what was set aside."""
    total, used, free = (reading.memory_total_bytes, reading.memory_used_bytes,
                         reading.memory_free_bytes)
    doubts = []
    if total is not None and not MIN_PLAUSIBLE_MEMORY_BYTES <= total <= MAX_PLAUSIBLE_MEMORY_BYTES:
        doubts.append(f"its reported memory ({_mib(total)}) is no GPU's (a thousands separator "
                      "or a misread?), so it was ignored")
        total = used = free = None
    for label, value in (("used", used), ("free", free)):
        if value is not None and (value > (total or MAX_PLAUSIBLE_MEMORY_BYTES) or value < 0):
            doubts.append(f"its {label} memory ({_mib(value)}) exceeds "
                          f"{'its total' if total else 'any GPU'}, so it was ignored")
            used, free = (None, free) if label == "used" else (used, None)
    if not doubts:
        return reading, None
    return replace(reading, memory_total_bytes=total, memory_used_bytes=used,
                   memory_free_bytes=free), "; ".join(doubts)


def _mib(value: int) -> str:
    return f"{value / MIB:,.3f}".rstrip("0").rstrip(".") + " MiB"


@dataclass(frozen=True, slots=True)
class DetectedOption:
    """One hardware choice detection offers: N identical cards, one card, or one MIG slice."""

    key: str
    """Stable id within a snapshot, e.g. `detected:0-7`, `detected:2`, `detected:0/mig1`."""
    name: str
    """What one card (or the slice) is called: 'NVIDIA A10 (GPU 0)', 'GPU 0 MIG 3g.40gb
    (device 0)', or for a group the reported name."""
    gpu: GpuSpec
    """The spec to estimate with (catalog entry, MIG slice of it, or a stand-in)."""
    count: int
    memory_per_gpu_bytes: int
    free_memory_bytes: int | None
    """Free memory now, summed over the cards; None when nvidia-smi did not say."""
    match_reason: str
    indices: tuple[int, ...]
    speed_from: str | None = None
    """Name of the catalog GPU whose speed stands in for an unknown card."""
    free_memory_per_gpu_bytes: tuple[int, ...] | None = None
    """Free memory of each card now, in `indices` order; None when nvidia-smi did not say."""

    @property
    def label(self) -> str:
        """'8 × NVIDIA H100 80GB HBM3' for a group, else the name."""
        return f"{self.count} × {self.name}" if self.count > 1 else self.name

    def hardware(self, count: int | None = None) -> Hardware:
        """The option as estimator input (measured memory overrides the catalog). With another
        `count` the free memory is unknown: it was read for the cards found, not for those."""
        count = self.count if count is None else count
        frees = self.free_memory_per_gpu_bytes
        if frees is None and self.free_memory_bytes is not None and self.count == 1:
            frees = (self.free_memory_bytes,)
        return Hardware(gpu=self.gpu, count=count,
                        memory_override_bytes=self.memory_per_gpu_bytes,
                        free_memory_per_gpu_bytes=frees if count == self.count else None)


def _is_laptop(text: str) -> bool:
    folded = text.casefold()
    return "laptop" in folded or "mobile" in folded or folded.rstrip().endswith(" lap")


def _memory_close(gpu: GpuSpec, memory_bytes: int | None) -> bool:
    if memory_bytes is None:
        return True
    return abs(gpu.memory_bytes - memory_bytes) <= MEMORY_TOLERANCE * gpu.memory_bytes


@dataclass(frozen=True, slots=True)
class _Keys:
    """A catalog GPU's names in each spelling matching compares, computed once per spec."""

    spec: GpuSpec
    laptop: bool
    folded: frozenset[str]
    normalised: frozenset[str]
    normalised_list: tuple[str, ...]
    bases: frozenset[str]


_KEYS: dict[int, _Keys] = {}
"""By id(spec); an entry is used only while it holds that very spec (ids are reused)."""


def _keys(gpu: GpuSpec) -> _Keys:
    keys = _KEYS.get(id(gpu))
    if keys is None or keys.spec is not gpu:
        names = _names(gpu)
        normalised = tuple(normalise(name) for name in names)
        keys = _Keys(gpu, _is_laptop(" ".join(names)), frozenset(n.casefold() for n in names),
                     frozenset(normalised), normalised, frozenset(base_key(n) for n in names))
        if len(_KEYS) > 4096:  # catalogs are reloaded by tests and the app: stay bounded
            _KEYS.clear()
        _KEYS[id(gpu)] = keys
    return keys


def _names(gpu: GpuSpec) -> tuple[str, ...]:
    return (gpu.id, gpu.name, *gpu.aliases)


def match_gpu(reading: GpuReading, gpus: Mapping[str, GpuSpec]) -> Match:
    """Which catalog GPU `reading` is; the reason also says what of the reading was set aside
    as implausible, and, when the name matches but the memory does not, both."""
    reading, doubt = plausible(reading)
    match = _match(reading, gpus)
    if doubt is None:
        return match
    return replace(match, reason=f"{match.reason}; {doubt}")


def _match(reading: GpuReading, gpus: Mapping[str, GpuSpec]) -> Match:
    laptop = _is_laptop(reading.name)
    same_kind = [gpu for gpu in gpus.values()
                 if gpu.vendor == "nvidia" and _keys(gpu).laptop == laptop]
    memory = reading.memory_total_bytes

    def closest(candidates: list[GpuSpec]) -> GpuSpec:
        if memory is None:
            return candidates[0]
        return min(candidates, key=lambda gpu: abs(gpu.memory_bytes - memory))

    folded = reading.name.casefold().strip()
    if not reading.name_truncated:
        named = [gpu for gpu in same_kind if folded in _keys(gpu).folded]
        exact = [gpu for gpu in named if _memory_close(gpu, memory)]
        if exact:
            return Match(closest(exact), f"nvidia-smi name {reading.name!r} is listed for it")
        if named and memory is not None:
            # The name is right and the memory is not: say both, rather than "not in the
            # catalog", and let the named card lend its speed.
            near = closest(named)
            return Match(None, f"nvidia-smi name {reading.name!r} is listed for {near.name!r}, "
                               f"but it reports {_mib(memory)} where that card has "
                               f"{_mib(near.memory_bytes)} (more than "
                               f"{MEMORY_TOLERANCE:.0%} apart)", named=near)
        key = normalise(reading.name)
        same = [gpu for gpu in same_kind if key in _keys(gpu).normalised
                and _memory_close(gpu, memory)]
        if same:
            return Match(closest(same), f"same name as {closest(same).name!r} once spelling "
                                        "is normalised")
        base = base_key(reading.name)
        sized = [gpu for gpu in same_kind if base in _keys(gpu).bases
                 and _memory_close(gpu, memory)]
        if base and sized:
            return Match(closest(sized), f"{closest(sized).name!r} is that product"
                                         + (" with that memory" if memory is not None else ""))
    else:
        prefix = normalise(reading.name)
        starts = [gpu for gpu in same_kind
                  if any(name.startswith(prefix) for name in _keys(gpu).normalised_list)
                  and memory is not None and _memory_close(gpu, memory)]
        if len({gpu.id for gpu in starts}) == 1:
            return Match(starts[0], f"the cut name {reading.name!r}… and its "
                                    f"{(memory or 0) / MIB:.0f} MiB fit only {starts[0].name!r}")
    return Match(None, f"{reading.name!r} is not in the catalog")


def _stand_in(reading: GpuReading, gpus: Mapping[str, GpuSpec]) -> GpuSpec | None:
    """Closest catalog GPU of the same kind (laptop or not) by memory, to borrow speed from."""
    memory = reading.memory_total_bytes
    if memory is None:
        return None
    laptop = _is_laptop(reading.name)
    pool = [gpu for gpu in gpus.values() if gpu.vendor == "nvidia" and gpu.gpu_usable_fraction
            is None and gpu.mig_parent is None  # a slice's figures are not a card's
            and _keys(gpu).laptop == laptop] or list(gpus.values())
    if not pool:
        return None
    return min(pool, key=lambda gpu: (abs(gpu.memory_bytes - memory), gpu.id))


def _spec_for(reading: GpuReading, gpus: Mapping[str, GpuSpec]) -> tuple[GpuSpec | None, str,
                                                                          str | None]:
    match = match_gpu(reading, gpus)
    if match.gpu is not None:
        return match.gpu, match.reason, None
    reading = plausible(reading)[0]
    stand_in = match.named or _stand_in(reading, gpus)
    if stand_in is None:
        return None, f"{match.reason}, and nvidia-smi does not report its memory", None
    memory_mib = (reading.memory_total_bytes or stand_in.memory_bytes) // MIB
    spec = replace(stand_in, id=f"detected-{normalise(reading.name)}", name=reading.name, aliases=(),
                   memory_mib=memory_mib, mig_profiles=(),
                   source=f"nvidia-smi; speed figures of {stand_in.name}")
    how = "the card its name names" if match.named else "closest memory"
    return spec, f"{match.reason}; speed estimated as for {stand_in.name} ({how})", \
        stand_in.name


def _mig_options(snapshot: Snapshot, parent: GpuReading, spec: GpuSpec, reason: str
                 ) -> list[DetectedOption]:
    options = []
    for position, mig in enumerate(m for m in snapshot.mig_devices if m.gpu_index == parent.index):
        memory_mib = mig.memory_total_bytes // MIB if mig.memory_total_bytes else None
        if memory_mib is None and mig.profile is None:
            continue
        slice_spec = mig_slice(spec, mig.profile, memory_mib)
        device = mig.device_index if mig.device_index is not None else position
        options.append(DetectedOption(
            key=f"{DETECTED_PREFIX}{parent.index}/mig{device}",
            name=f"GPU {parent.index} MIG {mig.profile or _mig_label(mig)} (device {device})",
            gpu=slice_spec, count=1, memory_per_gpu_bytes=slice_spec.memory_bytes,
            free_memory_bytes=mig.memory_free_bytes, match_reason=f"MIG instance; parent: {reason}",
            indices=(parent.index,)))
    return options


def _mig_label(mig: MigReading) -> str:
    memory = mig.memory_total_bytes
    return f"{memory / 1024**3:.0f} GiB slice" if memory else "slice"


def hardware_options(snapshot: Snapshot, gpus: Mapping[str, GpuSpec]) -> list[DetectedOption]:
    """What the hardware picker offers from a snapshot: each group of identical cards as
    "N × card" (and each card of a mixed box on its own), every MIG instance on its own; a card
    split into MIG instances is not offered whole, since work runs inside the instances."""
    options: list[DetectedOption] = []
    groups: dict[tuple[str, int], list[tuple[GpuReading, GpuSpec, str, str | None]]] = {}
    notes: list[str] = []
    for raw in snapshot.gpus:
        reading = plausible(raw)[0]  # the reason from _spec_for says what was set aside
        spec, reason, speed_from = _spec_for(raw, gpus)
        if spec is None:
            notes.append(reason)
            continue
        if any(mig.gpu_index == reading.index for mig in snapshot.mig_devices):
            options.extend(_mig_options(snapshot, reading, spec, reason))
            continue
        memory = reading.memory_total_bytes or spec.usable_memory_bytes
        groups.setdefault((spec.id, memory), []).append((reading, spec, reason, speed_from))
    mixed = len(groups) > 1
    for (_, memory), members in groups.items():
        readings = [member[0] for member in members]
        _, spec, reason, speed_from = members[0]
        frees = [reading.memory_free_bytes for reading in readings]
        indices = tuple(reading.index for reading in readings)
        name = readings[0].name
        if len(members) > 1:
            options.append(DetectedOption(
                key=f"{DETECTED_PREFIX}{indices[0]}-{indices[-1]}" if indices == tuple(
                    range(indices[0], indices[-1] + 1)) else
                f"{DETECTED_PREFIX}{','.join(map(str, indices))}",
                name=name, gpu=spec, count=len(members),
                memory_per_gpu_bytes=memory,
                free_memory_bytes=None if None in frees else sum(f for f in frees if f is not None),
                match_reason=reason, indices=indices, speed_from=speed_from,
                free_memory_per_gpu_bytes=None if None in frees
                else tuple(f for f in frees if f is not None)))
        if len(members) == 1 or mixed:
            for reading in readings:
                options.append(DetectedOption(
                    key=f"{DETECTED_PREFIX}{reading.index}", name=f"{name} (GPU {reading.index})",
                    gpu=spec, count=1, memory_per_gpu_bytes=memory,
                    free_memory_bytes=reading.memory_free_bytes, match_reason=reason,
                    indices=(reading.index,), speed_from=speed_from))
    return options


def unusable(snapshot: Snapshot, gpus: Mapping[str, GpuSpec]) -> list[str]:
    """Why a reported GPU yields no option (e.g. no memory figure and not in the catalog)."""
    reasons = []
    for reading in snapshot.gpus:
        spec, reason, _ = _spec_for(reading, gpus)
        if spec is None:
            reasons.append(f"GPU {reading.index}: {reason}")
    return reasons


def status_text(snapshot: Snapshot, options: Sequence[DetectedOption],
                gpus: Mapping[str, GpuSpec]) -> str:
    """One line for the app: what was found, or why nothing usable was."""
    if not snapshot.found:
        return f"No GPU detected: {snapshot.problem or 'nvidia-smi reported none'}"
    if not options:
        return f"{snapshot.status_line()}, but none usable: {'; '.join(unusable(snapshot, gpus))}"
    return snapshot.status_line()
