"""Every file the README links to or shows exists (a renamed screenshot breaks no link silently)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def local_targets(markdown: str) -> list[str]:
    """Link targets that are paths in the repository (not URLs, not anchors)."""
    targets = []
    for target in LINK.findall(markdown):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue
        targets.append(unquote(target.split("#", 1)[0]))
    return targets


def test_the_link_reader_finds_links_and_images():
    text = "![a](screenshots/x.svg) [b](docs/y.md#part) [c](https://example.com) [d](#top)"
    assert local_targets(text) == ["screenshots/x.svg", "docs/y.md"]


def test_every_file_the_readme_links_exists():
    targets = local_targets((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(targets) >= 10  # the README links its docs and screenshots
    missing = [target for target in targets if not (ROOT / target).is_file()]
    assert not missing, f"README links to missing files: {missing}"
