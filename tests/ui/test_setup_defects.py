"""Regression tests for the app flows that once showed another setup than the one chosen."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from ui_helpers import WIDE, main_screen, wait_until

from gpufit.core.setup import Setup
from gpufit.detect.parse import parse_any
from gpufit.detect.snapshot import Snapshot, failed
from gpufit.persist.profiles import ProfileStore, profile_of_setup
from gpufit.ui.screens.serving import ServingScreen
from gpufit.ui.screens.sweeps import SweepScreen

SMI = Path(__file__).parents[1] / "fixtures" / "nvidia-smi" / "own" / "query_rtx4090.csv"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPUFIT_CONFIG_DIR", str(tmp_path / "config"))


async def test_a_late_detection_keeps_the_profile_gpu(build_app) -> None:
    ProfileStore().save(profile_of_setup("p", Setup(gpu_id="a100-80gb-sxm"), 8192))
    release = asyncio.Event()
    snapshot = parse_any(SMI.read_text())

    async def slow() -> Snapshot:
        await release.wait()
        return snapshot

    app = build_app(detector=slow, profile_name="p")
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: screen.gpu_id == "a100-80gb-sxm")
        release.set()
        await wait_until(pilot, lambda: bool(screen.detected))
        await pilot.pause()
        assert screen.gpu_id == "a100-80gb-sxm"


async def test_a_failed_rescan_keeps_the_detected_gpu(build_app) -> None:
    answers = [parse_any(SMI.read_text()), failed("timeout", "nvidia-smi did not answer within 2 s")]

    async def detector() -> Snapshot:
        return answers.pop(0)

    app = build_app(detector=detector)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: screen.gpu_id.startswith("detected:"))
        chosen = screen.gpu_id
        await pilot.press("r")
        await wait_until(pilot, lambda: not answers and "Kept" in screen.detection_status)
        assert screen.gpu_id == chosen and screen.detected
        assert any("did not answer" in str(note.message) for note in app._notifications)


async def test_plus_on_a_mig_slice_is_refused_with_the_reason(build_app) -> None:
    app = build_app()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        screen = main_screen(pilot)
        screen.setup = Setup(gpu_id="a100-80gb-sxm-mig-3g.40gb", model_id="llama-3.1-8b")
        await pilot.pause()
        await pilot.press("plus")
        await pilot.pause()
        assert screen.gpu_count == 1
        assert any("MIG" in str(note.message) for note in app._notifications)


@pytest.mark.parametrize("key", ["b", "l"])
async def test_a_failing_worker_in_a_modal_screen_is_a_notification(build_app, monkeypatch,
                                                                     key) -> None:
    def broken(*_args, **_kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr("gpufit.ui.screens.sweeps.best_rows", broken)
    monkeypatch.setattr("gpufit.ui.screens.serving.compute", broken)
    app = build_app()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: screen.result is not None)
        await pilot.press(key)
        await wait_until(pilot, lambda: isinstance(app.screen, SweepScreen | ServingScreen))
        if key == "l":
            await pilot.press("1")  # a prompt length: the view re-assesses in a worker
        await wait_until(pilot, lambda: any("simulated failure" in str(note.message)
                                            for note in app._notifications), rounds=100)
        assert app.is_running
