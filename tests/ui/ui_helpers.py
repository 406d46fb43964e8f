"""Helpers for the UI tests: reach the main screen, wait for conditions, read lists."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual.pilot import Pilot

from gpufit.ui.screens.host import HostDialog
from gpufit.ui.screens.main import MainScreen

NARROW = (80, 24)
WIDE = (140, 45)


def main_screen(pilot: Pilot) -> MainScreen:
    """The app's main screen (whatever is on top of it)."""
    screen = pilot.app.screen_stack[0]
    assert isinstance(screen, MainScreen)
    return screen


async def wait_until(pilot: Pilot, condition: Callable[[], bool], rounds: int = 50) -> None:
    """Let the app process messages until `condition` holds (no blind sleeping)."""
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause()
    assert condition(), "condition never became true"


def option_ids(options: Iterable[Any]) -> list[str]:
    """Ids of the selectable options of a list."""
    return [option.id for option in options if option.id is not None]


async def open_host_dialog(pilot: Pilot) -> HostDialog:
    """Press `$` and return the host dialog it opens."""
    await pilot.press("dollar_sign")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HostDialog))
    dialog = pilot.app.screen
    assert isinstance(dialog, HostDialog)
    return dialog
