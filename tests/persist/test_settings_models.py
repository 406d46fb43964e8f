"""settings.toml's `[models]` table: folders to scan, read and written back with unknown keys."""

from __future__ import annotations

import tomllib
from pathlib import Path

from gpufit.persist.settings import SettingsStore


def test_models_paths_are_read_and_unknown_keys_survive_a_save(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('units = "GiB"\n[models]\npaths = ["~/models", "/data/llm"]\ndepth = 3\n')
    store = SettingsStore(path)
    assert store.settings.model_paths == ("~/models", "/data/llm")
    assert store.problems == []
    store.update(theme="gpufit-light")
    document = tomllib.loads(path.read_text())
    assert document["models"] == {"paths": ["~/models", "/data/llm"], "depth": 3}
    assert document["units"] == "GiB" and document["theme"] == "gpufit-light"


def test_a_bad_models_table_is_reported_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[models]\npaths = "/data"\n')
    store = SettingsStore(path)
    assert store.settings.model_paths == ()
    assert any("[models] paths" in problem for problem in store.problems)
    store.update(units="GiB")
    assert tomllib.loads(path.read_text())["models"] == {"paths": "/data"}


def test_no_models_table_is_written_when_there_is_none(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    store = SettingsStore(path)
    store.update(units="GB")  # a change from the default (GiB), so the file is written
    assert "models" not in tomllib.loads(path.read_text())
