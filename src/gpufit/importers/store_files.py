"""Models kept as plain files: LM Studio's folder, llama.cpp's download cache, the user's folders.

LM Studio keeps `<publisher>/<repo>/<file>.gguf` (and MLX or safetensors folders at
`<publisher>/<repo>/`) under its models folder (https://lmstudio.ai/docs/app/advanced/import-model).
llama.cpp's `-hf` cache (`LLAMA_CACHE`) held flat `<org>_<repo>_<file>.gguf` files until
2026 and holds Hugging Face hub-cache folders since (ggml-org/llama.cpp PRs 19828, 21009), so
both layouts are read. A user folder is walked a few levels deep; one that is itself an
Ollama store or a hub cache is read as one.
"""

from __future__ import annotations

from pathlib import Path

from gpufit.importers.store_base import (
    Candidate,
    Found,
    Skipped,
    dangling,
    gguf_groups,
    listing,
    projector_note,
    projectors,
    walk_files,
)
from gpufit.importers.store_hf import REPO_PREFIX, scan_hub
from gpufit.importers.store_ollama import scan_store

USER_DEPTH = 4
LMSTUDIO_DEPTH = 3


def scan_lmstudio(root: Path) -> Found:
    """LM Studio's models folder: names are `publisher/repo/file` (file without `.gguf`)."""
    return scan_tree(root, "lmstudio", LMSTUDIO_DEPTH, "")


def scan_llama_cache(root: Path) -> Found:
    """llama.cpp's cache: hub-cache folders (named `org/name`) and legacy flat files (by stem)."""
    found = Found()
    entries = listing(root, found, "llamacpp")
    if any(entry.name.startswith(REPO_PREFIX) for entry in entries):
        found.extend(scan_hub(root, "llamacpp"))
    found.extend(scan_tree(root, "llamacpp", 0, ""))
    return found


def scan_user_folder(root: Path) -> Found:
    """A folder the user named: an Ollama store, a hub cache, or a tree of model files."""
    found = Found()
    if (root / "manifests").is_dir() and (root / "blobs").is_dir():
        return scan_store(root)
    entries = listing(root, found, "folder")
    if any(entry.name.startswith(REPO_PREFIX) for entry in entries):
        return scan_hub(root)
    return scan_tree(root, "folder", USER_DEPTH, root.name)


def scan_tree(root: Path, store: str, depth: int, prefix: str) -> Found:
    """Each Hugging Face folder (config.json + safetensors) and each GGUF under `root`, named by
    its path below `root` (after `prefix`)."""
    found = Found()
    files = walk_files(root, depth, found, store)
    by_folder: dict[Path, list[Path]] = {}
    for path in files:
        if dangling(path):
            found.skipped.append(Skipped(store, str(path), "broken symlink: the file it points "
                                         "to is gone"))
        elif path.name.lower().endswith((".gguf", ".safetensors", ".json")):
            by_folder.setdefault(path.parent, []).append(path)
    for folder, items in sorted(by_folder.items()):
        relative = folder.relative_to(root).as_posix() if folder != root else ""
        base = "/".join(part for part in (prefix, relative) if part and part != ".")
        names = {path.name for path in items}
        safetensors = sorted(path for path in items if path.name.endswith(".safetensors"))
        if "config.json" in names and safetensors:
            extra = [folder / name for name in ("config.json", "model.safetensors.index.json")
                     if name in names]
            found.candidates.append(Candidate(store, base or folder.name, folder,
                                              tuple(extra + safetensors)))
        elif "adapter_config.json" in names and safetensors:
            found.skipped.append(Skipped(store, str(folder), "a LoRA adapter "
                                         "(adapter_config.json), not a model"))
        ggufs = [path for path in items if path.name.lower().endswith(".gguf")]
        mmproj = projectors(ggufs)
        for stem, parts in gguf_groups([path for path in ggufs if path not in mmproj], store,
                                       found):
            name = f"{base}/{stem}" if base else stem
            found.candidates.append(Candidate(store, name, parts[0], tuple(parts),
                                              projector_note(mmproj)))
    return found
