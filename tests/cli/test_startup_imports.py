"""What `gpufit-tui` sets up before its first frame: no model store is read (neither the store
scanner nor the file readers are imported; the scan runs after the first frame), the estimation
core, the report and the GPU matcher load with the first estimate or detection (after the first
frame), and the frame cap is the app's own unless the user chose one."""

from __future__ import annotations

import os
import subprocess
import sys

_STORE_MODULES = ("gpufit.importers.stores", "gpufit.importers.model_import",
                  "gpufit.importers.gguf_file", "gpufit.cli_local")


_ESTIMATION_MODULES = ("gpufit.core.assess", "gpufit.core.estimate", "gpufit.core.offload",
                       "gpufit.core.serving", "gpufit.core.split", "gpufit.core.rank",
                       "gpufit.core.report", "gpufit.core.recommend", "gpufit.detect.match",
                       "gpufit.cli_commands", "gpufit.ui.screens.profiles")


def _loaded(imports: str, watched: tuple[str, ...] = _STORE_MODULES) -> list[str]:
    code = (f"import sys; {imports}; "
            f"print(','.join(sorted(m for m in sys.modules if m in {watched!r})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return [name for name in done.stdout.strip().split(",") if name]


def test_the_entry_point_and_the_app_do_not_import_the_store_readers() -> None:
    assert _loaded("import gpufit.cli, gpufit.cli_parser, gpufit.ui.app; "
                   "gpufit.cli_parser.build_parser().parse_args([])") == []


def test_the_app_starts_without_the_estimation_core() -> None:
    assert _loaded("import gpufit.cli, gpufit.cli_parser, gpufit.ui.app; "
                   "gpufit.cli_parser.build_parser().parse_args([])", _ESTIMATION_MODULES) == []


def test_the_first_estimate_loads_the_estimation_core() -> None:
    # The check above can fail: estimating (what the app does after its first frame) loads it.
    loaded = _loaded("import gpufit.ui.app; from gpufit.core.catalog import load_catalog; "
                     "from gpufit.service import EstimateRequest, compute; "
                     "from gpufit.core.setup import Setup; "
                     "compute(EstimateRequest(Setup()), load_catalog())", _ESTIMATION_MODULES)
    assert {"gpufit.core.assess", "gpufit.core.estimate", "gpufit.core.offload"} <= set(loaded)


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
