"""Models in an Ollama store: `manifests/<registry>/<namespace>/<name>/<tag>` → `blobs/sha256-…`.

Each manifest is a small JSON document (Docker distribution manifest v2) whose layers carry
Ollama media types (github.com/ollama/ollama, server/images.go): the one with
`application/vnd.ollama.image.model` is the GGUF; `…image.projector` is a vision projector
and `…image.adapter` a LoRA adapter applied on top. A layer digest `sha256:<hex>` is the blob
file `blobs/sha256-<hex>`; a pull in progress writes `sha256-<hex>-partial` first
(server/download.go). Names are shown the way Ollama shows them (types/model/name.go): the
default registry `registry.ollama.ai` and namespace `library` are left out, so
`registry.ollama.ai/library/qwen3/32b` is `qwen3:32b`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gpufit.importers.errors import ModelImportError
from gpufit.importers.files import read_capped
from gpufit.importers.store_base import Candidate, Found, Skipped, is_dir, listing

MODEL_LAYER = "application/vnd.ollama.image.model"
PROJECTOR_LAYER = "application/vnd.ollama.image.projector"
ADAPTER_LAYER = "application/vnd.ollama.image.adapter"
DEFAULT_REGISTRY = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
MAX_MANIFEST_BYTES = 1_000_000
"""Real manifests are under 2 kB; anything this big is not one."""


def display_name(registry: str, namespace: str, model: str, tag: str) -> str:
    """Ollama's short form: default registry and namespace left out, the tag kept."""
    if registry.casefold() != DEFAULT_REGISTRY:
        return f"{registry}/{namespace}/{model}:{tag}"
    if namespace.casefold() != DEFAULT_NAMESPACE:
        return f"{namespace}/{model}:{tag}"
    return f"{model}:{tag}"


def scan_store(root: Path, store: str = "ollama") -> Found:
    """Every tag in the store at `root` (the folder holding `manifests/` and `blobs/`)."""
    found = Found()
    blobs = root / "blobs"
    for blob in listing(blobs, found, store):
        if blob.name.endswith("-partial"):
            found.skipped.append(Skipped(store, blob.path, "half-downloaded blob (-partial): "
                                         "an interrupted `ollama pull`; pull again to finish it"))
    manifests = root / "manifests"
    # The layout is fixed at four levels; nothing deeper is looked at.
    for registry in _folders(manifests, found, store):
        for namespace in _folders(registry, found, store):
            for model in _folders(namespace, found, store):
                for tag in listing(model, found, store):
                    if tag.name.startswith(".") or is_dir(tag):
                        continue
                    name = display_name(registry.name, namespace.name, model.name, tag.name)
                    _read_manifest(Path(tag.path), name, blobs, store, found)
    return found


def _folders(folder: Path, found: Found, store: str) -> list[Path]:
    return [Path(entry.path) for entry in listing(folder, found, store)
            if is_dir(entry) and not entry.name.startswith(".")]


def _read_manifest(path: Path, name: str, blobs: Path, store: str, found: Found) -> None:
    try:
        # The shared reader: regular files only (a named pipe would block the scan), capped.
        raw = read_capped(path, "an Ollama manifest", MAX_MANIFEST_BYTES)
    except ModelImportError as error:
        found.skipped.append(Skipped(store, str(path), f"{name}: cannot read the manifest "
                                     f"({error.problem})"))
        return
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        found.skipped.append(Skipped(store, str(path), f"{name}: the manifest is not valid "
                                     f"JSON ({str(error)[:60]})"))
        return
    layers = document.get("layers") if isinstance(document, dict) else None
    if not isinstance(layers, list):
        found.skipped.append(Skipped(store, str(path), f"{name}: the manifest has no layers list"))
        return
    by_type: dict[str, list[dict[str, Any]]] = {}
    for layer in layers:
        if isinstance(layer, dict) and isinstance(layer.get("mediaType"), str):
            by_type.setdefault(layer["mediaType"], []).append(layer)
    models = by_type.get(MODEL_LAYER, [])
    if not models:
        kind = ("a LoRA adapter without its base model layer" if ADAPTER_LAYER in by_type
                else "no model layer")
        found.skipped.append(Skipped(store, str(path), f"{name}: the manifest has {kind}"))
        return
    blob = _blob(models[0], blobs)
    if blob is None:
        found.skipped.append(Skipped(store, str(path), f"{name}: the model layer's digest is "
                                     "not sha256:<hex>"))
        return
    if not blob.exists():
        found.skipped.append(Skipped(store, str(blob), f"{name}: its model blob is missing "
                                     "(removed, or the pull did not finish)"))
        return
    found.candidates.append(Candidate(store, name, blob, (blob,), _notes(by_type)))


def _blob(layer: dict[str, Any], blobs: Path) -> Path | None:
    digest = layer.get("digest")
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        return None
    hex_digest = digest.removeprefix("sha256:")
    if not hex_digest or not all(char in "0123456789abcdefABCDEF" for char in hex_digest):
        return None
    return blobs / f"sha256-{hex_digest}"


def _notes(by_type: dict[str, list[dict[str, Any]]]) -> tuple[str, ...]:
    notes = []
    for media, what in ((PROJECTOR_LAYER, "a vision projector"),
                        (ADAPTER_LAYER, "a LoRA adapter")):
        layers = by_type.get(media, [])
        if layers:
            size = sum(layer.get("size", 0) for layer in layers
                       if isinstance(layer.get("size"), int))
            notes.append(f"Ollama loads {what} with it ({size / 1e9:.2f} GB); it is not "
                         "counted in the weights.")
    return tuple(notes)
