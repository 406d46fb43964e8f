"""Reading one TOML file the same way everywhere (catalog, settings, themes, profiles).

Every way a file can be hostile becomes one of two exceptions whose message names the file:
`TomlUnreadable` (an `OSError`: not a regular file — a named pipe would block forever —,
too large, a folder that cannot be listed) and `TomlInvalid` (a `tomllib.TOMLDecodeError`:
not UTF-8, not TOML, nested too deep for the parser or for anything that walks the result, an
integer too long for Python to convert). Callers that already catch `OSError` and
`TOMLDecodeError` therefore need no new cases. A UTF-8 byte-order mark is accepted, as editors
on Windows write one.
"""

from __future__ import annotations

import errno
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["MAX_TOML_BYTES", "MAX_TOML_DEPTH", "TomlInvalid", "TomlUnreadable", "check_regular",
           "parse_toml_bytes", "read_toml_file", "toml_files_in"]

MAX_TOML_BYTES = 16 * 1024 * 1024
"""The largest file read: the built-in catalog's biggest file is ~0.1 MB, a profile ~1 KB;
tomllib parses about 1 MB/s, so this bounds a start-up at seconds, not minutes."""
MAX_TOML_DEPTH = 32
"""Tables and arrays nested deeper than this are refused; the catalog's deepest is 4 (a quant
rule's `when`), and writers (tomli-w) and caches (marshal) recurse once per level."""
_BOM = "\ufeff"


class TomlUnreadable(OSError):
    """A TOML file (or its folder) that cannot be read at all; the message names it."""


class TomlInvalid(tomllib.TOMLDecodeError):
    """A TOML file whose text is not a usable TOML document; the message names it."""


def check_regular(path: Path, mode: int) -> None:
    """Refuse anything but a regular file (`mode` from stat), before it is opened: opening a
    named pipe blocks until a writer appears, and a device can be endless."""
    if stat.S_ISDIR(mode):
        raise TomlUnreadable(errno.EISDIR, "is a folder, not a file", str(path))
    if not stat.S_ISREG(mode):
        raise TomlUnreadable(errno.EINVAL, "is not a regular file (a pipe or device?)", str(path))


def read_toml_file(path: Path) -> dict[str, Any]:
    """Parse the TOML file at `path`, or raise FileNotFoundError, TomlUnreadable (OSError) or
    TomlInvalid (TOMLDecodeError)."""
    try:
        check_regular(path, os.stat(path).st_mode)
        # O_NONBLOCK: if the file was swapped for a pipe since the stat, opening must not wait.
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (FileNotFoundError, TomlUnreadable):
        raise
    except OSError as error:
        raise TomlUnreadable(error.errno or errno.EIO, error.strerror or str(error),
                             str(path)) from None
    with os.fdopen(handle, "rb") as stream:
        check_regular(path, os.fstat(stream.fileno()).st_mode)
        data = stream.read(MAX_TOML_BYTES + 1)
    if len(data) > MAX_TOML_BYTES:
        raise TomlUnreadable(errno.EFBIG, f"is larger than {MAX_TOML_BYTES // (1024 * 1024)} MB",
                             str(path))
    return parse_toml_bytes(data, path)


def parse_toml_bytes(data: bytes, path: Path | str) -> dict[str, Any]:
    """Parse a TOML document already read from `path` (named in errors), or raise TomlInvalid."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise TomlInvalid(f"{path}: not UTF-8 text (byte {error.start})") from None
    try:
        document = tomllib.loads(text.removeprefix(_BOM))
    except RecursionError:
        raise TomlInvalid(f"{path}: nested too deeply to parse") from None
    except tomllib.TOMLDecodeError as error:
        raise TomlInvalid(f"{path}: not valid TOML ({error})") from None
    except ValueError as error:  # an integer with more digits than Python converts
        raise TomlInvalid(f"{path}: not valid TOML ({error})") from None
    if _depth_exceeds(document, MAX_TOML_DEPTH):
        raise TomlInvalid(f"{path}: tables or arrays nested more than {MAX_TOML_DEPTH} deep")
    return document


def toml_files_in(directory: Path) -> list[Path]:
    """The `*.toml` names in `directory`, sorted; [] if it does not exist. A folder that exists
    but cannot be listed (no permission) raises TomlUnreadable, never yields silence."""
    try:
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries if entry.name.endswith(".toml"))
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        raise TomlUnreadable(errno.ENOTDIR, "is not a folder", str(directory)) from None
    except OSError as error:
        raise TomlUnreadable(error.errno or errno.EIO,
                             f"cannot list this folder ({error.strerror or error})",
                             str(directory)) from None
    return [directory / name for name in names]


def _depth_exceeds(document: Any, limit: int) -> bool:
    """Whether containers nest deeper than `limit`, walked without recursion."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return False
