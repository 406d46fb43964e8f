"""What the panes show is what is computed (issue 18, items 1–5, 10, 11, 14, 15, 20).

Each test drives the app as a user would (keys, Pilot) and reads what is on screen: pickers,
number boxes, the result pane's border and lines, the serving view, the quant rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Static
from ui_helpers import NARROW, WIDE, main_screen, wait_until

from gpufit.core.setup import Setup
from gpufit.detect.parse import parse_any
from gpufit.detect.snapshot import Snapshot, failed
from gpufit.persist.profiles import Profile, ProfileStore
from gpufit.ui import format as fmt
from gpufit.ui.pilot import drain, settle
from gpufit.ui.screens.profiles import NamePrompt, ProfilesScreen, SavePrompt
from gpufit.ui.screens.serving import ServingScreen
from gpufit.ui.screens.sweeps import SweepChoice
from gpufit.ui.widgets.chart import ServingChart
from gpufit.ui.widgets.hardware import HardwarePane
from gpufit.ui.widgets.model import ModelPane
from gpufit.ui.widgets.quant import QuantPane
from gpufit.ui.widgets.result import ResultPanel

SMI = Path(__file__).parents[1] / "fixtures" / "nvidia-smi" / "own" / "query_rtx4090.csv"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPUFIT_CONFIG_DIR", str(tmp_path / "config"))


def highlighted(pane) -> str | None:
    listing = pane.option_list
    return None if listing.highlighted is None else listing.options[listing.highlighted].id


def messages(app) -> list[str]:
    return [str(note.message) for note in app._notifications]


async def type_filter(pilot, pane_key: str, text: str) -> None:
    await pilot.press(pane_key, "slash", *text)
    await settle(pilot)


# -- 1. after a load, every picker shows the selection -------------------------------------

async def test_a_profile_load_clears_the_filters_that_hide_its_gpu_and_model(build_app):
    ProfileStore().save(Profile(name="small", gpu="rtx-4000-ada", model="llama-3.2-1b",
                                quant="Q8_0"))
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        await type_filter(pilot, "1", "4090")
        await type_filter(pilot, "2", "70b")
        await pilot.press("escape")
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, ProfilesScreen))
        await pilot.press("enter")
        await settle(pilot)
        assert (screen.gpu_id, screen.model_id) == ("rtx-4000-ada", "llama-3.2-1b")
        hardware, model = screen.query_one(HardwarePane), screen.query_one(ModelPane)
        assert highlighted(hardware) == "rtx-4000-ada"
        assert highlighted(model) == "llama-3.2-1b"
        assert highlighted(screen.query_one(QuantPane)) == "Q8_0"
        assert hardware.filter_input.value == "" and model.filter_input.value == ""


async def test_a_sweep_row_shows_its_hardware_in_the_filtered_hardware_list(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        await type_filter(pilot, "1", "4090")
        await pilot.press("escape")
        screen.planning._sweep_chosen(SweepChoice(gpu_id="rtx-4000-ada", gpu_count=3))
        await settle(pilot)
        hardware = screen.query_one(HardwarePane)
        assert highlighted(hardware) == "rtx-4000-ada" and screen.gpu_count == 3
        # Enter on the highlighted row keeps the loaded hardware (it is the selection).
        await pilot.press("1", "enter")
        await settle(pilot)
        assert screen.gpu_id == "rtx-4000-ada"


# -- 2, 3. number boxes show the value in use; Enter leaves every box ---------------------

async def test_a_refused_context_is_replaced_by_the_one_in_use_with_the_reason(build_app):
    app = build_app()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        in_use = screen.context_tokens
        box = screen.query_one("#context", Input)
        screen.set_focus(box)
        box.value = ""
        await pilot.press("1", "enter")
        await settle(pilot)
        assert screen.context_tokens == in_use
        assert box.value == str(in_use)
        assert any("Context 1 refused" in text and str(in_use) in text for text in messages(app))


async def test_gb_per_gpu_is_bounded_by_the_largest_card_and_zero_is_refused(build_app, catalog):
    # The largest card in the catalog (Apple M3 Ultra, 512 GiB = 549.8 GB) × the documented
    # margin of 1.5 is about 825 GB: 999,999 GB per GPU is no hardware that exists.
    largest_gb = max(gpu.memory_bytes for gpu in catalog.gpus.values()) / 1e9
    assert 549 < largest_gb < 551
    app = build_app()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        await pilot.press("g")  # the box speaks the screen's units: this test's are GB
        await settle(pilot)
        assert screen.units == "GB"
        box = screen.query_one("#memory-override", Input)
        for typed in ("999999", "0"):
            screen.set_focus(box)
            box.value = ""
            await pilot.press(*typed, "enter")
            await settle(pilot)
            assert screen.memory_override_bytes is None
            assert box.value == "", typed  # empty: the card's own memory, as the placeholder
            assert any(f"GB/GPU {typed} refused" in text for text in messages(app))
        screen.set_focus(box)
        await pilot.press("8", "0", "0", "enter")  # within the bound: taken
        await settle(pilot)
        assert screen.memory_override_bytes == 800 * 10**9


@pytest.mark.parametrize("box_id", ["gpu-count", "memory-override", "context", "sequences"])
async def test_enter_leaves_every_number_box(build_app, box_id):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        screen.set_focus(screen.query_one(f"#{box_id}", Input))
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(screen.focused, Input)
        sequences = screen.sequences
        await pilot.press("4")  # a digit after Enter is no longer typed into the box
        await settle(pilot)
        assert screen.sequences == sequences


# -- 4. the verdict stays in view -------------------------------------------------------------

async def test_a_new_result_scrolls_the_result_pane_back_to_its_verdict(build_app):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        screen = main_screen(pilot)
        screen.setup = Setup(gpu_id="rtx-3090", model_id="mixtral-8x22b", quant_id="Q3_K_M")
        await settle(pilot)
        panel = screen.query_one(ResultPanel)
        panel.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert panel.scroll_y > 0  # at 80×24 the result is longer than the pane
        await pilot.press("3", "j")
        await settle(pilot)
        assert panel.scroll_y == 0
        verdict = screen.query_one("#verdict", Static)
        assert panel.region.contains_region(verdict.region)


# -- 5. detection says why, in full, and answers r ------------------------------------------

async def test_a_detection_failure_is_shown_in_full_and_r_answers_each_time(build_app):
    problem = "nvidia-smi did not answer within 2 s"

    async def hung() -> Snapshot:
        return failed("timeout", problem)

    app = build_app(detector=hung)
    async with app.run_test(size=NARROW, notifications=True) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: problem in screen.detection_status)
        await pilot.press("1")
        await pilot.pause()
        status = screen.query_one("#detect-status", Static)
        assert "within 2 s" in str(status.render())
        assert status.size.height >= 2  # wrapped, not cut at the pane's width
        assert status.tooltip is not None and problem in str(status.tooltip)
        await pilot.press("r")
        await wait_until(pilot, lambda: any(problem in text for text in messages(app)))


async def test_a_detected_gpu_not_preselected_says_why(build_app):
    snapshot = parse_any(SMI.read_text())
    ProfileStore().save(Profile(name="p", gpu="a100-80gb-sxm", model="llama-3.1-8b",
                                quant="Q4_K_M"))

    async def detector() -> Snapshot:
        return snapshot

    app = build_app(detector=detector, profile_name="p")
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: bool(screen.detected))
        await settle(pilot)
        assert screen.gpu_id == "a100-80gb-sxm"
        assert "Not selected" in screen.detection_status


async def test_a_measured_memory_is_named_as_measured_in_the_units_shown(build_app):
    snapshot = parse_any(SMI.read_text())  # an RTX 4090 with 24,564 MiB

    async def detector() -> Snapshot:
        return snapshot

    app = build_app(detector=detector)
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: bool(screen.detected))
        await settle(pilot)
        line = str(screen.query_one("#setup", Static).render())
        assert f"(measured {24564 / 1024:.1f} GiB)" in line
        await pilot.press("g")
        await settle(pilot)
        line = str(screen.query_one("#setup", Static).render())
        assert f"(measured {24564 * 2**20 / 1e9:.1f} GB)" in line
        screen.memory_override_bytes = 20 * 10**9
        await settle(pilot)
        assert "(set to 20.0 GB)" in str(screen.query_one("#setup", Static).render())


# -- 10. profiles: rename keeps the cursor, save takes a note ------------------------------


def save_three_profiles() -> None:
    """alpha, bravo and charlie, in that order on the profiles screen."""
    store = ProfileStore()
    for name in ("alpha", "bravo", "charlie"):
        store.save(Profile(name=name, gpu="rtx-4090", model="llama-3.1-8b", quant="Q4_K_M"))


async def open_profiles(pilot) -> None:
    """Press o on the settled main screen and wait for the profiles screen."""
    await settle(pilot)
    await pilot.press("o")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ProfilesScreen))


async def test_a_renamed_profile_keeps_the_cursor(build_app):
    save_three_profiles()
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await open_profiles(pilot)
        await pilot.press("j", "j", "n")
        await wait_until(pilot, lambda: isinstance(app.screen, NamePrompt))
        app.screen.query_one(Input).value = "zulu"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ProfilesScreen))
        await pilot.pause()
        listing = app.screen.query_one("#profile-list")
        assert listing.options[listing.highlighted].id == "zulu"


async def test_the_save_dialog_keeps_a_note(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SavePrompt))
        app.screen.query_one("#name", Input).value = "lab box"
        app.screen.query_one("#note", Input).value = "the 4090 under the desk"
        await pilot.press("enter")
        await settle(pilot)
    assert ProfileStore().load("lab box").note == "the 4090 under the desk"


# -- 11. pinning stays visible and names the hardware --------------------------------------

async def test_a_pin_stays_in_the_result_border_and_a_second_p_says_unpinned(build_app):
    app = build_app()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        screen = main_screen(pilot)
        screen.setup = Setup(gpu_id="rtx-4090", gpu_count=2, model_id="llama-3.1-8b")
        await settle(pilot)
        panel = screen.query_one(ResultPanel)
        await pilot.press("p")
        await pilot.pause()
        assert "pinned" in str(panel.border_title)
        assert any("Pinned" in text and "2 × RTX 4090" in text for text in messages(app))
        app.clear_notifications()
        await pilot.press("p")
        await pilot.pause()
        assert "pinned" not in str(panel.border_title)
        assert any("Unpinned" in text and "RTX 4090" in text for text in messages(app))


# -- 14. serving view: no "yet", and whose speeds ------------------------------------------

async def test_serving_with_nothing_that_fits_says_so_without_yet(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        screen.setup = Setup(gpu_id="rtx-4090", model_id="llama-3.1-405b", quant_id="Q4_K_M")
        await settle(pilot)
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, ServingScreen))
        await drain(pilot)
        chart = app.screen.query_one(ServingChart)
        text = str(chart.render())
        assert "yet" not in text and "fits" in text


async def test_the_speeds_of_a_setup_that_does_not_fit_say_if_it_fitted(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        # 70B at Q4_K_M needs about 40 GB of weights: far over one 24 GB card.
        screen.setup = Setup(gpu_id="rtx-4090", model_id="llama-3.1-70b", quant_id="Q4_K_M")
        await settle(pilot)
        assert screen.result is not None and screen.result.verdict == "does-not-fit"
        figures = str(screen.query_one("#figures", Static).render())
        assert "if it fitted" in figures


# -- 15. the quant table says how much memory each quant needs ----------------------------

@pytest.mark.parametrize("size", [NARROW, WIDE])
async def test_quant_rows_show_memory_needed_and_fit_the_pane(build_app, size):
    app = build_app()
    async with app.run_test(size=size) as pilot:
        screen = main_screen(pilot)
        await pilot.press("3")
        await settle(pilot)
        pane = screen.query_one(QuantPane)
        width = pane.option_list.scrollable_content_region.width
        head = str(screen.query_one("#quant-head", Static).render())
        assert "need" in head and len(head) <= width
        if size == NARROW:
            assert "room" in head  # 80×24 has room for the headroom too
        memory = screen.result.estimate.memory
        unit_bytes = 2**30 if screen.units == "GiB" else 10**9  # the units the screen shows
        row = str(pane.option_list.options[pane.option_list.highlighted].prompt)
        assert len(row) <= width
        assert f"{memory.total_bytes / unit_bytes:.1f}" in row.split()
        if "room" in head:
            sign = "+" if memory.headroom_bytes >= 0 else "-"
            assert f"{sign}{abs(memory.headroom_bytes) / unit_bytes:.1f}" in row.split()


# -- 20. wording ----------------------------------------------------------------------------

def test_a_tiny_model_is_not_zero_millions():
    assert fmt.params(260_000) == "260K"
    assert fmt.params(4_600_000) == "4.6M"
    assert fmt.params(512) == "512"
    assert fmt.params(494e6) == "494M"


async def test_one_gpu_with_a_memory_override_does_not_say_each(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        screen.setup = Setup(gpu_id="rtx-4090", model_id="llama-3.1-8b",
                             memory_override_bytes=20 * 10**9)
        await settle(pilot)
        one = str(screen.query_one("#setup", Static).render())
        # 20 × 10^9 bytes: 20.0 GB, or 18.6 GiB where the screen shows binary units.
        assert ("20.0 GB" in one or "18.6 GiB" in one) and "each" not in one
        screen.setup = Setup(gpu_id="rtx-4090", gpu_count=2, model_id="llama-3.1-8b",
                             memory_override_bytes=20 * 10**9)
        await settle(pilot)
        two = str(screen.query_one("#setup", Static).render())
        assert "20.0 GB each" in two or "18.6 GiB each" in two


async def test_max_ctx_says_the_model_limit_beside_a_longer_context(build_app, catalog):
    model = catalog.models["falcon-7b"]
    assert model.max_context_tokens == 2048  # Falcon's config.json: 2,048 positions
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        screen.setup = Setup(gpu_id="h100-sxm", model_id="falcon-7b", context_tokens=8192)
        await settle(pilot)
        figures = str(screen.query_one("#figures", Static).render())
        assert "2,048 tokens (model limit)" in figures
        assert "over the model's 2,048" in figures


async def test_a_refused_serving_input_goes_back_to_the_one_in_use(build_app):
    app = build_app()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, ServingScreen))
        await drain(pilot)
        box = app.screen.query_one("#prompt-tokens", Input)
        in_use = box.value
        box.value = "0"  # no request has an empty prompt
        await pilot.press("tab")
        await pilot.pause()
        assert box.value == in_use
        assert any("Prompt 0 refused" in text for text in messages(app))


async def test_a_deleted_profile_leaves_the_cursor_on_the_next_one(build_app):
    save_three_profiles()
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await open_profiles(pilot)
        await pilot.press("j", "d", "y")
        await wait_until(pilot, lambda: isinstance(app.screen, ProfilesScreen))
        await pilot.pause()
        listing = app.screen.query_one("#profile-list")
        assert [option.id for option in listing.options] == ["alpha", "charlie"]
        assert listing.options[listing.highlighted].id == "charlie"
