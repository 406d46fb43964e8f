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


def test_no_inner_module_imports_the_ui():
    # Every module of core, detect, persist and importers (walked, so new ones are covered):
    # importing it loads neither Textual, Rich nor gpufit.ui.
    code = """
import importlib, pkgutil, sys
import gpufit.core, gpufit.detect, gpufit.importers, gpufit.persist
names = [info.name for package in (gpufit.core, gpufit.detect, gpufit.importers, gpufit.persist)
         for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
bad = sorted(m for m in sys.modules
             if m.split('.')[0] in ('textual', 'rich') or m.startswith('gpufit.ui'))
print(len(names), ','.join(bad))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, _, bad = done.stdout.strip().partition(" ")
    assert int(count) >= 40 and bad == ""
