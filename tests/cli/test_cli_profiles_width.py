"""`profiles list` lines its columns up by terminal cells, so a name in CJK or with an emoji
(two cells per character) does not push its row's summary out of line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gpufit import cli
from gpufit.persist.profiles import Profile, ProfileStore

NAMES = ("日本語テスト", "🚀 fast", "plain")
"""12 cells (six wide characters), 7 cells (a wide emoji, then six narrow), 5 cells."""
WIDEST_CELLS = 12
"""Counted by hand from the comment above: the summary column starts two cells after it."""


def wide_chars(text: str) -> int:
    """Characters these names draw two cells wide: CJK ideographs, katakana and the rocket."""
    return sum(1 for char in text if "\u3000" <= char <= "\u9fff" or char == "🚀")


def test_list_aligns_names_by_cell_width(capsys: pytest.CaptureFixture[str]) -> None:
    store = ProfileStore(Path(os.environ["GPUFIT_CONFIG_DIR"]) / "profiles")
    for name in NAMES:
        store.save(Profile(name=name, gpu="rtx-4090", model="llama-3.1-8b", quant="Q4_K_M",
                           context_tokens=4096))
    assert cli.main(["profiles", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(NAMES)
    for name in NAMES:
        line = next(line for line in lines if line.startswith(name))
        start = line.index("llama-3.1-8b")
        # Cells before the summary: every character one cell, plus one more for each wide one.
        assert start + wide_chars(line[:start]) == WIDEST_CELLS + 2, line
