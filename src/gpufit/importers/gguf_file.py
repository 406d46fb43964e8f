"""Reading a GGUF file's header (metadata and tensor infos), never its weights.

The layout is llama.cpp's (ggml/docs/gguf.md): magic, version, tensor and key counts, the
key/value metadata, then one info per tensor (name, dimensions, type, offset), then the
aligned data. The type sizes come from the `gguf` package (llama.cpp's own Python library),
imported only when a GGUF is opened because it pulls in numpy.

The header is walked here rather than with `gguf.GGUFReader`: that reader builds a numpy
view for every string of every array, which takes ~15 s on a 150k-token vocabulary; here a
string array is skipped by its lengths alone (benchmarks/import_speed.py measures both).
Every failure, whatever the bytes, is a `ModelImportError` naming the file. A header can
also be parsed from its first bytes alone (`parse_gguf_header`, for a file on the Hub): running
out of them raises `TruncatedHeader`, so the caller can fetch more and try again.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gpufit.importers.errors import ModelImportError
from gpufit.importers.files import open_regular, paused_gc

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4
# Numeric arrays up to this length are kept (per-layer head counts, sliding-window patterns);
# longer ones (token types, scores) only by their length.
KEPT_ARRAY_LENGTH = 4096
# Far above any real model (vocabularies have < 1M tokens; the largest GGUFs, with experts
# stacked, hold a few thousand tensors), and low enough that a corrupt count over a sparse,
# zero-filled region cannot spin for minutes: the array elements of the whole header together
# (a real one holds a few hundred thousand: tokens, scores, types, merges) are capped, since
# skipping a string costs ~0.1 µs each (benchmarks/hostile_input.py).
MAX_ARRAY_LENGTH = 8_000_000
MAX_HEADER_ELEMENTS = 8_000_000
# The largest GGUFs hold ~1,100 tensors (DeepSeek-V3, Llama 3.1 405B); files from before
# experts were stacked (early 2024) up to ~2,000. 32,768 is 16 times that, and reads in ~0.5 s.
MAX_TENSORS = 32_768
MAX_KEYS = 100_000
# A sparse file can claim a string of gigabytes that decoding would copy into memory. Keys and
# tensor names are short (ggml's GGML_MAX_NAME is 64 bytes): longer ones are refused. A string
# value longer than MAX_STRING_VALUE_BYTES (chat templates run to tens of KB) is skipped by
# its length and kept as a LongString. Numeric arrays are kept as lists up to a total of
# MAX_KEPT_ELEMENTS (real ones: a few per-layer arrays of at most a few hundred each).
MAX_NAME_BYTES = 4096
MAX_STRING_VALUE_BYTES = 2**20
MAX_KEPT_ELEMENTS = 262_144
# The smallest a tensor info can be: name length (8), dimension count (4), one dimension (8),
# type (4), offset (8); a key/value: key length (8), value type (4), a one-byte value.
MIN_TENSOR_INFO_BYTES = 32
MIN_KEY_VALUE_BYTES = 13
SPLIT_NAME = re.compile(r"^(?P<stem>.+)-(?P<number>\d{5})-of-(?P<count>\d{5})\.gguf$")

# GGUF value type id → struct format of one value (8 string, 9 array are read by hand).
_SCALAR_FORMATS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?",
                   10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


class TruncatedHeader(ModelImportError):
    """The header goes on past the bytes at hand (a cut file, or a prefix that is too short)."""


@dataclass(frozen=True, slots=True)
class ArrayInfo:
    """A metadata array kept only by its element type and length (vocabularies, merges)."""

    value_type: int
    length: int


@dataclass(frozen=True, slots=True)
class LongString:
    """A metadata string value too long to keep, known only by its length in bytes."""

    length: int


@dataclass(frozen=True, slots=True)
class GgufTensor:
    """One tensor info: name, ggml shape (fastest-varying dimension first), type and size."""

    name: str
    shape: tuple[int, ...]
    type_name: str
    n_elements: int
    n_bytes: int


@dataclass(frozen=True, slots=True)
class GgufHeader:
    """What one GGUF file's header says."""

    path: Path
    version: int
    metadata: dict[str, Any]
    tensors: tuple[GgufTensor, ...]
    file_size: int


@cache
def _ggml_types() -> dict[int, tuple[str, int, int]]:
    """ggml type id → (name, elements per block, bytes per block), from the gguf package."""
    try:
        from gguf.constants import GGML_QUANT_SIZES
    except ImportError as error:  # the package is a dependency; say how to repair a broken install
        raise ModelImportError("gguf", f"reading GGUF files needs the 'gguf' package ({error}); "
                               "install it with: pip install gguf") from error
    return {int(kind): (kind.name, block, size) for kind, (block, size) in GGML_QUANT_SIZES.items()}


@cache
def file_type_names() -> dict[int, str]:
    """GGUF `general.file_type` value → llama.cpp's name for it (MOSTLY_Q4_K_M …)."""
    try:
        from gguf.constants import LlamaFileType
    except ImportError:
        return {}
    return {int(kind): kind.name for kind in LlamaFileType}


class _Cursor:
    """Reads little- or big-endian values from the mapped header, failing with the file's name.

    `size` is how many bytes are at hand, `file_size` how long the file is (more, when only a
    prefix was fetched): counts are bounded by the file, reads by what is at hand."""

    def __init__(self, path: Path, buffer: mmap.mmap | bytes, endian: str, file_size: int) -> None:
        self.path = path
        self.buffer = buffer
        self.size = len(buffer)
        self.file_size = file_size
        self.endian = endian
        self.offset = 0
        self.elements = 0
        self.kept = 0
        self._u64 = struct.Struct(endian + "Q")

    def fail(self, problem: str) -> ModelImportError:
        return ModelImportError(self.path, problem)

    def truncated(self) -> ModelImportError:
        return TruncatedHeader(self.path, f"the GGUF header is truncated at byte {self.offset:,} "
                               f"(the file has {self.size:,} bytes; an incomplete download?)")

    def value(self, fmt: str) -> Any:
        item = struct.Struct(self.endian + fmt)
        if self.offset + item.size > self.size:
            raise self.truncated()
        (result,) = item.unpack_from(self.buffer, self.offset)
        self.offset += item.size
        return result

    def u64(self) -> int:
        if self.offset + 8 > self.size:
            raise self.truncated()
        (result,) = self._u64.unpack_from(self.buffer, self.offset)
        self.offset += 8
        return int(result)

    def string(self, what: str, limit: int = MAX_NAME_BYTES) -> str:
        length = self.u64()
        if length > limit:
            raise self.fail(f"{what} at byte {self.offset - 8:,} claims {length:,} bytes, more "
                            f"than the {limit:,} a name may have (corrupt header?)")
        if self.offset + length > self.size:
            raise self.truncated()
        raw = self.buffer[self.offset:self.offset + length]
        self.offset += length
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise self.fail(f"{what} at byte {self.offset - length:,} is not UTF-8 text") from error

    def skip_strings(self, count: int) -> None:
        # The hot loop on a real vocabulary (hundreds of thousands of strings): lengths only.
        unpack, buffer, offset, size = self._u64.unpack_from, self.buffer, self.offset, self.size
        for _ in range(count):
            if offset + 8 > size:
                self.offset = offset
                raise self.truncated()
            offset += 8 + unpack(buffer, offset)[0]
        if offset > size:
            self.offset = size
            raise self.truncated()
        self.offset = offset


def read_gguf_header(path: Path) -> GgufHeader:
    """Read one GGUF file's metadata and tensor infos (the weights are never touched)."""
    with _open_mapped(path) as buffer, paused_gc():
        return _parse(path, buffer, len(buffer))


def parse_gguf_header(path: Path, prefix: bytes, file_size: int) -> GgufHeader:
    """The header of a `file_size`-byte GGUF from its first bytes; `path` only names it.

    Raises TruncatedHeader when the header goes on past `prefix`."""
    with paused_gc():
        return _parse(path, prefix, file_size)


def read_gguf(path: Path) -> list[GgufHeader]:
    """Read a GGUF model, all of its split files (`…-00001-of-00003.gguf`) if it has them."""
    match = SPLIT_NAME.match(path.name)
    if match is None:
        return [read_gguf_header(path)]
    count = int(match.group("count"))
    if count < 1:
        raise ModelImportError(path, "the split file name says the model has 0 parts")
    paths = [path.with_name(f"{match.group('stem')}-{number:05d}-of-{count:05d}.gguf")
             for number in range(1, count + 1)]
    missing = [part.name for part in paths if not part.exists()]
    if missing:
        raise ModelImportError(path, f"part of a {count}-file split model, but "
                               f"{', '.join(missing[:3])}{' …' if len(missing) > 3 else ''} "
                               f"{'is' if len(missing) == 1 else 'are'} missing from {path.parent}")
    headers: list[GgufHeader] = []
    tensors = 0
    for part in paths:
        headers.append(read_gguf_header(part))
        tensors += len(headers[-1].tensors)
        if tensors > MAX_TENSORS:
            # Each part is bounded by its own bytes; together they are bounded like one file.
            raise ModelImportError(path, f"the {count} parts hold more than {MAX_TENSORS:,} "
                                   "tensors together; no model has that many (corrupt files?)")
    return headers


class _open_mapped:
    """Memory-map a file read-only, turning every OS problem into a ModelImportError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.buffer: mmap.mmap | None = None

    def __enter__(self) -> mmap.mmap:
        path = self.path
        try:
            with open_regular(path, "a GGUF file") as handle:
                if os.fstat(handle.fileno()).st_size == 0:
                    raise ModelImportError(path, "the file is empty, not a GGUF model")
                self.buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as error:
            raise ModelImportError(path, f"cannot read the file: {error.strerror or error}") \
                from error
        except ValueError as error:  # mmap refuses some special files
            raise ModelImportError(path, f"cannot map the file: {error}") from error
        return self.buffer

    def __exit__(self, *_exc: object) -> None:
        if self.buffer is not None:
            self.buffer.close()


def _parse(path: Path, buffer: mmap.mmap | bytes, file_size: int) -> GgufHeader:
    if buffer[:4] != GGUF_MAGIC:
        raise ModelImportError(path, f"not a GGUF file (it starts with {bytes(buffer[:4])!r}, "
                               "not b'GGUF')")
    if len(buffer) < 24:
        raise TruncatedHeader(path, f"the GGUF header is truncated (the file has only "
                              f"{len(buffer)} bytes)")
    little, big = struct.unpack_from("<I", buffer, 4)[0], struct.unpack_from(">I", buffer, 4)[0]
    # The version is small, so whichever byte order reads it small is the file's.
    endian, version = ("<", little) if little <= 0xFFFF else (">", big)
    if version not in SUPPORTED_VERSIONS:
        hint = ("an old format from before August 2023; re-convert the model with a current "
                "llama.cpp" if version < 2 else "newer than this reader knows")
        raise ModelImportError(path, f"unsupported GGUF version {version} ({hint}; versions "
                               f"{' and '.join(map(str, SUPPORTED_VERSIONS))} are read)")
    cursor = _Cursor(path, buffer, endian, file_size)
    cursor.offset = 8
    tensor_count, kv_count = cursor.u64(), cursor.u64()
    # Every key and tensor info has a smallest size, which bounds both counts by the file's.
    if tensor_count > min(MAX_TENSORS, cursor.file_size // MIN_TENSOR_INFO_BYTES) \
            or kv_count > min(MAX_KEYS, cursor.file_size // MIN_KEY_VALUE_BYTES):
        raise ModelImportError(path, f"the GGUF header claims {tensor_count:,} tensors and "
                               f"{kv_count:,} metadata keys, more than the file can hold "
                               "(corrupt header)")
    metadata: dict[str, Any] = {}
    for _ in range(kv_count):
        key = cursor.string("a metadata key")
        value_type = cursor.value("I")
        metadata[key] = _read_value(cursor, value_type, key)
    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or isinstance(alignment, bool) or alignment <= 0 \
            or alignment & (alignment - 1):
        raise ModelImportError(path, f"general.alignment is {alignment!r}, not a power of two")
    infos = [_read_tensor_info(cursor) for _ in range(tensor_count)]
    data_start = -(-cursor.offset // alignment) * alignment
    types = _ggml_types()
    tensors: list[GgufTensor] = []
    for name, shape, type_id, offset in infos:
        tensors.append(_tensor(path, types, name, shape, type_id, data_start + offset,
                               cursor.file_size))
    return GgufHeader(path=path, version=version, metadata=metadata, tensors=tuple(tensors),
                      file_size=cursor.file_size)


def _read_value(cursor: _Cursor, value_type: int, key: str) -> Any:
    if value_type in _SCALAR_FORMATS:
        return cursor.value(_SCALAR_FORMATS[value_type])
    if value_type == _STRING:
        length = cursor.value("Q")
        cursor.offset -= 8
        if length <= MAX_STRING_VALUE_BYTES:
            return cursor.string(f"the value of {key}", MAX_STRING_VALUE_BYTES)
        if cursor.offset + 8 + length > cursor.size:
            cursor.offset += 8
            raise cursor.truncated()
        cursor.offset += 8 + length
        return LongString(length)
    if value_type != _ARRAY:
        raise cursor.fail(f"metadata key {key!r} has unknown value type {value_type} "
                          "(corrupt header?)")
    element_type, length = cursor.value("I"), cursor.u64()
    # A string takes at least its 8-byte length, any other element at least one byte.
    smallest = 8 if element_type == _STRING else 1
    if length > min(MAX_ARRAY_LENGTH, (cursor.file_size - cursor.offset) // smallest):
        raise cursor.fail(f"metadata array {key!r} claims {length:,} elements, more than the "
                          "file can hold (corrupt header)")
    cursor.elements += length
    if cursor.elements > MAX_HEADER_ELEMENTS:
        raise cursor.fail(f"the metadata arrays hold more than {MAX_HEADER_ELEMENTS:,} elements "
                          f"together (at {key!r}); no model's header has that many (corrupt "
                          "header?)")
    if element_type == _STRING:
        cursor.skip_strings(length)
        return ArrayInfo(element_type, length)
    if element_type not in _SCALAR_FORMATS:
        raise cursor.fail(f"metadata array {key!r} has unknown element type {element_type}")
    item = struct.Struct(cursor.endian + _SCALAR_FORMATS[element_type])
    end = cursor.offset + item.size * length
    if end > cursor.size:
        raise cursor.truncated()
    if length > KEPT_ARRAY_LENGTH or cursor.kept + length > MAX_KEPT_ELEMENTS:
        cursor.offset = end
        return ArrayInfo(element_type, length)
    cursor.kept += length
    values = [value for (value,) in item.iter_unpack(cursor.buffer[cursor.offset:end])]
    cursor.offset = end
    return values


def _read_tensor_info(cursor: _Cursor) -> tuple[str, tuple[int, ...], int, int]:
    name = cursor.string("a tensor name")
    dims = cursor.value("I")
    if not 1 <= dims <= MAX_DIMS:
        raise cursor.fail(f"tensor {_short(name)!r} has {dims} dimensions (ggml allows 1 to "
                          f"{MAX_DIMS}; corrupt header?)")
    # The dimensions, type and offset in one read (run once per tensor).
    layout = _info_layouts(cursor.endian)[dims]
    if cursor.offset + layout.size > cursor.size:
        raise cursor.truncated()
    *shape, type_id, offset = layout.unpack_from(cursor.buffer, cursor.offset)
    cursor.offset += layout.size
    return name, tuple(shape), type_id, offset


@cache
def _info_layouts(endian: str) -> dict[int, struct.Struct]:
    """Dimension count → the struct of a tensor info's dimensions, type and data offset."""
    return {dims: struct.Struct(f"{endian}{dims}QIQ") for dims in range(1, MAX_DIMS + 1)}


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _tensor(path: Path, types: dict[int, tuple[str, int, int]], name: str, shape: tuple[int, ...],
            type_id: int, data_offset: int, file_size: int) -> GgufTensor:
    if type_id not in types:
        raise ModelImportError(path, f"tensor {name!r} has ggml type {type_id}, which this "
                               "version of the gguf package does not know (a newer llama.cpp "
                               "type? upgrade gguf)")
    type_name, block, block_bytes = types[type_id]
    if shape[0] % block:
        raise ModelImportError(path, f"tensor {name!r} has rows of {shape[0]} elements, not a "
                               f"multiple of {type_name}'s block of {block} (corrupt header?)")
    elements = 1
    for extent in shape:
        elements *= extent
    size = elements // block * block_bytes
    if data_offset + size > file_size:
        raise ModelImportError(path, f"the file is truncated: tensor {name!r} ends at byte "
                               f"{data_offset + size:,} but the file has {file_size:,} bytes "
                               "(an incomplete download?)")
    return GgufTensor(name=name, shape=shape, type_name=type_name, n_elements=elements,
                      n_bytes=size)
