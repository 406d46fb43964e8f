"""Detection in the app: detected GPUs listed first and preselected, statuses, rescans."""

from __future__ import annotations

from pathlib import Path

from ui_helpers import NARROW, WIDE, main_screen, wait_until

from gpufit.detect.parse import parse_any
from gpufit.detect.snapshot import Snapshot, failed
from gpufit.ui.pilot import settle
from gpufit.ui.widgets.hardware import HardwarePane

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nvidia-smi"
MIB = 1024**2


def recorded(name: str):
    """A detector that returns what nvidia-smi printed in a recorded file."""
    snapshot = parse_any((FIXTURES / name).read_text(encoding="utf-8"))

    async def detector() -> Snapshot:
        return snapshot
    return detector


async def test_detected_gpus_come_first_and_are_preselected(build_app):
    app = build_app(detector=recorded("own/query_8x_h100.csv"))
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: screen.gpu_id.startswith("detected:"))
        await settle(pilot)
        assert screen.gpu_count == 8
        pane = screen.query_one(HardwarePane)
        first = next(option for option in pane.option_list.options if not option.disabled)
        assert first.id == "detected:0-7"
        assert "Detected 8 × NVIDIA H100 80GB HBM3" in screen.detection_status
        estimate = screen.result.estimate
        # Measured memory (81559 MiB), not the catalog's; free memory known for the 8 cards.
        assert estimate.hardware.memory_per_gpu_bytes == 81559 * MIB
        assert screen.result.free_memory is not None and screen.result.free_memory.fits


async def test_mig_slices_are_offered_with_their_own_memory(build_app):
    app = build_app(detector=recorded("q_h100_mig_driver590.txt"))
    async with app.run_test(size=NARROW) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: screen.gpu_id.startswith("detected:"))
        await settle(pilot)
        assert screen.result.estimate.hardware.memory_per_gpu_bytes == 40448 * MIB
        await pilot.press("1", "down")
        await settle(pilot)
        assert screen.result.estimate.hardware.memory_per_gpu_bytes == 20096 * MIB


async def test_failure_is_a_status_line_and_the_catalog_still_works(build_app):
    async def broken() -> Snapshot:
        return failed("driver", "nvidia-smi cannot reach the NVIDIA driver")

    app = build_app(detector=broken)
    async with app.run_test(size=NARROW) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: "No GPU detected" in screen.detection_status)
        await settle(pilot)
        assert "driver" in screen.detection_status
        assert screen.gpu_id == "rtx-4090" and screen.result is not None
        status = screen.query_one("#detect-status")
        assert "No GPU detected" in str(status.render())


async def test_a_choice_made_before_detection_finishes_is_kept(build_app):
    import asyncio

    release = asyncio.Event()
    snapshot = parse_any((FIXTURES / "own" / "query_rtx4090.csv").read_text())

    async def slow() -> Snapshot:
        await release.wait()
        return snapshot

    app = build_app(detector=slow)
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        await pilot.press("1", "down")  # the user picks another GPU while nvidia-smi runs
        await settle(pilot)
        picked = screen.gpu_id
        release.set()
        await wait_until(pilot, lambda: bool(screen.detected))
        await settle(pilot)
        assert screen.gpu_id == picked


async def test_rescan_key_runs_detection_again(build_app):
    calls = []
    snapshots = [parse_any((FIXTURES / "own" / "query_8x_h100.csv").read_text()),
                 parse_any((FIXTURES / "own" / "query_rtx4090.csv").read_text())]

    async def detector() -> Snapshot:
        calls.append(1)
        return snapshots[min(len(calls), 2) - 1]

    app = build_app(detector=detector)
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: bool(screen.detected))
        await pilot.press("r")
        await wait_until(pilot, lambda: len(calls) == 2 and "RTX 4090" in screen.detection_status)
        await settle(pilot)
        assert [option.key for option in screen.detected] == ["detected:0"]
