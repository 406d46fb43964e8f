"""Saving imported models into the user catalog: round trip, replacement, unreadable files kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from gguf import LlamaFileType
from model_files import LLAMA_METADATA, llama_tensors, write_gguf

from gpufit.core.catalog import Catalog, load_catalog
from gpufit.core.estimate import estimate
from gpufit.core.specs import Hardware, Workload
from gpufit.importers.model_import import import_model
from gpufit.persist.user_catalog import IMPORTED_FILE, save_imported_model


@pytest.fixture()
def imported(tmp_path: Path, catalog: Catalog):
    path = tmp_path / "Tiny-Q4_K_M.gguf"
    write_gguf(path, "llama", LLAMA_METADATA, llama_tensors(), LlamaFileType.MOSTLY_Q4_K_M)
    return import_model(path, catalog.quants)


def test_saved_model_loads_back_with_its_exact_weights(tmp_path: Path, imported) -> None:
    directory = tmp_path / "catalog"
    saved = save_imported_model(imported.spec, directory)
    assert saved.path == directory / IMPORTED_FILE and not saved.replaced
    reloaded = load_catalog(extra_dirs=[directory])
    assert reloaded.issues == []
    spec = reloaded.models[imported.spec.id]
    assert spec == imported.spec  # every architecture field survives
    assert spec.file_weights is not None
    assert spec.file_weights.breakdown == imported.file_weights.breakdown
    assert spec.file_weights.layer_tensors == imported.file_weights.layer_tensors
    quant = reloaded.quants[imported.quant_id]
    hardware, workload = Hardware(reloaded.gpus["rtx-4090"]), Workload(context_tokens=1024)
    assert estimate(spec, quant, hardware, workload).memory.weights_bytes \
        == imported.file_weights.breakdown.total_bytes


def test_saving_again_replaces_the_entry_and_keeps_others(tmp_path: Path, imported) -> None:
    directory = tmp_path / "catalog"
    other = imported.spec.__class__(**{**{name: getattr(imported.spec, name)
                                          for name in imported.spec.__slots__},
                                       "id": "local-other"})
    save_imported_model(other, directory)
    save_imported_model(imported.spec, directory)
    again = save_imported_model(imported.spec, directory)
    assert again.replaced
    models = load_catalog(extra_dirs=[directory]).models
    assert "local-other" in models and imported.spec.id in models


def test_an_unreadable_file_is_kept_aside_not_overwritten(tmp_path: Path, imported) -> None:
    directory = tmp_path / "catalog"
    directory.mkdir()
    broken = directory / IMPORTED_FILE
    broken.write_text("[[model]\nthis is not toml")
    saved = save_imported_model(imported.spec, directory)
    assert saved.moved_aside is not None
    assert saved.moved_aside.read_text() == "[[model]\nthis is not toml"
    assert imported.spec.id in load_catalog(extra_dirs=[directory]).models


def test_a_damaged_file_weights_table_is_named_on_load(tmp_path: Path, imported) -> None:
    directory = tmp_path / "catalog"
    saved = save_imported_model(imported.spec, directory)
    text = saved.path.read_text().replace("total_bytes = ", "total_bytes = 1 + ", 1)
    saved.path.write_text(text.replace("total_bytes = 1 + ", "total_bytes = -", 1))
    loaded = load_catalog(extra_dirs=[directory])
    assert imported.spec.id not in loaded.models
    assert any(issue.entry == imported.spec.id and issue.field == "file_weights"
               for issue in loaded.issues)


def test_a_saved_exl2_model_brings_its_bitrate_back(tmp_path: Path, imported) -> None:
    from dataclasses import replace

    file_weights = replace(imported.file_weights, quant_id="EXL2-4.65")
    spec = replace(imported.spec, file_weights=file_weights)
    directory = tmp_path / "catalog"
    save_imported_model(spec, directory)
    reloaded = load_catalog(extra_dirs=[directory])
    assert "EXL2-4.65" in reloaded.quants  # derived, so the exact weights still apply
    result = estimate(reloaded.models[spec.id], reloaded.quants["EXL2-4.65"],
                      Hardware(reloaded.gpus["rtx-4090"]), Workload(context_tokens=1024))
    assert result.memory.weights_bytes == file_weights.breakdown.total_bytes


def test_saving_the_same_model_again_does_not_rewrite_the_file(tmp_path: Path, imported) -> None:
    directory = tmp_path / "catalog"
    first = save_imported_model(imported.spec, directory)
    stamp = first.path.stat().st_mtime_ns
    again = save_imported_model(imported.spec, directory)
    assert not again.written and again.replaced
    assert first.path.stat().st_mtime_ns == stamp
