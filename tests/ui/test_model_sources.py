"""The model picker's other sources: models on this machine (a background scan), a Hugging
Face Hub lookup typed as `org/name`, and searching and sorting among hundreds of models."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_hub import FakeHub
from gguf import LlamaFileType
from model_files import LLAMA_METADATA, llama_tensors, write_gguf
from ui_helpers import NARROW, WIDE, main_screen, option_ids, wait_until

from gpufit.core.catalog import load_catalog
from gpufit.importers.stores import scan_local_models
from gpufit.ui.model_filter import ModelFacts, compile_query
from gpufit.ui.widgets.model import ModelPane


async def wait_for_thread(pilot, condition, seconds: float = 15.0) -> None:
    """Wait for work a worker thread does (disk scans, HTTP): real time, not event-loop turns."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    assert condition(), "condition never became true"


def _ollama_store(root: Path) -> None:
    """One Ollama model, `tiny:q4`, as Ollama lays it out: a manifest naming a GGUF blob."""
    blobs, manifests = root / "blobs", root / "manifests" / "registry.ollama.ai" / "library" / "tiny"
    blobs.mkdir(parents=True)
    manifests.mkdir(parents=True)
    digest = "ab" * 32
    write_gguf(blobs / f"sha256-{digest}", "llama", LLAMA_METADATA, llama_tensors(),
               LlamaFileType.MOSTLY_Q4_K_M)
    (manifests / "q4").write_text(
        '{"schemaVersion": 2, "layers": [{"mediaType": "application/vnd.ollama.image.model", '
        f'"digest": "sha256:{digest}", "size": 1}}]}}')


@pytest.fixture
def machine_app(build_app, tmp_path: Path, monkeypatch):
    root = tmp_path / "ollama"
    _ollama_store(root)
    monkeypatch.setenv("OLLAMA_MODELS", str(root))
    return build_app(catalog=load_catalog(),
                     local_scanner=lambda quants: scan_local_models((), (), quants))


async def test_models_on_this_machine_come_first_after_a_background_scan(machine_app) -> None:
    async with machine_app.run_test(size=NARROW) as pilot:
        screen = main_screen(pilot)
        pane = screen.query_one(ModelPane)
        await wait_for_thread(pilot, lambda: screen.sources.last_scan is not None)
        assert "1 model on this machine" in str(pane.border_subtitle)
        options = list(pane.option_list._options)
        # A heading, then the local model, before the catalog's heading and models.
        assert "On this machine" in str(options[0].prompt) and options[0].disabled
        assert options[1].id is not None and options[1].id.startswith("local-")
        assert "ollama:tiny:q4" in str(options[1].prompt)
        assert any("Catalog" in str(option.prompt) for option in options[2:4])


async def test_choosing_the_local_model_estimates_its_exact_file(machine_app) -> None:
    async with machine_app.run_test(size=NARROW) as pilot:
        screen = main_screen(pilot)
        pane = screen.query_one(ModelPane)
        await wait_for_thread(pilot, lambda: screen.sources.last_scan is not None)
        await pilot.press("2", "slash", *"local", "enter")
        local_id = next(row for row in option_ids(pane.option_list._options) if row)
        await wait_until(pilot, lambda: screen.model_id == local_id)
        await wait_until(pilot, lambda: screen.result is not None
                         and screen.result.estimate.model.id == local_id)
        assert screen.quant_id == "Q4_K_M"
        assert screen.result.estimate.model.file_weights is not None


async def test_sort_key_orders_models_by_size(build_app) -> None:
    app = build_app(catalog=load_catalog())
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        pane = screen.query_one(ModelPane)
        await pilot.press("S")
        assert pane.sort == "size"
        assert "sorted by size" in str(pane.border_subtitle)
        sizes = [screen.catalog.models[row].params_total_published
                 for row in option_ids(pane.option_list._options) if row]
        # Computed counts order the list; published ones agree closely enough to be sorted too.
        assert sizes[0] == max(sizes)
        assert sizes[-1] < sizes[0] / 100


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch):
    server = FakeHub()
    monkeypatch.setenv("HF_ENDPOINT", server.start())
    yield server
    server.stop()


async def test_typing_a_hub_id_and_enter_reads_it_from_the_hub(build_app, fake_hub,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "Tiny-Llama-Q4_K_M.gguf"
    write_gguf(path, "llama", LLAMA_METADATA, llama_tensors(), LlamaFileType.MOSTLY_Q4_K_M,
               vocab=512)
    fake_hub.add("acme/Tiny-Llama-GGUF", {path.name: path.read_bytes()})
    app = build_app(catalog=load_catalog())
    async with app.run_test(size=NARROW) as pilot:
        screen = main_screen(pilot)
        await pilot.press("2", "slash", *"acme/Tiny-Llama-GGUF", "enter")
        await wait_for_thread(pilot, lambda: screen.model_id.startswith("hub-")
                              or "failed" in str(screen.query_one(ModelPane).border_subtitle))
        assert screen.model_id.startswith("hub-"), [str(note.message)
                                                    for note in app._notifications]
        model = screen.catalog.models[screen.model_id]
        assert model.file_weights is not None and screen.quant_id == "Q4_K_M"
        assert screen.query_one(ModelPane).source_of(model) == "hub"


async def test_a_failed_hub_lookup_is_a_notification_and_keeps_the_model(build_app,
                                                                         fake_hub) -> None:
    app = build_app(catalog=load_catalog())
    async with app.run_test(size=NARROW) as pilot:
        screen = main_screen(pilot)
        await pilot.press("2", "slash", *"acme/no-such-model")
        await pilot.pause()
        before = screen.model_id  # whatever the typed filter left chosen
        await pilot.press("enter")
        pane = screen.query_one(ModelPane)
        await wait_for_thread(pilot, lambda: "failed" in str(pane.border_subtitle))
        assert screen.model_id == before
        assert any("acme/no-such-model" in str(note.message) for note in app._notifications)


def _facts(**changes: object) -> ModelFacts:
    base = {"text": "qwen3-30b-a3b qwen3 30b a3b qwen/qwen3-30b-a3b moe", "compact_name":
            "qwen330ba3b", "params_total": 30_500_000_000, "context_tokens": 131_072,
            "is_moe": True, "source": "catalog", "uses": ("chat", "reasoning")}
    base.update(changes)
    return ModelFacts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("query", "shown"), [
    ("moe", True), ("dense", False), ("catalog", True), ("local", False), ("reasoning", True),
    ("code", False), (">30b", True), ("<30b", False), (">=30.5b", True), ("<1t", True),
    ("ctx>=128k", True), ("ctx>200k", False), ("qwen3 moe <40b", True), ("llama", False),
    (">30", False),  # no unit: an ordinary word, which no model's names contain
])
def test_search_facets(query: str, shown: bool) -> None:
    assert compile_query(query)(_facts()) is shown


def test_fuzzy_words_only_when_asked() -> None:
    assert compile_query("qwn3")(_facts()) is False
    assert compile_query("qwn3", fuzzy=True)(_facts()) is True
    assert compile_query("xyz", fuzzy=True)(_facts()) is False


async def test_every_valid_model_of_a_full_machine_is_listed_with_its_exact_weights(
        build_app, tmp_path: Path, monkeypatch) -> None:
    from store_trees import build_machine, point_at

    machine = build_machine(tmp_path / "machine")
    point_at(machine, monkeypatch)
    app = build_app(catalog=load_catalog(),
                    local_scanner=lambda quants: scan_local_models((), (), quants))
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await wait_for_thread(pilot, lambda: screen.sources.last_scan is not None)
        await pilot.pause()
        pane = screen.query_one(ModelPane)
        local = [row for row in option_ids(pane.option_list._options)
                 if row and row.startswith("local-")]
        assert len(local) == len(machine.expected) >= 10
        # Each listed model carries the exact weights of its files (summed independently).
        by_name = {model.name: model for model in screen.sources.last_scan.models}
        for name, weights in machine.weights.items():
            spec = screen.catalog.models[by_name[name].imported.spec.id]
            assert spec.file_weights is not None
            assert spec.file_weights.breakdown.total_bytes == weights, name
        assert f"{len(machine.expected)} models on this machine" in str(pane.border_subtitle)
