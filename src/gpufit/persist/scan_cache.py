"""The local-model scan cache: what each model file's header said, keyed by path, size and mtime.

`local-models.json` in the cache directory (`GPUFIT_CACHE_DIR` or platformdirs' user cache
dir) holds two JSON lines: a header (layout, gpufit version, a fingerprint of the model readers'
source, the sha256 of the second line) and the entries. An entry is keyed by the path
`import_model` read plus every file the model lives in as (path, size, mtime in ns): a file that
changed in any way is read again. A model is stored as the same `[[model]]` table the user
catalog writes (`model_entry`, with its `file_weights`) and rebuilt by the catalog's own
builder, so a cached model is the model the reader made. A bad header is cached as its one-line
reason, so a warm scan does not re-read broken files either.

The file is rebuilt, never trusted: one that is unreadable, not JSON, edited or truncated (its
checksum differs), from another version of gpufit-tui, of this layout or of the readers is
ignored and replaced on the next save. The checksum is what lets a warm scan skip validating
each entry. Writes are atomic (`files.write_atomic`), so two scans at once (the app's worker
and a CLI run) each leave a whole file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from gpufit import __version__
from gpufit.core.specs import QuantSpec
from gpufit.importers.model_import import ImportedModel
from gpufit.persist import paths
from gpufit.persist.files import write_atomic

CACHE_FILE = "local-models.json"
LAYOUT_VERSION = 2
FileStamp = tuple[str, int, int]
"""(path, size in bytes, mtime in ns) of one file (stat follows a symlink to its blob)."""
# What a cached result depends on: a change to any of these modules' source reads every file
# again, even between two builds that share a version number.
_READERS = ("gpufit.importers.model_import", "gpufit.importers.gguf_file",
            "gpufit.importers.gguf_arch", "gpufit.importers.safetensors_file",
            "gpufit.importers.hf_config", "gpufit.importers.formats", "gpufit.importers.names",
            "gpufit.core.tensors", "gpufit.core.specs", "gpufit.core.catalog")


@cache
def reader_fingerprint() -> str:
    """sha256 over the model readers' source files (found, not imported)."""
    digest = hashlib.sha256()
    for name in _READERS:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            try:
                digest.update(Path(spec.origin).read_bytes())
            except OSError:
                digest.update(name.encode())
    return digest.hexdigest()


def cache_key(target: Path, stamps: Sequence[FileStamp]) -> str:
    """The entry key: the path read and the stamp of every file the model lives in."""
    return json.dumps([str(target), [list(stamp) for stamp in stamps]], separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class CachedFailure:
    """A file whose header could not be read, and why (as the reader said it)."""

    reason: str


@dataclass(slots=True)
class ScanCache:
    """Loaded once per scan; `save` writes it back only if something changed."""

    path: Path = field(default_factory=lambda: paths.cache_dir() / CACHE_FILE)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    dirty: bool = False
    problem: str | None = None
    """Why the file on disk was not used (shown in the scan status), if it was not."""

    @classmethod
    def load(cls, path: Path | None = None) -> ScanCache:
        cache = cls(path) if path is not None else cls()
        try:
            raw = cache.path.read_bytes()
        except FileNotFoundError:
            return cache
        except OSError as error:
            cache.problem = f"cannot read the scan cache {cache.path}: {error.strerror or error}"
            return cache
        head, _newline, body = raw.partition(b"\n")
        try:
            header = json.loads(head)
            if not isinstance(header, dict) or header.get("sha256") != \
                    hashlib.sha256(body).hexdigest():
                raise ValueError("checksum")
            entries = json.loads(body)
        except (UnicodeDecodeError, ValueError, RecursionError):
            cache.problem = f"the scan cache {cache.path} was damaged; rebuilt it"
            cache.dirty = True
            return cache
        if header.get("layout") != LAYOUT_VERSION or header.get("gpufit") != __version__ \
                or header.get("readers") != reader_fingerprint() or not isinstance(entries, dict):
            # Other readers may have said something else: read the files again.
            cache.dirty = True
            return cache
        cache.entries = {key: value for key, value in entries.items() if isinstance(value, dict)}
        return cache

    def get(self, key: str, quants: Mapping[str, QuantSpec]) -> ImportedModel | CachedFailure | None:
        """The cached result for `key`, or None (not cached, or an entry that does not rebuild)."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        result = _rebuild(entry, quants)
        if result is None:
            del self.entries[key]
            self.dirty = True
            return None
        self.used.add(key)
        return result

    def put(self, key: str, result: ImportedModel | CachedFailure) -> None:
        self.entries[key] = _entry(result)
        self.used.add(key)
        self.dirty = True

    def save(self) -> None:
        """Write the entries this scan used (others belong to files that changed or went away)."""
        unused = set(self.entries) - self.used
        if not self.dirty and not unused:
            return
        body = json.dumps({key: self.entries[key] for key in sorted(self.used)
                           if key in self.entries}, separators=(",", ":")).encode("utf-8")
        header = {"layout": LAYOUT_VERSION, "gpufit": __version__,
                  "readers": reader_fingerprint(), "sha256": hashlib.sha256(body).hexdigest()}
        try:
            write_atomic(self.path, json.dumps(header).encode("utf-8") + b"\n" + body)
        except OSError as error:
            self.problem = f"cannot write the scan cache {self.path}: {error.strerror or error}"
            return
        self.dirty = False


def _entry(result: ImportedModel | CachedFailure) -> dict[str, Any]:
    if isinstance(result, CachedFailure):
        return {"error": result.reason}
    from gpufit.persist.user_catalog import model_entry

    return {"model": model_entry(result.spec), "quant_id": result.quant_id,
            "notes": list(result.notes), "path": str(result.path)}


def _rebuild(entry: dict[str, Any], quants: Mapping[str, QuantSpec]) -> ImportedModel | CachedFailure | None:
    if isinstance(entry.get("error"), str):
        return CachedFailure(entry["error"])
    model, quant_id, notes, path = (entry.get("model"), entry.get("quant_id"),
                                    entry.get("notes"), entry.get("path"))
    if not (isinstance(model, dict) and isinstance(quant_id, str) and isinstance(path, str)
            and isinstance(notes, list) and all(isinstance(note, str) for note in notes)):
        return None
    # The catalog loader's own builder: a cached model is exactly a saved one. (The file's
    # checksum stands for the loader's per-field validation, which would double a warm scan.)
    from gpufit.core.catalog_schema import build_model

    try:
        spec = build_model(model)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if spec.file_weights is None:
        return None
    imported = ImportedModel(spec=spec, quant_id=quant_id, notes=tuple(notes), path=Path(path))
    if quant_id in quants:
        return imported
    # A quant only the file needs (EXL2 at the file's bitrate) is derived again, as on import.
    from gpufit.core.exl2 import exl2_quant, parse_exl2

    bits = parse_exl2(quant_id)
    if bits is None:
        return None
    return replace(imported, quant=exl2_quant(bits, quants))
