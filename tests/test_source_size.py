"""Every module of the package stays small enough to read in one sitting (one job each)."""

from __future__ import annotations

from pathlib import Path

import gpufit

LIMIT_LINES = 400


def test_every_module_stays_under_the_limit() -> None:
    too_long = {str(path.relative_to(Path(gpufit.__file__).parent)): lines
                for path in Path(gpufit.__file__).parent.rglob("*.py")
                if (lines := path.read_text(encoding="utf-8").count("\n")) > LIMIT_LINES}
    assert too_long == {}
