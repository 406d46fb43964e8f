"""Parsers for nvidia-smi's full reports: `-q -x` (XML) and `-q` (indented text).

Text in, `Snapshot` out, never an exception (see `gpufit.detect.parse` for the rest).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from gpufit.detect.limits import MAX_READINGS, short_lines, too_long
from gpufit.detect.snapshot import GpuReading, MigReading, Snapshot, failed
from gpufit.detect.values import failure, garbage, integer, mig_mode, number, size_bytes, text_value

# -- nvidia-smi -q -x ---------------------------------------------------------------------

def _find(element: ElementTree.Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path)
    return None if found is None or found.text is None else found.text.strip()


def parse_xml(text: str, source: str = "") -> Snapshot:
    """`nvidia-smi -q -x`. The index is the position in the file (nvidia-smi lists GPUs in PCI
    bus order, which is its index order); `minor_number` is a device-node number, not the index."""
    if why := too_long(text):
        return garbage(text, f"nvidia-smi XML ({why})")
    try:
        root = ElementTree.fromstring(text.strip())
    except ElementTree.ParseError as error:
        return failure(text) or garbage(text, f"nvidia-smi XML ({error})")
    if root.tag != "nvidia_smi_log":
        return garbage(text, f"nvidia-smi XML (root element <{root.tag}>)")
    gpus: list[GpuReading] = []
    migs: list[MigReading] = []
    found = root.findall("gpu")
    if len(found) > MAX_READINGS or len(root.findall("gpu/mig_devices/mig_device")) > MAX_READINGS:
        return garbage(text, f"nvidia-smi XML (more than {MAX_READINGS} devices)")
    for index, gpu in enumerate(found):
        name = text_value(_find(gpu, "product_name"))
        if name is None:
            continue
        power = next((value for path in ("gpu_power_readings/current_power_limit",
                                         "power_readings/power_limit",
                                         "gpu_power_readings/power_limit")
                      if (value := number(_find(gpu, path))) is not None), None)
        gpus.append(GpuReading(
            index=index, name=name, uuid=text_value(_find(gpu, "uuid")), bus_id=gpu.get("id"),
            memory_total_bytes=size_bytes(_find(gpu, "fb_memory_usage/total")),
            memory_used_bytes=size_bytes(_find(gpu, "fb_memory_usage/used")),
            memory_free_bytes=size_bytes(_find(gpu, "fb_memory_usage/free")),
            power_limit_watts=power,
            mig_enabled=mig_mode(_find(gpu, "mig_mode/current_mig")),
        ))
        for device in gpu.findall("mig_devices/mig_device"):
            migs.append(MigReading(
                gpu_index=index, device_index=integer(_find(device, "index")),
                gpu_instance_id=integer(_find(device, "gpu_instance_id")),
                compute_instance_id=integer(_find(device, "compute_instance_id")),
                memory_total_bytes=size_bytes(_find(device, "fb_memory_usage/total")),
                memory_used_bytes=size_bytes(_find(device, "fb_memory_usage/used")),
                memory_free_bytes=size_bytes(_find(device, "fb_memory_usage/free")),
                multiprocessor_count=integer(
                    _find(device, "device_attributes/shared/multiprocessor_count")),
            ))
    if not gpus:
        return failed("no-devices", "nvidia-smi lists no GPUs.", source or "nvidia-smi -q -x")
    return Snapshot(gpus=tuple(gpus), mig_devices=tuple(migs),
                    driver_version=text_value(_find(root, "driver_version")),
                    cuda_version=text_value(_find(root, "cuda_version")),
                    source=source or "nvidia-smi -q -x")


# -- nvidia-smi -q (text) -----------------------------------------------------------------

_Q_SEPARATOR = re.compile(r"\s:")
# "Key<spaces>: value"; a line without " :" opens a section ("GPU 00000000:00:09.0", "MIG Mode").
# Found with one search for whitespace-then-colon and split there: the old single pattern (a
# lazy key, then spaces, then the colon) was quadratic on a long line of spaces.


def _q_line(line: str) -> tuple[int, str, str | None] | None:
    """(indent, key, value or None for a section heading) of one `-q` line."""
    stripped = line.lstrip(" ")
    if not stripped:
        return None
    indent = len(line) - len(stripped)
    separator = _Q_SEPARATOR.search(stripped)
    if separator is None:
        return indent, stripped.strip(), None
    key, value = stripped[:separator.start()].strip(), stripped[separator.end():]
    if not key:
        return None
    return indent, key, value[1:] if value[:1].isspace() else value


def parse_query(text: str, source: str = "") -> Snapshot:
    """`nvidia-smi -q` / `-a`: indentation-structured `Key : value` lines."""
    gpus: list[dict[str, str]] = []
    migs: list[dict[str, str]] = []
    top: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    if why := too_long(text):
        return garbage(text, f"the output of nvidia-smi -q ({why})")
    for line in short_lines(text):
        if not line.strip() or line.startswith("="):
            continue
        parsed = _q_line(line.rstrip())
        if parsed is None:
            continue
        indent, key, value = parsed
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
        return failure(text) or garbage(text, "the output of nvidia-smi -q")
    if len(gpus) > MAX_READINGS or len(migs) > MAX_READINGS:
        return garbage(text, f"the output of nvidia-smi -q (more than {MAX_READINGS} devices)")
    readings = tuple(GpuReading(
        index=index, name=gpu.get("Product Name", "unknown GPU").strip(),
        uuid=text_value(gpu.get("GPU UUID")), bus_id=gpu["bus_id"],
        memory_total_bytes=size_bytes(gpu.get("FB Memory Usage/Total")),
        memory_used_bytes=size_bytes(gpu.get("FB Memory Usage/Used")),
        memory_free_bytes=size_bytes(gpu.get("FB Memory Usage/Free")),
        power_limit_watts=next((watts for key in ("GPU Power Readings/Current Power Limit",
                                                  "Power Readings/Power Limit",
                                                  "GPU Power Readings/Power Limit")
                                if (watts := number(gpu.get(key))) is not None), None),
        mig_enabled=mig_mode(gpu.get("MIG Mode/Current")),
    ) for index, gpu in enumerate(gpus))
    mig_readings = []
    for mig in migs:
        def memory(name: str, mig: dict[str, str] = mig) -> int | None:
            return size_bytes(mig.get(f"Shared FB Memory Usage/{name}")
                              or mig.get(f"FB Memory Usage/{name}"))
        mig_readings.append(MigReading(
            gpu_index=int(mig["gpu"]), device_index=integer(mig.get("Index")),
            gpu_instance_id=integer(mig.get("GPU Instance ID")),
            compute_instance_id=integer(mig.get("Compute Instance ID")),
            memory_total_bytes=memory("Total"), memory_used_bytes=memory("Used"),
            memory_free_bytes=memory("Free"),
            multiprocessor_count=integer(mig.get("Device Attributes/Shared/Multiprocessor count")),
        ))
    return Snapshot(gpus=readings, mig_devices=tuple(mig_readings),
                    driver_version=text_value(top.get("Driver Version")),
                    cuda_version=text_value(top.get("CUDA Version")),
                    source=source or "nvidia-smi -q")
