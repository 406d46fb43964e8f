"""The open-model dialog: path completion, opening a GGUF, errors in place, saving to the catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
from gguf import LlamaFileType
from model_files import LLAMA_METADATA, llama_tensors, write_gguf
from textual.widgets import Static
from ui_helpers import NARROW, main_screen, wait_until

from gpufit.core.catalog import load_catalog
from gpufit.persist.user_catalog import IMPORTED_FILE
from gpufit.ui.screens.open_model import OpenModelDialog, path_completion
from gpufit.ui.widgets.result import figures


def _gguf(folder: Path) -> Path:
    path = folder / "Tiny-Llama-Q4_K_M.gguf"
    write_gguf(path, "llama", LLAMA_METADATA, llama_tensors(), LlamaFileType.MOSTLY_Q4_K_M)
    return path


async def _open_file(pilot, typed: tuple[str, ...]):
    """Press f, type into the path box, and wait for the main screen to choose the model."""
    await pilot.press("f")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, OpenModelDialog))
    await pilot.press(*typed)
    screen = main_screen(pilot)
    await wait_until(pilot, lambda: screen.model_id.startswith("local-"), rounds=200)
    return screen


def test_path_completion_completes_models_and_folders(tmp_path: Path) -> None:
    _gguf(tmp_path)
    (tmp_path / "Tiny-folder").mkdir()
    (tmp_path / "notes.txt").write_text("not a model")
    assert path_completion(str(tmp_path / "Tiny-L")) == str(tmp_path / "Tiny-Llama-Q4_K_M.gguf")
    assert path_completion(str(tmp_path / "Tiny-f")) == str(tmp_path / "Tiny-folder") + "/"
    assert path_completion(str(tmp_path / "Tiny")) == str(tmp_path / "Tiny-")  # common part
    assert path_completion(str(tmp_path / "no")) is None  # notes.txt is not a model
    assert path_completion(str(tmp_path / "missing-dir" / "x")) is None


@pytest.fixture
def gguf_app(build_app, tmp_path: Path, monkeypatch):
    """(app with a fresh catalog, a GGUF to open, the data dir the user catalog goes in)."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("GPUFIT_DATA_DIR", str(data_dir))
    return build_app(catalog=load_catalog()), _gguf(tmp_path), data_dir


async def test_open_a_gguf_choose_it_and_save_it(gguf_app, tmp_path: Path) -> None:
    app, path, data_dir = gguf_app
    async with app.run_test(size=NARROW) as pilot:
        screen = await _open_file(pilot, (*str(tmp_path / "Tiny-L"), "tab", "enter"))
        assert screen.model_id == "local-tiny-llama-q4-k-m"
        assert screen.quant_id == "Q4_K_M"
        await wait_until(pilot, lambda: screen.result is not None
                         and screen.result.setup.model_id == screen.model_id, rounds=200)
        assert screen.result.estimate.memory.weights_bytes \
            == screen.catalog.models[screen.model_id].file_weights.breakdown.total_bytes
        assert app.settings.settings.recent_model_files == (str(path.resolve()),)
        shown = figures(screen.result, "GB").plain
        assert "exact (GGUF)" in shown and "Q4_K" in shown and "Q6_K" in shown
        await pilot.press("a")
        await pilot.pause()
    saved = load_catalog(extra_dirs=[data_dir / "catalog"])
    assert (data_dir / "catalog" / IMPORTED_FILE).exists()
    assert "local-tiny-llama-q4-k-m" in saved.models


async def test_a_bad_path_keeps_the_dialog_open_with_the_reason(build_app, tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"nope")
    app = build_app(catalog=load_catalog())
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, OpenModelDialog))
        await pilot.press(*str(junk), "enter")
        problem = app.screen.query_one("#open-model-problem", Static)
        await wait_until(pilot, lambda: "not a GGUF file" in str(problem.render()), rounds=200)
        assert isinstance(app.screen, OpenModelDialog)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, OpenModelDialog))


async def test_saving_a_profile_keeps_the_opened_model(gguf_app) -> None:
    app, path, data_dir = gguf_app
    async with app.run_test(size=NARROW) as pilot:
        screen = await _open_file(pilot, (*str(path), "enter"))
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("enter")  # accept the default profile name
        await wait_until(pilot, lambda: (data_dir / "catalog" / IMPORTED_FILE).exists(), rounds=100)
    assert screen.model_id in load_catalog(extra_dirs=[data_dir / "catalog"]).models
