"""The core must stay pure: importing it loads no UI library."""

from __future__ import annotations

import subprocess
import sys


def test_core_imports_no_textual_or_rich():
    code = ("import sys, gpufit.core, gpufit.core.recommend, gpufit.core.report, gpufit.service; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')); "
            "print(','.join(bad))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_importers_load_no_ui_and_no_numpy_until_a_gguf_is_read():
    # numpy (via gguf) costs ~0.2 s: the app and the CLI must not pay it unless a GGUF is opened.
    code = ("import sys, gpufit.importers.model_import, gpufit.ui.app, gpufit.cli; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'gguf')); "
            "print(','.join(bad))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
    importers = subprocess.run(
        [sys.executable, "-c", "import sys, gpufit.importers.model_import; "
         "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"],
        capture_output=True, text=True, check=True)
    assert importers.stdout.strip() == "[]"
