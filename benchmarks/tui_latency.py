"""TUI latency: cold start to first frame, and keypress to updated result, in milliseconds.

    python benchmarks/tui_latency.py [--presses 20] [--cold-runs 5]

Cold start runs in a fresh interpreter (imports included, from compiled bytecode as an installed
package has it) and stops at Textual's `Ready` event (the first frame has been painted). The
same harness runs a bare Textual app (one Static and a footer) for the floor Textual itself sets
on this machine. A third figure runs the real `gpufit-tui` executable in an 80×24 pseudo-terminal
and times the bytes until the verdict appears, which is what a user over SSH waits for.
Keypress latency is measured headless with a Pilot: from pressing `]` / `[` (context ×2 / ÷2)
or `j` in the model list until the result panel shows the estimate for the new selection;
`j / k` alternates between two models, `j ×N` walks down the list to a new model each time.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLD_START = r"""
import time
started = time.perf_counter()
from gpufit import startup
startup.hold()  # as the console script does (gpufit.startup.main)
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


BARE_TEXTUAL = r"""
import time
started = time.perf_counter()
import asyncio
from textual import events
from textual.app import App
from textual.widgets import Footer, Static

class Bare(App):
    def compose(self):
        yield Static("hello")
        yield Footer()

async def main():
    first_frame = []

    def hook(message):
        if isinstance(message, events.Ready) and not first_frame:
            first_frame.append(time.perf_counter() - started)

    async with Bare().run_test(size=(80, 24), message_hook=hook) as pilot:
        while not first_frame:
            await pilot.pause()
    print(f"{first_frame[0] * 1000:.0f}")

asyncio.run(main())
"""


def _bytecode_env() -> dict[str, str]:
    """An environment that uses compiled bytecode, as a pip-installed package does."""
    import gpufit

    compileall.compile_dir(Path(gpufit.__file__).parent, quiet=1)
    return {name: value for name, value in os.environ.items()
            if name != "PYTHONDONTWRITEBYTECODE"}


def bare_textual(runs: int) -> list[float]:
    """Milliseconds to the first frame of a minimal Textual app."""
    env = _bytecode_env()
    return [float(subprocess.run([sys.executable, "-c", BARE_TEXTUAL], env=env,
                                 capture_output=True, text=True, check=True).stdout)
            for _ in range(runs)]


def in_terminal(runs: int, timeout_s: float = 10.0) -> list[float]:
    """Milliseconds from exec of `gpufit-tui` in an 80×24 pty until a verdict is on screen."""
    import fcntl
    import pty
    import select
    import signal
    import struct
    import termios

    executable = Path(sys.executable).with_name("gpufit-tui")
    verdicts = (b"FITS", b"TIGHT", b"DOES NOT FIT")
    timings = []
    with tempfile.TemporaryDirectory() as scratch:
        env = {**_bytecode_env(), "TERM": "xterm-256color", "GPUFIT_CONFIG_DIR": scratch}
        for _ in range(runs):
            started = time.perf_counter()
            pid, terminal = pty.fork()
            if pid == 0:  # the child: become the app
                os.execve(executable, [str(executable)], env)
            fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
            seen = b""
            while time.perf_counter() - started < timeout_s:
                ready, _, _ = select.select([terminal], [], [], 0.05)
                if ready:
                    try:
                        seen += os.read(terminal, 65536)
                    except OSError:
                        break
                    if any(verdict in seen for verdict in verdicts):
                        timings.append((time.perf_counter() - started) * 1000)
                        break
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
            os.close(terminal)
    return timings


def cold_start(runs: int) -> tuple[list[float], list[float]]:
    """Milliseconds to the first frame and to the first estimate, each in a new interpreter."""
    frames, results = [], []
    env = _bytecode_env()
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(runs):
            done = subprocess.run([sys.executable, "-c", COLD_START,
                                   str(Path(scratch) / "settings.toml")], env=env,
                                  capture_output=True, text=True, check=True)
            frame, result = done.stdout.split()
            frames.append(float(frame))
            results.append(float(result))
    return frames, results


async def keypress_latency(presses: int, size: tuple[int, int] = (140, 45)) -> dict[str, list[float]]:
    """Milliseconds from a key press until the new estimate is in the panes, and until the
    screen has been repainted with it (timestamps taken inside the app, not by the Pilot)."""
    from gpufit.ui.app import make_app
    from gpufit.ui.pilot import settle
    from gpufit.ui.screens.main import MainScreen

    timings: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        app = make_app(settings_path=Path(scratch) / "settings.toml")
        async with app.run_test(size=size) as pilot:
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
            # Walking down the list, every model new, at a reader's pace (0.15 s a row): the
            # first assessment of a model is the costly one (its quant table).
            for _ in range(presses):
                await pilot.pause(0.15)
                await measure("j", "j ×N (new models)")
    return timings


def describe(values: list[float]) -> str:
    """Median and worst, in ms."""
    return f"median {statistics.median(values):6.1f} ms   max {max(values):6.1f} ms"


def main() -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()
    frames, results = cold_start(args.cold_runs)
    print(f"cold start → first frame        {describe(frames)}   (80×24)")
    print(f"cold start → first estimate     {describe(results)}   (80×24)")
    print(f"bare Textual app → first frame  {describe(bare_textual(args.cold_runs))}   (floor)")
    if os.name == "posix":
        print(f"real pty → verdict on screen    {describe(in_terminal(args.cold_runs))}   (80×24)")
    print("keys headless: a real terminal adds its own drawing time")
    for size in ((80, 24), (140, 45)):
        for label, values in asyncio.run(keypress_latency(args.presses, size)).items():
            print(f"key {label:<27} {describe(values)}   ({size[0]}×{size[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
