"""TUI latency: cold start to first frame, and keypress to updated result, in milliseconds.

    python benchmarks/tui_latency.py [--presses 20]

Cold start runs in a fresh interpreter (imports included) and stops at Textual's `Ready` event
(the first frame has been painted). Keypress latency is measured headless with a Pilot: from
pressing `]` / `[` (context ×2 / ÷2) or `j` in the model list until the result panel shows the
estimate for the new selection.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLD_START = r"""
import time
started = time.perf_counter()
import asyncio, sys
from pathlib import Path
from textual import events
from gpufit.ui.app import make_app
from gpufit.ui.pilot import settle

async def main():
    app = make_app(settings_path=Path(sys.argv[1]))
    first_frame = []

    def hook(message):
        if isinstance(message, events.Ready) and not first_frame:
            first_frame.append(time.perf_counter() - started)

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        while not first_frame:
            await pilot.pause()
        await settle(pilot)
        first_result = time.perf_counter() - started
    print(f"{first_frame[0] * 1000:.0f} {first_result * 1000:.0f}")

asyncio.run(main())
"""


def cold_start(runs: int) -> tuple[list[float], list[float]]:
    """Milliseconds to the first frame and to the first estimate, each in a new interpreter."""
    frames, results = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(runs):
            done = subprocess.run([sys.executable, "-c", COLD_START,
                                   str(Path(scratch) / "settings.toml")],
                                  capture_output=True, text=True, check=True)
            frame, result = done.stdout.split()
            frames.append(float(frame))
            results.append(float(result))
    return frames, results


async def keypress_latency(presses: int) -> dict[str, list[float]]:
    """Milliseconds from a key press until the new estimate is in the panes, and until the
    screen has been repainted with it (timestamps taken inside the app, not by the Pilot)."""
    from gpufit.ui.app import make_app
    from gpufit.ui.pilot import settle
    from gpufit.ui.screens.main import MainScreen

    timings: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        app = make_app(settings_path=Path(scratch) / "settings.toml")
        async with app.run_test(size=(140, 45)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, MainScreen)
            landed: list[float] = []
            painted: list[float] = []
            screen.watch(screen, "result", lambda: landed.append(time.perf_counter()),
                         init=False)
            original_refresh = screen._compositor_refresh  # a private hook, for measuring only

            def timed_refresh() -> None:
                original_refresh()
                painted.append(time.perf_counter())

            screen._compositor_refresh = timed_refresh  # type: ignore[method-assign]

            async def measure(key: str, label: str) -> None:
                landed.clear()
                started = time.perf_counter()
                await pilot.press(key)
                await settle(pilot)
                while not painted or painted[-1] < landed[-1]:
                    await pilot.pause()
                first_paint = next(stamp for stamp in painted if stamp >= landed[-1])
                timings.setdefault(f"{label} → estimate in panes", []).append(
                    (landed[-1] - started) * 1000)
                timings.setdefault(f"{label} → repainted", []).append(
                    (first_paint - started) * 1000)

            for index in range(presses):
                await measure("right_square_bracket" if index % 2 == 0 else
                              "left_square_bracket", "] / [")
            await pilot.press("2")
            await settle(pilot)
            for index in range(presses):
                await measure("j" if index % 2 == 0 else "k", "j / k")
    return timings


def describe(values: list[float]) -> str:
    """Median and worst, in ms."""
    return f"median {statistics.median(values):6.1f} ms   max {max(values):6.1f} ms"


def main() -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()
    frames, results = cold_start(args.cold_runs)
    print(f"cold start → first frame        {describe(frames)}   (80×24)")
    print(f"cold start → first estimate     {describe(results)}   (80×24)")
    print("keys at 140×45; all headless: a real terminal adds its own drawing time")
    for label, values in asyncio.run(keypress_latency(args.presses)).items():
        print(f"key {label:<27} {describe(values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
