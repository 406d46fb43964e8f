"""The `profiles` command (`list`, `show NAME`, `delete NAME`) and `--profile NAME` for the app and
for `report`.

This module owns how saved profiles look on the command line (text and JSON), how a profile fills
the `report` arguments the user did not type, and the "no such profile" usage error. Reading and
writing the files is `gpufit.persist.profiles`'s job; this module only calls `ProfileStore`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len

from gpufit.cli_output import print_json
from gpufit.core.specs import GB
from gpufit.persist.profiles import (
    DETECTED_GPU,
    Profile,
    ProfileNotFound,
    ProfileStore,
    ProfileWriteError,
    missing_from_catalog,
    summary,
)

if TYPE_CHECKING:
    from gpufit.core.catalog import Catalog

PROG = "gpufit-tui"


class ProfileUsageError(Exception):
    """The user named a profile that does not exist; the CLI prints it and exits with code 2.

    Its own class rather than `cli.UsageError`: when the CLI runs as `python -m gpufit.cli` that
    module is `__main__`, and importing `gpufit.cli` from here would create a second, different
    `UsageError` class that `main` would not catch.
    """


def add_profiles_parser(commands: argparse._SubParsersAction) -> None:
    """Add `profiles list|show NAME|delete NAME` to the top-level subcommands."""
    profiles = commands.add_parser("profiles", help="list, show or delete saved profiles")
    actions = profiles.add_subparsers(dest="profiles_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every saved profile, one per line")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    show = actions.add_parser("show", help="every field of one profile")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--format", choices=("text", "json"), default="text")
    delete = actions.add_parser("delete", help="remove one profile's file")
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--yes", "-y", action="store_true",
                        help="delete without asking; required when stdin is not a terminal")


def run_profiles(args: argparse.Namespace, catalog: Catalog) -> int:
    """Run `profiles ACTION`; returns the exit code (0 ok, 1 file-system failure, 2 unknown name)."""
    store = ProfileStore()
    try:
        if args.profiles_command == "list":
            return _list(store, catalog, args.format)
        if args.profiles_command == "show":
            return _show(store, catalog, args.name, args.format)
        return _delete(store, args.name, args.yes)
    except ProfileUsageError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    except ProfileWriteError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    finally:
        _print_problems(store)


def check_profile_exists(name: str) -> None:
    """Raise ProfileUsageError (with similar names) unless a profile called `name` exists."""
    store = ProfileStore()
    try:
        _load(store, name)
    finally:
        _print_problems(store)


def load_profile(name: str, catalog: Catalog) -> Profile:
    """The profile `report --profile NAME` starts from; what it names that the catalog lacks is
    listed on stderr (resolving it later then fails with the usual exit 2). Flags typed on the
    command line are applied over its setup by the caller."""
    store = ProfileStore()
    try:
        profile = _load(store, name)
    finally:
        _print_problems(store)
    for missing in missing_from_catalog(profile, catalog):
        print(f"{PROG}: profile '{profile.name}': {missing}", file=sys.stderr)
    return profile


# The actions


def _list(store: ProfileStore, catalog: Catalog, fmt: str) -> int:
    profiles = store.list()
    if fmt == "json":
        print_json([_as_dict(profile, catalog) for profile in profiles])
        return 0
    if not profiles:
        print(f"No saved profiles yet. Save one from the app; they are kept in {store.directory}.")
        return 0
    # Padded by terminal cells, not characters: "日本語" or "🚀" takes two cells per character,
    # and len() would push every column after such a name out of line.
    width = min(max(cell_len(profile.name) for profile in profiles), 32)
    for profile in profiles:
        updated = f" · updated {profile.updated.date().isoformat()}" if profile.updated else ""
        missing = missing_from_catalog(profile, catalog)
        flag = f"  ! {'; '.join(missing)}" if missing else ""
        padding = " " * max(0, width - cell_len(profile.name))
        print(f"{profile.name}{padding}  {summary(profile)}{updated}{flag}")
    return 0


def _show(store: ProfileStore, catalog: Catalog, name: str, fmt: str) -> int:
    profile = _load(store, name)
    if fmt == "json":
        print_json(_as_dict(profile, catalog))
        return 0
    override = profile.memory_override_bytes
    memory = "catalog figure" if override is None else f"{override / GB:,.2f} GB per GPU ({override:,} bytes)"
    rows: list[tuple[str, str]] = [
        ("name", profile.name),
        ("note", profile.note or "-"),
        ("gpu", profile.gpu + (" (whatever nvidia-smi finds)" if profile.gpu == DETECTED_GPU else "")),
        ("gpu count", str(profile.gpu_count)),
        ("memory", memory),
        ("model", profile.model),
        ("quant", profile.quant),
        ("context", f"{profile.context_tokens:,} tokens"),
        ("sequences", str(profile.sequences)),
        ("kv cache", profile.kv_cache_dtype),
        ("engine", profile.engine),
        ("created", _timestamp(profile.created)),
        ("updated", _timestamp(profile.updated)),
    ]
    rows += [(f"extra {key}", json.dumps(_jsonable(value))) for key, value in profile.extra.items()]
    missing = missing_from_catalog(profile, catalog)
    rows.append(("missing", "; ".join(missing) if missing else "nothing; the catalog has every entry"))
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        print(f"{label + ':':<{width}} {value}")
    return 0


def _delete(store: ProfileStore, name: str, yes: bool) -> int:
    profile = _load(store, name)
    if not yes and not sys.stdin.isatty():
        # Nobody can answer the question, and a script that forgot --yes must not delete by
        # accident: refuse, and say how to mean it.
        raise ProfileUsageError(f"profiles delete asks before deleting and there is no terminal "
                                f"to answer; pass --yes to delete '{profile.name}'")
    if not yes:
        try:
            answer = input(f"Delete profile '{profile.name}'? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().casefold() not in {"y", "yes"}:
            print(f"Kept profile '{profile.name}'.")
            return 1
    removed = store.delete(profile.name)
    extra = (f" ({len(removed)} files held that name: {', '.join(path.name for path in removed)})"
             if len(removed) > 1 else "")
    print(f"Deleted profile '{profile.name}'{extra}.")
    return 0


# Helpers


def _load(store: ProfileStore, name: str) -> Profile:
    try:
        return store.load(name)
    except ProfileNotFound as error:
        if error.similar:
            hint = f"; similar: {', '.join(error.similar)}"
        elif store.list():
            hint = f"; see `{PROG} profiles list`"
        else:
            hint = f"; there are no saved profiles in {store.directory}"
        raise ProfileUsageError(f"no profile named '{name}'{hint}") from None


def _print_problems(store: ProfileStore) -> None:
    """Files the store skipped; a file it moved aside names its new file in the message."""
    for problem in store.problems:
        print(f"{PROG}: profile file {problem}", file=sys.stderr)
    store.problems.clear()  # the store says callers clear it once shown, so each is said once


def _timestamp(value: datetime | None) -> str:
    return value.isoformat() if value else "-"


def _as_dict(profile: Profile, catalog: Catalog) -> dict[str, Any]:
    """Every dataclass field, so a field added to `Profile` shows up here without a change."""
    data = {spec.name: _jsonable(getattr(profile, spec.name)) for spec in dataclasses.fields(profile)}
    data["missing"] = missing_from_catalog(profile, catalog)
    return data


def _jsonable(value: Any) -> Any:
    """TOML values (dates and times included, as found in `extra`) as JSON values."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _jsonable(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(inner) for inner in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # TOML has nan and inf; JSON has neither, so say it as text
    return value
