"""Shared fixtures: the shipped catalog, loaded once, and the shared reference data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpufit.core.catalog import Catalog, load_catalog

# Shared checks keep pytest's detailed assertion messages.
pytest.register_assert_rewrite("published_counts")

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The built-in catalog, with no user additions."""
    return load_catalog()


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read or write the real user's config or data during tests."""
    base = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("GPUFIT_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("GPUFIT_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("GPUFIT_CACHE_DIR", str(base / "cache"))
    # Model stores a scan would find: empty, so no test sees this machine's downloads.
    monkeypatch.setenv("HOME", str(base / "home"))
    monkeypatch.setenv("HF_HOME", str(base / "hf-home"))
    monkeypatch.setenv("OLLAMA_MODELS", str(base / "ollama"))
    monkeypatch.setenv("LLAMA_CACHE", str(base / "llama-cache"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    # Nothing may reach the real Hub: a test that needs one starts a fake and sets its own.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")


def load_reference(name: str) -> dict:
    """A file from shared/reference (public measurements), parsed."""
    return json.loads((REFERENCE / name).read_text(encoding="utf-8"))
