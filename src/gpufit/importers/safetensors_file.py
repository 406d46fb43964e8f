"""Reading safetensors headers: the exact dtype, shape and size of every tensor, never the data.

A safetensors file is an 8-byte little-endian header length, a JSON header mapping each
tensor name to `{dtype, shape, data_offsets}`, then the data
(https://huggingface.co/docs/safetensors). A sharded model lists its shards in
`model.safetensors.index.json` (`weight_map`: tensor → shard file).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpufit.importers.errors import ModelImportError
from gpufit.importers.files import check_json_containers, open_regular, paused_gc, read_capped

# The format caps the header at 100 MB; real headers are far smaller (a 5 GB shard lists a few
# hundred tensors in ~60 KB; all 91k tensors of DeepSeek-V3 would take ~9 MB). Reading is capped
# at 16 MiB, where parsing peaks near 120 MB (benchmarks/hostile_input.py), rather than 100 MB,
# where it would take ~750 MB and several seconds.
MAX_HEADER_BYTES = 16 * 2**20
INDEX_NAME = "model.safetensors.index.json"
# A shard's name says which part it is and how many there are, as split GGUF names do.
SHARD_NAME = re.compile(r"^(?P<stem>.+)-(?P<number>\d{5})-of-(?P<count>\d{5})\.safetensors$")
DTYPE_BITS = {"F64": 64, "I64": 64, "U64": 64, "F32": 32, "I32": 32, "U32": 32, "F16": 16,
              "BF16": 16, "I16": 16, "U16": 16, "F8_E4M3": 8, "F8_E5M2": 8, "F8_E8M0": 8,
              "I8": 8, "U8": 8, "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6}


@dataclass(frozen=True, slots=True)
class SafetensorsTensor:
    """One tensor of a safetensors file."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    n_bytes: int

    @property
    def n_elements(self) -> int:
        """Stored elements (packed formats hold several weights per element)."""
        count = 1
        for extent in self.shape:
            count *= extent
        return count


def read_safetensors_header(path: Path) -> tuple[list[SafetensorsTensor], dict[str, str]]:
    """The tensors of one safetensors file and its `__metadata__` (string to string)."""
    try:
        with open_regular(path, "a safetensors file") as handle:
            file_size = os.fstat(handle.fileno()).st_size
            raw = handle.read(header_length(path, handle.read(8), file_size))
    except OSError as error:
        raise ModelImportError(path, f"cannot read the file: {error.strerror or error}") \
            from error
    return parse_safetensors_header(path, raw, file_size)


def header_length(path: Path, prefix: bytes, file_size: int) -> int:
    """The JSON header's length from a file's first 8 bytes, checked against the file's size."""
    if len(prefix) < 8:
        raise ModelImportError(path, f"not a safetensors file: only {len(prefix)} bytes, "
                               "shorter than the 8-byte header length")
    length = int.from_bytes(prefix[:8], "little")
    if length > MAX_HEADER_BYTES and 8 + length <= file_size:
        raise ModelImportError(path, f"its header is {length:,} bytes, more than the "
                               f"{MAX_HEADER_BYTES // 2**20} MiB read (real headers are under "
                               "10 MB; a corrupt file?)")
    if 8 + length > file_size:
        raise ModelImportError(path, f"not a safetensors file, or a truncated one: its header "
                               f"length reads {length:,} bytes but the file has {file_size:,}")
    return length


def parse_safetensors_header(path: Path, raw: bytes,
                             file_size: int) -> tuple[list[SafetensorsTensor], dict[str, str]]:
    """The tensors and `__metadata__` of a `file_size`-byte file whose JSON header is `raw`.

    `path` only names the file in errors (it may be a file on the Hub, never downloaded)."""
    with paused_gc():
        return _parse_header(path, raw, file_size)


def _parse_header(path: Path, raw: bytes,
                  file_size: int) -> tuple[list[SafetensorsTensor], dict[str, str]]:
    check_json_containers(path, raw, "the safetensors header")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ModelImportError(path, f"not a safetensors file: its header is not JSON "
                               f"({str(error)[:80]})") from error
    if not isinstance(header, dict):
        raise ModelImportError(path, "not a safetensors file: its header is not a JSON object")
    data_size = file_size - 8 - len(raw)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise ModelImportError(path, "__metadata__ in the header is not a JSON object")
    tensors = [_tensor(path, name, entry, data_size) for name, entry in header.items()]
    return tensors, {str(key): str(value) for key, value in metadata.items()}


def _tensor(path: Path, name: str, entry: Any, data_size: int) -> SafetensorsTensor:
    # Run once per tensor (80k in a 10 MB header): exact-type checks and plain loops, no
    # generator per field; bool is an int subclass, so `type(x) is int` also refuses true/false.
    if type(entry) is not dict:
        raise ModelImportError(path, f"tensor {name!r}: header entry is not a JSON object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if type(dtype) is not str:
        raise ModelImportError(path, f"tensor {name!r}: dtype is {_shown(dtype)}, not a string")
    elements = 1
    if type(shape) is not list:
        raise ModelImportError(path, f"tensor {name!r}: shape {_shown(shape)} is not a list of "
                               "sizes")
    for extent in shape:
        if type(extent) is not int or extent < 0:
            raise ModelImportError(path, f"tensor {name!r}: shape {_shown(shape)} is not a list "
                                   "of sizes")
        elements *= extent
    if type(offsets) is not list or len(offsets) != 2 or type(offsets[0]) is not int \
            or type(offsets[1]) is not int or not 0 <= offsets[0] <= offsets[1]:
        raise ModelImportError(path, f"tensor {name!r}: data_offsets {_shown(offsets)} are not "
                               "[start, end]")
    start, end = offsets
    if end > data_size:
        raise ModelImportError(path, f"the file is truncated: tensor {name!r} ends at data byte "
                               f"{end:,} but the file holds {data_size:,} (an incomplete "
                               "download?)")
    bits = DTYPE_BITS.get(dtype)
    if bits is not None and elements * bits != (end - start) * 8:
        needed = f"{elements * bits // 8:,}" if elements.bit_length() < 200 else "more"
        raise ModelImportError(path, f"tensor {name!r}: {dtype} {_shown(shape)} needs "
                               f"{needed} bytes but data_offsets give {end - start:,} "
                               "(corrupt header)")
    return SafetensorsTensor(name=name, dtype=dtype, shape=tuple(shape), n_bytes=end - start)


def _shown(value: Any) -> str:
    """A bad header value as an error shows it: short (a crafted one may be megabytes)."""
    text = repr(value) if not isinstance(value, list | dict) or len(value) <= 8 \
        else f"[{len(value)} items]"
    return text if len(text) <= 60 else text[:57] + "..."


def shard_paths(folder: Path) -> list[Path]:
    """The safetensors files of a model folder: from the index if there is one, else all."""
    index = folder / INDEX_NAME
    if index.exists():
        try:
            raw = read_capped(index, "a shard index")
            check_json_containers(index, raw, "the shard index")
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise ModelImportError(index, f"cannot read the shard index: {str(error)[:80]}") \
                from error
        weight_map = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(weight_map, dict) or not all(
                isinstance(shard, str) for shard in weight_map.values()):
            raise ModelImportError(index, "has no weight_map of tensor → shard file names")
        names = sorted(set(weight_map.values()))
        if any("/" in name or "\\" in name or name.startswith(".") for name in names):
            raise ModelImportError(index, "names a shard outside the model folder")
        shards = [folder / name for name in names]
        missing = [shard.name for shard in shards if not shard.exists()]
        if missing:
            raise ModelImportError(index, f"lists {len(shards)} shards but "
                                   f"{', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}"
                                   f" {'is' if len(missing) == 1 else 'are'} missing")
        return shards
    files = sorted(folder.glob("*.safetensors"))
    _check_shard_set(folder, files)
    return files


def _check_shard_set(folder: Path, files: list[Path]) -> None:
    """Without an index, the shard names (`model-00001-of-00002.safetensors`) are what says
    whether a part is missing: refuse an incomplete set rather than count half a model."""
    sets: dict[tuple[str, int], set[int]] = {}
    for file in files:
        match = SHARD_NAME.match(file.name)
        if match is not None:
            key = (match.group("stem"), int(match.group("count")))
            sets.setdefault(key, set()).add(int(match.group("number")))
    if len(sets) > 1:
        names = sorted(f"{stem}-*-of-{count:05d}" for stem, count in sets)
        raise ModelImportError(folder, f"holds {len(sets)} different sets of safetensors shards "
                               f"({', '.join(names[:3])}) and no {INDEX_NAME} to say which is "
                               "the model")
    for (stem, count), numbers in sets.items():
        if count < 1 or max(numbers) > count or 0 in numbers:
            raise ModelImportError(folder, f"shard names {stem}-…-of-{count:05d} number their "
                                   f"parts outside 1 to {count} (renamed files?)")
        # The first few missing names are all the message shows (a count may say 99,999).
        missing = list(itertools.islice(
            (f"{stem}-{number:05d}-of-{count:05d}.safetensors" for number in range(1, count + 1)
             if number not in numbers), 4))
        if missing:
            raise ModelImportError(folder, f"holds part of a {count}-shard model, but "
                                   f"{', '.join(missing[:3])}{' …' if len(missing) > 3 else ''} "
                                   f"{'is' if len(missing) == 1 else 'are'} missing (and there is "
                                   f"no {INDEX_NAME})")
