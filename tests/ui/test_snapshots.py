"""SVG snapshots at 80×24 and 140×45 from a frozen catalog slice (tests/ui/data/catalog).

Numbers come from the real core, so a deliberate change to an estimate formula changes these
pictures too: review the diff (pytest's snapshot report) and accept it with `--snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from ui_helpers import NARROW, WIDE, main_screen

from gpufit.core.catalog import Catalog, load_catalog
from gpufit.ui.app import GpufitApp, make_app
from gpufit.ui.pilot import settle
from gpufit.ui.themes import shipped_themes_dir

DATA = Path(__file__).parent / "data" / "catalog"


@pytest.fixture(scope="module")
def frozen_catalog() -> Catalog:
    """A small catalog that only changes when these tests are meant to change."""
    catalog = load_catalog(base_dir=DATA)
    assert not catalog.issues
    return catalog


@pytest.fixture
def snapshot_app(frozen_catalog: Catalog, tmp_path: Path) -> Callable[[], GpufitApp]:
    def build() -> GpufitApp:
        return make_app(catalog=frozen_catalog, settings_path=tmp_path / "settings.toml",
                        theme_dirs=[shipped_themes_dir()])

    return build


def choose(gpu: str, model: str, quant: str, *keys: str,
           theme: str | None = None) -> Callable[[Pilot], Awaitable[None]]:
    """A run_before hook: select a setup, press keys, and wait for the estimate."""
    async def run_before(pilot: Pilot) -> None:
        await settle(pilot)
        if theme is not None:
            pilot.app.theme = theme
        screen = main_screen(pilot)
        screen.gpu_id, screen.model_id, screen.quant_id = gpu, model, quant
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "140x45"])
def test_default_setup(snap_compare, snapshot_app, size):
    assert snap_compare(snapshot_app(), terminal_size=size,
                        run_before=choose("rtx-4090", "llama-3.1-8b", "Q4_K_M"))


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "140x45"])
def test_does_not_fit(snap_compare, snapshot_app, size):
    assert snap_compare(snapshot_app(), terminal_size=size,
                        run_before=choose("rtx-3090", "mixtral-8x22b", "Q3_K_M", "3"))


def test_light_theme_moe_two_gpus(snap_compare, snapshot_app):
    assert snap_compare(snapshot_app(), terminal_size=WIDE,
                        run_before=choose("a100-80gb-sxm", "mixtral-8x22b", "Q4_K_M", "plus",
                                          "g", theme="gpufit-light"))


def test_help_screen(snap_compare, snapshot_app):
    assert snap_compare(snapshot_app(), terminal_size=NARROW,
                        run_before=choose("rtx-4090", "llama-3.1-8b", "Q4_K_M", "question_mark"))


def test_no_colour(snap_compare, snapshot_app, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(snapshot_app(), terminal_size=NARROW,
                        run_before=choose("rtx-3090", "llama-3.1-70b", "Q4_K_M"))
