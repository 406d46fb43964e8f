"""Hub lookups against a fake Hub on 127.0.0.1: exact weights from headers alone, then offline."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fake_hub import FakeHub
from gguf import GGUFReader, LlamaFileType
from model_files import (
    HF_LLAMA_CONFIG,
    LLAMA_METADATA,
    hf_llama_tensors,
    llama_tensors,
    write_gguf,
    write_safetensors,
)

from gpufit.core.catalog import Catalog
from gpufit.core.specs import ModelSpec
from gpufit.importers import hub_gguf
from gpufit.importers.hub import hub_listing, hub_model, parse_hub_ref
from gpufit.importers.hub_fetch import HubError
from gpufit.importers.hub_gguf import gguf_label
from gpufit.importers.model_import import ImportedModel, import_model

SAFETENSORS_REPO = "acme/Tiny-Llama"
GGUF_REPO = "acme/Tiny-Llama-GGUF"


@pytest.fixture()
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    server = FakeHub()
    monkeypatch.setenv("HF_ENDPOINT", server.start())
    yield server
    server.stop()


def _files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture()
def hf_folder(tmp_path: Path) -> Path:
    """A sharded Hugging Face folder: config.json, an index and two shards."""
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(HF_LLAMA_CONFIG))
    tensors = hf_llama_tensors()
    halves = {"model-00001-of-00002.safetensors": tensors[:11],
              "model-00002-of-00002.safetensors": tensors[11:]}
    for name, part in halves.items():
        write_safetensors(folder / name, part)
    weight_map = {name: shard for shard, part in halves.items() for name, _dtype, _shape in part}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    (folder / "README.md").write_text("# Tiny Llama\n")
    return folder


@pytest.fixture()
def gguf_folder(tmp_path: Path) -> Path:
    """A GGUF repo: two single-file quants, a quant split in two parts, and a projector."""
    folder = tmp_path / "gguf"
    folder.mkdir()
    write_gguf(folder / "Tiny-Llama-Q4_K_M.gguf", "llama", LLAMA_METADATA, llama_tensors(),
               LlamaFileType.MOSTLY_Q4_K_M, vocab=512)
    write_gguf(folder / "Tiny-Llama-Q8_0.gguf", "llama", LLAMA_METADATA,
               llama_tensors(main="Q8_0", head="Q8_0"), LlamaFileType.MOSTLY_Q8_0, vocab=512)
    tensors = llama_tensors(main="Q6_K", head="Q6_K")
    split = folder / "Q6_K"
    split.mkdir()
    write_gguf(split / "Tiny-Llama-Q6_K-00001-of-00002.gguf", "llama", LLAMA_METADATA,
               tensors[:10], LlamaFileType.MOSTLY_Q6_K, vocab=512)
    write_gguf(split / "Tiny-Llama-Q6_K-00002-of-00002.gguf", "llama", {}, tensors[10:], name=None)
    write_gguf(folder / "mmproj-Tiny-F16.gguf", "clip", {}, [("v.weight", (32, 32), "F16")])
    return folder


def _same_weights(remote: ImportedModel, local: ImportedModel) -> None:
    assert remote.quant_id == local.quant_id
    ours, theirs = remote.file_weights, local.file_weights
    assert ours.breakdown == theirs.breakdown
    assert ours.layer_tensors == theirs.layer_tensors
    assert ours.bytes_by_type == theirs.bytes_by_type
    assert ours.label == theirs.label and ours.format == theirs.format
    # Every architecture field too: only the names and where it came from differ.
    def architecture(model: ImportedModel) -> ModelSpec:
        return replace(model.spec, id="", name="", family="", source="", aliases=(),
                       file_weights=None)

    assert architecture(remote) == architecture(local)


def _json_header_bytes(path: Path) -> int:
    # The safetensors layout: an 8-byte little-endian length, then that many bytes of JSON.
    return 8 + int.from_bytes(path.read_bytes()[:8], "little")


def test_a_sharded_safetensors_repo_reads_exactly_from_its_headers(
        fake_hub: FakeHub, hf_folder: Path, catalog: Catalog) -> None:
    fake_hub.add(SAFETENSORS_REPO, _files(hf_folder))
    steps: list[tuple[str, int, int]] = []
    found = hub_model(SAFETENSORS_REPO, catalog.quants,
                      progress=lambda *step: steps.append(step))
    _same_weights(found.imported, import_model(hf_folder, catalog.quants))
    assert found.file_format == "safetensors" and found.chosen is None
    assert found.imported.spec.id == "hub-acme-tiny-llama"
    assert found.imported.spec.aliases == (SAFETENSORS_REPO,)
    for shard in ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"):
        # Only the length and the JSON header of each shard crossed the wire, nothing of the data.
        assert fake_hub.bytes_for(shard) == _json_header_bytes(hf_folder / shard)
        assert (hf_folder / shard).stat().st_size > 10 * _json_header_bytes(hf_folder / shard)
    assert fake_hub.bytes_for("README.md") == 0
    assert steps[-1] == ("headers", 2, 2)
    assert found.bytes_fetched == sum(item.body_bytes for item in fake_hub.served
                                      if "/resolve/" in item.path)


def test_a_gptq_repo_counts_packed_weights_as_a_local_folder_does(
        fake_hub: FakeHub, tmp_path: Path, catalog: Catalog) -> None:
    config = {**HF_LLAMA_CONFIG, "torch_dtype": "float16",
              "quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 128}}
    folder = tmp_path / "gptq"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    write_safetensors(folder / "model.safetensors", [
        ("model.embed_tokens.weight", "F16", [512, 256]),
        ("model.layers.0.mlp.up_proj.qweight", "I32", [256 // 8, 512]),
        ("model.layers.0.mlp.up_proj.qzeros", "I32", [2, 512 // 8]),
        ("model.layers.0.mlp.up_proj.scales", "F16", [2, 512])])
    fake_hub.add("acme/Tiny-GPTQ", _files(folder))
    found = hub_model("acme/Tiny-GPTQ", catalog.quants)
    _same_weights(found.imported, import_model(folder, catalog.quants))
    assert found.imported.quant_id == "GPTQ-INT4"
    # 8 four-bit weights per int32 word.
    assert found.imported.file_weights.breakdown.params_by_group["dense_mlp"] == 256 * 512


def test_a_gguf_repo_offers_each_quant_with_its_exact_size(
        fake_hub: FakeHub, gguf_folder: Path) -> None:
    fake_hub.add(GGUF_REPO, _files(gguf_folder))
    listing = hub_listing(GGUF_REPO)
    sizes = {path.name: path.stat().st_size for path in gguf_folder.rglob("*.gguf")}
    offered = {choice.label: choice.size_bytes for choice in listing.choices}
    assert offered == {
        "Q4_K_M": sizes["Tiny-Llama-Q4_K_M.gguf"], "Q8_0": sizes["Tiny-Llama-Q8_0.gguf"],
        "Q6_K": sizes["Tiny-Llama-Q6_K-00001-of-00002.gguf"]
        + sizes["Tiny-Llama-Q6_K-00002-of-00002.gguf"]}
    assert not listing.safetensors
    assert all(item.path.startswith("/api/models/") for item in fake_hub.served)


@pytest.mark.parametrize(("quant", "local_name"), [
    ("Q4_K_M", "Tiny-Llama-Q4_K_M.gguf"), ("q8_0", "Tiny-Llama-Q8_0.gguf"),
    ("Q6_K", "Q6_K/Tiny-Llama-Q6_K-00001-of-00002.gguf")])
def test_the_chosen_gguf_reads_like_the_local_file(
        fake_hub: FakeHub, gguf_folder: Path, catalog: Catalog, quant: str, local_name: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A small first read makes the lookup grow its range as it would for a real vocabulary.
    monkeypatch.setattr(hub_gguf, "GGUF_FIRST_BYTES", 512)
    fake_hub.add(GGUF_REPO, _files(gguf_folder))
    found = hub_model(GGUF_REPO, catalog.quants, quant=quant)
    local = import_model(gguf_folder / local_name, catalog.quants)
    _same_weights(found.imported, local)
    assert found.chosen is not None and found.chosen.label == quant.upper()
    assert found.imported.spec.aliases == (f"{GGUF_REPO}:{quant.upper()}",)
    for path in gguf_folder.rglob("*.gguf"):
        served = fake_hub.bytes_for(path.relative_to(gguf_folder).as_posix())
        if path.name.startswith(Path(local_name).name.split("-0000")[0].removesuffix(".gguf")):
            # The header (up to the aligned start of the data), read in doubling ranges.
            header = GGUFReader(path).data_offset
            assert 0 < served <= max(2 * header, 512)
            assert served < path.stat().st_size
        else:
            assert served == 0  # the other quants were never touched


def test_a_gguf_repo_without_a_quant_lists_what_it_offers(
        fake_hub: FakeHub, gguf_folder: Path, catalog: Catalog) -> None:
    fake_hub.add(GGUF_REPO, _files(gguf_folder))
    with pytest.raises(HubError, match=r"offers 3 GGUF quants: Q4_K_M \(0\.\d\d GB\), .*Q8_0"
                                       r".*name one as acme/Tiny-Llama-GGUF:QUANT") as error:
        hub_model(GGUF_REPO, catalog.quants)
    assert error.value.kind == "choose_quant"
    with pytest.raises(HubError, match=r"no IQ2_XS GGUF in the repo; it offers Q4_K_M"):
        hub_model(GGUF_REPO, catalog.quants, quant="IQ2_XS")


def test_a_second_lookup_needs_no_server(
        fake_hub: FakeHub, hf_folder: Path, gguf_folder: Path, catalog: Catalog,
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake_hub.add(SAFETENSORS_REPO, _files(hf_folder))
    fake_hub.add(GGUF_REPO, _files(gguf_folder))
    first = hub_model(SAFETENSORS_REPO, catalog.quants)
    first_gguf = hub_model(GGUF_REPO, catalog.quants, quant="Q4_K_M")
    fake_hub.stop()
    again = hub_model(SAFETENSORS_REPO, catalog.quants)
    again_gguf = hub_model(GGUF_REPO, catalog.quants, quant="Q4_K_M")
    assert again.bytes_fetched == 0 and again_gguf.bytes_fetched == 0
    _same_weights(again.imported, first.imported)
    _same_weights(again_gguf.imported, first_gguf.imported)
    assert again.commit == first.commit
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_model(SAFETENSORS_REPO, catalog.quants).imported.spec == again.imported.spec
    # A quant never looked up needs the network, and says so.
    with pytest.raises(HubError, match="offline \\(HF_HUB_OFFLINE is set\\)") as error:
        hub_model(GGUF_REPO, catalog.quants, quant="Q8_0")
    assert error.value.kind == "offline"


def test_a_damaged_cache_is_fetched_again(
        fake_hub: FakeHub, hf_folder: Path, catalog: Catalog) -> None:
    from gpufit.importers.hub_cache import HubCache

    fake_hub.add(SAFETENSORS_REPO, _files(hf_folder))
    first = hub_model(SAFETENSORS_REPO, catalog.quants)
    cache = HubCache(SAFETENSORS_REPO)
    (cache.folder / f"{first.commit}.json").write_text("{not json")
    for head in (cache.folder / "heads").iterdir():
        head.write_bytes(b"garbage")
    again = hub_model(SAFETENSORS_REPO, catalog.quants)
    assert again.bytes_fetched > 0
    _same_weights(again.imported, first.imported)
    fake_hub.stop()
    assert hub_model(SAFETENSORS_REPO, catalog.quants).bytes_fetched == 0


@pytest.mark.parametrize(("behaviour", "kind", "message"), [
    ({"status": 401, "error_code": "GatedRepo"}, "gated",
     "401 gated or private repo: accept the licence on the Hub and set HF_TOKEN"),
    ({"status": 403}, "gated", "403 gated or private repo: accept the licence on the Hub and set "
                               "HF_TOKEN"),
    ({"status": 401, "error_code": "RepoNotFound"}, "not_found",
     "404 no such model repo on the Hub \\(or a private one: set HF_TOKEN\\)"),
    ({"gated_files": True}, "gated",
     "401 gated or private repo: accept the licence on the Hub and set HF_TOKEN"),
    ({"status": 429}, "rate_limit", "429 rate limit: the Hub refuses more requests"),
    ({"status": 503}, "http", "the Hub answered HTTP 503"),
    ({"delay_s": 1.5}, "timeout", "timeout: http://127.0.0.1:\\d+ did not answer within 0.3 s"),
])
def test_each_failure_is_named_in_one_line(
        fake_hub: FakeHub, hf_folder: Path, catalog: Catalog, behaviour: dict[str, object],
        kind: str, message: str) -> None:
    fake_hub.add("acme/broken", _files(hf_folder), **behaviour)
    with pytest.raises(HubError, match=f"^acme/broken: {message}") as error:
        hub_model("acme/broken", catalog.quants, timeout_s=0.3)
    assert error.value.kind == kind
    assert "\n" not in str(error.value)


def test_missing_repos_weightless_repos_and_cut_answers(
        fake_hub: FakeHub, hf_folder: Path, catalog: Catalog) -> None:
    with pytest.raises(HubError, match=r"^nobody/nothing: 404 no such model repo on the Hub;"):
        hub_model("nobody/nothing", catalog.quants)
    fake_hub.add("acme/pytorch-only", {"config.json": b"{}", "pytorch_model.bin": b"\0" * 64})
    with pytest.raises(HubError, match=r"no \.gguf files and no config\.json with \.safetensors "
                                       r"files \(it has pytorch_model\.bin\)") as error:
        hub_model("acme/pytorch-only", catalog.quants)
    assert error.value.kind == "no_weights"
    fake_hub.add("acme/cut", _files(hf_folder), cut_resolve=True)
    with pytest.raises(HubError, match=r"^acme/cut: the Hub's answer for .* was cut short") as error:
        hub_model("acme/cut", catalog.quants)
    assert error.value.kind == "truncated"
    with pytest.raises(HubError, match="no such revision"):
        fake_hub.add(SAFETENSORS_REPO, _files(hf_folder))
        hub_model(SAFETENSORS_REPO, catalog.quants, revision="v9")


def test_no_network_is_named(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    # The test conftest points HF_ENDPOINT at a closed port on this machine.
    with pytest.raises(HubError, match=r"^acme/x: offline: cannot connect to http://127\.0\.0\.1:9 "
                                       r"\(") as error:
        hub_model("acme/x", catalog.quants, timeout_s=2)
    assert error.value.kind == "offline"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubError, match=r"^acme/x: offline \(HF_HUB_OFFLINE is set\) and the "
                                       r"cache has no file list"):
        hub_model("acme/x", catalog.quants)


def test_a_dns_failure_is_named() -> None:
    import socket

    import httpx2

    from gpufit.importers.hub_fetch import HubConnection, named_error

    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as cause:
            raise httpx2.ConnectError("[Errno -2] Name or service not known") from cause
    except httpx2.ConnectError as error:
        named = named_error(HubConnection("acme/x", 1.0), error, "the file list")
    assert named.kind == "dns"
    assert "DNS: cannot resolve 127.0.0.1:9" in named.problem


@pytest.mark.parametrize(("text", "expected"), [
    ("meta-llama/Llama-3.1-8B", ("meta-llama/Llama-3.1-8B", None, None)),
    ("org/name:Q4_K_M", ("org/name", "Q4_K_M", None)),
    ("org/name@v1.0", ("org/name", None, "v1.0")),
    ("org/name@refs/pr/1:Q8_0", ("org/name", "Q8_0", "refs/pr/1")),
    ("llama-3.1-8b", None), ("./models/x.gguf", None), ("org/name/extra", None),
    ("org/name:Q4:Q8", None), ("/abs/path", None),
])
def test_hub_references_parse(text: str, expected: tuple[str, str | None, str | None] | None) -> None:
    ref = parse_hub_ref(text)
    assert (None if ref is None else (ref.repo_id, ref.quant, ref.revision)) == expected


@pytest.mark.parametrize(("name", "label"), [
    ("Llama-3.1-8B-Instruct-Q4_K_M.gguf", "Q4_K_M"),
    ("qwen2.5-7b-instruct-q5_k_m-00001-of-00002.gguf", "Q5_K_M"),
    ("UD-Q4_K_XL/Model-UD-Q4_K_XL-00001-of-00003.gguf", "UD-Q4_K_XL"),
    ("BF16/Model-BF16-00001-of-00002.gguf", "BF16"),
    ("model.IQ2_XXS.gguf", "IQ2_XXS"), ("gpt-oss-20b-MXFP4.gguf", "MXFP4"),
    ("ggml-model-f16.gguf", "F16"), ("model.gguf", "model"),
])
def test_gguf_labels_come_from_file_names(name: str, label: str) -> None:
    assert gguf_label(name) == label


def test_sizes_in_the_offer_are_exact_file_sizes(fake_hub: FakeHub, tmp_path: Path) -> None:
    data = b"GGUF" + bytes(1000)
    fake_hub.add("acme/one", {"m-Q4_0.gguf": data, "m-Q8_0.gguf": data * 2})
    listing = hub_listing("acme/one")
    assert [(choice.label, choice.size_bytes) for choice in listing.choices] \
        == [("Q4_0", 1004), ("Q8_0", 2008)]
    assert math.isclose(sum(choice.size_bytes for choice in listing.choices), 3012)


def test_a_hub_model_saved_to_the_user_catalog_loads_back_the_same(
        fake_hub: FakeHub, hf_folder: Path, catalog: Catalog, tmp_path: Path) -> None:
    # What `a` does in the app: the saved entry answers to org/name from then on, offline.
    from gpufit.core.catalog import load_catalog
    from gpufit.core.resolve import resolve
    from gpufit.persist.user_catalog import save_imported_model

    fake_hub.add(SAFETENSORS_REPO, _files(hf_folder))
    found = hub_model(SAFETENSORS_REPO, catalog.quants)
    save_imported_model(found.imported.spec, tmp_path / "user-catalog")
    loaded = load_catalog(extra_dirs=[tmp_path / "user-catalog"])
    assert loaded.issues == []
    again = resolve(loaded.models, SAFETENSORS_REPO, "model")
    assert again.file_weights == found.imported.spec.file_weights
    assert again.source == found.imported.spec.source


def test_hf_token_opens_a_gated_repo(fake_hub: FakeHub, hf_folder: Path, catalog: Catalog,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fake_hub.add("acme/licensed", _files(hf_folder), token="hf_test_token")
    with pytest.raises(HubError, match="set HF_TOKEN") as error:
        hub_model("acme/licensed", catalog.quants)
    assert error.value.kind == "gated"
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    found = hub_model("acme/licensed", catalog.quants)
    _same_weights(found.imported, import_model(hf_folder, catalog.quants))


def test_what_a_user_types_is_looked_up_at_its_revision_and_quant(
        fake_hub: FakeHub, gguf_folder: Path, catalog: Catalog) -> None:
    from gpufit.importers.hub import hub_model_for

    repo = fake_hub.add(GGUF_REPO, _files(gguf_folder))
    found = hub_model_for(f"{GGUF_REPO}@{repo.commit}:Q8_0", catalog.quants)
    assert found.commit == repo.commit and found.imported.quant_id == "Q8_0"
    assert any(item.path == f"/api/models/{GGUF_REPO}/revision/{repo.commit}"
               for item in fake_hub.served)
    with pytest.raises(HubError, match="not a Hub model"):
        hub_model_for("just-a-name", catalog.quants)


def test_an_fp8_repo_reads_like_its_folder(fake_hub: FakeHub, tmp_path: Path,
                                           catalog: Catalog) -> None:
    # DeepSeek-style FP8: e4m3 weights with an F32 scale per 128×128 block.
    config = {**HF_LLAMA_CONFIG, "quantization_config": {
        "quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128]}}
    folder = tmp_path / "fp8"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    write_safetensors(folder / "model.safetensors", [
        ("model.embed_tokens.weight", "BF16", [512, 256]),
        ("model.layers.0.mlp.up_proj.weight", "F8_E4M3", [512, 256]),
        ("model.layers.0.mlp.up_proj.weight_scale_inv", "F32", [4, 2])])
    fake_hub.add("acme/Tiny-FP8", _files(folder))
    found = hub_model("acme/Tiny-FP8", catalog.quants)
    _same_weights(found.imported, import_model(folder, catalog.quants))
    assert found.imported.quant_id == "FP8"
    assert found.imported.file_weights.bytes_by_type["F8_E4M3"] == 512 * 256


def test_a_repo_with_one_gguf_needs_no_quant(fake_hub: FakeHub, gguf_folder: Path,
                                             catalog: Catalog) -> None:
    name = "Tiny-Llama-Q8_0.gguf"
    fake_hub.add("acme/one-gguf", {name: (gguf_folder / name).read_bytes()})
    found = hub_model("acme/one-gguf", catalog.quants)
    _same_weights(found.imported, import_model(gguf_folder / name, catalog.quants))
    assert found.chosen is not None and found.chosen.files == (name,)


def test_a_server_that_ignores_ranges_is_refused(fake_hub: FakeHub, hf_folder: Path,
                                                 catalog: Catalog) -> None:
    fake_hub.add("acme/plain", _files(hf_folder), ignore_range=True)
    with pytest.raises(HubError, match="ignores range requests") as error:
        hub_model("acme/plain", catalog.quants)
    assert error.value.kind == "bad_answer"
