"""Load and validate the catalog (GPUs, models, quants) from TOML.

A bad entry never stops the rest: each problem becomes one `CatalogIssue` naming the file,
the entry id and the field, and every other entry still loads. Later files override earlier
entries with the same id, which is how a user's own catalog directory adds or replaces data.
"""

from __future__ import annotations

import contextlib
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from gpufit.core.catalog_quants import BlockTable, build_quant, with_base
from gpufit.core.catalog_schema import (
    TABLES,
    CatalogIssue,
    build_gpu,
    build_model,
    model_consistency,
    validate,
)
from gpufit.core.mig import catalog_slices
from gpufit.core.specs import GpuSpec, ModelSpec, QuantSpec
from gpufit.core.toml_file import TomlUnreadable, read_toml_file, toml_files_in

__all__ = ["CATALOG_FILES", "MODEL_FILES_DIR", "Catalog", "CatalogIssue", "builtin_catalog_dir",
           "load_catalog", "load_catalog_files"]

CATALOG_FILES = ("gpus.toml", "models.toml", "quants.toml")
MODEL_FILES_DIR = "models"
"""Further built-in model files, one per publisher family, loaded after CATALOG_FILES."""

@dataclass(slots=True)
class Catalog:
    """Everything the estimator can choose from, plus what was skipped while loading."""

    gpus: dict[str, GpuSpec] = field(default_factory=dict)
    models: dict[str, ModelSpec] = field(default_factory=dict)
    quants: dict[str, QuantSpec] = field(default_factory=dict)
    issues: list[CatalogIssue] = field(default_factory=list)


def builtin_catalog_dir() -> Path:
    """Where the shipped catalog lives: inside the wheel, or the repo's `catalog/` in a checkout."""
    packaged = Path(str(resources.files("gpufit"))) / "_data" / "catalog"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "catalog"


ReadToml = Callable[[Path], dict[str, Any]]
"""Reads one TOML file (raising OSError or tomllib.TOMLDecodeError, as `read_toml` does); the
app passes one that keeps parsed files in its cache directory, since parsing the catalog's TOML
is most of its load time."""


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file with the shared reader (`core.toml_file`): regular files only, a BOM
    accepted, deep nesting and oversized files refused with the file named."""
    return read_toml_file(path)


def load_catalog(extra_dirs: Sequence[Path] = (), base_dir: Path | None = None,
                 read: ReadToml = read_toml) -> Catalog:
    """Load the built-in catalog, then every `*.toml` in `extra_dirs` (later wins by id)."""
    base = base_dir or builtin_catalog_dir()
    paths = [base / name for name in CATALOG_FILES]
    folder_issues: list[CatalogIssue] = []
    for directory in (base / MODEL_FILES_DIR, *extra_dirs):
        try:
            paths.extend(toml_files_in(directory))
        except TomlUnreadable as error:
            # A folder we may not list would otherwise drop its models without a word.
            folder_issues.append(CatalogIssue(directory.name, "-", "-", str(error)))
    catalog = load_catalog_files(paths, read)
    catalog.issues[:0] = folder_issues
    return catalog


def load_catalog_files(paths: Iterable[Path], read: ReadToml = read_toml) -> Catalog:
    """Load catalog TOML files in order; problems become issues, never exceptions."""
    issues: list[CatalogIssue] = []
    raw: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {table: {} for table in TABLES}
    for path in paths:
        _read_file(path, raw, issues, read)
    catalog = Catalog(issues=issues)
    block_bits = {entry_id: float(data["bits_per_weight"]) for entry_id, (_, data)
                  in raw["block_type"].items()}
    blocks = BlockTable(
        bits=block_bits,
        weights={entry_id: int(data.get("block_weights", 1))
                 for entry_id, (_, data) in raw["block_type"].items()},
        fallback={entry_id: data["fallback"] for entry_id, (_, data)
                  in raw["block_type"].items() if "fallback" in data},
        rule_sets={entry_id: data["rules"] for entry_id, (_, data) in raw["rule_set"].items()},
    )
    for entry_id, (_file, data) in raw["gpu"].items():
        catalog.gpus[entry_id] = build_gpu(data)
    for entry_id, (file, data) in raw["model"].items():
        problem = model_consistency(data)
        if problem:
            issues.append(CatalogIssue(file, entry_id, problem[0], problem[1]))
            continue
        catalog.models[entry_id] = build_model(data)
    for entry_id, (file, data) in raw["quant"].items():
        built = build_quant(file, with_base(data, raw["quant"]), blocks, issues)
        if built is not None:
            catalog.quants[entry_id] = built
    _add_file_quants(catalog)
    _check_aliases(catalog, raw, issues)
    _add_slices(catalog, raw, issues)
    return catalog


def _add_slices(catalog: Catalog, raw: dict[str, dict[str, tuple[str, dict[str, Any]]]],
                issues: list[CatalogIssue]) -> None:
    """Slices are derived, not listed: each MIG profile of a catalog GPU becomes hardware too.
    A listed GPU with a slice's id would be replaced unseen, so it is skipped and named."""
    for slice_id, spec in catalog_slices(catalog.gpus).items():
        listed = catalog.gpus.get(slice_id)
        if listed is not None and listed.mig_parent is None:
            issues.append(CatalogIssue(
                raw["gpu"][slice_id][0], slice_id, "id",
                f"is the id of a MIG slice of '{spec.mig_parent}' (from its mig_profiles) — "
                "entry skipped; choose another id"))
        catalog.gpus[slice_id] = spec


def _read_file(
    path: Path,
    raw: dict[str, dict[str, tuple[str, dict[str, Any]]]],
    issues: list[CatalogIssue],
    read: ReadToml,
) -> None:
    name = path.name
    try:
        document = read(path)
    except FileNotFoundError:
        issues.append(CatalogIssue(name, "-", "-", f"file not found: {path}"))
        return
    except (OSError, UnicodeDecodeError) as error:
        issues.append(CatalogIssue(name, "-", "-", f"cannot read {path}: {error}"))
        return
    except tomllib.TOMLDecodeError as error:
        issues.append(CatalogIssue(name, "-", "-", f"not valid TOML: {error}"))
        return
    except (RecursionError, ValueError) as error:  # a custom `read` without the shared guards
        issues.append(CatalogIssue(name, "-", "-", f"not valid TOML: {path}: {error}"))
        return
    for table, entries in document.items():
        if table not in TABLES:
            issues.append(CatalogIssue(name, "-", table, "unknown table (expected "
                                       + ", ".join(f"[[{t}]]" for t in TABLES) + ")"))
            continue
        if not isinstance(entries, list):
            issues.append(CatalogIssue(name, "-", table, f"must be an array of tables [[{table}]]"))
            continue
        seen_here: set[str] = set()
        for position, entry in enumerate(entries, start=1):
            _read_entry(name, table, position, entry, seen_here, raw, issues)


def _read_entry(
    file: str,
    table: str,
    position: int,
    entry: Any,
    seen_here: set[str],
    raw: dict[str, dict[str, tuple[str, dict[str, Any]]]],
    issues: list[CatalogIssue],
) -> None:
    label = f"#{position}"
    if not isinstance(entry, dict):
        issues.append(CatalogIssue(file, label, "-", f"[[{table}]] entry must be a table"))
        return
    entry_id = entry.get("id")
    if isinstance(entry_id, str) and entry_id.strip():
        label = entry_id  # a blank id names nothing: the entry's position does
    problem = validate(entry, TABLES[table])
    if problem:
        issues.append(CatalogIssue(file, label, problem[0], problem[1] + " — entry skipped"))
        return
    assert isinstance(entry_id, str)  # validate checked the id
    if entry_id in seen_here:
        issues.append(CatalogIssue(file, label, "id", "duplicate id in this file — entry skipped"))
        return
    seen_here.add(entry_id)
    raw[table][entry_id] = (file, entry)




def _add_file_quants(catalog: Catalog) -> None:
    """Saved imported models may be stored at an EXL2 bitrate the catalog does not list (4.65):
    derive those quants so the models keep their exact weights."""
    from gpufit.core.exl2 import resolve_quant_text

    for model in catalog.models.values():
        file = model.file_weights
        if file is not None and file.quant_id not in catalog.quants:
            with contextlib.suppress(ValueError):
                resolve_quant_text(catalog.quants, file.quant_id)




def _check_aliases(
    catalog: Catalog,
    raw: dict[str, dict[str, tuple[str, dict[str, Any]]]],
    issues: list[CatalogIssue],
) -> None:
    """Within a kind, an alias naming two entries would make lookups ambiguous: report it."""
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("gpu", catalog.gpus), ("model", catalog.models), ("quant", catalog.quants)]
    for table, entries in kinds:
        owner: dict[str, str] = {}
        for entry_id, spec in entries.items():
            for name in (entry_id, spec.name, *spec.aliases):
                key = name.casefold()
                previous = owner.setdefault(key, entry_id)
                if previous != entry_id:
                    file = raw[table][entry_id][0]
                    issues.append(CatalogIssue(file, entry_id, "aliases",
                                               f"{name!r} also names '{previous}'; "
                                               f"'{previous}' keeps it"))
