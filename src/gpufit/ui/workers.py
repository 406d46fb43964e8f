"""The one way a failed worker reaches the user: a notification naming the worker and the error.

`Worker.StateChanged` is delivered to the worker's own screen and does not bubble out of a
modal screen, so every screen that runs workers routes their state changes here.
"""

from __future__ import annotations

from textual.widget import Widget
from textual.worker import Worker, WorkerState


def notify_failure(node: Widget, event: Worker.StateChanged) -> bool:
    """Notify when `event` says a worker failed; returns whether it did."""
    if event.state != WorkerState.ERROR:
        return False
    node.notify(f"{event.worker.error}", title=f"{event.worker.name} failed",
                severity="error", timeout=10)
    return True
