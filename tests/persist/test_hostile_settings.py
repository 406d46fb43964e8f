"""Hostile settings.toml and TOML files in persist/ (issue 17, items 3, 13, 14, 22, 23): deep
nesting, BOM and pipes never stop a read; hand edits survive every write; non-finite numbers are
refused; a config folder that cannot be written is a warning."""

from __future__ import annotations

import errno
import math
import os
import threading
import tomllib
from pathlib import Path

import pytest

from gpufit.core.toml_file import TomlInvalid, TomlUnreadable, read_toml_file
from gpufit.persist import settings as settings_module
from gpufit.persist.parsed_toml import cached_toml_reader
from gpufit.persist.settings import Settings, SettingsStore
from gpufit.persist.user_catalog import IMPORTED_FILE, save_imported_model

DEEP = "x = " + "[" * 498 + "]" * 498 + "\n"


def test_deeply_nested_settings_are_moved_aside_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(DEEP)
    store = SettingsStore(path)
    assert store.settings == Settings()
    [problem] = store.problems
    assert str(path) in problem and "nested" in problem
    assert len(list(tmp_path.glob("settings.toml.corrupt-*"))) == 1


def test_a_bom_in_settings_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(b'\xef\xbb\xbfunits = "GB"\n')
    store = SettingsStore(path)
    assert store.settings.units == "GB" and store.problems == []


def test_a_settings_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    os.mkfifo(path)
    stores: list[SettingsStore] = []
    worker = threading.Thread(target=lambda: stores.append(SettingsStore(path)), daemon=True)
    worker.start()
    worker.join(20)
    assert stores, "reading a named pipe blocked"
    [problem] = stores[0].problems
    assert str(path) in problem and "regular file" in problem


def test_unknown_keys_tables_and_rejected_values_survive_a_write(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('units = "gib"\nfuture_flag = true\nrestore_last_session = "yes"\n'
                    '[keymap]\n"gpufit.quit" = 5\n"gpufit.help" = "f1"\n'
                    '[plugins.colour]\nname = "x"\n')
    store = SettingsStore(path)
    assert store.settings.units == "GiB" and store.settings.keymap == {"gpufit.help": "f1"}
    problems = " ".join(store.problems)
    assert "units = 'gib'" in problems and "gpufit.quit" in problems
    assert "restore_last_session" in problems
    store.update(theme="gpufit-light")
    saved = tomllib.loads(path.read_text())
    assert saved == {"units": "gib", "future_flag": True, "restore_last_session": "yes",
                     "keymap": {"gpufit.quit": 5, "gpufit.help": "f1"},
                     "plugins": {"colour": {"name": "x"}}, "theme": "gpufit-light"}
    # Changing a setting the file had wrong writes the new value over it, and only that.
    store.update(units="GB")
    saved = tomllib.loads(path.read_text())
    assert saved["units"] == "GB" and saved["future_flag"] is True
    assert SettingsStore(path).settings.units == "GB"


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400"])
@pytest.mark.parametrize("key", ["price_per_gpu_hour", "ram_gb", "ram_bandwidth_gbps"])
def test_non_finite_host_numbers_are_refused(tmp_path: Path, key: str, value: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(f"{key} = {value}\n")
    store = SettingsStore(path)
    assert getattr(store.settings, key) is None
    assert any(key in problem and "finite" in problem for problem in store.problems)
    with pytest.raises(ValueError, match=key):
        store.update(**{key: math.inf})
    assert getattr(store.settings, key) is None


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC, errno.EACCES])
def test_remembering_a_model_file_in_an_unwritable_folder_is_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    def refuse(target: Path, data: bytes) -> None:
        raise OSError(code, os.strerror(code), str(target))

    monkeypatch.setattr(settings_module, "write_atomic", refuse)
    store = SettingsStore(tmp_path / "settings.toml")
    warning = store.remember_model_file("/models/a.gguf")
    assert warning is not None and os.strerror(code) in warning and "/models/a.gguf" in warning
    # Kept for the session, and asking again does not try (and fail) again.
    assert store.settings.recent_model_files == ("/models/a.gguf",)
    assert store.remember_model_file("/models/a.gguf") is None


def test_the_shared_reader_names_the_file_for_every_hostile_case(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text(DEEP)
    with pytest.raises(TomlInvalid, match=r"deep\.toml"):
        read_toml_file(deep)
    with pytest.raises(tomllib.TOMLDecodeError):  # what callers already catch
        read_toml_file(deep)
    digits = tmp_path / "digits.toml"
    digits.write_text("x = 1" + "0" * 5000)
    with pytest.raises(TomlInvalid, match=r"digits\.toml"):
        read_toml_file(digits)
    utf16 = tmp_path / "utf16.toml"
    utf16.write_text('x = "é"', encoding="utf-16")
    with pytest.raises(TomlInvalid, match=r"utf16\.toml: not UTF-8"):
        read_toml_file(utf16)
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    with pytest.raises(TomlUnreadable, match=r"folder\.toml"):
        read_toml_file(folder)


def test_the_cache_refuses_a_pipe_and_still_caches_a_bom_file(tmp_path: Path) -> None:
    read = cached_toml_reader(tmp_path / "cache")
    pipe = tmp_path / "pipe.toml"
    os.mkfifo(pipe)
    with pytest.raises(OSError, match="regular file"):
        read(pipe)
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b'\xef\xbb\xbf[[block_type]]\nid = "X"\nbits_per_weight = 4.5\n')
    assert read(bom) == {"block_type": [{"id": "X", "bits_per_weight": 4.5}]}
    assert len(list((tmp_path / "cache").iterdir())) == 1
    assert read(bom)["block_type"][0]["bits_per_weight"] == 4.5  # from the cache


def test_a_deeply_nested_imported_models_file_is_moved_aside(tmp_path: Path, catalog) -> None:
    (tmp_path / IMPORTED_FILE).write_text(DEEP)
    saved = save_imported_model(catalog.models["llama-3.1-8b"], tmp_path)
    assert saved.moved_aside is not None and saved.moved_aside.read_text() == DEEP
    assert tomllib.loads(saved.path.read_text())["model"][0]["id"] == "llama-3.1-8b"
