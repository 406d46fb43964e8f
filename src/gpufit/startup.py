"""Garbage collection held off while the program starts, then the start-up heap frozen.

Start-up builds about 70,000 objects that live as long as the program: modules, classes, the
catalog, the widgets. CPython's collector, triggered every 700 allocations, walks them again
and again while they are being made: about 60 ms of collections (one full one of ~30 ms) on the
way to the app's first frame, and nothing freed. The `gpufit-tui` console script holds
collection from its first line; the app releases it after its first frame, a headless command
once its catalog is loaded. Releasing freezes what exists then (`gc.freeze`): later
collections skip the start-up heap, which only reference counting frees.
"""

from __future__ import annotations

import gc

_held = False


def hold() -> None:
    """Pause the cyclic garbage collector until `release`."""
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def release() -> None:
    """Freeze the objects made so far and collect again; nothing when `hold` did not pause it."""
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.enable()


def main() -> int:
    """The `gpufit-tui` console script: hold collection, then import and run the CLI."""
    hold()
    from gpufit.cli import main as cli_main

    return cli_main()
