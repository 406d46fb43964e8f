"""The models already on this machine: where the stores are, one scan over all of them, lookups.

`scan_local_models` walks every store (the Hugging Face hub cache, Ollama, LM Studio,
llama.cpp's cache, the user's folders), reads each model's header once (through the scan
cache, so a warm scan reads none) and returns a `LocalScan`: the models, each an
`ImportedModel` renamed to its store-style name (`ollama:qwen3:32b`, `hf:org/name`), the
skipped entries with a one-line reason, and a one-line status. It never raises for bad data
and touches no network. It keeps no global state, so a worker thread may call it; two scans at
once only race on the cache file, which is replaced atomically.

Where each store is (environment first, as each tool itself decides, then the defaults):
- hf: `HF_HUB_CACHE`, else `HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
  `~/.cache/huggingface/hub` (huggingface_hub's package_reference/environment_variables).
- ollama: `OLLAMA_MODELS`, else `~/.ollama/models` and the Linux service's
  `/usr/share/ollama/.ollama/models` (ollama envconfig `Models()`, and the install script's
  `ollama` user whose home is /usr/share/ollama).
- lmstudio: `~/.lmstudio/models`, then the older `~/.cache/lm-studio/models`.
- llamacpp: `LLAMA_CACHE`, else `$XDG_CACHE_HOME/llama.cpp`, else `~/.cache/llama.cpp`
  (llama.cpp common `fs_get_cache_directory`).
- folder: `[models] paths` in settings.toml, then each `--models-dir`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gpufit.core.catalog import Catalog
from gpufit.core.specs import QuantSpec
from gpufit.importers.errors import ModelImportError
from gpufit.importers.model_import import ID_PREFIX, ImportedModel, import_model, slug
from gpufit.importers.store_base import MAX_ENTRIES, Candidate, Found, Skipped
from gpufit.importers.store_names import (  # noqa: F401  (part of this module's interface)
    STORE_LABELS,
    STORE_PREFIXES,
    LocalLookupError,
    is_store_name,
)

if TYPE_CHECKING:
    from gpufit.persist.scan_cache import CachedFailure



@dataclass(frozen=True, slots=True)
class LocalModel:
    """One model on this machine, read (its exact weights and file quant)."""

    store: str
    name: str
    """Store-style full name, what `--model` takes: `ollama:qwen3:32b`, `hf:org/name`."""
    imported: ImportedModel
    """The model renamed to `name` (id `local-…`), ready to `join` a catalog."""
    paths: tuple[str, ...]
    """The weight files, resolved (a hub-cache or Ollama blob), as the reader names them."""
    size_bytes: int
    """On disk: every file the model lives in (for Ollama, the model blob)."""
    mtime: float
    """Newest modification time of those files (seconds since the epoch)."""
    notes: tuple[str, ...] = ()

    @property
    def quant_id(self) -> str:
        return self.imported.quant_id

    @property
    def weights_bytes(self) -> int:
        return self.imported.file_weights.breakdown.total_bytes


@dataclass(frozen=True, slots=True)
class LocalScan:
    """Everything one scan found."""

    models: tuple[LocalModel, ...]
    skipped: tuple[Skipped, ...]
    problems: tuple[str, ...] = ()
    """Stores that could not be read, or a cache that could not be used, one line each."""
    roots: tuple[tuple[str, str], ...] = ()
    """(store, folder) for every folder looked at, in order."""

    @property
    def status(self) -> str:
        """One line for the app's status bar or the CLI."""
        count = len(self.models)
        text = "no models on this machine" if not count else \
            f"{count} model{'s' if count != 1 else ''} on this machine"
        if self.skipped:
            text += f" ({len(self.skipped)} skipped)"
        if self.problems:
            text += "; " + self.problems[0] + (f" (+{len(self.problems) - 1} more)"
                                               if len(self.problems) > 1 else "")
        return text


@dataclass(frozen=True, slots=True)
class StoreRoot:
    store: str
    path: Path
    scan: Callable[[Path], Found] = field(compare=False)


def store_roots(settings_paths: Sequence[str] = (), extra_dirs: Sequence[str | Path] = ()
                ) -> list[StoreRoot]:
    """Every folder to scan, in precedence order (the first store to list a file keeps it)."""
    from gpufit.importers.store_files import scan_llama_cache, scan_lmstudio, scan_user_folder
    from gpufit.importers.store_hf import scan_hub
    from gpufit.importers.store_ollama import scan_store

    env = os.environ
    home = Path(env.get("HOME") or Path.home())
    xdg_cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else home / ".cache"
    if env.get("HF_HUB_CACHE"):
        hub = Path(env["HF_HUB_CACHE"])
    elif env.get("HF_HOME"):
        hub = Path(env["HF_HOME"]) / "hub"
    else:
        hub = xdg_cache / "huggingface" / "hub"
    ollama = [Path(env["OLLAMA_MODELS"])] if env.get("OLLAMA_MODELS") else \
        [home / ".ollama" / "models", Path("/usr/share/ollama/.ollama/models")]
    llama = Path(env["LLAMA_CACHE"]) if env.get("LLAMA_CACHE") else xdg_cache / "llama.cpp"
    roots = [StoreRoot("hf", hub, scan_hub)]
    roots += [StoreRoot("ollama", path, scan_store) for path in ollama]
    roots += [StoreRoot("lmstudio", home / ".lmstudio" / "models", scan_lmstudio),
              StoreRoot("lmstudio", home / ".cache" / "lm-studio" / "models", scan_lmstudio),
              StoreRoot("llamacpp", llama, scan_llama_cache)]
    roots += [StoreRoot("folder", Path(folder).expanduser(), scan_user_folder)
              for folder in (*settings_paths, *extra_dirs)]
    unique: list[StoreRoot] = []
    for root in roots:
        if all(root.path != other.path for other in unique):
            unique.append(root)
    return unique


def scan_local_models(settings_paths: Sequence[str] = (), extra_dirs: Sequence[str | Path] = (),
                      quants: Mapping[str, QuantSpec] | None = None, *, use_cache: bool = True
                      ) -> LocalScan:
    """Find and read every model on this machine (see the module docstring for where)."""
    from gpufit.persist.scan_cache import CachedFailure, ScanCache, cache_key

    if quants is None:
        from gpufit.core.catalog import load_catalog

        quants = load_catalog().quants
    found, problems, looked = _walk(store_roots(settings_paths, extra_dirs), settings_paths,
                                    extra_dirs)
    cache = ScanCache.load() if use_cache else None
    models: list[LocalModel] = []
    skipped = list(found.skipped)
    claimed: dict[tuple[tuple[int, int], ...], str] = {}
    read: dict[str, ImportedModel | CachedFailure] = {}
    ids: set[str] = set()
    for candidate in found.candidates:
        stamped = _stamps(candidate)
        if isinstance(stamped, str):
            skipped.append(Skipped(candidate.store, str(candidate.target), stamped))
            continue
        stamps, identity = stamped
        owner = claimed.setdefault(identity, candidate.store)
        if owner != candidate.store:
            continue  # the same files, already listed by an earlier store
        key = cache_key(candidate.target, stamps)
        result = read.get(key)
        if result is None and cache is not None:
            result = cache.get(key, quants)
        if result is None:
            result = _read(candidate, quants)
            if cache is not None:
                cache.put(key, result)
        read[key] = result
        if isinstance(result, CachedFailure):
            skipped.append(Skipped(candidate.store, str(candidate.target),
                                   f"{candidate.full_name}: {result.reason}"))
            continue
        models.append(_local(candidate, result, stamps, ids))
    if cache is not None:
        cache.save()
        if cache.problem:
            problems.append(cache.problem)
    return LocalScan(tuple(models), tuple(skipped), tuple(problems), tuple(looked))


def _walk(roots: list[StoreRoot], settings_paths: Sequence[str],
          extra_dirs: Sequence[str | Path]) -> tuple[Found, list[str], list[tuple[str, str]]]:
    found = Found()
    problems: list[str] = []
    looked: list[tuple[str, str]] = []
    named = {str(Path(folder).expanduser()) for folder in (*settings_paths, *extra_dirs)}
    for root in roots:
        label = STORE_LABELS[root.store]
        try:
            if not root.path.is_dir():
                if str(root.path) in named:
                    problems.append(f"{root.path} ({label}) is not a folder")
                continue
            with os.scandir(root.path):
                pass
        except OSError as error:
            problems.append(f"cannot read the {label} at {root.path}: {error.strerror or error}")
            continue
        looked.append((root.store, str(root.path)))
        found.extend(root.scan(root.path))
        if found.count > MAX_ENTRIES:
            problems.append(f"stopped after {MAX_ENTRIES:,} entries (at {root.path})")
            found.candidates = found.candidates[:MAX_ENTRIES]
            break
    return found, problems, looked


def _stamps(candidate: Candidate
            ) -> tuple[list[tuple[str, int, int]], tuple[tuple[int, int], ...]] | str:
    """(path, size, mtime) of each file (stat follows a symlink to its blob), and the files'
    identities (device, inode), which tell the same file reached by two paths."""
    stamps, identity = [], []
    for path in candidate.files:
        try:
            stat = path.stat()
        except OSError as error:
            return f"{candidate.full_name}: cannot read {path.name} ({error.strerror or error})"
        stamps.append((str(path), stat.st_size, stat.st_mtime_ns))
        identity.append((stat.st_dev, stat.st_ino))
    return stamps, tuple(identity)


def _read(candidate: Candidate, quants: Mapping[str, QuantSpec]) -> ImportedModel | CachedFailure:
    from gpufit.persist.scan_cache import CachedFailure

    try:
        return import_model(candidate.target, quants)
    except ModelImportError as error:
        where = Path(error.path)
        # Name the file inside a folder that is at fault (config.json, one shard).
        inside = where != candidate.target and where.name not in ("", candidate.target.name)
        return CachedFailure(f"{where.name}: {error.problem}" if inside else error.problem)
    except (OSError, ValueError, KeyError, TypeError, IndexError, OverflowError,
            RecursionError, MemoryError) as error:
        # A header the readers did not foresee: skip the one file, never stop the scan.
        return CachedFailure(f"cannot read the header ({type(error).__name__}: {str(error)[:80]})")


def _local(candidate: Candidate, imported: ImportedModel, stamps: list[tuple[str, int, int]],
           ids: set[str]) -> LocalModel:
    name = candidate.full_name
    base = ID_PREFIX + slug(f"{candidate.store} {candidate.name}")
    model_id, number = base, 1
    while model_id in ids:
        number += 1
        model_id = f"{base}-{number}"
    ids.add(model_id)
    spec = replace(imported.spec, id=model_id, name=name,
                   aliases=(name, *imported.spec.aliases))
    notes = candidate.notes + imported.notes
    return LocalModel(store=candidate.store, name=name, imported=replace(imported, spec=spec),
                      paths=imported.file_weights.paths,
                      size_bytes=sum(size for _path, size, _mtime in stamps),
                      mtime=max(mtime for _path, _size, mtime in stamps) / 1e9, notes=notes)


def find_local(scan: LocalScan, query: str, quant: str | None = None) -> LocalModel:
    """The model `query` names: exactly, or Ollama's `name` for `name:latest`, or a repo name
    whose quants `quant` tells apart (`hf:org/name` + Q4_K_M → `hf:org/name:Q4_K_M`)."""
    folded = query.casefold().removesuffix(".gguf")
    if folded.startswith("ollama:") and ":" not in folded.removeprefix("ollama:"):
        latest = [model for model in scan.models if model.name.casefold() == folded + ":latest"]
        if latest:
            return latest[0]  # Ollama's own default tag
    exact = [model for model in scan.models if model.name.casefold() == folded]
    if len(exact) == 1:
        return exact[0]
    matches = exact or [model for model in scan.models
                        if model.name.casefold().startswith(folded + ":")]
    if len(matches) > 1 and quant is not None:
        same = [model for model in matches if model.quant_id.casefold() == quant.casefold()]
        matches = same or matches
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = ", ".join(model.name for model in matches[:6])
        raise LocalLookupError(f"--model {query} names {len(matches)} local models: {listed}; "
                               "name one (or give --quant)")
    names = {model.name.casefold(): model.name for model in scan.models}
    close = difflib.get_close_matches(folded, list(names), n=3, cutoff=0.6)
    hint = ", ".join(names[name] for name in close)
    skipped = [item for item in scan.skipped
               if folded.split(":", 1)[-1] and folded.split(":", 1)[-1] in item.reason.casefold()]
    reason = f" (skipped: {skipped[0].reason})" if skipped else ""
    raise LocalLookupError(f"no local model named {query}{reason}; "
                           + (f"did you mean: {hint}" if hint else
                              f"{scan.status} (see `gpufit-tui list models --local`)"))


def local_models_by_id(scan: LocalScan) -> dict[str, LocalModel]:
    """The scan's models by their catalog id."""
    return {model.imported.spec.id: model for model in scan.models}


def join_all(models: Iterable[LocalModel], catalog: Catalog) -> None:
    """Add every model (and any quant only its file needs) to `catalog`."""
    for model in models:
        model.imported.join(catalog)
