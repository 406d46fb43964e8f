"""Any model on the Hugging Face Hub, read exactly, on request: `hub_model("org/name", …)`.

Only what an exact estimate needs is fetched: the repo's file list with sizes, then either
`config.json`, the safetensors index and each shard's header (its 8-byte length, then the
JSON header: every tensor's dtype and shape), or, for a GGUF repo, the header of the chosen
file (each part of a split one), in growing ranges until it parses (`hub_gguf`). The bytes go to the
same parsers a local file goes to, so FP8, packed GPTQ/AWQ, MXFP4 and `quantization_config`
come out as they would from the downloaded folder. A GGUF repo's files are the quants it
offers, each with its exact size (`hub_listing`).

Nothing here runs unless a Hub model is asked for; each lookup is cached (`hub_cache`) and
then answers with no network. `hub_model` blocks: the app calls it from a worker thread with
a `progress(message, done, total)` callback.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from gpufit.core.specs import QuantSpec
from gpufit.importers.errors import ModelImportError
from gpufit.importers.hub_cache import HubCache, Manifest
from gpufit.importers.hub_fetch import (
    HubConnection,
    HubError,
    endpoint,
    offline,
    offline_error,
)
from gpufit.importers.hub_gguf import GgufChoice, choose, gguf_choices, gguf_head, match_choice
from gpufit.importers.model_import import ImportedModel, model_from_gguf, model_from_hf, slug

Progress = Callable[[str, int, int], None]
"""Called with (what is being fetched, steps done, steps in all)."""

HUB_FAMILY = "Hugging Face Hub"
ID_PREFIX = "hub-"
DEFAULT_TIMEOUT_S = 10.0
HEADER_WORKERS = 8
INDEX_NAME = "model.safetensors.index.json"

_REPO = r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}"


@dataclass(frozen=True, slots=True)
class HubRef:
    """What `--model` named: `org/name`, optionally `:QUANT` and `@revision`."""

    repo_id: str
    quant: str | None = None
    revision: str | None = None


def parse_hub_ref(text: str) -> HubRef | None:
    """`org/name`, `org/name:Q4_K_M`, `org/name@rev` (either suffix first), or None."""
    match = re.fullmatch(rf"(?P<repo>{_REPO})(?P<rest>(?:[:@][^:@\s]+)*)", text.strip())
    if match is None or match.group("repo").endswith((".gguf", ".json", ".safetensors")):
        return None
    quant = revision = None
    for sign, value in re.findall(r"([:@])([^:@\s]+)", match.group("rest")):
        if sign == ":" and quant is None and re.fullmatch(r"[A-Za-z0-9._-]+", value):
            quant = value
        elif sign == "@" and revision is None and re.fullmatch(r"[A-Za-z0-9._/-]+", value):
            revision = value
        else:
            return None
    return HubRef(match.group("repo"), quant, revision)


@dataclass(frozen=True, slots=True)
class HubListing:
    """A repo at one commit: which weights it has (safetensors shards, GGUF choices)."""

    repo_id: str
    commit: str
    safetensors: bool
    choices: tuple[GgufChoice, ...]


@dataclass(frozen=True, slots=True)
class HubModel:
    """A Hub model read exactly; `imported` is what a local import of the same files gives."""

    imported: ImportedModel
    repo_id: str
    commit: str
    file_format: str
    """"safetensors" or "gguf"."""
    choices: tuple[GgufChoice, ...]
    """Every quant a GGUF repo offers (empty for safetensors)."""
    chosen: GgufChoice | None
    bytes_fetched: int
    """Bytes of the repo's files received in this lookup (the file list aside): 0 when the
    cache answered."""


class _Lookup:
    """One lookup's view of a repo: the cache first, the network for what it lacks."""

    def __init__(self, repo_id: str, revision: str | None, timeout_s: float,
                 progress: Progress | None, refresh: bool) -> None:
        self.repo_id = repo_id
        self.revision = revision
        self.timeout_s = timeout_s
        self.progress = progress
        self.cache = HubCache(repo_id)
        self._connection: HubConnection | None = None
        self.manifest = self._cached(refresh)

    @property
    def bytes_fetched(self) -> int:
        return self._connection.bytes_received if self._connection is not None else 0

    def _cached(self, refresh: bool) -> Manifest | None:
        commit = None if refresh else self.cache.commit_for(self.revision)
        return self.cache.load(commit) if commit is not None else None

    def connection(self, missing: str) -> HubConnection:
        if offline():
            raise offline_error(self.repo_id, missing)
        if self._connection is None:
            self._connection = HubConnection(self.repo_id, self.timeout_s)
        return self._connection

    def tell(self, message: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(message, done, total)

    def listing(self) -> Manifest:
        if self.manifest is None:
            connection = self.connection("file list")
            self.tell("file list", 0, 1)
            listing = connection.listing(self.revision)
            manifest = self.cache.load(listing.commit) or Manifest(
                self.repo_id, listing.commit, listing.sizes)
            manifest.sizes = listing.sizes
            self.manifest = manifest
            self._save()
            _quietly(lambda: self.cache.remember_ref(self.revision, listing.commit))
        return self.manifest

    def text(self, filename: str) -> str:
        manifest = self.listing()
        if filename not in manifest.texts:
            connection = self.connection(filename)
            self.tell(filename, 0, 1)
            manifest.texts[filename] = connection.text(manifest.commit, filename)
            self._save()
        return manifest.texts[filename]

    def heads(self, filenames: list[str],
              fetch: Callable[[HubConnection, str, str, int], bytes]) -> dict[str, bytes]:
        """Each weight file's header bytes, cached or fetched (several at once)."""
        manifest = self.listing()
        found: dict[str, bytes] = {}
        for name in filenames:
            data = self.cache.head(manifest, name)
            if data is not None:
                found[name] = data
        missing = [name for name in filenames if name not in found]
        if missing:
            connection = self.connection(f"header of {missing[0]}")
            total = len(filenames)
            self.tell("headers", len(found), total)
            with ThreadPoolExecutor(max_workers=min(HEADER_WORKERS, len(missing))) as pool:
                futures = {name: pool.submit(fetch, connection, manifest.commit, name,
                                             manifest.sizes[name]) for name in missing}
                for name, future in futures.items():
                    found[name] = data = future.result()
                    _quietly(partial(self.cache.store_head, manifest, name, data))
                    self.tell("headers", len(found), total)
            self._save()
        return found

    def _save(self) -> None:
        if self.manifest is not None:
            manifest = self.manifest
            _quietly(lambda: self.cache.save(manifest))


def _quietly(write: Callable[[], None]) -> None:
    # A cache that cannot be written (read-only home, full disk) only costs the next lookup.
    with contextlib.suppress(OSError):
        write()


def hub_listing(repo_id: str, *, revision: str | None = None,
                timeout_s: float = DEFAULT_TIMEOUT_S, progress: Progress | None = None,
                refresh: bool = False) -> HubListing:
    """Which weights a repo has (for a GGUF repo, each quant's files and exact size)."""
    lookup = _Lookup(_checked(repo_id), revision, timeout_s, progress, refresh)
    manifest = lookup.listing()
    return HubListing(repo_id, manifest.commit, _has_safetensors(manifest.sizes),
                      gguf_choices(manifest.sizes))


def hub_model(repo_id: str, quants: Mapping[str, QuantSpec], *, quant: str | None = None,
              filename: str | None = None, revision: str | None = None,
              timeout_s: float = DEFAULT_TIMEOUT_S, progress: Progress | None = None,
              refresh: bool = False) -> HubModel:
    """Read `org/name` from the Hub (or the cache) exactly as if its files were on disk.

    For a GGUF repo, `quant` (a file label such as Q4_K_M, or a catalog quant) or `filename`
    picks the file; a repo with one GGUF needs neither. Raises HubError (one line) or the
    ModelImportError a local import of the same files would raise."""
    lookup = _Lookup(_checked(repo_id), revision, timeout_s, progress, refresh)
    manifest = lookup.listing()
    choices = gguf_choices(manifest.sizes)
    wants_gguf = filename is not None or (quant is not None and match_choice(choices, quant, quants))
    if _has_safetensors(manifest.sizes) and not wants_gguf:
        imported = _safetensors_model(lookup, quants)
        return _finish(lookup, imported, "safetensors", (), None)
    if not choices:
        raise _no_weights(repo_id, manifest.sizes)
    chosen = choose(repo_id, choices, quant, filename, quants)
    heads = lookup.heads(list(chosen.files), gguf_head)
    from gpufit.importers.gguf_file import parse_gguf_header

    headers = [parse_gguf_header(Path(repo_id) / name, heads[name], manifest.sizes[name])
               for name in chosen.files]
    imported = model_from_gguf(Path(repo_id) / chosen.files[0], headers, quants)
    return _finish(lookup, imported, "gguf", choices, chosen)


def hub_model_for(text: str, quants: Mapping[str, QuantSpec], *, quant: str | None = None,
                  timeout_s: float = DEFAULT_TIMEOUT_S,
                  progress: Progress | None = None) -> HubModel:
    """`hub_model` for what a user typed: `org/name[:QUANT][@REVISION]` (the app's entry point;
    `quant` applies when the text names none)."""
    ref = parse_hub_ref(text)
    if ref is None:
        raise HubError(text, "bad_id", "not a Hub model (expected org/name, optionally :QUANT "
                       "and @REVISION)")
    return hub_model(ref.repo_id, quants, quant=ref.quant or quant, revision=ref.revision,
                     timeout_s=timeout_s, progress=progress)


def _checked(repo_id: str) -> str:
    if re.fullmatch(_REPO, repo_id) is None:
        raise HubError(repo_id, "bad_id", "not a Hub model id (expected org/name, letters, "
                       "digits, '.', '_' and '-')")
    return repo_id


def _has_safetensors(sizes: Mapping[str, int]) -> bool:
    return "config.json" in sizes and (INDEX_NAME in sizes or any(
        name.endswith(".safetensors") and "/" not in name for name in sizes))


def _no_weights(repo_id: str, sizes: Mapping[str, int]) -> HubError:
    others = sorted(name for name in sizes if name.endswith((".bin", ".pt", ".pth", ".onnx",
                                                              ".safetensors", ".h5", ".msgpack")))
    has = f" (it has {', '.join(others[:3])}{' …' if len(others) > 3 else ''})" if others else ""
    return HubError(repo_id, "no_weights", f"the repo has no weights to read: no .gguf files and "
                    f"no config.json with .safetensors files{has}")


def _safetensors_model(lookup: _Lookup, quants: Mapping[str, QuantSpec]) -> ImportedModel:
    from gpufit.importers.safetensors_file import header_length, parse_safetensors_header

    repo = Path(lookup.repo_id)
    config = _json(lookup, "config.json")
    sizes = lookup.listing().sizes
    if INDEX_NAME in sizes:
        weight_map = _json(lookup, INDEX_NAME).get("weight_map")
        if not isinstance(weight_map, dict) or not all(
                isinstance(shard, str) for shard in weight_map.values()):
            raise ModelImportError(repo / INDEX_NAME, "has no weight_map of tensor → shard file "
                                   "names")
        names = sorted(set(weight_map.values()))
        missing = [name for name in names if name not in sizes]
        if missing:
            raise ModelImportError(repo / INDEX_NAME, f"lists {len(names)} shards but the repo "
                                   f"lacks {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}")
    else:
        names = sorted(name for name in sizes if name.endswith(".safetensors") and "/" not in name)
    heads = lookup.heads(names, _safetensors_head)
    tensors = []
    for name in names:
        head, size = heads[name], sizes[name]
        length = header_length(repo / name, head[:8], size)
        tensors += parse_safetensors_header(repo / name, head[8:8 + length], size)[0]
    return model_from_hf(repo, config, tensors, [repo / name for name in names], quants)


def _json(lookup: _Lookup, filename: str) -> dict[str, Any]:
    path = Path(lookup.repo_id) / filename
    try:
        data = json.loads(lookup.text(filename))
    except (ValueError, RecursionError) as error:
        raise ModelImportError(path, f"not valid JSON: {str(error)[:80]}") from error
    if not isinstance(data, dict):
        raise ModelImportError(path, "is not a JSON object")
    return data


def _safetensors_head(connection: HubConnection, commit: str, name: str, size: int) -> bytes:
    """A shard's 8-byte header length, then exactly that many bytes of JSON header."""
    from gpufit.importers.safetensors_file import header_length

    prefix = connection.byte_range(commit, name, 0, 8)
    length = header_length(Path(connection.repo_id) / name, prefix, size)
    return prefix + connection.byte_range(commit, name, 8, length)


def _finish(lookup: _Lookup, imported: ImportedModel, file_format: str,
            choices: tuple[GgufChoice, ...], chosen: GgufChoice | None) -> HubModel:
    manifest = lookup.listing()
    repo_id = lookup.repo_id
    alias = repo_id if chosen is None else f"{repo_id}:{chosen.label}"
    weights = imported.file_weights
    where = endpoint()
    fetched = lookup.bytes_fetched
    how = f"{fetched:,} bytes of headers fetched" if fetched else "from the cache, no network"
    note = (f"Read from the Hugging Face Hub: {repo_id} at commit {manifest.commit[:12]} "
            f"({how}).")
    spec = replace(imported.spec, id=ID_PREFIX + slug(alias), name=repo_id, family=HUB_FAMILY,
                   source=f"{where}/{repo_id}", aliases=(alias,),
                   file_weights=replace(weights, paths=()))
    imported = replace(imported, spec=spec, path=Path(repo_id), notes=(*imported.notes, note))
    return HubModel(imported=imported, repo_id=repo_id, commit=manifest.commit,
                    file_format=file_format, choices=choices, chosen=chosen,
                    bytes_fetched=fetched)
