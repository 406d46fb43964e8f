"""The one place that knows where user files live (platformdirs, with environment overrides).

`GPUFIT_CONFIG_DIR` replaces the config directory (settings, profiles) and `GPUFIT_DATA_DIR`
the data directory (the user's catalog additions), for tests and for operators.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "gpufit-tui"


def config_dir() -> Path:
    """Settings and profiles."""
    override = os.environ.get("GPUFIT_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    """User data: extra catalog files."""
    override = os.environ.get("GPUFIT_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def user_catalog_dir() -> Path:
    """TOML files here add to or override the built-in catalog, by id."""
    return data_dir() / "catalog"


def cache_dir() -> Path:
    """Derived data that can be rebuilt: local model scans, Hugging Face Hub lookups."""
    override = os.environ.get("GPUFIT_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME))
