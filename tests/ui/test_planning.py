"""Pilot tests of the planning screens: serving chart, sweeps, pin and compare, run hints, host."""

from __future__ import annotations

import tomllib

import pytest
from textual.widgets import DataTable, Input, Static
from ui_helpers import NARROW, WIDE, main_screen, open_host_dialog

from gpufit.core.serving import DEFAULT_TPOT_LIMIT_S
from gpufit.ui.pilot import drain, settle
from gpufit.ui.screens.compare import CompareScreen, RunHintsScreen
from gpufit.ui.screens.host import HostDialog, parse_host_values
from gpufit.ui.screens.serving import ServingScreen
from gpufit.ui.screens.sweeps import SweepScreen
from gpufit.ui.widgets.chart import ServingChart, chart_cells, chart_text


async def setup(pilot, gpu: str, model: str, quant: str, engine: str = "llama.cpp") -> None:
    await settle(pilot)
    screen = main_screen(pilot)
    screen.gpu_id, screen.model_id, screen.quant_id, screen.engine = gpu, model, quant, engine
    await settle(pilot)


async def test_serving_view_charts_mixtral_awq_on_a100(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await setup(pilot, "a100-80gb-sxm", "mixtral-8x7b", "AWQ-INT4", "vllm")
        await pilot.press("l")
        await drain(pilot)
        screen = app.screen
        assert isinstance(screen, ServingScreen)
        profile = screen.profile
        assert profile is not None and profile.best is not None
        assert profile.best.tpot_s <= DEFAULT_TPOT_LIMIT_S
        chart = screen.query_one(ServingChart)
        text = chart_text(chart_cells(chart.points, chart.tpot_limit_s, chart.best, 100, 20))
        assert "█" in text and "●" in text and "┄" in text
        assert f"[{profile.best.concurrency}]" in text
        # Typing a tighter limit moves the best level down.
        limit = screen.query_one("#tpot-limit", Input)
        limit.value = "50"
        await drain(pilot)
        tighter = screen.profile
        assert tighter is not None and tighter.tpot_limit_s == 0.05
        assert tighter.best is not None and tighter.best.concurrency < profile.best.concurrency
        await pilot.press("escape")
        assert not isinstance(app.screen, ServingScreen)


async def test_serving_view_fits_80x24(build_app):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await drain(pilot)
        chart = app.screen.query_one(ServingChart)
        assert chart.content_region.height >= 8
        assert "concurrent users" in str(chart.render())


async def test_best_here_loads_the_chosen_row(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await setup(pilot, "rtx-4090", "llama-3.1-8b", "Q4_K_M")
        await pilot.press("b")
        await drain(pilot)
        sweep = app.screen
        assert isinstance(sweep, SweepScreen)
        table = sweep.query_one(DataTable)
        assert table.row_count >= 10
        await pilot.press("j", "enter")
        await settle(pilot)
        screen = main_screen(pilot)
        chosen = [str(cell) for cell in table.get_row_at(1)]
        assert screen.result is not None
        assert screen.result.estimate.model.name == chosen[0]
        assert screen.quant_id == chosen[1]
        assert screen.result.estimate.verdict == "fits"


async def test_best_here_says_its_order_and_o_switches_it(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await setup(pilot, "rtx-4090", "llama-3.1-8b", "Q4_K_M")
        await pilot.press("b")
        await drain(pilot)
        sweep = app.screen
        assert isinstance(sweep, SweepScreen)
        rule = str(sweep.query_one(".sweep-rule", Static).render())
        assert "dense-equivalent" in rule
        await pilot.press("o")
        for _ in range(100):
            if sweep.rows_ready:
                break
            await pilot.pause(0.02)
        assert sweep.order == "speed"
        assert "fastest decode first" in str(sweep.query_one(".sweep-rule", Static).render())
        table = sweep.query_one(DataTable)
        speeds = [float(str(table.get_row_at(row)[4]).replace(",", ""))
                  for row in range(table.row_count)]
        assert speeds == sorted(speeds, reverse=True) and len(speeds) >= 10


async def test_hardware_for_model_loads_gpu_and_count(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await setup(pilot, "rtx-4090", "llama-3.1-70b", "Q4_K_M")
        await pilot.press("w")
        await drain(pilot)
        assert isinstance(app.screen, SweepScreen)
        await pilot.press("enter")
        await settle(pilot)
        screen = main_screen(pilot)
        assert screen.result is not None and screen.result.estimate.verdict == "fits"
        # The first row is the smallest setup: nothing with less total memory fits.
        assert screen.result.estimate.hardware.capacity_bytes < 60e9


async def test_pin_then_compare_side_by_side(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await setup(pilot, "rtx-4090", "llama-3.1-8b", "Q4_K_M")
        await pilot.press("c")  # nothing pinned: a warning, no screen
        assert not isinstance(app.screen, CompareScreen)
        await pilot.press("p")
        main_screen(pilot).quant_id = "Q8_0"
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        rows = {str(table.get_row_at(index)[0]): [str(cell) for cell in table.get_row_at(index)[1:]]
                for index in range(table.row_count)}
        assert list(rows["quant ≠"]) == ["Q4_K_M", "Q8_0"]
        assert rows["model"][0] == rows["model"][1] == "Llama 3.1 8B"


async def test_run_hints_show_both_engines(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await setup(pilot, "a100-40gb-sxm", "mixtral-8x22b", "FP16")
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, RunHintsScreen)
        commands = [hint.command for hint in main_screen(pilot).result.run_hints]
        # The model does not fit: the llama.cpp line carries the fastest offload plan's flags.
        assert commands[0].startswith("llama-server")
        assert "--n-cpu-moe" in commands[0]
        assert any(command.startswith("vllm serve") for command in commands)


async def test_host_dialog_saves_price_and_ram(build_app, settings_path):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await open_host_dialog(pilot)
        await pilot.press("tab", "tab", *"2.5", "enter")
        await settle(pilot)
        saved = tomllib.loads(settings_path.read_text())
        assert saved["price_per_gpu_hour"] == 2.5
        assert "ram_gb" not in saved
        energy = main_screen(pilot).result.energy
        assert energy is not None and energy.price_per_gpu_hour == 2.5
        # 450 W RTX 4090 at r tok/s (the stated basis: the serving view's best load):
        # cost = 2.5 / (r × 3600 / 1e6).
        basis = main_screen(pilot).result.energy_basis
        assert basis is not None and basis.source == "serving-best"
        rate = main_screen(pilot).result.serving.best.aggregate_tokens_per_s
        assert basis.tokens_per_s == rate
        assert energy.cost_per_million_tokens == pytest.approx(2.5 / (rate * 3600 / 1e6))


def test_host_values_name_the_bad_field():
    values, problems = parse_host_values({"ram_gb": "", "ram_bandwidth_gbps": "fast",
                                          "price_per_gpu_hour": "-1"})
    assert values == {"ram_gb": None}
    assert problems == ["RAM bandwidth, GB/s: 'fast' is not a number",
                        "Price per GPU-hour: must be greater than 0"]


def dialog_text(dialog: HostDialog) -> str:
    return " ".join(str(static.render()) for static in dialog.query("Label, Static"))


async def test_host_dialog_speaks_the_screens_units_and_keeps_decimal_gb(build_app,
                                                                         settings_path):
    app = build_app(ram_probe=lambda: 64 * 2**30)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        text = dialog_text(await open_host_dialog(pilot))
        assert "System RAM, GiB" in text and "The OS reports 64.0 GiB of RAM." in text
        await pilot.press(*"32", "enter")
        await settle(pilot)
        saved = tomllib.loads(settings_path.read_text())
        assert saved["ram_gb"] == pytest.approx(32 * 2**30 / 1e9)  # settings keep decimal GB
        assert main_screen(pilot).request().host.ram_bytes == pytest.approx(32 * 2**30)
        await pilot.press("g")  # GB from now on
        await settle(pilot)
        text = dialog_text(await open_host_dialog(pilot))
        assert "System RAM, GB" in text and "68.7 GB of RAM" in text
        assert app.screen.query_one("#ram_gb", Input).value == "34.3597"
        await pilot.press("enter")  # left alone: the RAM is kept as saved, not as shown
        await settle(pilot)
        assert tomllib.loads(settings_path.read_text())["ram_gb"] == 32 * 2**30 / 1e9
