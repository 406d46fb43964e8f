"""The models on this machine: every store found from its environment, named as the store names
it, read exactly (the same weights as opening the file by path), broken entries skipped."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from model_files import HF_LLAMA_CONFIG, hf_llama_tensors, write_safetensors
from store_trees import Machine, build_machine, hf_folder, ollama_tag, point_at, tiny_gguf

from gpufit.core.catalog import Catalog
from gpufit.importers.model_import import import_model
from gpufit.importers.stores import (
    LocalLookupError,
    find_local,
    is_store_name,
    scan_local_models,
)


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Machine:
    built = build_machine(tmp_path)
    point_at(built, monkeypatch)
    return built


def test_every_valid_model_is_found_with_its_file_quant_and_exact_weights(
        machine: Machine, catalog: Catalog) -> None:
    scan = scan_local_models(quants=catalog.quants)
    assert len(machine.expected) >= 10
    assert {model.name: model.quant_id for model in scan.models} == machine.expected
    for model in scan.models:
        # model_files sums each tensor from ggml's block sizes / dtype widths, independently.
        assert model.weights_bytes == machine.weights[model.name], model.name
    assert scan.status == f"{len(machine.expected)} models on this machine " \
                          f"({len(scan.skipped)} skipped)"
    assert scan.problems == ()


def test_the_numbers_are_those_of_opening_the_file_by_path(machine: Machine,
                                                           catalog: Catalog) -> None:
    scan = scan_local_models(quants=catalog.quants)
    for model in scan.models:
        opened = import_model(machine.paths[model.name], catalog.quants)
        assert model.imported.file_weights.as_dict() == opened.file_weights.as_dict(), model.name
        assert model.imported.quant_id == opened.quant_id
        fields = ("layers", "hidden_size", "kv_heads", "head_dim", "vocab_size",
                  "max_context_tokens", "params_total_published")
        assert [getattr(model.imported.spec, name) for name in fields] == \
            [getattr(opened.spec, name) for name in fields]


def test_broken_entries_are_skipped_each_with_a_one_line_reason(machine: Machine,
                                                                catalog: Catalog) -> None:
    scan = scan_local_models(quants=catalog.quants)
    reasons = {marker: [item.reason for item in scan.skipped if marker in item.path]
               for marker in machine.broken}
    assert all(reasons.values()), reasons
    assert "broken symlink" in reasons["Gone-Q4_K_M.gguf"][0]
    assert ".incomplete" in reasons[".incomplete"][0]
    assert "LoRA adapter" in reasons["models--acme--Tiny-LoRA"][0]
    assert "not valid JSON" in reasons["broken/latest"][0]
    assert "GGUF version" in reasons["Junk-Q4_K_M.gguf"][0]
    assert all("\n" not in item.reason for item in scan.skipped)
    assert len(scan.skipped) == len(machine.broken)


def test_names_follow_each_store(machine: Machine, catalog: Catalog) -> None:
    scan = scan_local_models(quants=catalog.quants)
    by_name = {model.name: model for model in scan.models}
    # Ollama leaves out its default registry and the `library` namespace, keeps others.
    assert {"ollama:qwen3:32b", "ollama:qwen3:latest", "ollama:acme/vision:q8"} <= set(by_name)
    first, second = by_name["ollama:qwen3:32b"], by_name["ollama:qwen3:latest"]
    assert first.paths == second.paths and first.imported.spec.id != second.imported.spec.id
    assert any("vision projector" in note for note in by_name["ollama:acme/vision:q8"].notes)
    split = by_name["hf:acme/Tiny-Split-GGUF"]
    assert len(split.paths) == 2 and all("blobs" in path for path in split.paths)
    assert all(is_store_name(name) for name in by_name)
    assert by_name["hf:acme/Tiny-Llama"].imported.spec.name == "hf:acme/Tiny-Llama"
    assert len({model.imported.spec.id for model in scan.models}) == len(scan.models)


def test_size_on_disk_and_mtime_come_from_the_files(tmp_path: Path, catalog: Catalog,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "ollama"
    weights = tiny_gguf(tmp_path / "big.gguf")
    blob = ollama_tag(store, "big", "latest", tmp_path / "big.gguf")
    os.truncate(blob, 20 * 10**9)  # sparse: looks like a 20 GB model, takes no disk
    os.utime(blob, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    monkeypatch.setenv("OLLAMA_MODELS", str(store))
    (model,) = scan_local_models(quants=catalog.quants).models
    assert model.size_bytes == 20 * 10**9
    assert model.mtime == 1_700_000_000
    assert model.weights_bytes == weights


def test_each_store_is_found_where_its_tool_puts_it(tmp_path: Path, catalog: Catalog,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    for variable in ("HF_HUB_CACHE", "HF_HOME", "OLLAMA_MODELS", "LLAMA_CACHE",
                     "XDG_CACHE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    tiny_gguf(home / ".cache" / "lm-studio" / "models" / "old" / "Repo" / "A-Q4_K_M.gguf")
    tiny_gguf(home / ".cache" / "llama.cpp" / "B-Q4_K_M.gguf")
    ollama_tag(home / ".ollama" / "models", "c", "7b", home / ".cache" / "llama.cpp" / "B-Q4_K_M.gguf")
    snapshot = home / ".cache" / "huggingface" / "hub" / "models--x--D" / "snapshots" / "r"
    tiny_gguf(snapshot / "D-Q4_K_M.gguf")
    names = {model.name for model in scan_local_models(quants=catalog.quants).models}
    assert names == {"lmstudio:old/Repo/A-Q4_K_M", "llamacpp:B-Q4_K_M", "ollama:c:7b",
                     "hf:x/D"}
    # The environment replaces the default, as each tool reads it.
    monkeypatch.setenv("HF_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "no-ollama"))
    names = {model.name for model in scan_local_models(quants=catalog.quants).models}
    assert names == {"lmstudio:old/Repo/A-Q4_K_M", "llamacpp:B-Q4_K_M"}
    monkeypatch.setenv("HF_HUB_CACHE", str(home / ".cache" / "huggingface" / "hub"))
    names = {model.name for model in scan_local_models(quants=catalog.quants).models}
    assert "hf:x/D" in names


def test_user_folders_from_settings_and_the_flag(tmp_path: Path, catalog: Catalog) -> None:
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    weights = hf_folder(mine / "Tiny-HF", hf_llama_tensors())
    tiny_gguf(mine / "ggufs" / "Solo-Q4_K_M.gguf")
    ollama_tag(theirs, "shared", "1b", mine / "ggufs" / "Solo-Q4_K_M.gguf")
    scan = scan_local_models([str(mine)], [theirs], catalog.quants)
    by_name = {model.name: model for model in scan.models}
    assert set(by_name) == {"folder:mine/Tiny-HF", "folder:mine/ggufs/Solo-Q4_K_M",
                            "ollama:shared:1b"}
    assert by_name["folder:mine/Tiny-HF"].weights_bytes == weights
    scan = scan_local_models([], [tmp_path / "missing"], catalog.quants)
    assert scan.models == () and "not a folder" in scan.status


def test_a_symlink_loop_and_linked_folders_are_not_followed(tmp_path: Path,
                                                            catalog: Catalog) -> None:
    root = tmp_path / "models"
    tiny_gguf(root / "a" / "One-Q4_K_M.gguf")
    (root / "a" / "loop").symlink_to(root, target_is_directory=True)
    (root / "b").symlink_to(root / "a", target_is_directory=True)
    scan = scan_local_models([], [root], catalog.quants)
    assert [model.name for model in scan.models] == ["folder:models/a/One-Q4_K_M"]


def test_bad_data_never_stops_the_scan(tmp_path: Path, catalog: Catalog,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "ollama"
    tiny_gguf(tmp_path / "ok.gguf")
    ollama_tag(store, "ok", "latest", tmp_path / "ok.gguf")
    manifests = store / "manifests" / "registry.ollama.ai" / "library"
    cases = {"list": "[1, 2]", "nolayers": "{}", "baddigest": json.dumps(
        {"layers": [{"mediaType": "application/vnd.ollama.image.model", "digest": "md5:x"}]}),
        "noblob": json.dumps({"layers": [{"mediaType": "application/vnd.ollama.image.model",
                                          "digest": "sha256:" + "ab" * 32}]}),
        "adapter": json.dumps({"layers": [{"mediaType": "application/vnd.ollama.image.adapter",
                                           "digest": "sha256:" + "cd" * 32}]}),
        "binary": "\udcff"}
    for name, text in cases.items():
        (manifests / name).mkdir(parents=True)
        (manifests / name / "latest").write_bytes(text.encode("utf-8", "surrogateescape"))
    (manifests / "dir" / "latest").mkdir(parents=True)  # a folder where a tag file should be
    (store / "blobs" / ("sha256-" + "ef" * 32 + "-partial")).write_bytes(b"\0" * 10)
    bad_hf = tmp_path / "folder" / "BadConfig"
    bad_hf.mkdir(parents=True)
    (bad_hf / "config.json").write_text("{not json")
    write_safetensors(bad_hf / "model.safetensors", hf_llama_tensors())
    (tmp_path / "folder" / "empty.gguf").write_bytes(b"")
    monkeypatch.setenv("OLLAMA_MODELS", str(store))
    scan = scan_local_models([], [tmp_path / "folder"], catalog.quants)
    assert [model.name for model in scan.models] == ["ollama:ok:latest"]
    reasons = " | ".join(item.reason for item in scan.skipped)
    for expected in ("not valid JSON", "no layers list", "not sha256", "blob is missing",
                     "LoRA adapter", "-partial", "config.json", "empty"):
        assert expected in reasons, expected
    assert len(scan.skipped) == 9


def test_a_store_that_cannot_be_listed_is_named_in_the_status(
        machine: Machine, catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    # Root reads through file modes, so refuse the listing itself.
    real = os.scandir

    def refuse(path: object = ".") -> object:
        if str(path) == str(machine.ollama):
            raise PermissionError(13, "Permission denied")
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", refuse)
    scan = scan_local_models(quants=catalog.quants)
    assert not any(model.store == "ollama" for model in scan.models)
    assert any(model.store == "hf" for model in scan.models)
    assert f"cannot read the Ollama store at {machine.ollama}: Permission denied" in scan.status


def test_lookup_by_store_name(machine: Machine, catalog: Catalog) -> None:
    scan = scan_local_models(quants=catalog.quants)
    assert find_local(scan, "ollama:qwen3").name == "ollama:qwen3:latest"
    assert find_local(scan, "OLLAMA:Qwen3:32B").name == "ollama:qwen3:32b"
    assert find_local(scan, "hf:acme/Tiny-GGUF", "Q8_0").name == "hf:acme/Tiny-GGUF:Q8_0"
    with pytest.raises(LocalLookupError, match=r"names 2 local models: .*Q4_K_M.*Q8_0"):
        find_local(scan, "hf:acme/Tiny-GGUF")
    with pytest.raises(LocalLookupError, match="did you mean: hf:acme/Tiny-Llama"):
        find_local(scan, "hf:acme/Tiny-Lama")
    assert not is_store_name("meta-llama/Llama-3.1-8B") and not is_store_name("./x.gguf")


def test_config_and_weights_in_one_snapshot_and_no_weights(tmp_path: Path, catalog: Catalog,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    hub = tmp_path / "hub"
    snapshot = hub / "models--acme--Both" / "snapshots" / "r"
    hf_folder(snapshot, hf_llama_tensors())
    tiny_gguf(snapshot / "Both-Q4_K_M.gguf")
    only_config = hub / "models--acme--ConfigOnly" / "snapshots" / "r"
    only_config.mkdir(parents=True)
    (only_config / "config.json").write_text(json.dumps(HF_LLAMA_CONFIG))
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    scan = scan_local_models(quants=catalog.quants)
    assert {model.name for model in scan.models} == {"hf:acme/Both", "hf:acme/Both:Q4_K_M"}
    assert [item.reason for item in scan.skipped] == [
        "acme/ConfigOnly holds a config.json but no weights (only some files were downloaded?)"]


def test_the_snapshot_refs_main_names_is_read_else_the_newest(
        tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    from gguf import LlamaFileType

    repo = tmp_path / "hub" / "models--acme--Revs"
    old = tiny_gguf(repo / "snapshots" / "old" / "Revs.gguf")
    new = tiny_gguf(repo / "snapshots" / "new" / "Revs.gguf", LlamaFileType.MOSTLY_Q8_0,
                    main="Q8_0")
    os.utime(repo / "snapshots" / "old", ns=(10**18, 10**18))
    os.utime(repo / "snapshots" / "new", ns=(2 * 10**18, 2 * 10**18))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    (model,) = scan_local_models(quants=catalog.quants).models
    assert (model.quant_id, model.weights_bytes) == ("Q8_0", new)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("old\n")
    (model,) = scan_local_models(quants=catalog.quants).models
    assert (model.quant_id, model.weights_bytes) == ("Q4_K_M", old)


def test_a_named_pipe_as_a_manifest_is_skipped_without_blocking(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 catalog: Catalog) -> None:
    import os

    manifests = tmp_path / "ollama" / "manifests" / "registry.ollama.ai" / "library" / "pipe"
    manifests.mkdir(parents=True)
    (tmp_path / "ollama" / "blobs").mkdir()
    os.mkfifo(manifests / "latest")
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "ollama"))
    scan = scan_local_models(quants=catalog.quants, use_cache=False)
    assert scan.models == ()
    assert any("cannot read the manifest" in item.reason for item in scan.skipped)
