"""Command line: `gpufit-tui` opens the app; `report`, `list`, `detect`, `profiles` and `sweep`
answer headlessly (`gpufit.cli_commands`, loaded only for a command).

Exit codes: 0 success, 2 usage error (bad flag, unknown or ambiguous name), 1 other failure
(for `detect`: no GPU found).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gpufit import startup
from gpufit.cli_hub import HubLookupError, hub_timeout_s, is_hub_name, lookup
from gpufit.cli_output import OutputError, silence_stdout
from gpufit.cli_parser import build_parser
from gpufit.cli_profiles import ProfileUsageError, check_profile_exists
from gpufit.core.catalog import Catalog, load_catalog
from gpufit.importers.store_names import LocalLookupError, is_store_name

if TYPE_CHECKING:
    from gpufit.core.specs import QuantSpec
    from gpufit.detect.snapshot import Snapshot
    from gpufit.importers.stores import LocalScan


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gpufit-tui` console script."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, while it can still be handled
    except BrokenPipeError:
        # `list … | head`: the reader has what it wanted. Stop quietly, as `cat` does.
        silence_stdout()
        return 1
    except OutputError as error:
        print(f"gpufit-tui: {error}", file=sys.stderr)
        return 1
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.app_model is not None and args.command is not None:
        parser.error(f"--model before the command opens the app; write `{args.command} "
                     "--model …` instead")
    if args.profile is not None and args.command not in (None, "report"):
        parser.error(f"--profile works alone (to open the app) or with report, not with {args.command}")
    if args.command is None:
        if args.profile is not None:
            try:
                check_profile_exists(args.profile)
            except ProfileUsageError as error:
                print(f"gpufit-tui: {error}", file=sys.stderr)
                return 2
        return _run_app(args.profile, args.app_model, args.app_models_dir, args.app_hub_timeout)
    catalog = _load_catalog()
    startup.release()  # a long sweep must not grow without collection
    # The commands and the estimation core load only for a command: the app does not need them
    # before its first frame.
    from gpufit.cli_commands import run_command

    return run_command(catalog, args)


def _load_catalog() -> Catalog:
    from gpufit.persist.parsed_toml import cached_toml_reader
    from gpufit.persist.paths import user_catalog_dir

    catalog = load_catalog(extra_dirs=[user_catalog_dir()], read=cached_toml_reader())
    for issue in catalog.issues:
        print(f"gpufit-tui: catalog: {issue}", file=sys.stderr)
    return catalog


def _run_app(profile_name: str | None = None, model_path: str | None = None,
             models_dirs: list[str] | None = None, hub_timeout: float | None = None) -> int:
    from gpufit.ui.app import make_app

    imported = None
    if model_path is not None and is_store_name(model_path):
        from gpufit.cli_local import scan
        from gpufit.importers.stores import find_local

        try:
            imported = find_local(scan(_load_catalog(), models_dirs), model_path).imported
        except LocalLookupError as error:
            print(f"gpufit-tui: {error}", file=sys.stderr)
            return 2
    elif model_path is not None and is_hub_name(None, model_path):
        try:
            imported = lookup(_load_catalog(), model_path, None, hub_timeout_s(hub_timeout)).imported
        except HubLookupError as error:
            print(f"gpufit-tui: {error}", file=sys.stderr)
            return 2
    elif model_path is not None:
        from gpufit.importers.errors import ModelImportError
        from gpufit.importers.model_import import import_model

        try:
            imported = import_model(Path(model_path), _load_catalog().quants)
        except ModelImportError as error:
            print(f"gpufit-tui: --model {error}", file=sys.stderr)
            return 2

    async def detect() -> Snapshot:
        # Imported when detection starts, after the first frame: parsers and XML are not
        # needed to paint.
        from gpufit.detect.run import detect as run_detection

        return await run_detection()

    from gpufit.detect.host import system_ram_bytes

    def scan_machine(quants: Mapping[str, QuantSpec]) -> LocalScan:
        # Runs in a worker thread after the first frame: the stores are read only then.
        from gpufit.importers.stores import scan_local_models
        from gpufit.persist.settings import SettingsStore

        return scan_local_models(SettingsStore().settings.model_paths,
                                 tuple(models_dirs or ()), quants)

    make_app(detector=detect, profile_name=profile_name, ram_probe=system_ram_bytes,
             imported_model=imported, local_scanner=scan_machine).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
