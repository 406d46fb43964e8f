"""Parsed TOML files kept in the cache directory, so the catalog loads without re-parsing.

Parsing the catalog's TOML is most of its load time (tomllib is pure Python); a file's parsed
form is stored in `marshal` format keyed by its path, size and modification time, and read back
in a millisecond. Any miss, stale or unreadable entry falls back to parsing the file with the
shared reader (`core.toml_file`, which also refuses pipes, deep nesting and oversized files); a
cache that cannot be written costs only the next start. The file itself is always the truth.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import sys
from pathlib import Path
from typing import Any

from gpufit.core.catalog import ReadToml, read_toml
from gpufit.core.toml_file import check_regular
from gpufit.persist import paths
from gpufit.persist.files import write_atomic

_FORMAT = 1


def cached_toml_reader(directory: Path | None = None) -> ReadToml:
    """A `read` for `load_catalog` that keeps parsed files under `directory` (default: the
    cache directory's `parsed-toml/`)."""
    folder = directory or paths.cache_dir() / "parsed-toml"

    def read(path: Path) -> dict[str, Any]:
        stat = path.stat()  # FileNotFoundError and the like: as tomllib's caller expects
        # A pipe or folder is refused before any cache lookup, exactly as read_toml refuses it.
        check_regular(path, stat.st_mode)
        # marshal's format belongs to the Python version that wrote it.
        key = f"{_FORMAT}|{sys.version_info[:2]}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        entry = folder / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".marshal")
        with contextlib.suppress(OSError, EOFError, ValueError, TypeError):
            stored = marshal.loads(entry.read_bytes())
            if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key \
                    and isinstance(stored[1], dict):
                return stored[1]
        document = read_toml(path)
        # Dates and times cannot be marshalled: such a file is simply parsed every time.
        with contextlib.suppress(OSError, ValueError):
            write_atomic(entry, marshal.dumps((key, document)))
        return document

    return read
