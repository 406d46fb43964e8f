"""UI fixtures: apps built by the real factory with the shipped catalog and themes, isolated settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gpufit.core.catalog import Catalog
from gpufit.ui.app import GpufitApp, make_app
from gpufit.ui.themes import shipped_themes_dir


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    """A settings file no other test sees."""
    return tmp_path / "config" / "settings.toml"


@pytest.fixture
def build_app(catalog: Catalog, settings_path: Path) -> Callable[..., GpufitApp]:
    """make_app with the session catalog, shipped themes only and a private settings file."""
    def build(**overrides: Any) -> GpufitApp:
        options: dict[str, Any] = {"catalog": catalog, "settings_path": settings_path,
                                   "theme_dirs": [shipped_themes_dir()]}
        options.update(overrides)
        return make_app(**options)

    return build
