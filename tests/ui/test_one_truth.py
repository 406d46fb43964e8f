"""One setup, one assessment: the app's JSON export equals `gpufit-tui report --format json`.

The app is driven to each setup (by keys where a flow loads it: a `b` row, a `w` row, a
profile, an opened GGUF, detection), its `x` export text is taken, and the CLI is run
in-process with the flags that name the same setup. The two JSON documents must be equal
field for field.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gguf import LlamaFileType
from model_files import LLAMA_METADATA, llama_tensors, write_gguf
from ui_helpers import WIDE, main_screen, wait_until

from gpufit import cli
from gpufit.core.catalog import load_catalog
from gpufit.core.setup import Setup
from gpufit.detect.parse import parse_any
from gpufit.detect.snapshot import Snapshot
from gpufit.persist.profiles import ProfileStore, profile_of_setup
from gpufit.ui.reports import report_text
from gpufit.ui.screens.sweeps import SweepScreen

SMI = Path(__file__).parents[1] / "fixtures" / "nvidia-smi" / "own" / "query_8x_h100.csv"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Private config and data dirs, and no RAM reading (the app's tests have no probe)."""
    monkeypatch.setenv("GPUFIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GPUFIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("gpufit.detect.host.system_ram_bytes", lambda: None)


def report_json(capsys: pytest.CaptureFixture[str], *flags: str) -> dict:
    assert cli.main(["report", *flags, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


async def exported(pilot, setup: Setup | None = None) -> dict:
    """The app's JSON export once the assessment of `setup` (or of the screen's) is shown."""
    screen = main_screen(pilot)
    if setup is not None:
        screen.setup = setup
    await wait_until(pilot, lambda: screen.result is not None
                     and screen.result.setup == screen.setup, rounds=300)
    return json.loads(report_text(screen.result, "json"))


CASES = [
    # (setup on screen, the same setup as report flags)
    (Setup(gpu_id="rtx-4090", model_id="llama-3.1-8b", quant_id="Q4_K_M"),
     ["--gpu", "rtx-4090", "--model", "llama-3.1-8b", "--quant", "Q4_K_M"]),
    (Setup(gpu_id="rtx-4090", model_id="llama-3.1-70b", quant_id="Q4_K_M", context_tokens=16384),
     ["--gpu", "rtx-4090", "--model", "llama-3.1-70b", "--quant", "Q4_K_M", "--context", "16384"]),
    (Setup(gpu_id="rtx-4090", gpu_count=2, model_id="llama-3.1-70b", quant_id="Q4_K_M",
           kv_cache_dtype="q8_0", sequences=2),
     ["--gpu", "rtx-4090", "--count", "2", "--model", "llama-3.1-70b", "--quant", "Q4_K_M",
      "--kv-cache-dtype", "q8_0", "--sequences", "2"]),
    (Setup(gpu_id="a100-80gb-sxm", gpu_count=4, model_id="llama-3.1-70b", quant_id="BF16",
           engine="vllm"),
     ["--gpu", "a100-80gb-sxm", "--count", "4", "--model", "llama-3.1-70b", "--quant", "BF16",
      "--engine", "vllm"]),
    (Setup(gpu_id="rtx-4090", gpu_count=3, model_id="llama-3.1-70b", quant_id="AWQ-INT4",
           engine="vllm"),
     ["--gpu", "rtx-4090", "--count", "3", "--model", "llama-3.1-70b", "--quant", "AWQ-INT4",
      "--engine", "vllm"]),
    (Setup(gpu_id="a100-80gb-sxm-mig-3g.40gb", model_id="llama-3.1-8b", quant_id="Q8_0"),
     ["--gpu", "a100-80gb-sxm-mig-3g.40gb", "--model", "llama-3.1-8b", "--quant", "Q8_0"]),
    (Setup(gpu_id="rtx-4090", model_id="llama-3.1-8b", quant_id="AWQ-INT4"),
     ["--gpu", "rtx-4090", "--model", "llama-3.1-8b", "--quant", "AWQ-INT4"]),
    (Setup(gpu_id="rtx-4090", model_id="llama-3.1-8b", quant_id="Q4_K_M", context_tokens=131072,
           flash_attention="off", memory_override_bytes=22_000_000_000),
     ["--gpu", "rtx-4090", "--model", "llama-3.1-8b", "--quant", "Q4_K_M", "--context",
      "131072", "--flash-attention", "off", "--memory-gb", "22"]),
]


@pytest.mark.parametrize(("setup", "flags"), CASES)
async def test_app_export_equals_report(build_app, capsys, setup, flags) -> None:
    app = build_app(catalog=load_catalog())
    async with app.run_test(size=WIDE) as pilot:
        shown = await exported(pilot, setup)
    assert shown == report_json(capsys, *flags)


async def test_a_detected_gpu_with_free_memory(build_app, capsys) -> None:
    snapshot = parse_any(SMI.read_text())

    async def detector() -> Snapshot:
        return snapshot

    app = build_app(catalog=load_catalog(), detector=detector)
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: screen.gpu_id.startswith("detected:"), rounds=300)
        screen.setup = Setup(gpu_id=screen.gpu_id, gpu_count=screen.gpu_count,
                             model_id="llama-3.1-405b", quant_id="Q8_0", context_tokens=72000)
        shown = await exported(pilot)
    report = report_json(capsys, "--gpu", "detected", "--nvidia-smi-output", str(SMI), "--model",
                         "llama-3.1-405b", "--quant", "Q8_0", "--context", "72000")
    assert shown == report
    assert shown["memory"]["free_memory"] is not None


async def test_an_opened_gguf(build_app, capsys, tmp_path: Path) -> None:

    path = tmp_path / "Tiny-Llama-Q4_K_M.gguf"
    write_gguf(path, "llama", LLAMA_METADATA, llama_tensors(), LlamaFileType.MOSTLY_Q4_K_M)
    app = build_app(catalog=load_catalog())
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2", "slash", *"llama 3.1 70", "enter")  # a filter that hides it
        await pilot.press("f", *str(path), "enter")
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: screen.model_id.startswith("local-"), rounds=300)
        shown = await exported(pilot)
    assert shown["model"]["name"] != "Llama 3.1 70B"  # the file, not the filtered row
    assert shown == report_json(capsys, "--gpu", "rtx-4090", "--model", str(path))


async def test_a_profile(build_app, capsys) -> None:
    setup = Setup(gpu_id="a100-80gb-pcie", gpu_count=2, model_id="mixtral-8x7b",
                  quant_id="Q5_K_M", sequences=3, kv_cache_dtype="q8_0", flash_attention="on")
    ProfileStore().save(profile_of_setup("lab", setup, 16384))
    app = build_app(catalog=load_catalog(), profile_name="lab")
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: screen.model_id == "mixtral-8x7b", rounds=300)
        shown = await exported(pilot)
    assert shown == report_json(capsys, "--profile", "lab")


@pytest.mark.parametrize("kind", ["best", "hardware"])
async def test_a_sweep_row_loaded_with_enter(build_app, capsys, kind) -> None:
    app = build_app(catalog=load_catalog())
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: screen.result is not None, rounds=300)
        await pilot.press("b" if kind == "best" else "w")
        await wait_until(pilot, lambda: isinstance(app.screen, SweepScreen)
                         and app.screen.rows_ready, rounds=600)
        await pilot.press("j", "j", "enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, SweepScreen))
        shown = await exported(pilot)
        setup = screen.setup
    flags = ["--gpu", setup.gpu_id, "--count", str(setup.gpu_count), "--model", setup.model_id,
             "--quant", setup.quant_id]
    assert shown == report_json(capsys, *flags)
    assert shown["verdict"] == "fits"  # what the row promised is what loads
