"""One frame per keypress: the key's echo and its new result are painted together.

A key that changes the setup repaints twice otherwise — the moved highlight or the new number
at once, the result ~10–20 ms later — and Textual's screen timer then holds the second frame
back by up to two frame periods. Holding repaints (Textual's batch update) from the change
until its result is on the panes paints once: sooner, and with half the bytes over SSH. The
hold is bounded: released when the newest estimate lands or fails, and by a timer after
`HOLD_LIMIT_S` whatever happens, so a slow estimate never freezes the echo for long.

The first frame is the exception: nothing is held before it, and estimates wait for it. An
estimate thread started earlier shares the interpreter lock with the event loop and would
slow the first paint by as long as the assessment takes; painted first, the panes appear at
once and the verdict follows.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.timer import Timer

HOLD_LIMIT_S = 0.06
"""The longest a key's echo waits for its result (a cold model's first estimate can take
longer; the echo then comes first and the result follows)."""


class FrameHold:
    """Holds the app's repaints between a setup change and its result."""

    def __init__(self, screen: Screen) -> None:
        self._screen = screen
        self._batch: AbstractContextManager[None] | None = None
        self._limit: Timer | None = None
        self._painted = asyncio.Event()

    def start(self) -> None:
        """Note the screen's first frame once it is painted (call when the screen mounts)."""
        self._screen.call_after_refresh(self._painted.set)

    async def first_frame(self) -> None:
        """Return once the screen's first frame is painted."""
        await self._painted.wait()

    @property
    def holding(self) -> bool:
        """Whether repaints are held now."""
        return self._batch is not None

    def hold(self) -> None:
        """Hold repaints until `release` or the time limit (a second hold extends nothing)."""
        if self._batch is not None or not self._painted.is_set():
            return
        self._batch = self._screen.app.batch_update()
        self._batch.__enter__()
        self._limit = self._screen.set_timer(HOLD_LIMIT_S, self.release, name="frame hold")

    def release_for(self, newest: bool) -> None:
        """An estimate ended: release when it was for the newest setup (an older one's end
        leaves the hold to the newer estimate, or to the time limit)."""
        if newest:
            self.release()

    def release(self) -> None:
        """Paint what changed meanwhile, in one frame."""
        batch, self._batch = self._batch, None
        limit, self._limit = self._limit, None
        if limit is not None:
            limit.stop()
        if batch is not None:
            batch.__exit__(None, None, None)
            self._screen.check_idle()  # the screen repaints its dirty widgets when idle
