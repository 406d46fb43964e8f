"""Models in a Hugging Face hub cache (`models--org--name/snapshots/<rev>/…`).

The layout is huggingface_hub's (https://huggingface.co/docs/huggingface_hub/guides/manage-cache):
each repo folder holds `blobs/` (the files, named by hash; `<hash>.incomplete` while a
download runs), `refs/main` (the commit the main branch was at) and `snapshots/<commit>/`,
whose files are symlinks into `blobs/`. One snapshot per repo is read: the one `refs/main`
names, else the newest. A snapshot with config.json and safetensors is one model; each GGUF
(split parts grouped) is one model, named `org/name:QUANT` when the repo holds several.
"""

from __future__ import annotations

import os
from pathlib import Path

from gpufit.importers.errors import ModelImportError
from gpufit.importers.files import read_capped
from gpufit.importers.store_base import (
    Candidate,
    Found,
    Skipped,
    dangling,
    file_quant_label,
    gguf_groups,
    is_dir,
    listing,
    projector_note,
    projectors,
    walk_files,
)

REPO_PREFIX = "models--"
SNAPSHOT_DEPTH = 3
"""GGUF repos keep each quant's split parts in a subfolder (`Q4_K_M/…-00001-of-00003.gguf`)."""


def repo_id(folder_name: str) -> str:
    """`models--org--name` → `org/name` (`models--gpt2` → `gpt2`); Hub ids never hold `--`."""
    return folder_name[len(REPO_PREFIX):].replace("--", "/", 1)


def scan_hub(hub: Path, store: str = "hf") -> Found:
    """Every model repo in the hub cache folder `hub`."""
    found = Found()
    for entry in listing(hub, found, store):
        if entry.name.startswith(REPO_PREFIX) and is_dir(entry):
            found.extend(_scan_repo(Path(entry.path), repo_id(entry.name), store))
    return found


def _scan_repo(repo: Path, name: str, store: str) -> Found:
    found = Found()
    for blob in listing(repo / "blobs", found, store):
        if blob.name.endswith(".incomplete"):
            found.skipped.append(Skipped(store, blob.path, f"half-downloaded blob of {name} "
                                         "(.incomplete): an interrupted download; resume it "
                                         "or delete the file"))
    snapshot = _snapshot(repo, found, store)
    if snapshot is None:
        if not found.skipped:
            found.skipped.append(Skipped(store, str(repo), f"{name}: no downloaded snapshot"))
        return found
    _scan_folder(snapshot, name, store, found)
    return found


def _snapshot(repo: Path, found: Found, store: str) -> Path | None:
    snapshots = [entry for entry in listing(repo / "snapshots", found, store) if is_dir(entry)]
    if not snapshots:
        return None
    try:
        main = read_capped(repo / "refs" / "main", "a Hugging Face ref", 4096).decode().strip()
    except (ModelImportError, UnicodeDecodeError):
        main = ""
    named = next((entry for entry in snapshots if entry.name == main), None)
    if named is not None:
        return Path(named.path)

    def mtime(entry: os.DirEntry[str]) -> float:
        try:
            return entry.stat().st_mtime
        except OSError:
            return 0.0

    return Path(max(snapshots, key=mtime).path)


def _scan_folder(folder: Path, name: str, store: str, found: Found) -> None:
    """The models in one snapshot (or any folder laid out like one)."""
    files = walk_files(folder, SNAPSHOT_DEPTH, found, store)
    broken = [path for path in files if dangling(path)]
    for path in broken:
        target = path.readlink().name if path.is_symlink() else "?"
        found.skipped.append(Skipped(store, str(path), f"broken symlink of {name}: its blob "
                                     f"{target[:16]}… is missing (an interrupted download or a "
                                     "pruned cache)"))
    files = [path for path in files if path not in broken]
    top = {path.name for path in files if path.parent == folder}
    ggufs = [path for path in files if path.name.lower().endswith(".gguf")]
    mmproj = projectors(ggufs)
    groups = list(gguf_groups([path for path in ggufs if path not in mmproj], store, found))
    safetensors = sorted(folder / item for item in top if item.endswith(".safetensors"))
    broken_weights = any(path.parent == folder and path.name.endswith(".safetensors")
                         for path in broken)
    hf_model = "config.json" in top and bool(safetensors) and not broken_weights
    if hf_model:
        extra = [folder / item for item in ("config.json", "model.safetensors.index.json")
                 if item in top]
        found.candidates.append(Candidate(store, name, folder, tuple(extra + safetensors)))
    elif "adapter_config.json" in top and "config.json" not in top:
        found.skipped.append(Skipped(store, str(folder), f"{name} is a LoRA adapter "
                                     "(adapter_config.json), not a model; it applies to a "
                                     "base model"))
        return
    elif safetensors and "config.json" not in top and not groups:
        found.skipped.append(Skipped(store, str(folder), f"{name} has safetensors but no "
                                     "config.json (a partial download?)"))
        return
    labels = [file_quant_label(parts[0].name) for _stem, parts in groups]
    several = len(groups) > 1 or hf_model
    for (stem, parts), label in zip(groups, labels, strict=True):
        unique = labels.count(label) == 1
        quant_name = f"{name}:{label if unique else stem}" if several else name
        found.candidates.append(Candidate(store, quant_name, parts[0], tuple(parts),
                                          projector_note(mmproj)))
    if not hf_model and not groups and not broken and not ggufs:
        found.skipped.append(Skipped(store, str(folder), _no_weights(name, top)))


def _no_weights(name: str, top: set[str]) -> str:
    if any(item.endswith((".bin", ".pt", ".pth")) for item in top):
        return (f"{name} has only PyTorch .bin/.pt weights, which are not read (safetensors "
                "and GGUF are)")
    if "config.json" in top:
        return f"{name} holds a config.json but no weights (only some files were downloaded?)"
    return f"{name} holds no model weights (no .gguf, no config.json with safetensors)"
