"""Any model on the Hugging Face Hub, read exactly, on request: `hub_model("org/name", …)`.

Only what an exact estimate needs is fetched: the repo's file list with sizes, then either
`config.json`, the safetensors index and each shard's header (its 8-byte length, then the
JSON header: every tensor's dtype and shape), or, for a GGUF repo, the header of the chosen
file (each part of a split one), range by growing range until it parses. The bytes go to the
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
from gpufit.importers.model_import import ImportedModel, model_from_gguf, model_from_hf, slug

Progress = Callable[[str, int, int], None]
"""Called with (what is being fetched, steps done, steps in all)."""

HUB_FAMILY = "Hugging Face Hub"
ID_PREFIX = "hub-"
DEFAULT_TIMEOUT_S = 10.0
# A GGUF header is its metadata (a 150k-token vocabulary is ~3 MB) and tensor infos: the first
# read takes 1 MiB and each retry doubles what was read, up to a limit no real header reaches.
GGUF_FIRST_BYTES = 1 << 20
MAX_GGUF_HEADER_BYTES = 256 << 20
HEADER_WORKERS = 8
INDEX_NAME = "model.safetensors.index.json"

_REPO = r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}"
_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$")
_GGUF_LABEL = re.compile(
    r"(?<![A-Za-z0-9])((?:UD-)?(?:IQ[1-4]_(?:XXS|XS|S|M|NL|K_S|K_M|K_L|K_XL)|IQ[1-4]_[01]"
    r"|Q[1-8]_K(?:_(?:XXS|XS|S|M|L|XL))?|Q[4-8]_[01]|TQ[12]_0|BF16|F16|FP16|F32"
    r"|MXFP4(?:_MOE)?))(?![A-Za-z0-9])", re.IGNORECASE)


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
class GgufChoice:
    """One quant a GGUF repo offers: its label (from the file name), files and exact size."""

    label: str
    files: tuple[str, ...]
    size_bytes: int


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
            self.tell("file list", 0, 1)
            listing = self.connection("file list").listing(self.revision)
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
            self.tell(filename, 0, 1)
            manifest.texts[filename] = self.connection(filename).text(manifest.commit, filename)
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
    wants_gguf = filename is not None or (quant is not None and _match(choices, quant, quants))
    if _has_safetensors(manifest.sizes) and not wants_gguf:
        imported = _safetensors_model(lookup, quants)
        return _finish(lookup, imported, "safetensors", (), None)
    if not choices:
        raise _no_weights(repo_id, manifest.sizes)
    chosen = _choose(repo_id, choices, quant, filename, quants)
    heads = lookup.heads(list(chosen.files), _gguf_head)
    from gpufit.importers.gguf_file import parse_gguf_header

    headers = [parse_gguf_header(Path(repo_id) / name, heads[name], manifest.sizes[name])
               for name in chosen.files]
    imported = model_from_gguf(Path(repo_id) / chosen.files[0], headers, quants)
    return _finish(lookup, imported, "gguf", choices, chosen)


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


def gguf_choices(sizes: Mapping[str, int]) -> tuple[GgufChoice, ...]:
    """The GGUF models in a repo (a split model once, only when every part is there), by size.

    Multimodal projectors (mmproj) are not models and are left out."""
    groups: dict[str, list[str]] = {}
    for name in sizes:
        base = name.rsplit("/", 1)[-1].casefold()
        if not name.casefold().endswith(".gguf") or "mmproj" in base:
            continue
        groups.setdefault(_SPLIT.sub(".gguf", name), []).append(name)
    choices: list[GgufChoice] = []
    labels: set[str] = set()
    for key, names in sorted(groups.items()):
        parts = sorted(names)
        split = _SPLIT.search(parts[0])
        if split is not None and len(parts) != int(split.group(2)):
            continue  # an incomplete upload cannot be loaded
        label = gguf_label(key)
        if label in labels:
            label = key.removesuffix(".gguf")
        labels.add(label)
        choices.append(GgufChoice(label, tuple(parts), sum(sizes[name] for name in parts)))
    return tuple(sorted(choices, key=lambda choice: (choice.size_bytes, choice.label)))


def gguf_label(name: str) -> str:
    """The quant a GGUF file's name (or its folder's) says, upper-case: Q4_K_M, UD-Q4_K_XL."""
    stem = _SPLIT.sub("", name).removesuffix(".gguf")
    for part in reversed(stem.split("/")):
        found = _GGUF_LABEL.findall(part)
        if found:
            return str(found[-1]).upper()
    return stem.rsplit("/", 1)[-1]


def _match(choices: tuple[GgufChoice, ...], wanted: str,
           quants: Mapping[str, QuantSpec]) -> GgufChoice | None:
    folded = wanted.casefold()
    exact = [choice for choice in choices if choice.label.casefold() == folded]
    if exact:
        return exact[0]
    target = _catalog_quant(wanted, quants)
    same = [choice for choice in choices
            if target is not None and _catalog_quant(choice.label, quants) == target]
    return min(same, key=lambda choice: len(choice.label)) if same else None


def _catalog_quant(name: str, quants: Mapping[str, QuantSpec]) -> str | None:
    folded = {"FP16": "F16", "FP32": "F32"}.get(name.upper(), name.upper()).casefold()
    for quant in quants.values():
        if folded in {alias.casefold() for alias in (quant.id, *quant.aliases)}:
            return quant.id
    return None


def _choose(repo_id: str, choices: tuple[GgufChoice, ...], quant: str | None,
            filename: str | None, quants: Mapping[str, QuantSpec]) -> GgufChoice:
    if filename is not None:
        for choice in choices:
            if filename in choice.files or any(name.rsplit("/", 1)[-1] == filename
                                               for name in choice.files):
                return choice
        raise HubError(repo_id, "no_file", f"no GGUF file {filename!r} in the repo; it offers "
                       f"{_offer(choices)}")
    if quant is not None:
        chosen = _match(choices, quant, quants)
        if chosen is None:
            raise HubError(repo_id, "no_quant", f"no {quant} GGUF in the repo; it offers "
                           f"{_offer(choices)}")
        return chosen
    if len(choices) == 1:
        return choices[0]
    raise HubError(repo_id, "choose_quant", f"the repo offers {len(choices)} GGUF quants: "
                   f"{_offer(choices)}; name one as {repo_id}:QUANT or with --quant")


def _offer(choices: tuple[GgufChoice, ...]) -> str:
    return ", ".join(f"{choice.label} ({choice.size_bytes / 1e9:.2f} GB)" for choice in choices)


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


def _gguf_head(connection: HubConnection, commit: str, name: str, size: int) -> bytes:
    """The first bytes of a GGUF file, as many as its header takes (doubling until it parses)."""
    from gpufit.importers.gguf_file import TruncatedHeader, parse_gguf_header

    path = Path(connection.repo_id) / name
    data = b""
    wanted = min(GGUF_FIRST_BYTES, size)
    while True:
        data += connection.byte_range(commit, name, len(data), wanted - len(data))
        try:
            parse_gguf_header(path, data, size)
        except TruncatedHeader:
            if len(data) >= size:
                raise
            if wanted >= MAX_GGUF_HEADER_BYTES:
                raise ModelImportError(path, f"the GGUF header runs past "
                                       f"{MAX_GGUF_HEADER_BYTES:,} bytes (corrupt header?)") \
                    from None
            wanted = min(size, 2 * wanted, MAX_GGUF_HEADER_BYTES)
            continue
        return data


def _finish(lookup: _Lookup, imported: ImportedModel, file_format: str,
            choices: tuple[GgufChoice, ...], chosen: GgufChoice | None) -> HubModel:
    manifest = lookup.listing()
    repo_id = lookup.repo_id
    name = repo_id if chosen is None else f"{repo_id} {chosen.label}"
    alias = repo_id if chosen is None else f"{repo_id}:{chosen.label}"
    weights = imported.file_weights
    where = endpoint()
    fetched = lookup.bytes_fetched
    how = f"{fetched:,} bytes of headers fetched" if fetched else "from the cache, no network"
    note = (f"Read from the Hugging Face Hub: {repo_id} at commit {manifest.commit[:12]} "
            f"({how}).")
    spec = replace(imported.spec, id=ID_PREFIX + slug(alias), name=name, family=HUB_FAMILY,
                   source=f"{where}/{repo_id}", aliases=(alias,),
                   file_weights=replace(weights, paths=()))
    imported = replace(imported, spec=spec, path=Path(repo_id), notes=(*imported.notes, note))
    return HubModel(imported=imported, repo_id=repo_id, commit=manifest.commit,
                    file_format=file_format, choices=choices, chosen=chosen,
                    bytes_fetched=fetched)
