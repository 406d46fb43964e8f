"""What `gpufit-tui` sets up before its first frame: no model store is read (neither the store
scanner nor the file readers are imported; the scan runs after the first frame), and the frame
cap is the app's own unless the user chose one."""

from __future__ import annotations

import os
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


def _frame_cap(environment: dict[str, str]) -> str:
    code = "import gpufit.cli, gpufit.ui.app; from textual import constants; print(constants.MAX_FPS)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env=environment)
    return done.stdout.strip()


def test_the_app_paints_up_to_120_frames_a_second_unless_the_user_says_otherwise() -> None:
    # Textual's 60 held a key's result frame up to 33 ms behind its echo (gpufit/ui/__init__.py).
    base = {name: value for name, value in os.environ.items() if name != "TEXTUAL_FPS"}
    assert _frame_cap(base) == "120"
    assert _frame_cap({**base, "TEXTUAL_FPS": "30"}) == "30"
