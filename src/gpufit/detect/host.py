"""System RAM of this machine, for CPU offload plans: total and currently available, in bytes.

Linux reports both in /proc/meminfo (parsed by `parse_meminfo`, pure); elsewhere the total
comes from `os.sysconf` (page size × physical pages, which macOS and the BSDs also provide).
Like the rest of detect, a value that cannot be read is None, never an exception.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

MEMINFO_PATH = Path("/proc/meminfo")
"""Where Linux reports memory sizes (proc(5))."""

# "MemTotal:       65843212 kB": a field name, a colon, an integer, an optional unit. The
# kernel writes "kB" and means KiB (proc(5): the values are in kibibytes).
_MEMINFO_LINE = re.compile(r"^\s*([A-Za-z0-9_()]+):\s*(\d+)\s*([A-Za-z]*)\s*$")
_UNIT_BYTES = {"": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def parse_meminfo(text: str, field: str = "MemTotal") -> int | None:
    """Bytes of one /proc/meminfo field ("MemTotal", "MemAvailable", …); None if absent or odd."""
    for line in text.splitlines():
        found = _MEMINFO_LINE.match(line)
        if found is None or found.group(1) != field:
            continue
        unit = _UNIT_BYTES.get(found.group(3).lower())
        value = int(found.group(2))
        if unit is None or value <= 0:
            return None
        return value * unit
    return None


def _read_meminfo(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except (OSError, ValueError):
        return None


def system_ram_bytes(meminfo_path: Path = MEMINFO_PATH) -> int | None:
    """Installed RAM the OS can use (MemTotal), or page size × physical pages; None if unknown."""
    text = _read_meminfo(meminfo_path)
    if text is not None:
        total = parse_meminfo(text, "MemTotal")
        if total is not None:
            return total
    try:
        # Windows has no os.sysconf (AttributeError); unknown names raise ValueError; a
        # platform without the value returns -1.
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    return total if total > 0 else None


def available_ram_bytes(meminfo_path: Path = MEMINFO_PATH) -> int | None:
    """RAM available to a new program without swapping (MemAvailable); None where not reported.

    There is deliberately no sysconf fallback: SC_AVPHYS_PAGES counts only free pages, not the
    page cache the kernel would give up, so it would understate what an offload can use."""
    text = _read_meminfo(meminfo_path)
    return None if text is None else parse_meminfo(text, "MemAvailable")
