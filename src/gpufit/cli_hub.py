"""`--model org/name[:QUANT][@revision]`: a Hugging Face Hub model for `report` (and the app).

A Hub id is looked up only when no catalog entry answers to it exactly (a catalog alias
still wins, offline) and it is not a local path. The lookup itself (`gpufit.importers.hub`)
reads headers only and is cached; here it is wired to flags, settings and messages.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gpufit.cli_values import seconds_up_to
from gpufit.core.catalog import Catalog
from gpufit.core.exl2 import resolve_quant
from gpufit.core.specs import ModelSpec, QuantSpec

if TYPE_CHECKING:
    from gpufit.importers.hub import HubModel


class HubLookupError(Exception):
    """A Hub lookup that failed, in one line; exits with code 2."""


def _seconds(text: str) -> float:
    return seconds_up_to(text, 600)


def add_hub_timeout_flag(parser: argparse.ArgumentParser, dest: str = "hub_timeout") -> None:
    parser.add_argument("--hub-timeout", dest=dest, type=_seconds, default=None, metavar="SECONDS",
                        help="wait this long for each Hugging Face Hub request when --model is "
                             "org/name (default: hub_timeout_s in settings.toml, else 10)")


def is_hub_name(catalog: Catalog | None, model_name: str) -> bool:
    """Whether `model_name` asks for a Hub lookup: an `org/name` id that no catalog entry has as
    its id, name or alias and that is no local path."""
    from gpufit.importers.hub import parse_hub_ref
    from gpufit.importers.locate import looks_like_path

    if parse_hub_ref(model_name) is None or looks_like_path(model_name) \
            or Path(model_name).expanduser().exists():
        return False
    if catalog is None:
        return True
    folded = model_name.casefold()
    return not any(folded in {name.casefold() for name in (model.id, model.name, *model.aliases)}
                   for model in catalog.models.values())


def hub_timeout_s(flag: float | None) -> float:
    """The flag's timeout, else the one in settings.toml (default 10 s)."""
    if flag is not None:
        return flag
    from gpufit.persist.settings import SettingsStore

    return SettingsStore().settings.hub_timeout_s


def hub_model_and_quant(catalog: Catalog, model_name: str, quant_name: str | None,
                        timeout_flag: float | None) -> tuple[ModelSpec, QuantSpec] | None:
    """The Hub model `model_name` names, joined into `catalog`, at its file's quant (a
    safetensors repo: unless `quant_name` says otherwise); None when it names no Hub model."""
    if not is_hub_name(catalog, model_name):
        return None
    found = lookup(catalog, model_name, quant_name, hub_timeout_s(timeout_flag))
    imported = found.imported
    for note in imported.notes:
        print(f"gpufit-tui: {found.repo_id}: {note}", file=sys.stderr)
    imported.join(catalog)
    wanted = imported.quant_id if found.file_format == "gguf" else quant_name or imported.quant_id
    return imported.spec, resolve_quant(catalog.quants, wanted)


def lookup(catalog: Catalog, model_name: str, quant_name: str | None,
           timeout_s: float) -> HubModel:
    """Run the Hub lookup for `model_name`, telling stderr when the network is used."""
    from gpufit.importers.errors import ModelImportError
    from gpufit.importers.hub import hub_model_for
    from gpufit.importers.hub_fetch import endpoint

    told = False

    def progress(_message: str, _done: int, _total: int) -> None:
        nonlocal told
        if not told:
            told = True
            repo = model_name.split(":", 1)[0].split("@", 1)[0]
            print(f"gpufit-tui: reading {repo} from {endpoint()} (headers only) …",
                  file=sys.stderr)

    try:
        return hub_model_for(model_name, catalog.quants, quant=quant_name, timeout_s=timeout_s,
                             progress=progress)
    except ModelImportError as error:
        raise HubLookupError(f"--model {error}") from None
