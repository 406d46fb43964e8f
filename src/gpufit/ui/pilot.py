"""Waiting for the app to settle under a Pilot (tests, the screenshot script, benchmarks)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

from textual.pilot import Pilot
from textual.worker import Worker, WorkerCancelled, WorkerFailed

ESTIMATE_GROUP = "estimate"


async def settle(pilot: Pilot, rounds: int = 20) -> None:
    """Process pending messages, then wait until no estimate worker is pending or running.

    Superseded workers are cancelled by design, so their `WorkerCancelled` is expected here.
    """
    await _wait(pilot, lambda worker: worker.group == ESTIMATE_GROUP, rounds, "estimate workers")


async def drain(pilot: Pilot, rounds: int = 50) -> None:
    """Wait until every worker (estimate, serving, sweep, …) has finished."""
    await _wait(pilot, lambda worker: True, rounds, "workers")


async def _wait(pilot: Pilot, watched: Callable[[Worker], bool], rounds: int, what: str) -> None:
    for _ in range(rounds):
        await pilot.pause()
        busy = [worker for worker in pilot.app.workers if watched(worker) and not worker.is_finished]
        if not busy:
            await pilot.pause()
            return
        for worker in busy:
            with suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
    raise TimeoutError(f"{what} did not settle")
