"""Opening the app reads no model store before its first frame: `gpufit-tui` with no command
imports neither the store scanner nor the file readers (the scan runs after the first frame)."""

from __future__ import annotations

import subprocess
import sys

_STORE_MODULES = ("gpufit.importers.stores", "gpufit.importers.model_import",
                  "gpufit.importers.gguf_file", "gpufit.cli_local")


def _loaded(imports: str) -> list[str]:
    code = (f"import sys; {imports}; "
            f"print(','.join(sorted(m for m in sys.modules if m in {_STORE_MODULES!r})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return [name for name in done.stdout.strip().split(",") if name]


def test_the_entry_point_and_the_app_do_not_import_the_store_readers() -> None:
    assert _loaded("import gpufit.cli, gpufit.cli_parser, gpufit.ui.app; "
                   "gpufit.cli_parser.build_parser().parse_args([])") == []


def test_listing_local_models_does_import_them() -> None:
    # The check above can fail: the command that reads the stores loads the readers.
    loaded = _loaded("import gpufit.cli; from gpufit.cli_local import list_local")
    assert "gpufit.importers.stores" in loaded
