"""Fake model stores built from tiny real model files (tests/model_files.py), laid out as each
tool lays its store out: the Hugging Face hub cache (blobs named by their sha256, snapshot
symlinks into them, `refs/main`), Ollama (manifest JSON per tag, `sha256-<hex>` blobs) and
LM Studio / llama.cpp (plain files). Used by the store tests, the CLI tests and the benchmark.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from gguf import LlamaFileType
from model_files import (
    HF_LLAMA_CONFIG,
    LLAMA_METADATA,
    hf_llama_tensors,
    llama_tensors,
    write_gguf,
    write_safetensors,
)

OLLAMA_MODEL = "application/vnd.ollama.image.model"
OLLAMA_PROJECTOR = "application/vnd.ollama.image.projector"
REVISION = "0123456789abcdef0123456789abcdef01234567"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hf_repo(hub: Path, repo_id: str, staging: Path, revision: str = REVISION) -> Path:
    """Move the files under `staging` into `hub` as huggingface_hub caches a download; returns
    the snapshot folder."""
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    blobs, snapshot = repo / "blobs", repo / "snapshots" / revision
    blobs.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    for source in sorted(staging.rglob("*")):
        if not source.is_file():
            continue
        blob = blobs / sha256_of(source)
        shutil.move(source, blob)
        link = snapshot / source.relative_to(staging)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    return snapshot


def ollama_tag(root: Path, name: str, tag: str, gguf: Path, namespace: str = "library",
               registry: str = "registry.ollama.ai", projector: Path | None = None) -> Path:
    """Add `gguf` as a blob (once) and a manifest naming it; returns the blob path."""
    blobs = root / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    layers = []
    for path, media in ((gguf, OLLAMA_MODEL), (projector, OLLAMA_PROJECTOR)):
        if path is None:
            continue
        digest = sha256_of(path)
        blob = blobs / f"sha256-{digest}"
        if not blob.exists():
            shutil.copyfile(path, blob)
        layers.append({"mediaType": media, "digest": f"sha256:{digest}",
                       "size": blob.stat().st_size})
    manifest = root / "manifests" / registry / namespace / name / tag
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": "sha256:" + "0" * 64, "size": 2},
        "layers": layers}))
    return blobs / f"sha256-{sha256_of(gguf)}"


def tiny_gguf(path: Path, file_type: LlamaFileType = LlamaFileType.MOSTLY_Q4_K_M,
              main: str = "Q4_K", name: str = "Tiny Test Model", layers: int = 2) -> int:
    """A two-layer Llama GGUF; returns its tensor bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {**LLAMA_METADATA, "block_count": layers}
    return write_gguf(path, "llama", metadata, llama_tensors(layers=layers, main=main),
                      file_type, name=name)


def split_gguf(folder: Path, stem: str) -> int:
    """A two-part split GGUF `stem-0000N-of-00002.gguf`; returns the tensor bytes of both."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = llama_tensors()
    total = write_gguf(folder / f"{stem}-00001-of-00002.gguf", "llama", LLAMA_METADATA,
                       tensors[:10], LlamaFileType.MOSTLY_Q4_K_M)
    return total + write_gguf(folder / f"{stem}-00002-of-00002.gguf", "llama", {}, tensors[10:],
                              name=None)


def hf_folder(folder: Path, tensors: list[tuple[str, str, list[int]]],
              config: dict[str, object] | None = None, shards: int = 1) -> int:
    """config.json plus the tensors in `shards` safetensors files (with an index when > 1)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config or HF_LLAMA_CONFIG))
    if shards == 1:
        return write_safetensors(folder / "model.safetensors", tensors)
    size = -(-len(tensors) // shards)
    total, weight_map = 0, {}
    for index in range(shards):
        name = f"model-{index + 1:05d}-of-{shards:05d}.safetensors"
        part = tensors[index * size:(index + 1) * size]
        total += write_safetensors(folder / name, part)
        weight_map.update({tensor: name for tensor, _dtype, _shape in part})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    return total


FP8_CONFIG = {**HF_LLAMA_CONFIG, "quantization_config": {"quant_method": "fp8",
                                                          "weight_block_size": [128, 128]}}
FP8_TENSORS = [("model.embed_tokens.weight", "BF16", [512, 256]),
               ("model.layers.0.mlp.up_proj.weight", "F8_E4M3", [512, 256]),
               ("model.layers.0.mlp.up_proj.weight_scale_inv", "F32", [4, 2])]
GPTQ_CONFIG = {**HF_LLAMA_CONFIG, "torch_dtype": "float16",
               "quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 128}}
GPTQ_TENSORS = [("model.embed_tokens.weight", "F16", [512, 256]),
                ("model.layers.0.mlp.up_proj.qweight", "I32", [256 // 8, 512]),
                ("model.layers.0.mlp.up_proj.qzeros", "I32", [2, 512 // 8]),
                ("model.layers.0.mlp.up_proj.scales", "F16", [2, 512]),
                ("model.layers.0.mlp.up_proj.g_idx", "I32", [256])]


@dataclass
class Machine:
    """Where the fake stores are, and what a correct scan must find there."""

    home: Path
    hub: Path
    ollama: Path
    llama_cache: Path
    lmstudio: Path
    expected: dict[str, str] = field(default_factory=dict)
    """Store-style name → quant id the file is stored in."""
    weights: dict[str, int] = field(default_factory=dict)
    """Store-style name → exact tensor bytes (independently summed by model_files)."""
    paths: dict[str, Path] = field(default_factory=dict)
    """Store-style name → the path a user would open by hand."""
    broken: list[str] = field(default_factory=list)
    """Substrings of the paths of entries that must be skipped."""


def build_machine(base: Path) -> Machine:
    """≥ 10 models across the hub cache, Ollama, LM Studio and llama.cpp's cache, plus broken
    entries (a dangling symlink, an .incomplete blob, a LoRA adapter, a bad header)."""
    machine = Machine(home=base / "home", hub=base / "hf" / "hub", ollama=base / "ollama",
                      llama_cache=base / "llama-cache",
                      lmstudio=base / "home" / ".lmstudio" / "models")
    staging = base / "staging"
    add = machine.expected.__setitem__

    def stage(name: str) -> Path:
        folder = staging / name
        folder.mkdir(parents=True)
        return folder

    # Hugging Face cache: a sharded BF16 checkpoint, FP8, GPTQ, a GGUF repo with two quants,
    # a split GGUF, a LoRA adapter, a dangling blob link and a download still running.
    folder = stage("sharded")
    machine.weights["hf:acme/Tiny-Llama"] = hf_folder(folder, hf_llama_tensors(), shards=3)
    machine.paths["hf:acme/Tiny-Llama"] = hf_repo(machine.hub, "acme/Tiny-Llama", folder)
    add("hf:acme/Tiny-Llama", "BF16")
    folder = stage("fp8")
    machine.weights["hf:acme/Tiny-FP8"] = hf_folder(folder, FP8_TENSORS, FP8_CONFIG)
    machine.paths["hf:acme/Tiny-FP8"] = hf_repo(machine.hub, "acme/Tiny-FP8", folder)
    add("hf:acme/Tiny-FP8", "FP8")
    folder = stage("gptq")
    machine.weights["hf:acme/Tiny-GPTQ"] = hf_folder(folder, GPTQ_TENSORS, GPTQ_CONFIG)
    machine.paths["hf:acme/Tiny-GPTQ"] = hf_repo(machine.hub, "acme/Tiny-GPTQ", folder)
    add("hf:acme/Tiny-GPTQ", "GPTQ-INT4")
    folder = stage("gguf")
    q4 = tiny_gguf(folder / "Tiny-Q4_K_M.gguf")
    q8 = tiny_gguf(folder / "Tiny-Q8_0.gguf", LlamaFileType.MOSTLY_Q8_0, main="Q8_0")
    snapshot = hf_repo(machine.hub, "acme/Tiny-GGUF", folder)
    for label, total in (("Q4_K_M", q4), ("Q8_0", q8)):
        machine.weights[f"hf:acme/Tiny-GGUF:{label}"] = total
        machine.paths[f"hf:acme/Tiny-GGUF:{label}"] = snapshot / f"Tiny-{label}.gguf"
        add(f"hf:acme/Tiny-GGUF:{label}", label)
    folder = stage("split")
    machine.weights["hf:acme/Tiny-Split-GGUF"] = split_gguf(folder / "Q4_K_M", "Tiny-Q4_K_M")
    snapshot = hf_repo(machine.hub, "acme/Tiny-Split-GGUF", folder)
    machine.paths["hf:acme/Tiny-Split-GGUF"] = snapshot / "Q4_K_M" / "Tiny-Q4_K_M-00002-of-00002.gguf"
    add("hf:acme/Tiny-Split-GGUF", "Q4_K_M")
    folder = stage("lora")
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    write_safetensors(folder / "adapter_model.safetensors",
                      [("base_model.model.layers.0.q_proj.lora_A.weight", "BF16", [8, 256])])
    hf_repo(machine.hub, "acme/Tiny-LoRA", folder)
    machine.broken.append("models--acme--Tiny-LoRA")
    folder = stage("dangling")
    tiny_gguf(folder / "Gone-Q4_K_M.gguf")
    snapshot = hf_repo(machine.hub, "acme/Gone-GGUF", folder)
    next((snapshot.parent.parent / "blobs").iterdir()).unlink()
    machine.broken.append("Gone-Q4_K_M.gguf")
    blobs = machine.hub / "models--acme--Downloading" / "blobs"
    blobs.mkdir(parents=True)
    (blobs / ("ab" * 32 + ".incomplete")).write_bytes(b"GGUF\x03\x00")
    machine.broken.append(".incomplete")

    # Ollama: two tags sharing one blob, a namespaced model with a projector, a bad manifest.
    source = staging / "ollama"
    qwen = tiny_gguf(source / "qwen.gguf", name="Qwen3 Tiny")
    blob = ollama_tag(machine.ollama, "qwen3", "32b", source / "qwen.gguf")
    ollama_tag(machine.ollama, "qwen3", "latest", source / "qwen.gguf")
    for name in ("ollama:qwen3:32b", "ollama:qwen3:latest"):
        machine.weights[name], machine.paths[name] = qwen, blob
        add(name, "Q4_K_M")
    vision = tiny_gguf(source / "vision.gguf", LlamaFileType.MOSTLY_Q8_0, main="Q8_0",
                       name="Vision Tiny")
    projector = source / "mmproj.bin"
    projector.write_bytes(b"GGUF" + bytes(60))
    blob = ollama_tag(machine.ollama, "vision", "q8", source / "vision.gguf", namespace="acme",
                      projector=projector)
    machine.weights["ollama:acme/vision:q8"] = vision
    machine.paths["ollama:acme/vision:q8"] = blob
    add("ollama:acme/vision:q8", "Q8_0")
    bad = machine.ollama / "manifests" / "registry.ollama.ai" / "library" / "broken" / "latest"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    machine.broken.append("broken/latest")

    # LM Studio: publisher/repo/file.gguf, and a file whose header is garbage.
    path = machine.lmstudio / "lmstudio-community" / "Tiny-GGUF" / "Tiny-Q5_K_M.gguf"
    machine.weights["lmstudio:lmstudio-community/Tiny-GGUF/Tiny-Q5_K_M"] = tiny_gguf(
        path, LlamaFileType.MOSTLY_Q5_K_M, main="Q5_K")
    machine.paths["lmstudio:lmstudio-community/Tiny-GGUF/Tiny-Q5_K_M"] = path
    add("lmstudio:lmstudio-community/Tiny-GGUF/Tiny-Q5_K_M", "Q5_K_M")
    garbage = machine.lmstudio / "nobody" / "Junk-GGUF" / "Junk-Q4_K_M.gguf"
    garbage.parent.mkdir(parents=True)
    garbage.write_bytes(b"GGUF" + b"\xff" * 60)
    machine.broken.append("Junk-Q4_K_M.gguf")

    # llama.cpp's legacy flat cache.
    path = machine.llama_cache / "acme_Tiny-GGUF_Tiny-Q6_K.gguf"
    machine.weights["llamacpp:acme_Tiny-GGUF_Tiny-Q6_K"] = tiny_gguf(
        path, LlamaFileType.MOSTLY_Q6_K, main="Q6_K")
    machine.paths["llamacpp:acme_Tiny-GGUF_Tiny-Q6_K"] = path
    add("llamacpp:acme_Tiny-GGUF_Tiny-Q6_K", "Q6_K")
    shutil.rmtree(staging)
    return machine


def point_at(machine: Machine, monkeypatch: object) -> None:
    """Set the environment so a scan finds `machine`'s stores (and nothing of this host's)."""
    setenv = monkeypatch.setenv  # type: ignore[attr-defined]
    setenv("HOME", str(machine.home))
    setenv("HF_HUB_CACHE", str(machine.hub))
    setenv("OLLAMA_MODELS", str(machine.ollama))
    setenv("LLAMA_CACHE", str(machine.llama_cache))
