"""The parsed-TOML cache: the same catalog as parsing, and the file always wins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gpufit.core.catalog import builtin_catalog_dir, load_catalog, read_toml
from gpufit.persist.parsed_toml import cached_toml_reader


def test_a_cached_catalog_equals_a_parsed_one(tmp_path: Path) -> None:
    read = cached_toml_reader(tmp_path / "cache")
    parsed = load_catalog()
    first = load_catalog(read=read)   # fills the cache
    second = load_catalog(read=read)  # reads it
    assert any((tmp_path / "cache").iterdir())
    for catalog in (first, second):
        assert catalog.models == parsed.models and catalog.gpus == parsed.gpus
        assert catalog.quants == parsed.quants and catalog.issues == parsed.issues


def test_an_edited_file_is_parsed_again(tmp_path: Path) -> None:
    path = tmp_path / "extra.toml"
    path.write_text('[[block_type]]\nid = "X"\nbits_per_weight = 4.0\n')
    read = cached_toml_reader(tmp_path / "cache")
    assert read(path)["block_type"][0]["bits_per_weight"] == 4.0
    path.write_text('[[block_type]]\nid = "X"\nbits_per_weight = 5.5\n')
    os.utime(path, ns=(1, 2))  # a different mtime, whatever the clock's resolution
    assert read(path)["block_type"][0]["bits_per_weight"] == 5.5


def test_a_corrupt_cache_entry_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    read = cached_toml_reader(cache)
    source = builtin_catalog_dir() / "quants.toml"
    read(source)
    for entry in cache.iterdir():
        entry.write_bytes(b"\x00garbage")
    assert read(source) == read_toml(source)


def test_a_broken_file_raises_as_parsing_does(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[model]\nid = ")
    read = cached_toml_reader(tmp_path / "cache")
    with pytest.raises(Exception) as cached:
        read(path)
    with pytest.raises(Exception) as plain:
        read_toml(path)
    assert type(cached.value) is type(plain.value)
    with pytest.raises(FileNotFoundError):
        read(tmp_path / "missing.toml")
