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
