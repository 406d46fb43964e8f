"""Life over SSH at 80×24 (issue 18): the memory box speaks the screen's units, the memory
breakdown keeps each line on one line, and the sweep tables keep every column on screen.

Each test drives the app with keys (Pilot) and reads what is rendered: the label and the box,
the screen's lines from the compositor, the table rows where the screen shows them.
"""

from __future__ import annotations

import re

from textual.widgets import DataTable, Input, Label, Static
from ui_helpers import NARROW, main_screen, wait_until

from gpufit.core.setup import Setup
from gpufit.ui.pilot import settle
from gpufit.ui.screens.sweeps import SweepScreen

GIB = 2**30
GB = 10**9


def screen_lines(app) -> list[str]:
    """The top screen as the terminal shows it, one string per row of cells."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def messages(app) -> list[str]:
    return [f"{note.title} {note.message}" for note in app._notifications]


def memory_row(app) -> str:
    """The screen line holding the GPU count and the memory box."""
    return next(line for line in screen_lines(app) if "GPUs " in line and "/GPU" in line)


async def type_in_memory_box(pilot, text: str) -> None:
    screen = main_screen(pilot)
    box = screen.query_one("#memory-override", Input)
    screen.set_focus(box)
    box.value = ""
    await pilot.press(*text, "enter")
    await settle(pilot)


# -- 1. the memory box is in the units in use ------------------------------------------------

async def test_the_memory_box_label_and_value_follow_the_units_key(build_app, catalog):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        await pilot.press("1")  # at 80×24 the hardware pane shares the picker column
        screen.memory_override_bytes = 20 * GB
        await settle(pilot)
        assert screen.units == "GiB"
        label = screen.query_one("#memory-unit", Label)
        box = screen.query_one("#memory-override", Input)
        assert str(label.render()) == "GiB/GPU"
        assert box.value == "18.626"  # 20 × 10^9 / 2^30 = 18.6265
        assert "GiB/GPU 18.626" in memory_row(app)

        await pilot.press("g")
        await settle(pilot)
        assert screen.units == "GB"
        assert str(label.render()) == "GB/GPU"
        assert box.value == "20"
        assert "GB/GPU 20" in memory_row(app)
        assert screen.memory_override_bytes == 20 * GB  # switching units changes no bytes

        screen.memory_override_bytes = None  # the card's own memory, as the placeholder
        await settle(pilot)
        gpu = catalog.gpus[screen.gpu_id]
        assert box.placeholder == f"{gpu.usable_memory_bytes / GB:.1f}"
        await pilot.press("g")
        await settle(pilot)
        assert box.placeholder == f"{gpu.usable_memory_bytes / GIB:.1f}"


async def test_a_value_typed_in_gib_is_read_as_gib(build_app):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        await pilot.press("1")
        await type_in_memory_box(pilot, "20")
        assert screen.memory_override_bytes == 20 * GIB
        assert screen.result is not None
        assert screen.result.estimate.memory.available_bytes == 20 * GIB
        await pilot.press("g")  # the same bytes, now said in GB: 21.47483648
        await settle(pilot)
        assert screen.query_one("#memory-override", Input).value == "21.475"
        assert screen.memory_override_bytes == 20 * GIB


async def test_the_memory_bound_is_in_the_unit_shown_and_named_when_refused(build_app, catalog):
    # The largest card (Apple M3 Ultra, 512 GiB) × 1.5 is 768 GiB, or 825 GB: 800 is too much
    # in GiB and within the bound in GB.
    largest = max(gpu.memory_bytes for gpu in catalog.gpus.values())
    assert round(1.5 * largest / GIB) == 768 and round(1.5 * largest / GB) == 825
    app = build_app()
    async with app.run_test(size=NARROW, notifications=True) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        await pilot.press("1")
        await type_in_memory_box(pilot, "800")
        assert screen.memory_override_bytes is None
        refusal = next(text for text in messages(app) if "800 refused" in text)
        assert "GiB/GPU 800 refused" in refusal and "768" in refusal
        await pilot.press("g")
        await settle(pilot)
        await type_in_memory_box(pilot, "800")
        assert screen.memory_override_bytes == 800 * GB


# -- 2. the memory breakdown: one line per line ------------------------------------------------

async def test_the_short_line_stays_on_one_line_in_both_units(build_app):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        screen = main_screen(pilot)
        screen.setup = Setup(gpu_id="rtx-3090", model_id="mixtral-8x22b", quant_id="Q3_K_M")
        await settle(pilot)
        memory = screen.result.estimate.memory
        assert memory.headroom_bytes < 0
        for unit, scale in (("GiB", GIB), ("GB", GB)):
            assert screen.units == unit
            short = next(line for line in screen_lines(app) if "┃ short" in line)
            assert f"{-memory.headroom_bytes / scale:.1f} of " \
                   f"{memory.available_bytes / scale:.1f} {unit}" in short
            table = screen.query_one("#breakdown", Static)
            written = str(table.render()).splitlines()
            assert table.size.height == len(written)  # no line wrapped onto a second one
            await pilot.press("g")
            await settle(pilot)


# -- 3. the sweep tables keep every column on screen -------------------------------------------

async def open_sweep(pilot, key: str) -> DataTable:
    await pilot.press(key)
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen.rows_ready,
                     rounds=600)
    await pilot.pause()
    assert isinstance(app.screen, SweepScreen)
    return app.screen.query_one(DataTable)


def row_on_screen(table: DataTable, row: int, lines: list[str]) -> tuple[list[str], str]:
    """A row's cells, and the screen line the table draws that row on (below its header)."""
    first = table.scrollable_content_region.y + 1 - round(table.scroll_y)
    return [str(cell) for cell in table.get_row_at(row)], lines[first + row]


def shows_every_cell(cells: list[str], line: str) -> bool:
    """Every cell, in order, on the line: the last column ends within the terminal."""
    return re.search(r"\s+".join(map(re.escape, cells)), line) is not None


async def assert_every_row_shows_every_cell(pilot, table: DataTable) -> None:
    """Page through the table, reading its header and each row where the screen shows them."""
    headers = [str(column.label) for column in table.ordered_columns]
    header_line = screen_lines(pilot.app)[table.scrollable_content_region.y]
    assert shows_every_cell(headers, header_line), (headers, header_line)
    seen = 0
    visible = table.scrollable_content_region.height - 1  # less the header
    for top in range(0, table.row_count, visible):
        table.scroll_to(y=top, animate=False, immediate=True)
        await pilot.pause()
        lines = screen_lines(pilot.app)
        for row in range(top, min(top + visible, table.row_count)):
            cells, line = row_on_screen(table, row, lines)
            assert shows_every_cell(cells, line), (cells, line)
            seen += 1
    assert seen == table.row_count


async def test_every_row_of_which_hardware_fits_shows_its_last_column(build_app):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        screen = main_screen(pilot)
        screen.setup = Setup(gpu_id="rtx-4090", model_id="llama-3.1-70b", quant_id="Q4_K_M")
        await settle(pilot)
        table = await open_sweep(pilot, "w")
        names = [str(table.get_row_at(row)[0]) for row in range(table.row_count)]
        assert any("…" in name for name in names)  # the full catalog's long names are cut
        # … in the middle, so slices of one card still differ by their MIG profile.
        gb200 = [name for name in names if name.startswith("GB200")]
        assert len(gb200) > 1 and len(set(gb200)) == len(gb200)
        await assert_every_row_shows_every_cell(pilot, table)


async def test_every_row_of_best_models_shows_its_last_column(build_app):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        screen = main_screen(pilot)
        screen.setup = Setup(gpu_id="h100-sxm", gpu_count=8, model_id="llama-3.1-8b",
                             quant_id="Q4_K_M")
        await settle(pilot)
        table = await open_sweep(pilot, "b")
        await assert_every_row_shows_every_cell(pilot, table)


async def test_the_hardware_table_fits_again_after_the_terminal_is_resized(build_app):
    app = build_app()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = main_screen(pilot)
        screen.setup = Setup(gpu_id="rtx-4090", model_id="llama-3.1-70b", quant_id="Q4_K_M")
        await settle(pilot)
        table = await open_sweep(pilot, "w")
        await pilot.resize_terminal(*NARROW)
        await wait_until(pilot, lambda: shows_every_cell(
            *row_on_screen(table, 0, screen_lines(app))))
        await assert_every_row_shows_every_cell(pilot, table)


async def test_at_60x20_a_long_verdict_puts_its_sizes_whole_under_the_word(build_app):
    app = build_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        screen.model_id, screen.quant_id = "mixtral-8x22b", "Q4_K_M"  # far too big for 24 GB
        await settle(pilot)
        lines = screen_lines(app)
        word = next(index for index, line in enumerate(lines) if "DOES NOT FIT" in line)
        assert re.search(r"\b\d+\.\d of 24\.0 GiB\b", lines[word + 1])  # not "82.1 of" / "24.0"
        # The breakdown's short line likewise: its capacity whole on the next line.
        short = next(index for index, line in enumerate(lines) if " short " in line)
        assert re.search(r"short +\d+\.\d +│", lines[short])
        assert re.search(r" of 24\.0 GiB +│", lines[short + 1])
        await pilot.resize_terminal(140, 45)  # room again: one line
        await settle(pilot)
        assert re.search(r"DOES NOT FIT  \d+\.\d of 24\.0 GiB", "\n".join(screen_lines(app)))
