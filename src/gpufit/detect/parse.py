"""Pure parsers for every nvidia-smi output format: text in, `Snapshot` out, never an exception.

Formats: the CSV query interface (with or without header and units), `-L`, `-q` (text),
`-q -x` (XML) and the default table, plus the messages nvidia-smi prints when it fails.
`parse_any` recognises which one it was given (for `detect --from FILE`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from gpufit.core.specs import MIB
from gpufit.detect.limits import MAX_READINGS, short_lines, too_long
from gpufit.detect.parse_reports import parse_query, parse_xml
from gpufit.detect.snapshot import GpuReading, MigReading, Snapshot, failed
from gpufit.detect.values import (
    failure,
    garbage,
    integer,
    mig_mode,
    number,
    size_bytes,
    text_value,
    unknown,
)

__all__ = ["MINIMAL_FIELDS", "QUERY_FIELDS", "failure", "parse_any", "parse_csv", "parse_list",
           "parse_query", "parse_table", "parse_xml", "size_bytes", "unknown"]

QUERY_FIELDS = ("index", "name", "uuid", "pci.bus_id", "memory.total", "memory.used",
                "memory.free", "driver_version", "power.limit", "compute_cap",
                "mig.mode.current")
"""What `detect` asks for with --query-gpu (all exist since driver 510)."""
MINIMAL_FIELDS = ("index", "name", "uuid", "pci.bus_id", "memory.total", "memory.used",
                  "memory.free", "driver_version")
"""The fallback for drivers that reject a field of QUERY_FIELDS."""

# -- CSV (--query-gpu) --------------------------------------------------------------------

def _header_field(cell: str) -> tuple[str, str | None]:
    """'memory.total [MiB]' → ('memory.total', 'mib')."""
    found = re.match(r"^\s*([\w.]+)\s*(?:\[(\w+)\])?\s*$", cell)
    if not found:
        return cell.strip(), None
    return found.group(1), (found.group(2) or "").lower() or None


def _guess_columns(cells: list[str]) -> list[str]:
    """Column names for a headerless CSV whose query is unknown (a saved file): the first
    integer is the index, the first text the name, sizes are total, used, free in that order
    (the order people and tools query them in); anything else is ignored."""
    columns: list[str] = []
    if len(cells) < 2:
        return ["name", "unused"]  # one cell is not a query answer: let the row count fail
    sizes = iter(("memory.total", "memory.used", "memory.free"))
    for position, cell in enumerate(cells):
        if position == 0 and re.fullmatch(r"\d+", cell):
            columns.append("index")
        elif "name" not in columns and re.search(r"[A-Za-z]{2}", cell) and not unknown(cell) \
                and not re.search(r"\b(MiB|%|W|MHz)$", cell) and not re.fullmatch(r"P\d+", cell):
            columns.append("name")
        elif re.fullmatch(r"\d+\s*MiB|\[N/A\]|\[Not Supported\]", cell) and "name" in columns:
            columns.append(next(sizes, f"unused.{position}"))
        else:
            columns.append(f"unused.{position}")
    return columns


def parse_csv(text: str, fields: Sequence[str] | None = None, source: str = "") -> Snapshot:
    """`--query-gpu=… --format=csv[,noheader][,nounits]`. Without a header, `fields` names the
    columns (default: QUERY_FIELDS)."""
    if why := too_long(text):
        return garbage(text, f"the nvidia-smi CSV output ({why})")
    lines = [line for line in short_lines(text) if line.strip()]
    if not lines:
        return garbage(text, "the nvidia-smi CSV output")
    if len(lines) > MAX_READINGS + 1:
        return garbage(text, f"the nvidia-smi CSV output ({len(lines):,} rows; no machine has "
                             f"more than {MAX_READINGS} GPUs)")
    units: list[str | None]
    first = [cell.strip() for cell in lines[0].split(",")]
    if any(cell in ("index", "name", "memory.total", "gpu_name", "uuid")
           or cell.startswith(("memory.total [", "name [")) for cell in first):
        parsed = [_header_field(cell) for cell in first]
        columns = [name for name, _ in parsed]
        units = [unit for _, unit in parsed]
        lines = lines[1:]
    else:
        columns = list(fields or QUERY_FIELDS)
        if fields is None and len(first) != len(columns):
            columns = _guess_columns(first)
        units = [None] * len(columns)
    gpus: list[GpuReading] = []
    drivers: set[str] = set()
    for position, line in enumerate(lines):
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != len(columns):
            return garbage(text, f"the nvidia-smi CSV output (row {position + 1} has "
                                  f"{len(cells)} cells, expected {len(columns)})")
        row = dict(zip(columns, cells, strict=True))
        unit_of = dict(zip(columns, units, strict=True))
        name = text_value(row.get("name") or row.get("gpu_name"))
        if name is None or not name.isprintable():
            return garbage(text, "the nvidia-smi CSV output (a row without a GPU name)")

        def size(column: str, row: dict[str, str] = row,
                 unit_of: dict[str, str | None] = unit_of) -> int | None:
            return size_bytes(row.get(column), unit_of.get(column) or "mib")

        index = integer(row.get("index"))
        gpus.append(GpuReading(
            index=position if index is None else index,
            name=name,
            uuid=text_value(row.get("uuid")),
            bus_id=text_value(row.get("pci.bus_id")),
            memory_total_bytes=size("memory.total"),
            memory_used_bytes=size("memory.used"),
            memory_free_bytes=size("memory.free"),
            power_limit_watts=number(row.get("power.limit")),
            compute_capability=text_value(row.get("compute_cap")),
            mig_enabled=mig_mode(row.get("mig.mode.current")),
        ))
        if driver := text_value(row.get("driver_version")):
            drivers.add(driver)
    if not gpus:
        return failed("no-devices", "nvidia-smi lists no GPUs.", source or "nvidia-smi --query-gpu")
    return Snapshot(gpus=tuple(gpus), driver_version=", ".join(sorted(drivers)) or None,
                    source=source or "nvidia-smi --query-gpu")


# -- nvidia-smi -L ------------------------------------------------------------------------

_LIST_MIG = re.compile(r"^\s+MIG (\S+)\s+Device\s+(\d+): \(UUID: ([^)]+)\)\s*$")


def _list_gpu(line: str) -> GpuReading | None:
    """'GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-…)', read by splitting, not by a backtracking
    pattern (a lazy name group before ' (UUID: ' is quadratic on a crafted line)."""
    if not line.startswith("GPU "):
        return None
    index, colon, rest = line[4:].partition(": ")
    name, marker, uuid = rest.rpartition(" (UUID: ")
    uuid = uuid.rstrip()
    if not (colon and marker and index.isascii() and index.isdigit() and name.strip()
            and uuid.endswith(")") and ")" not in uuid[:-1] and uuid[:-1].strip()):
        return None
    return GpuReading(index=int(index), name=name.strip(), uuid=uuid[:-1].strip())


def parse_list(text: str, source: str = "") -> Snapshot:
    """`nvidia-smi -L`: names, UUIDs and MIG profiles (no memory figures)."""
    gpus: list[GpuReading] = []
    migs: list[MigReading] = []
    if why := too_long(text):
        return garbage(text, f"the output of nvidia-smi -L ({why})")
    for line in short_lines(text):
        if listed := _list_gpu(line):
            gpus.append(listed)
        elif (found := _LIST_MIG.match(line)) and gpus:
            migs.append(MigReading(gpu_index=gpus[-1].index, device_index=int(found.group(2)),
                                   profile=found.group(1), uuid=found.group(3).strip()))
    if not gpus:
        return failure(text) or garbage(text, "the output of nvidia-smi -L")
    if len(gpus) > MAX_READINGS or len(migs) > MAX_READINGS:
        return garbage(text, f"the output of nvidia-smi -L (more than {MAX_READINGS} devices)")
    if migs:
        gpus = [replace(gpu, mig_enabled=True) if any(mig.gpu_index == gpu.index for mig in migs)
                else gpu for gpu in gpus]
    return Snapshot(gpus=tuple(gpus), mig_devices=tuple(migs), source=source or "nvidia-smi -L")


# -- the default table --------------------------------------------------------------------

_TABLE_DRIVER = re.compile(r"(?:Driver|KMD) Version:\s*(\S+)")
_TABLE_CUDA = re.compile(r"CUDA (?:UMD )?Version:\s*(\S+)")
_TABLE_MEMORY = re.compile(r"(?<!\d)(\d+)\s*MiB\s*/\s*(\d+)\s*MiB")
# The look-behind starts a match only at the first digit of a run: without it a long run of
# digits is tried from every position, which is quadratic.
_SWITCH = ("On", "Off", "N/A")
_TABLE_POWER_CAP = re.compile(r"/\s*(\d+)W")
_TABLE_MIG = re.compile(r"^\|\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\|\s+(\d+)\s*MiB\s*/\s*(\d+)\s*MiB")


def _table_gpu_row(line: str) -> tuple[int, str, str] | None:
    """'|   0  NVIDIA A100-SXM4-80GB   On  | 00000000:00:04.0 Off |' → (0, name, bus id), read
    by splitting the cells (a pattern with a lazy name before the On/Off column is quadratic on
    a long line of spaces)."""
    cells = line.split("|", 3)
    if len(cells) < 4 or cells[0] or not cells[1][:1].isspace():
        return None
    first, second = cells[1].split(), cells[2].split()
    if len(first) < 3 or not (first[0].isascii() and first[0].isdigit()) \
            or first[-1] not in _SWITCH or len(second) < 2 or second[1] not in _SWITCH:
        return None
    return int(first[0]), " ".join(first[1:-1]), second[0]


def parse_table(text: str, source: str = "") -> Snapshot:
    """The default `nvidia-smi` table (old two-line and new three-line GPU rows, MIG section)."""
    if why := too_long(text):
        return garbage(text, f"the nvidia-smi table ({why})")
    lines = short_lines(text)
    driver = cuda = None
    gpus: list[GpuReading] = []
    migs: list[MigReading] = []
    in_mig = in_processes = False
    for position, line in enumerate(lines):
        if driver is None and (found := _TABLE_DRIVER.search(line)):
            driver = found.group(1)
            if found_cuda := _TABLE_CUDA.search(line):
                cuda = found_cuda.group(1)
            continue
        if "MIG devices:" in line:
            in_mig = True
            continue
        if "Processes:" in line:
            in_processes = True
            continue
        if in_processes:
            continue
        if in_mig:
            if found := _TABLE_MIG.match(line):
                used, total = int(found.group(5)) * MIB, int(found.group(6)) * MIB
                migs.append(MigReading(
                    gpu_index=int(found.group(1)), gpu_instance_id=int(found.group(2)),
                    compute_instance_id=int(found.group(3)), device_index=int(found.group(4)),
                    memory_total_bytes=total, memory_used_bytes=used,
                    memory_free_bytes=total - used))
            continue
        if not (row := _table_gpu_row(line)):
            continue
        index, name, bus_id = row
        truncated = name.endswith("...")
        if truncated:
            name = name[:-3].rstrip()
        following = " ".join(lines[position + 1:position + 3])
        second = lines[position + 1] if position + 1 < len(lines) else ""
        cap = _TABLE_POWER_CAP.search(second)
        total = used = None  # type: ignore[assignment]  # unknown until the memory column
        if memory := _TABLE_MEMORY.search(second):
            used, total = int(memory.group(1)) * MIB, int(memory.group(2)) * MIB
        mig_enabled = None
        if re.search(r"\|\s*Enabled\s*\|", following):
            mig_enabled = True
        elif re.search(r"\|\s*Disabled\s*\|", following):
            mig_enabled = False
        gpus.append(GpuReading(
            index=index, name=name, bus_id=None if unknown(bus_id) else bus_id,
            memory_total_bytes=total, memory_used_bytes=used,
            memory_free_bytes=None if total is None or used is None else total - used,
            power_limit_watts=number(cap.group(1)) if cap else None,
            mig_enabled=mig_enabled, name_truncated=truncated))
    if not gpus:
        return failure(text) or garbage(text, "the nvidia-smi table")
    if len(gpus) > MAX_READINGS or len(migs) > MAX_READINGS:
        return garbage(text, f"the nvidia-smi table (more than {MAX_READINGS} devices)")
    return Snapshot(gpus=tuple(gpus), mig_devices=tuple(migs), driver_version=driver,
                    cuda_version=cuda, source=source or "nvidia-smi")


# -- recognising a format -----------------------------------------------------------------

def parse_any(text: str, source: str = "") -> Snapshot:
    """Whatever nvidia-smi output `text` is (a saved file, for planning another machine)."""
    if why := too_long(text):
        return failed("garbage", f"The nvidia-smi output is {why}; not read.", source)
    stripped = text.lstrip()
    if stripped.startswith("<?xml") or "<nvidia_smi_log" in text[:2000]:
        return parse_xml(text, source)
    if "NVSMI LOG" in text[:500]:
        return parse_query(text, source)
    if re.search(r"NVIDIA-SMI \S+", text[:2000]) and "+---" in text:
        return parse_table(text, source)
    if re.search(r"^GPU \d+: .+\(UUID: ", text, re.MULTILINE):
        return parse_list(text, source)
    if found := failure(text):
        return found
    if re.search(r'"card\d+"|rocm-smi|amd-smi', text[:2000], re.IGNORECASE):
        return failed("garbage", "This is AMD rocm-smi output; only nvidia-smi output is read.",
                      source)
    return parse_csv(text, source=source)
