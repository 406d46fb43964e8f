"""Text from outside (model names, nvidia-smi, typed paths) is shown as written, never as markup.

A GGUF file's `general.name` (or its stem) becomes the model's name; a file named
`tiny[/b][bold]x` made the sweep table raise a MarkupError (DataTable reads str cells as markup).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gguf import LlamaFileType
from model_files import LLAMA_METADATA, llama_tensors, write_gguf
from textual.widgets import DataTable, Static
from ui_helpers import WIDE, main_screen, wait_until

from gpufit.core.catalog import load_catalog
from gpufit.detect.snapshot import Snapshot, failed
from gpufit.importers.model_import import import_model
from gpufit.ui.pilot import drain, settle
from gpufit.ui.screens.compare import CompareScreen
from gpufit.ui.screens.open_model import OpenModelDialog
from gpufit.ui.screens.sweeps import SweepScreen

NAME = "tiny[/b][bold]x"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPUFIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GPUFIT_DATA_DIR", str(tmp_path / "data"))


def table_text(table: DataTable) -> str:
    return "\n".join(" ".join(str(cell) for cell in table.get_row_at(row))
                     for row in range(table.row_count))


async def test_sweep_and_compare_show_a_bracketed_model_name_as_written(build_app,
                                                                       tmp_path: Path):
    path = tmp_path / "tiny-Q4_K_M.gguf"
    write_gguf(path, "llama", LLAMA_METADATA, llama_tensors(), LlamaFileType.MOSTLY_Q4_K_M,
               name=NAME)
    catalog = load_catalog()
    imported = import_model(path, catalog.quants)
    assert NAME in imported.spec.name
    app = build_app(catalog=catalog, imported_model=imported)
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        assert screen.setup.model_id == imported.spec.id
        await pilot.press("p", "right_square_bracket")
        await settle(pilot)
        await pilot.press("c")
        await drain(pilot)
        assert isinstance(app.screen, CompareScreen)
        assert NAME in table_text(app.screen.query_one(DataTable))
        await pilot.press("escape", "b")
        await drain(pilot)
        await pilot.pause()
        assert isinstance(app.screen, SweepScreen)
        assert NAME[:4] in table_text(app.screen.query_one(DataTable))
        assert app.is_running


async def test_a_pin_notification_quotes_a_bracketed_model_name(build_app, tmp_path: Path):
    path = tmp_path / "tiny-Q4_K_M.gguf"
    write_gguf(path, "llama", LLAMA_METADATA, llama_tensors(), LlamaFileType.MOSTLY_Q4_K_M,
               name="[@click=app.quit]tiny[/]")
    catalog = load_catalog()
    imported = import_model(path, catalog.quants)
    app = build_app(catalog=catalog, imported_model=imported)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        await pilot.pause()
        # Shown as written (no action hidden in it), and the app drew it without failing.
        pinned = [note for note in app._notifications if "Pinned" in str(note.message)]
        assert pinned and "[@click=app.quit]tiny[/]" in str(pinned[-1].message)
        assert not pinned[-1].markup
        assert app.is_running


async def test_detection_and_open_file_errors_quote_brackets_as_written(build_app,
                                                                        tmp_path: Path):
    problem = "nvidia-smi: [/b] unexpected output"

    async def odd() -> Snapshot:
        return failed("parse", problem)

    app = build_app(detector=odd)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: problem in screen.detection_status)
        await pilot.pause()
        assert problem in str(screen.query_one("#detect-status", Static).render())
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, OpenModelDialog))
        typed = str(tmp_path / "[/b]" / "x.gguf")
        await pilot.press(*typed, "enter")
        problem_line = app.screen.query_one("#open-model-problem", Static)
        await wait_until(pilot, lambda: "[/b]" in str(problem_line.render()), rounds=200)
        assert app.is_running


async def test_a_recent_file_path_with_brackets_is_listed_as_written(build_app):
    app = build_app()
    app.settings.update(recent_model_files=("/models/[/b]/x.gguf",))
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, OpenModelDialog))
        await pilot.pause()
        recent = app.screen.query_one("#recent-models")
        assert "/models/[/b]/x.gguf" in str(recent.get_option_at_index(0).prompt)
        assert app.is_running
