"""Reading nvidia-smi's values and failures: sizes with units, numbers, "[N/A]"-style
unknowns, MIG mode, and the messages it prints when it cannot query the GPUs.
"""

from __future__ import annotations

import re

from gpufit.core.specs import MIB
from gpufit.detect.snapshot import Snapshot, failed

_UNKNOWN = re.compile(r"^\[?(n/a|not supported|insufficient permissions|unknown error|"
                      r"requested functionality has been deprecated|gpu requires reset|"
                      r"not available|unknown)\]?$", re.IGNORECASE)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mib|gib|kib|mb|gb|b)?\s*$", re.IGNORECASE)
_SIZE_FACTORS = {"b": 1, "kib": 1024, "mib": MIB, "gib": 1024**3, "mb": MIB, "gb": 1024**3}
# nvidia-smi writes MiB as "MiB"; "MB"/"GB" appear in a few old drivers and mean the same.


def unknown(value: str | None) -> bool:
    """Whether nvidia-smi is saying it does not know."""
    return value is None or not value.strip() or bool(_UNKNOWN.match(value.strip()))


def size_bytes(value: str | None, default_unit: str = "mib") -> int | None:
    """'81920 MiB' or '81920' (MiB unless told) → bytes; None when unknown or unreadable."""
    if unknown(value):
        return None
    assert value is not None
    found = _SIZE.match(value)
    if not found:
        return None
    unit = (found.group(2) or default_unit).lower()
    return int(float(found.group(1)) * _SIZE_FACTORS[unit])


def number(value: str | None) -> float | None:
    """The leading number of a value ('300.00 W' → 300.0); None when unknown."""
    if unknown(value):
        return None
    assert value is not None
    found = re.match(r"^\s*(-?\d+(?:\.\d+)?)", value)
    return float(found.group(1)) if found else None


def integer(value: str | None) -> int | None:
    """A whole number, or None."""
    found = number(value)
    return int(found) if found is not None and found.is_integer() else None


def text_value(value: str | None) -> str | None:
    """The value stripped, or None when nvidia-smi does not know it."""
    return None if unknown(value) else value.strip()  # type: ignore[union-attr]


def mig_mode(value: str | None) -> bool | None:
    """'Enabled' / 'Disabled' → True / False; None otherwise."""
    text = text_value(value)
    if text is None:
        return None
    return {"enabled": True, "disabled": False}.get(text.casefold())


# -- failures -----------------------------------------------------------------------------

FAILURES = (
    ("driver", re.compile(r"couldn't communicate with the nvidia driver|driver/library "
                          r"version mismatch|nvml.*driver not loaded|driver not loaded",
                          re.IGNORECASE),
     "nvidia-smi cannot reach the NVIDIA driver (not loaded, or a driver/library version "
     "mismatch): {line}"),
    ("no-devices", re.compile(r"no devices were found", re.IGNORECASE),
     "The NVIDIA driver is loaded but reports no GPUs ({line})."),
    ("permission", re.compile(r"insufficient permissions|permission denied|"
                              r"failed to initialize nvml: (?!.*driver)", re.IGNORECASE),
     "nvidia-smi is not allowed to query the GPUs ({line}); in a container, pass the GPUs "
     "through (e.g. --gpus all)."),
)


FAILURE_HEAD_CHARS = 8192


def failure(text: str, returncode: int | None = None) -> Snapshot | None:
    """The failure nvidia-smi reports in `text`, if it reports one (it says so first, so only
    the first FAILURE_HEAD_CHARS are searched: the patterns' `.*` is quadratic on a long line)."""
    text = text[:FAILURE_HEAD_CHARS]
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    for kind, pattern, message in FAILURES:
        if pattern.search(text):
            return failed(kind, message.format(line=line[:160]))
    if returncode:
        detail = f": {line[:160]}" if line else " with no output"
        return failed("exit", f"nvidia-smi exited with code {returncode}{detail}")
    return None


def garbage(text: str, what: str) -> Snapshot:
    """A failed snapshot for output that is none of nvidia-smi's formats."""
    line = next((line.strip() for line in text[:FAILURE_HEAD_CHARS].splitlines() if line.strip()), "")
    shown = f": {line[:80]!r}" if line else " (it was empty)"
    return failed("garbage", f"Could not read {what}{shown}")
