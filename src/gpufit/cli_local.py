"""The command line's side of the models on this machine: `list models --local`, store names
given to `--model` (`ollama:qwen3:32b`, `hf:org/name`, `lmstudio:…`), `--models-dir`, and the
local models `sweep --local` ranks. The scan itself is gpufit.importers.stores; nothing here
uses the network.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from gpufit.cli_output import print_json
from gpufit.core.catalog import Catalog
from gpufit.core.exl2 import resolve_quant
from gpufit.core.rank import RankedModel, best_for_hardware, sort_ranked
from gpufit.core.setup import Setup
from gpufit.core.specs import GB, Hardware, ModelSpec, QuantSpec
from gpufit.importers.stores import (
    LocalModel,
    LocalScan,
    find_local,
    is_store_name,
    scan_local_models,
)


def scan(catalog: Catalog, models_dirs: Sequence[str] | None) -> LocalScan:
    """Scan this machine: settings.toml's `[models] paths`, then each `--models-dir`."""
    from gpufit.persist.settings import SettingsStore

    store = SettingsStore()
    for problem in store.problems:
        print(f"gpufit-tui: {problem}", file=sys.stderr)
    return scan_local_models(store.settings.model_paths, tuple(models_dirs or ()),
                             catalog.quants)


def local_model_and_quant(catalog: Catalog, model_name: str, quant_name: str | None,
                          models_dirs: Sequence[str] | None
                          ) -> tuple[ModelSpec, QuantSpec] | None:
    """The local model a store name (`ollama:…`, `hf:…`) gives, joined into `catalog`, at its
    file's quant unless `quant_name` says otherwise; None when `model_name` is no store name.
    Raises LocalLookupError when no model (or several) on this machine has that name."""
    if not is_store_name(model_name):
        return None
    found = find_local(scan(catalog, models_dirs), model_name, quant_name)
    for note in found.notes:
        print(f"gpufit-tui: {found.name}: {note}", file=sys.stderr)
    found.imported.join(catalog)
    return found.imported.spec, resolve_quant(catalog.quants, quant_name or found.quant_id)


def model_row(model: LocalModel) -> dict[str, Any]:
    """One model of `list models --local --format json`."""
    spec = model.imported.spec
    return {"name": model.name, "store": model.store, "id": spec.id,
            "quant": model.quant_id, "label": model.imported.file_weights.label,
            "weights_bytes": model.weights_bytes, "size_bytes": model.size_bytes,
            "params_total": model.imported.file_weights.breakdown.total_params,
            "max_context_tokens": spec.max_context_tokens, "mtime": model.mtime,
            "paths": list(model.paths), "notes": list(model.notes)}


def list_local(catalog: Catalog, args: argparse.Namespace) -> int:
    """`list models --local`: what the scan found, then what it skipped and why."""
    found = scan(catalog, args.models_dir)
    search = args.search.casefold() if args.search else None
    models = [model for model in found.models
              if search is None or search in model.name.casefold()]
    if args.format == "json":
        print_json({
            "status": found.status, "models": [model_row(model) for model in models],
            "skipped": [{"store": item.store, "path": item.path, "reason": item.reason}
                        for item in found.skipped],
            "problems": list(found.problems),
            "searched": [{"store": store, "path": path} for store, path in found.roots]})
        return 0
    width = max((len(model.name) for model in models), default=10)
    for model in models:
        print(f"{model.name:<{width}}  {model.quant_id:<10} {_size(model.weights_bytes)} weights"
              f"  {_size(model.size_bytes)} on disk")
    for item in found.skipped:
        print(f"skipped  {item.path}: {item.reason}")
    for problem in found.problems:
        print(f"problem  {problem}")
    print(found.status, file=sys.stderr)
    return 0


def _size(size_bytes: int) -> str:
    # Small files (tests, embeddings) would all read 0.00 GB.
    return f"{size_bytes / GB:>8.2f} GB" if size_bytes >= GB / 10 else f"{size_bytes / 1e6:>8.2f} MB"


def local_models(catalog: Catalog, models_dirs: Sequence[str] | None) -> list[LocalModel]:
    """Every model on this machine, joined into `catalog` (for `sweep --local`)."""
    found = scan(catalog, models_dirs)
    print(f"gpufit-tui: {found.status}", file=sys.stderr)
    for model in found.models:
        model.imported.join(catalog)
    return list(found.models)


def rank_local(hardware: Hardware, catalog: Catalog, models_dirs: Sequence[str] | None,
               setup: Setup, engine_given: bool, min_tokens_per_s: float,
               max_quality_loss_pct: float,
               order: str = "capability") -> tuple[list[RankedModel], dict[str, dict[str, Any]]]:
    """`sweep --gpu X --local`: each model on this machine at its file's own quant, by the
    catalog sweep's rule (gpufit.core.rank), best first; plus, per model id, the row's local
    fields (store name, engine). A file llama.cpp cannot run (safetensors) is ranked on the
    first engine its quant runs on, unless the user named an engine."""
    ranked: list[RankedModel] = []
    extra: dict[str, dict[str, Any]] = {}
    models = local_models(catalog, models_dirs)
    for model in models:
        quant = catalog.quants[model.quant_id]
        engine = setup.engine if engine_given or setup.engine in quant.engines \
            else quant.engines[0]
        per_model = replace(setup, engine=engine)  # type: ignore[arg-type]
        ranked += best_for_hardware(hardware, [model.imported.spec], [quant], per_model,
                                    min_tokens_per_s, max_quality_loss_pct)
        extra[model.imported.spec.id] = {"name": model.name, "store": model.store,
                                         "engine": engine, "paths": list(model.paths)}
    left_out = len(models) - len(ranked)
    if left_out:
        print(f"gpufit-tui: {left_out} of {len(models)} local models do not fit with margin, "
              "run too slowly or lose too much quality here (see `report --model NAME`)",
              file=sys.stderr)
    sort_ranked(ranked, order)
    return ranked, extra
