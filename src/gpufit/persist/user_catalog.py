"""Saving imported models into the user's catalog (`imported-models.toml` in the data dir).

The file is an ordinary catalog file (`[[model]]` entries, loaded after the built-in catalog),
and each entry carries its `file_weights`, so the exact sizes survive without re-reading the
model file. Writes go through a temporary file and `os.replace`; a file that cannot be read is
moved aside to `imported-models.toml.corrupt-<timestamp>` first, never overwritten.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import tomli_w

from gpufit.core.specs import ModelSpec
from gpufit.core.toml_file import read_toml_file
from gpufit.persist import paths
from gpufit.persist.files import move_aside, write_atomic

IMPORTED_FILE = "imported-models.toml"


@dataclass(frozen=True, slots=True)
class SavedModel:
    """Where a model was saved, whether it replaced an entry, and anything moved aside."""

    path: Path
    replaced: bool
    moved_aside: Path | None = None
    written: bool = True
    """False when the file already held this very entry (profile saves re-save the model)."""


def model_entry(spec: ModelSpec) -> dict[str, Any]:
    """A `[[model]]` table for `spec`: every field that differs from its default."""
    entry: dict[str, Any] = {}
    for item in fields(ModelSpec):
        value = getattr(spec, item.name)
        # An empty attention_layers (no layer attends) differs from None (every layer that is
        # not recurrent), so () is dropped only where it is the default.
        if value is None or (value == () and item.default == ()) \
                or (item.name != "id" and value == item.default):
            continue
        if item.name == "file_weights":
            entry["file_weights"] = value.as_dict()
        elif isinstance(value, tuple):
            entry[item.name] = list(value)
        else:
            entry[item.name] = value
    entry.setdefault("aliases", [])
    for key in ("mlp_gated", "tied_embeddings"):
        entry[key] = getattr(spec, key)
    return entry


def save_imported_model(spec: ModelSpec, directory: Path | None = None) -> SavedModel:
    """Add `spec` to the user catalog, replacing an earlier entry with the same id."""
    directory = directory or paths.user_catalog_dir()
    target = directory / IMPORTED_FILE
    entries, moved = _existing_entries(target)
    entry = model_entry(spec)
    if entry in entries:
        return SavedModel(path=target, replaced=True, written=False)
    replaced = any(existing.get("id") == spec.id for existing in entries)
    entries = [existing for existing in entries if existing.get("id") != spec.id] + [entry]
    header = b"# Models imported with gpufit-tui (f, then a). Edit or delete freely.\n"
    write_atomic(target, header + tomli_w.dumps({"model": entries}).encode("utf-8"))
    return SavedModel(path=target, replaced=replaced, moved_aside=moved)


def _existing_entries(target: Path) -> tuple[list[dict[str, Any]], Path | None]:
    try:
        # The shared reader: a pipe or unlistable file raises OSError (the save fails, said so),
        # never blocks; a BOM is fine; bad text or deep nesting is a TOMLDecodeError.
        document = read_toml_file(target)
    except FileNotFoundError:
        return [], None
    except tomllib.TOMLDecodeError:
        return [], move_aside(target)
    models = document.get("model")
    if not isinstance(models, list) or set(document) - {"model"}:
        # Someone else's layout: keep it intact beside ours rather than guess.
        return [], move_aside(target)
    return [entry for entry in models if isinstance(entry, dict)], None

