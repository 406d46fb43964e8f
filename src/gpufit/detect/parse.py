"""Pure parsers for every nvidia-smi output format: text in, `Snapshot` out, never an exception.

Formats: the CSV query interface (with or without header and units), `-L`, `-q` (text),
`-q -x` (XML) and the default table, plus the messages nvidia-smi prints when it fails.
`parse_any` recognises which one it was given (for `detect --from FILE`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import replace

from gpufit.core.specs import MIB
from gpufit.detect.snapshot import GpuReading, MigReading, Snapshot, failed

QUERY_FIELDS = ("index", "name", "uuid", "pci.bus_id", "memory.total", "memory.used",
                "memory.free", "driver_version", "power.limit", "compute_cap",
                "mig.mode.current")
"""What `detect` asks for with --query-gpu (all exist since driver 510)."""
MINIMAL_FIELDS = ("index", "name", "uuid", "pci.bus_id", "memory.total", "memory.used",
                  "memory.free", "driver_version")
"""The fallback for drivers that reject a field of QUERY_FIELDS."""

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


def _number(value: str | None) -> float | None:
    if unknown(value):
        return None
    assert value is not None
    found = re.match(r"^\s*(-?\d+(?:\.\d+)?)", value)
    return float(found.group(1)) if found else None


def _integer(value: str | None) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else None


def _text(value: str | None) -> str | None:
    return None if unknown(value) else value.strip()  # type: ignore[union-attr]


def _mig_mode(value: str | None) -> bool | None:
    text = _text(value)
    if text is None:
        return None
    return {"enabled": True, "disabled": False}.get(text.casefold())


# -- failures -----------------------------------------------------------------------------

_FAILURES = (
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


def failure(text: str, returncode: int | None = None) -> Snapshot | None:
    """The failure nvidia-smi reports in `text`, if it reports one."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    for kind, pattern, message in _FAILURES:
        if pattern.search(text):
            return failed(kind, message.format(line=line[:160]))
    if returncode:
        detail = f": {line[:160]}" if line else " with no output"
        return failed("exit", f"nvidia-smi exited with code {returncode}{detail}")
    return None


def _garbage(text: str, what: str) -> Snapshot:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    shown = f": {line[:80]!r}" if line else " (it was empty)"
    return failed("garbage", f"Could not read {what}{shown}")


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
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return _garbage(text, "the nvidia-smi CSV output")
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
            return _garbage(text, f"the nvidia-smi CSV output (row {position + 1} has "
                                  f"{len(cells)} cells, expected {len(columns)})")
        row = dict(zip(columns, cells, strict=True))
        unit_of = dict(zip(columns, units, strict=True))
        name = _text(row.get("name") or row.get("gpu_name"))
        if name is None or not name.isprintable():
            return _garbage(text, "the nvidia-smi CSV output (a row without a GPU name)")

        def size(column: str, row: dict[str, str] = row,
                 unit_of: dict[str, str | None] = unit_of) -> int | None:
            return size_bytes(row.get(column), unit_of.get(column) or "mib")

        index = _integer(row.get("index"))
        gpus.append(GpuReading(
            index=position if index is None else index,
            name=name,
            uuid=_text(row.get("uuid")),
            bus_id=_text(row.get("pci.bus_id")),
            memory_total_bytes=size("memory.total"),
            memory_used_bytes=size("memory.used"),
            memory_free_bytes=size("memory.free"),
            power_limit_watts=_number(row.get("power.limit")),
            compute_capability=_text(row.get("compute_cap")),
            mig_enabled=_mig_mode(row.get("mig.mode.current")),
        ))
        if driver := _text(row.get("driver_version")):
            drivers.add(driver)
    if not gpus:
        return failed("no-devices", "nvidia-smi lists no GPUs.", source or "nvidia-smi --query-gpu")
    return Snapshot(gpus=tuple(gpus), driver_version=", ".join(sorted(drivers)) or None,
                    source=source or "nvidia-smi --query-gpu")


# -- nvidia-smi -L ------------------------------------------------------------------------

_LIST_GPU = re.compile(r"^GPU (\d+): (.+?) \(UUID: ([^)]+)\)\s*$")
_LIST_MIG = re.compile(r"^\s+MIG (\S+)\s+Device\s+(\d+): \(UUID: ([^)]+)\)\s*$")


def parse_list(text: str, source: str = "") -> Snapshot:
    """`nvidia-smi -L`: names, UUIDs and MIG profiles (no memory figures)."""
    gpus: list[GpuReading] = []
    migs: list[MigReading] = []
    for line in text.splitlines():
        if found := _LIST_GPU.match(line):
            gpus.append(GpuReading(index=int(found.group(1)), name=found.group(2).strip(),
                                   uuid=found.group(3).strip()))
        elif (found := _LIST_MIG.match(line)) and gpus:
            migs.append(MigReading(gpu_index=gpus[-1].index, device_index=int(found.group(2)),
                                   profile=found.group(1), uuid=found.group(3).strip()))
    if not gpus:
        return failure(text) or _garbage(text, "the output of nvidia-smi -L")
    if migs:
        gpus = [replace(gpu, mig_enabled=True) if any(mig.gpu_index == gpu.index for mig in migs)
                else gpu for gpu in gpus]
    return Snapshot(gpus=tuple(gpus), mig_devices=tuple(migs), source=source or "nvidia-smi -L")


# -- nvidia-smi -q -x ---------------------------------------------------------------------

def _find(element: ElementTree.Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path)
    return None if found is None or found.text is None else found.text.strip()


def parse_xml(text: str, source: str = "") -> Snapshot:
    """`nvidia-smi -q -x`. The index is the position in the file (nvidia-smi lists GPUs in PCI
    bus order, which is its index order); `minor_number` is a device-node number, not the index."""
    try:
        root = ElementTree.fromstring(text.strip())
    except ElementTree.ParseError as error:
        return failure(text) or _garbage(text, f"nvidia-smi XML ({error})")
    if root.tag != "nvidia_smi_log":
        return _garbage(text, f"nvidia-smi XML (root element <{root.tag}>)")
    gpus: list[GpuReading] = []
    migs: list[MigReading] = []
    for index, gpu in enumerate(root.findall("gpu")):
        name = _text(_find(gpu, "product_name"))
        if name is None:
            continue
        power = next((value for path in ("gpu_power_readings/current_power_limit",
                                         "power_readings/power_limit",
                                         "gpu_power_readings/power_limit")
                      if (value := _number(_find(gpu, path))) is not None), None)
        gpus.append(GpuReading(
            index=index, name=name, uuid=_text(_find(gpu, "uuid")), bus_id=gpu.get("id"),
            memory_total_bytes=size_bytes(_find(gpu, "fb_memory_usage/total")),
            memory_used_bytes=size_bytes(_find(gpu, "fb_memory_usage/used")),
            memory_free_bytes=size_bytes(_find(gpu, "fb_memory_usage/free")),
            power_limit_watts=power,
            mig_enabled=_mig_mode(_find(gpu, "mig_mode/current_mig")),
        ))
        for device in gpu.findall("mig_devices/mig_device"):
            migs.append(MigReading(
                gpu_index=index, device_index=_integer(_find(device, "index")),
                gpu_instance_id=_integer(_find(device, "gpu_instance_id")),
                compute_instance_id=_integer(_find(device, "compute_instance_id")),
                memory_total_bytes=size_bytes(_find(device, "fb_memory_usage/total")),
                memory_used_bytes=size_bytes(_find(device, "fb_memory_usage/used")),
                memory_free_bytes=size_bytes(_find(device, "fb_memory_usage/free")),
                multiprocessor_count=_integer(
                    _find(device, "device_attributes/shared/multiprocessor_count")),
            ))
    if not gpus:
        return failed("no-devices", "nvidia-smi lists no GPUs.", source or "nvidia-smi -q -x")
    return Snapshot(gpus=tuple(gpus), mig_devices=tuple(migs),
                    driver_version=_text(_find(root, "driver_version")),
                    cuda_version=_text(_find(root, "cuda_version")),
                    source=source or "nvidia-smi -q -x")


# -- nvidia-smi -q (text) -----------------------------------------------------------------

_Q_LINE = re.compile(r"^( *)(.+?)(?:\s+:\s?(.*))?$")
# "Key<spaces>: value"; a line without " :" opens a section ("GPU 00000000:00:09.0", "MIG Mode").


def parse_query(text: str, source: str = "") -> Snapshot:
    """`nvidia-smi -q` / `-a`: indentation-structured `Key : value` lines."""
    gpus: list[dict[str, str]] = []
    migs: list[dict[str, str]] = []
    top: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("="):
            continue
        found = _Q_LINE.match(line.rstrip())
        if not found:
            continue
        indent, key, value = len(found.group(1)), found.group(2).strip(), found.group(3)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if value is None:
            if indent == 0 and key.startswith("GPU "):
                gpus.append({"bus_id": key[4:].strip()})
                stack = []
            elif key == "MIG Device" and gpus:
                migs.append({"gpu": str(len(gpus) - 1)})
            stack.append((indent, key))
            continue
        path = "/".join(name for _, name in stack[1:] if name != "MIG Device")
        qualified = f"{path}/{key}" if path else key
        in_mig = any(name == "MIG Device" for _, name in stack)
        if not gpus:
            top[key] = value
        elif in_mig and migs:
            migs[-1][qualified] = value
        else:
            gpus[-1][qualified] = value
    if not gpus:
        return failure(text) or _garbage(text, "the output of nvidia-smi -q")
    readings = tuple(GpuReading(
        index=index, name=gpu.get("Product Name", "unknown GPU").strip(),
        uuid=_text(gpu.get("GPU UUID")), bus_id=gpu["bus_id"],
        memory_total_bytes=size_bytes(gpu.get("FB Memory Usage/Total")),
        memory_used_bytes=size_bytes(gpu.get("FB Memory Usage/Used")),
        memory_free_bytes=size_bytes(gpu.get("FB Memory Usage/Free")),
        power_limit_watts=next((value for key in ("GPU Power Readings/Current Power Limit",
                                                  "Power Readings/Power Limit",
                                                  "GPU Power Readings/Power Limit")
                                if (value := _number(gpu.get(key))) is not None), None),
        mig_enabled=_mig_mode(gpu.get("MIG Mode/Current")),
    ) for index, gpu in enumerate(gpus))
    mig_readings = []
    for mig in migs:
        def memory(name: str, mig: dict[str, str] = mig) -> int | None:
            return size_bytes(mig.get(f"Shared FB Memory Usage/{name}")
                              or mig.get(f"FB Memory Usage/{name}"))
        mig_readings.append(MigReading(
            gpu_index=int(mig["gpu"]), device_index=_integer(mig.get("Index")),
            gpu_instance_id=_integer(mig.get("GPU Instance ID")),
            compute_instance_id=_integer(mig.get("Compute Instance ID")),
            memory_total_bytes=memory("Total"), memory_used_bytes=memory("Used"),
            memory_free_bytes=memory("Free"),
            multiprocessor_count=_integer(mig.get("Device Attributes/Shared/Multiprocessor count")),
        ))
    return Snapshot(gpus=readings, mig_devices=tuple(mig_readings),
                    driver_version=_text(top.get("Driver Version")),
                    cuda_version=_text(top.get("CUDA Version")),
                    source=source or "nvidia-smi -q")


# -- the default table --------------------------------------------------------------------

_TABLE_DRIVER = re.compile(r"(?:Driver|KMD) Version:\s*(\S+)")
_TABLE_CUDA = re.compile(r"CUDA (?:UMD )?Version:\s*(\S+)")
_TABLE_GPU = re.compile(r"^\|\s+(\d+)\s+(.+?)\s+(On|Off|N/A)\s*\|\s*(\S+)\s+(?:On|Off|N/A)\s*\|")
_TABLE_MEMORY = re.compile(r"(\d+)\s*MiB\s*/\s*(\d+)\s*MiB")
_TABLE_POWER_CAP = re.compile(r"/\s*(\d+)W")
_TABLE_MIG = re.compile(r"^\|\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\|\s+(\d+)\s*MiB\s*/\s*(\d+)\s*MiB")


def parse_table(text: str, source: str = "") -> Snapshot:
    """The default `nvidia-smi` table (old two-line and new three-line GPU rows, MIG section)."""
    lines = text.splitlines()
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
        if not (found := _TABLE_GPU.match(line)):
            continue
        name = found.group(2).strip()
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
        bus_id = found.group(4)
        gpus.append(GpuReading(
            index=int(found.group(1)), name=name, bus_id=None if unknown(bus_id) else bus_id,
            memory_total_bytes=total, memory_used_bytes=used,
            memory_free_bytes=None if total is None or used is None else total - used,
            power_limit_watts=_number(cap.group(1)) if cap else None,
            mig_enabled=mig_enabled, name_truncated=truncated))
    if not gpus:
        return failure(text) or _garbage(text, "the nvidia-smi table")
    return Snapshot(gpus=tuple(gpus), mig_devices=tuple(migs), driver_version=driver,
                    cuda_version=cuda, source=source or "nvidia-smi")


# -- recognising a format -----------------------------------------------------------------

def parse_any(text: str, source: str = "") -> Snapshot:
    """Whatever nvidia-smi output `text` is (a saved file, for planning another machine)."""
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
