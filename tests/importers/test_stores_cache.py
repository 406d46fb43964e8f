"""The scan cache: a warm scan reads no header and rebuilds the same models; a changed file is
read again; a corrupt or foreign cache file is rebuilt, never a crash."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from store_trees import Machine, build_machine, hf_folder, point_at

import gpufit.importers.stores as stores
from gpufit.core.catalog import Catalog
from gpufit.importers.model_import import import_model
from gpufit.importers.stores import scan_local_models
from gpufit.persist.scan_cache import CACHE_FILE


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Machine:
    built = build_machine(tmp_path)
    point_at(built, monkeypatch)
    return built


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every path the scan hands to the header readers."""
    seen: list[Path] = []

    def counting(path: Path, quants: object) -> object:
        seen.append(path)
        return import_model(path, quants)  # type: ignore[arg-type]

    monkeypatch.setattr(stores, "import_model", counting)
    return seen


def _cache_file() -> Path:
    return Path(os.environ["GPUFIT_CACHE_DIR"]) / CACHE_FILE


def _snapshot(scan: stores.LocalScan) -> dict[str, object]:
    return {model.name: (model.imported.spec, model.imported.file_weights.as_dict(),
                         model.quant_id, model.notes, model.paths, model.size_bytes)
            for model in scan.models}


def test_a_warm_scan_reads_no_header_and_rebuilds_the_same_models(
        machine: Machine, catalog: Catalog, reads: list[Path]) -> None:
    cold = scan_local_models(quants=catalog.quants)
    # Two Ollama tags share one blob: it is read once; the junk GGUF is read (and fails) once.
    assert len(reads) == len(machine.expected) - 1 + 1
    reads.clear()
    warm = scan_local_models(quants=catalog.quants)
    assert reads == []
    assert _snapshot(warm) == _snapshot(cold)
    assert [str(item) for item in warm.skipped] == [str(item) for item in cold.skipped]


def test_a_changed_file_is_read_again(machine: Machine, catalog: Catalog,
                                      reads: list[Path]) -> None:
    scan_local_models(quants=catalog.quants)
    reads.clear()
    path = machine.paths["lmstudio:lmstudio-community/Tiny-GGUF/Tiny-Q5_K_M"]
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    scan_local_models(quants=catalog.quants)
    assert reads == [path]


@pytest.mark.parametrize("content", [b"\x00\xff garbage", b"{\"layout\": 2, \"sha256\": \"x\"}\n{",
                                     b"[]", b"{\"layout\": 99, \"entries\": {}}"])
def test_a_corrupt_or_foreign_cache_file_is_rebuilt(machine: Machine, catalog: Catalog,
                                                    reads: list[Path], content: bytes) -> None:
    expected = _snapshot(scan_local_models(quants=catalog.quants))
    _cache_file().write_bytes(content)
    reads.clear()
    again = scan_local_models(quants=catalog.quants)
    assert _snapshot(again) == expected
    assert reads  # it read the headers again
    header, body = _cache_file().read_bytes().split(b"\n", 1)
    # One entry per model file read: the shared Ollama blob once, plus the junk file's failure.
    assert json.loads(header)["layout"] == 2 and len(json.loads(body)) == len(machine.expected)
    reads.clear()
    scan_local_models(quants=catalog.quants)
    assert reads == []


def test_an_edited_cache_or_changed_readers_read_every_file_again(
        machine: Machine, catalog: Catalog, reads: list[Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from gpufit.persist import scan_cache

    expected = _snapshot(scan_local_models(quants=catalog.quants))
    header, body = _cache_file().read_bytes().split(b"\n", 1)
    entries = json.loads(body)
    key = next(key for key, entry in entries.items() if "model" in entry)
    entries[key]["model"]["layers"] = 3  # a plausible edit: only the checksum tells
    _cache_file().write_bytes(header + b"\n" + json.dumps(entries).encode())
    reads.clear()
    assert _snapshot(scan_local_models(quants=catalog.quants)) == expected
    assert len(reads) == len(machine.expected) - 1 + 1
    monkeypatch.setattr(scan_cache, "reader_fingerprint", lambda: "a newer reader")
    reads.clear()
    scan_local_models(quants=catalog.quants)
    assert len(reads) == len(machine.expected) - 1 + 1


def test_an_exl2_folder_keeps_its_own_quant_from_the_cache(tmp_path: Path, catalog: Catalog,
                                                           reads: list[Path]) -> None:
    from model_files import HF_LLAMA_CONFIG

    prefix = "model.layers.0.mlp.up_proj."
    config = {**HF_LLAMA_CONFIG, "torch_dtype": "float16",
              "quantization_config": {"quant_method": "exl2", "bits": 4.65}}
    hf_folder(tmp_path / "models" / "Tiny-EXL2", [
        ("model.embed_tokens.weight", "F16", [512, 256]), (prefix + "q_weight", "I32", [150, 512]),
        (prefix + "q_invperm", "I32", [256]), (prefix + "q_scale", "I32", [2, 64]),
        (prefix + "q_scale_max", "F16", [512]), (prefix + "q_groups", "I16", [4])], config)
    cold = scan_local_models([], [tmp_path / "models"], catalog.quants)
    warm = scan_local_models([], [tmp_path / "models"], catalog.quants)
    assert len(reads) == 1
    (first,), (second,) = cold.models, warm.models
    assert second.quant_id == "EXL2-4.65"
    assert second.imported.quant == first.imported.quant
    assert second.imported.quant is not None and second.imported.quant.id == "EXL2-4.65"


def test_scans_from_two_threads_at_once_agree(machine: Machine, catalog: Catalog) -> None:
    results: list[stores.LocalScan] = []
    threads = [threading.Thread(target=lambda: results.append(
        scan_local_models(quants=catalog.quants))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2 and _snapshot(results[0]) == _snapshot(results[1])
    entries = json.loads(_cache_file().read_bytes().split(b"\n", 1)[1])
    assert len(entries) == len(machine.expected) - 1 + 1  # shared blob once, junk failure once
