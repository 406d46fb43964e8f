"""Waiting for the app to settle under a Pilot (tests, the screenshot script, benchmarks)."""

from __future__ import annotations

from contextlib import suppress

from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerFailed

ESTIMATE_GROUP = "estimate"


async def settle(pilot: Pilot, rounds: int = 20) -> None:
    """Process pending messages, then wait until no estimate worker is pending or running.

    Superseded workers are cancelled by design, so their `WorkerCancelled` is expected here.
    """
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        busy = [worker for worker in app.workers
                if worker.group == ESTIMATE_GROUP and not worker.is_finished]
        if not busy:
            await pilot.pause()
            return
        for worker in busy:
            with suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
    raise TimeoutError("estimate workers did not settle")


async def drain(pilot: Pilot, rounds: int = 50) -> None:
    """Wait until every worker (estimate, serving, sweep, …) has finished."""
    for _ in range(rounds):
        await pilot.pause()
        busy = [worker for worker in pilot.app.workers if not worker.is_finished]
        if not busy:
            await pilot.pause()
            return
        for worker in busy:
            with suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
    raise TimeoutError("workers did not finish")
