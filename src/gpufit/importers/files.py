"""Opening a model's files safely: regular files only, names the OS can take, reads with a cap.

A named pipe would block `open()` forever and a device (`/dev/zero`) never ends, so a path is
opened without blocking and refused unless it is a regular file; a name too long for the file
system, or a file larger than what is read from it, is a one-line `ModelImportError`.
"""

from __future__ import annotations

import errno
import gc
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from gpufit.importers.errors import ModelImportError, unreadable
from gpufit.importers.locate import NAME_MAX_BYTES

# Linux's PATH_MAX (limits.h), with NAME_MAX (255) from locate; macOS's are 1,024 and 255, so a
# name Linux refuses is refused everywhere.
PATH_MAX_BYTES = 4096
# The largest JSON file read whole (config.json, the shard index): real ones are under 10 MB
# (DeepSeek-V3's index of 91k tensors is about 9 MB).
MAX_JSON_BYTES = 32 * 2**20
# Objects and arrays a JSON text may open. Each costs ~60–100 bytes once parsed, so 10 MB of
# "[{},{},…]" would take 250 MB; real files open a few (config.json, the index) or three per
# tensor (a safetensors header: ~400k at its 16 MiB cap).
MAX_JSON_CONTAINERS = 600_000


def short_name(path: str | Path, limit_chars: int = 120) -> str:
    """The path as an error shows it: whole, or its start and end when it is very long."""
    text = str(path)
    if len(text) <= limit_chars:
        return text
    half = (limit_chars - 3) // 2
    return f"{text[:half]}...{text[-half:]}"


def check_name(path: Path) -> None:
    """Refuse a path the OS cannot take, before anything asks the OS about it."""
    encoded = os.fsencode(str(path))
    longest = max((len(os.fsencode(part)) for part in path.parts), default=0)
    if len(encoded) > PATH_MAX_BYTES or longest > NAME_MAX_BYTES:
        raise ModelImportError(short_name(path), f"the name is too long ({len(str(path)):,} "
                               f"characters; a file name has at most {NAME_MAX_BYTES} bytes and a "
                               f"path {PATH_MAX_BYTES:,})")


def open_regular(path: Path, expected: str) -> BinaryIO:
    """Open `path` for binary reading if it is a regular file; `expected` names what it should
    be ("a GGUF file") in the error for anything else (a pipe, a device, a folder)."""
    check_name(path)
    try:
        # Checked before opening: opening a named pipe blocks until a writer comes.
        _refuse_special(path, os.stat(path).st_mode, expected)
        handle = path.open("rb")
    except OSError as error:
        raise _unreadable(path, error, expected) from error
    try:
        # And again on what was opened, in case the path changed in between.
        _refuse_special(path, os.fstat(handle.fileno()).st_mode, expected)
    except BaseException:
        handle.close()
        raise
    return handle


def read_capped(path: Path, expected: str, limit_bytes: int = MAX_JSON_BYTES) -> bytes:
    """The whole of a small regular file, refused when it is larger than `limit_bytes`."""
    try:
        with open_regular(path, expected) as handle:
            # read(n) allocates n bytes up front: ask for what the file holds, not the cap.
            size = os.fstat(handle.fileno()).st_size
            data = handle.read(min(size, limit_bytes) + 1)
    except OSError as error:
        raise _unreadable(path, error, expected) from error
    if len(data) > limit_bytes:
        raise ModelImportError(path, f"is larger than {limit_bytes // 2**20} MiB, too large for "
                               f"{expected}")
    return data


def check_json_containers(path: str | Path, raw: bytes, what: str) -> None:
    """Refuse JSON that would open more objects and arrays than any real file (a bracket in a
    string counts too, which only makes the count larger)."""
    containers = raw.count(b"{") + raw.count(b"[")
    if containers > MAX_JSON_CONTAINERS:
        raise ModelImportError(path, f"{what} opens {containers:,} JSON objects and arrays, more "
                               f"than the {MAX_JSON_CONTAINERS:,} a real one could (corrupt "
                               "file?)")


def _refuse_special(path: Path, mode: int, expected: str) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        kind = "a directory"
    elif stat.S_ISFIFO(mode):
        kind = "a named pipe"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:
        kind = "not a regular file"
    raise ModelImportError(path, f"is {kind}, not {expected} (only regular files are read)")


def _unreadable(path: Path, error: OSError, expected: str) -> ModelImportError:
    if error.errno == errno.ENAMETOOLONG:
        return ModelImportError(short_name(path), "the name is too long for the file system")
    return unreadable(path, error, expected)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a header becomes objects.

    Parsing creates tens of thousands of containers that all stay alive; each collection would
    walk all of them again, which made a 10 MB safetensors header take 0.5 to 1.3 s instead of
    0.4 s. Nothing created here forms cycles, so nothing is left for the collector to find."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
