"""Pilot tests: keys and typing change the selection, and the result follows."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Input, OptionList
from ui_helpers import NARROW, WIDE, main_screen, option_ids

from gpufit.core.specs import GB
from gpufit.ui.pilot import settle
from gpufit.ui.widgets.hardware import HardwarePane
from gpufit.ui.widgets.model import ModelPane
from gpufit.ui.widgets.quant import QuantPane
from gpufit.ui.widgets.result import ResultPanel

SIZES = pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "140x45"])


@SIZES
async def test_starts_with_the_default_setup(build_app, size):
    app = build_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        assert screen.has_class("-narrow" if size == NARROW else "-wide")
        result = screen.result
        assert result is not None
        request = result.estimate
        assert (request.hardware.gpu.id, request.model.id, request.quant.id) == \
            ("rtx-4090", "llama-3.1-8b", "Q4_K_M")
        assert request.workload.context_tokens == 8192
        assert isinstance(app.focused, OptionList) and app.focused.id == "model-list"
        banner = str(screen.query_one("#verdict").render())
        assert "FITS" in banner  # the word, never colour alone


@SIZES
async def test_choosing_a_model_updates_the_quant_rows(build_app, size):
    app = build_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        quant_list = screen.query_one(QuantPane).option_list
        before = str(quant_list.get_option("Q4_K_M").prompt)
        await pilot.press("2", "j")  # model pane, one down: Llama 3.1 70B
        await settle(pilot)
        assert screen.model_id == "llama-3.1-70b"
        result = screen.result
        assert result is not None and result.setup.model_id == "llama-3.1-70b"
        assert {row.model.id for row in result.quant_rows} == {"llama-3.1-70b"}
        after = str(quant_list.get_option("Q4_K_M").prompt)
        assert after != before
        assert "no" in after  # 70B at Q4_K_M does not fit one RTX 4090


@SIZES
async def test_context_keys_double_and_halve_and_the_kv_cache_follows(build_app, size):
    app = build_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        assert screen.result is not None
        kv_before = screen.result.estimate.memory.kv_cache_bytes
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert screen.context_tokens == 16384
        assert screen.result.estimate.workload.context_tokens == 16384
        assert screen.result.estimate.memory.kv_cache_bytes > kv_before
        assert screen.query_one("#context", Input).value == "16384"
        for _ in range(12):
            await pilot.press("left_square_bracket")
        await settle(pilot)
        assert screen.context_tokens == 256  # the lower bound
        for _ in range(20):
            await pilot.press("right_square_bracket")
        await settle(pilot)
        assert screen.context_tokens == 4 * 131072  # 4 × Llama 3.1's maximum


@SIZES
async def test_typing_in_the_filter_narrows_the_list_and_follows_it(build_app, size):
    app = build_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        await pilot.press("slash")
        assert app.focused is screen.query_one(ModelPane).filter_input
        await pilot.press(*"mixtral")
        await settle(pilot)
        ids = option_ids(screen.query_one(ModelPane).option_list.options)
        assert ids == ["mixtral-8x7b", "mixtral-8x22b"]
        assert screen.model_id == "mixtral-8x7b"  # the filter hid the old choice
        assert screen.result is not None and screen.result.setup.model_id == "mixtral-8x7b"
        await pilot.press("escape", "j")
        await settle(pilot)
        assert screen.model_id == "mixtral-8x22b"


async def test_filter_words_all_have_to_match(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        await pilot.press("1", "slash", *"a100 80")
        await settle(pilot)
        ids = option_ids(screen.query_one(HardwarePane).option_list.options)
        # The two cards first; their MIG slices follow in the "MIG slice" group.
        assert ids[:2] == ["a100-80gb-pcie", "a100-80gb-sxm"]
        assert ids[2:] and all(gpu.startswith(("a100-80gb-pcie-mig-", "a100-80gb-sxm-mig-"))
                               for gpu in ids[2:])
        assert screen.gpu_id == "a100-80gb-pcie"


async def test_quick_moves_end_on_the_last_row(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        await pilot.press("2", "j", "j", "k", "k", "j")
        await settle(pilot)
        assert screen.model_id == "llama-3.1-70b"
        assert screen.result is not None and screen.result.setup.model_id == "llama-3.1-70b"


@SIZES
async def test_gpu_count_keys_and_typed_count_change_capacity(build_app, size):
    app = build_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        one = screen.result.estimate.memory.available_bytes
        await pilot.press("plus")
        await settle(pilot)
        assert screen.gpu_count == 2
        assert screen.result.estimate.memory.available_bytes == 2 * one
        assert screen.query_one("#gpu-count", Input).value == "2"
        for _ in range(20):
            await pilot.press("plus")
        await settle(pilot)
        assert screen.gpu_count == 16
        await pilot.press("1")
        screen.query_one("#gpu-count", Input).focus()  # selects its text, so typing replaces
        await pilot.pause()
        assert screen.current_pane == "hardware"
        await pilot.press("4")
        await settle(pilot)
        assert screen.gpu_count == 4
        assert screen.result.estimate.memory.available_bytes == 4 * one


async def test_memory_override_is_typed_in_gb(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        await pilot.press("g")  # the box speaks the screen's units: GB here (GiB by default)
        assert screen.units == "GB"
        screen.query_one("#memory-override", Input).focus()
        await pilot.pause()
        await pilot.press(*"20")
        await settle(pilot)
        assert screen.memory_override_bytes == 20 * GB
        assert screen.result.estimate.memory.available_bytes == 20 * GB
        await pilot.press("backspace", "backspace")
        await settle(pilot)
        assert screen.memory_override_bytes is None


async def test_kv_dtype_and_engine_keys(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        kv_f16 = screen.result.estimate.memory.kv_cache_bytes
        await pilot.press("v", "v", "v")  # f16 → bf16 → fp8 → q8_0
        await settle(pilot)
        assert screen.kv_cache_dtype == "q8_0"
        assert screen.result.estimate.memory.kv_cache_bytes < kv_f16
        await pilot.press("e")
        await settle(pilot)
        assert screen.engine == "vllm"
        memory = screen.result.estimate.memory
        assert memory.available_bytes == int(screen.result.estimate.hardware.capacity_bytes * 0.9)
        assert "Engine vllm" in str(screen.query_one("#engine").render())


async def test_units_start_in_gib_and_the_key_switches_to_gb_remembered(build_app,
                                                                          settings_path):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        # A first start shows GiB: a card sold as "24 GB" holds 24 GiB (issue 18, item 18).
        assert "GiB" in str(screen.query_one("#breakdown").render())
        await pilot.press("g")
        await pilot.pause()
        assert " GB" in str(screen.query_one("#breakdown").render())
        assert "GiB" not in str(screen.query_one("#breakdown").render())
        assert "GB" in screen.query_one(ResultPanel).border_subtitle
    assert 'units = "GB"' in settings_path.read_text(encoding="utf-8")
    again = build_app()
    async with again.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert main_screen(pilot).units == "GB"


async def test_number_keys_switch_the_shown_picker_when_narrow(build_app):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        hardware, model = screen.query_one(HardwarePane), screen.query_one(ModelPane)
        assert model.display and not hardware.display
        await pilot.press("1")
        await pilot.pause()
        assert hardware.display and not model.display
        assert app.focused is hardware.option_list
        await pilot.press("4")
        await pilot.pause()
        assert app.focused is screen.query_one(ResultPanel)
        assert hardware.display  # the last picker stays beside the result


async def test_tab_reaches_every_pane_even_hidden_ones(build_app):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        seen: set[str] = set()
        for _ in range(16):
            await pilot.press("tab")
            await pilot.pause()
            focused = app.focused
            assert focused is not None and focused.display
            seen.add(screen.current_pane)
        assert seen == {"hardware", "model", "quant"}
        await pilot.press("shift+tab")
        await pilot.pause()
        assert app.focused is not None


async def test_enter_in_a_list_moves_on(build_app):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await pilot.pause()
        screen = main_screen(pilot)
        assert app.focused is screen.query_one(QuantPane).filter_input


async def test_keys_typed_straight_after_a_focus_key_land_in_the_new_place(build_app):
    """No waiting between keys (a fast typist, or keys arriving in one SSH packet)."""
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        for key, character in [("3", "3"), ("j", "j"), ("slash", "/"), ("i", "i"),
                               ("q", "q"), ("2", "2")]:
            app.post_message(events.Key(key, character))
        await settle(pilot)
        assert app.is_running  # the q went into the filter, not to quit
        assert screen.query_one(QuantPane).filter_input.value == "iq2"
        assert screen.quant_id == "IQ2_M"
