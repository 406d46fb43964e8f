"""Keys, palette, help, terminals, sizes and units (issue 18, items 6–9, 16–18).

Pilot tests drive the real app; the snapshots (60×20, 16 colours, ASCII) are reviewed as PNGs
before they are accepted, like tests/ui/test_snapshots.py.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.color import Color as RichColor
from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style
from rich.terminal_theme import DEFAULT_TERMINAL_THEME
from textual.color import Color
from textual.command import CommandPalette
from textual.filter import LineFilter
from textual.fuzzy import Matcher
from textual.widgets import Input, Static
from ui_helpers import NARROW, main_screen, wait_until

from gpufit.core.catalog import Catalog, load_catalog
from gpufit.ui import commands
from gpufit.ui.app import GpufitApp, make_app
from gpufit.ui.pilot import settle
from gpufit.ui.screens.help import HelpScreen
from gpufit.ui.terminal import AsciiFilter, terminal_profile
from gpufit.ui.themes import shipped_themes_dir

DATA = Path(__file__).parent / "data" / "catalog"
SMALL = (60, 20)


def notes(app: GpufitApp) -> list[str]:
    """Text of every notification the app has raised."""
    return [f"{note.title} {note.message}" for note in app._notifications]


def screen_text(app: GpufitApp) -> str:
    """Everything the Static widgets of the top screen render."""
    return "\n".join(str(static.render()) for static in app.screen.query(Static))


# -- palette (item 6) -------------------------------------------------------------------------

@pytest.mark.parametrize("words", ["context", "double", "halve", "one more gpu", "restore",
                                   "flash attention", "redraw", "units", "engine", "kv cache"])
def test_the_palette_finds_the_words_a_user_types(words):
    matcher = Matcher(words)
    titles = [command.title for command in commands.palette_commands()]
    assert any(matcher.match(title or "") > 0 for title in titles), words


def test_every_key_except_moving_between_boxes_is_a_palette_command():
    not_in_palette = {command.id for command in commands.COMMANDS if command.title is None}
    assert not_in_palette == {"palette", "leave-box", "box-to-list"}


async def test_palette_double_doubles_the_context(build_app):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        before = screen.context_tokens
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"double the context")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await wait_until(pilot, lambda: palette._list_visible)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.context_tokens == 2 * before


# -- remapped keys (item 7) -------------------------------------------------------------------

def write_keymap(settings_path: Path, lines: str) -> None:
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings_path.write_text(f"[keymap]\n{lines}\n", encoding="utf-8")


async def test_remapped_keys_show_in_help_footer_and_hints(build_app, settings_path):
    write_keymap(settings_path, '"gpufit.engine" = "E"\n"gpufit.quit" = "ctrl+x"\n'
                                '"gpufit.context-double" = "D"')
    app = build_app()
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        assert commands.key_for(app, "engine") == "E"
        assert commands.key_for(app, "gpufit.quit") == "^x"
        assert commands.key_for(app, "context-double") == "D"
        assert commands.key_for(app, "kv-dtype") == "v"  # not remapped
        assert commands.key_for(app, "restore-session") == ""  # palette only
        from gpufit.ui.widgets.footer import KeyFooter
        footer = app.screen.query_one(KeyFooter)
        assert {key.action: key.key_display for key in footer.shown}["app.quit"] == "^x"
        assert "^x quit" in footer.render().plain
        await pilot.press("E")
        await settle(pilot)
        assert main_screen(pilot).engine == "vllm"
        # The workload bar's hints name the key in force, not the default.
        bar = main_screen(pilot).query_one("#engine", Static)
        assert "(E)" in str(bar.render()) and "(e)" not in str(bar.render())
        assert "(v)" in str(main_screen(pilot).query_one("#kv-dtype", Static).render())
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = {str(row.query_one(".help-description", Static).render()).split("  ")[0]:
                str(row.query_one(".help-key", Static).render())
                for row in app.screen.query(".help-row")}
        assert rows[commands.command("engine").help] == "E"
        assert rows[commands.command("quit").help] == "^x"
        assert rows[commands.command("context-double").help] == "D"


async def test_unknown_ids_and_bad_keys_are_named(build_app, settings_path):
    write_keymap(settings_path, '"gpufit.engin" = "E"\n"gpufit.theme" = "ctrl+bogus"\n'
                                '"gpufit.units" = "cntrl+u"\n"gpufit.pin" = "P"')
    app = build_app()
    async with app.run_test(size=NARROW, notifications=True) as pilot:
        await settle(pilot)
        said = "\n".join(notes(app))
        assert "'gpufit.engin' is not a binding id" in said and "gpufit.engine" in said
        assert "'ctrl+bogus' is not a key" in said
        assert "'cntrl' is not a modifier" in said
        assert commands.key_for(app, "pin") == "P"  # the good entry still applies
        assert commands.key_for(app, "theme") == "t"


# -- Ctrl+L (item 8) --------------------------------------------------------------------------

async def test_ctrl_l_redraws_and_restore_is_a_palette_command(build_app, settings_path,
                                                               monkeypatch):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        layouts: list[bool] = []
        original = screen.refresh

        def spy(*regions, **options):
            layouts.append(bool(options.get("layout")))
            return original(*regions, **options)

        monkeypatch.setattr(screen, "refresh", spy)
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert True in layouts  # a full layout and repaint
        assert app.settings.settings.restore_last_session is False
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"restore last session")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await wait_until(pilot, lambda: palette._list_visible)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.settings.settings.restore_last_session)
    assert tomllib.loads(settings_path.read_text())["restore_last_session"] is True


# -- help (item 9) ----------------------------------------------------------------------------

async def test_help_has_no_raw_action_names_and_no_duplicate_lines(build_app):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        assert "help_quit" not in text
        section: list[str] = []
        for widget in app.screen.query(".help-scope, .help-description"):
            line = str(widget.render())
            if widget.has_class("help-scope"):
                section = []
                continue
            assert line not in section, f"{line!r} twice"
            section.append(line)
        keys = [str(static.render()).split() for static in app.screen.query(".help-key")]
        assert any("home" in line and "^a" in line for line in keys)  # one line, two keys
        assert commands.command("restore-session").help in text  # palette-only, listed too


# -- terminals (item 16) ----------------------------------------------------------------------

@pytest.mark.parametrize(("environ", "colours", "headless", "ascii_only", "colours16"), [
    ({"TERM": "linux"}, "standard", False, True, True),
    ({"TERM": "linux", "GPUFIT_ASCII": "0"}, "standard", False, False, True),
    ({"TERM": "xterm"}, "standard", False, False, True),
    ({"TERM": "xterm-256color"}, "256", False, False, False),
    ({"TERM": "xterm", "COLORTERM": "truecolor"}, "truecolor", False, False, False),
    ({"TERM": "screen-256color", "GPUFIT_ASCII": "1"}, "256", False, True, False),
    ({"TERM": "xterm-256color", "GPUFIT_COLORS": "16"}, "256", False, False, True),
    ({"TERM": "linux"}, "standard", True, False, False),  # no terminal: overrides only
])
def test_terminal_profile(environ, colours, headless, ascii_only, colours16):
    profile = terminal_profile(environ, colours, headless=headless)
    assert (profile.ascii_only, profile.colours16) == (ascii_only, colours16)


def test_ascii_filter_keeps_widths_and_leaves_only_ascii():
    text = "╭─ Result ─╮│✓ FITS 7.0 of 24.0 GiB … → ≤ ×2 🔎 ▏▊█│╰──╯"
    out = AsciiFilter().apply([Segment(text, Style(bold=True))], Color(0, 0, 0))
    joined = "".join(segment.text for segment in out)
    assert joined.isascii()
    assert cell_len(joined) == cell_len(text)
    assert joined.startswith("+- Result -+|+ FITS 7.0 of 24.0 GiB . > < x2 ?? ")


def luminance(color: Color) -> float:
    return 0.2126 * color.r + 0.7152 * color.g + 0.0722 * color.b


class SixteenColours(LineFilter):
    """What a 16-colour terminal shows: every colour replaced by the nearest of the 16."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [Segment(segment.text, downgrade(segment.style), segment.control)
                for segment in segments]


def nearest16(color: RichColor | None) -> RichColor | None:
    """The colour a 16-colour terminal shows for `color` (xterm's default palette)."""
    if color is None:
        return None
    return RichColor.from_triplet(
        color.downgrade(ColorSystem.STANDARD).get_truecolor(DEFAULT_TERMINAL_THEME))


def downgrade(style: Style | None) -> Style | None:
    """`style` with both colours as a 16-colour terminal shows them."""
    if style is None:
        return None
    return style + Style.from_color(nearest16(style.color), nearest16(style.bgcolor))


async def test_the_verdict_reads_in_16_colours(build_app, monkeypatch):
    monkeypatch.setenv("GPUFIT_COLORS", "16")
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        assert app.has_class("-colors16")
        verdict = app.screen.query_one("#verdict", Static)
        assert verdict.has_class("-fits")
        seen = downgrade(Style(color=verdict.styles.color.rich_color,
                               bgcolor=verdict.styles.background.rich_color))
        assert seen is not None and seen.color is not None and seen.bgcolor is not None
        text, back = (Color.from_rich_color(colour) for colour in (seen.color, seen.bgcolor))
        assert text != back and len({back.r, back.g, back.b}) > 1  # a colour, not a grey
        assert abs(luminance(text) - luminance(back)) > 80  # clearly readable


async def test_linux_console_gets_ascii_only(build_app, monkeypatch):
    monkeypatch.setenv("GPUFIT_ASCII", "1")
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        assert app.has_class("-ascii")
        console_text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert console_text.isascii(), sorted({c for c in console_text if not c.isascii()})
        assert "+ FITS" in console_text


# -- snapshots: 60×20, 16 colours, ASCII (items 16, 17) ----------------------------------------

@pytest.fixture(scope="module")
def frozen_catalog() -> Catalog:
    catalog = load_catalog(base_dir=DATA)
    assert not catalog.issues
    return catalog


@pytest.fixture
def snapshot_app(frozen_catalog: Catalog, tmp_path: Path) -> Callable[..., GpufitApp]:
    def build(*filters: LineFilter) -> GpufitApp:
        app = make_app(catalog=frozen_catalog, settings_path=tmp_path / "settings.toml",
                       theme_dirs=[shipped_themes_dir()])
        app._filters.extend(filters)
        return app

    return build


async def choose_default(pilot) -> None:
    await settle(pilot)
    screen = main_screen(pilot)
    screen.gpu_id, screen.model_id, screen.quant_id = "rtx-4090", "llama-3.1-8b", "Q4_K_M"
    await settle(pilot)


def test_snapshot_60x20(snap_compare, snapshot_app):
    assert snap_compare(snapshot_app(), terminal_size=SMALL, run_before=choose_default)


def test_snapshot_16_colours(snap_compare, snapshot_app, monkeypatch):
    monkeypatch.setenv("GPUFIT_COLORS", "16")
    assert snap_compare(snapshot_app(SixteenColours()), terminal_size=NARROW,
                        run_before=choose_default)


def test_snapshot_ascii(snap_compare, snapshot_app, monkeypatch):
    monkeypatch.setenv("GPUFIT_ASCII", "1")
    assert snap_compare(snapshot_app(), terminal_size=NARROW, run_before=choose_default)


# -- sizes (item 17) --------------------------------------------------------------------------

async def test_at_140x45_the_hardware_column_holds_names_and_numbers(build_app):
    app = build_app()
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        hardware = app.screen.query_one("#hardware")
        # "A100 80 GB SXM4 MIG 1g.10gb" (27) + padding, border and scrollbar (5).
        assert hardware.outer_size.width >= 32
        memory_box = app.screen.query_one("#memory-override", Input)
        assert memory_box.content_size.width >= len("141.0")  # H200's GB per GPU


async def test_at_60x20_the_workload_bar_and_footer_fit(build_app):
    from gpufit.ui.widgets.footer import KeyFooter

    app = build_app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        assert app.has_class("-small")
        bar = app.screen.query_one("WorkloadBar")
        for choice in bar.query(".choice"):  # every choice ends inside the screen
            assert choice.region.right <= SMALL[0]
            assert str(choice.render()).rstrip().endswith(")")  # "(e)" hint not cut
        footer = app.screen.query_one(KeyFooter)
        drawn = footer.render().plain
        assert len(drawn) <= SMALL[0] and drawn.rstrip().endswith("^p palette")
        # The keys without a label elsewhere on screen all fit; the groups are left out.
        assert {"question_mark", "q", "slash", "s", "o"} <= {key.key for key in footer.shown}
        assert all(key.group is None for key in footer.shown)


def test_snapshot_140x45_hardware(snap_compare, snapshot_app):
    async def run_before(pilot) -> None:
        await choose_default(pilot)
        await pilot.press("1")
        await settle(pilot)

    assert snap_compare(snapshot_app(), terminal_size=(140, 45), run_before=run_before)


# -- units (item 18) --------------------------------------------------------------------------

async def test_sizes_start_in_gib_like_the_card_and_say_so(build_app, settings_path):
    app = build_app()
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        screen.gpu_id, screen.model_id, screen.quant_id = "rtx-4090", "llama-3.1-8b", "Q4_K_M"
        await settle(pilot)
        assert screen.units == "GiB"
        # NVIDIA sells the RTX 4090 as "24 GB"; nvidia-smi reports "24564MiB" (a published
        # capture: https://github.com/RLinf/RLinf/issues/255), i.e. 24 GiB: the pane's total
        # reads the same number as the card's name.
        verdict = str(screen.query_one("#verdict", Static).render())
        assert "of 24.0 GiB" in verdict
        assert "GiB" in str(screen.query_one("#breakdown", Static).render())
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Sizes are in GiB" in screen_text(app)
    assert not settings_path.exists() or "units" not in settings_path.read_text()


async def test_at_80x24_the_hardware_sweep_shows_its_power_and_speed_columns(frozen_catalog,
                                                                            tmp_path):
    """With the frozen catalog's names (the longest: "Apple M2 Ultra (76-core GPU, 192 GB)");
    the full catalog's longer names still need the sweep table to shorten them (sweeps.py)."""
    from textual.widgets import DataTable

    app = make_app(catalog=frozen_catalog, settings_path=tmp_path / "settings.toml",
                   theme_dirs=[shipped_themes_dir()])
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        screen.gpu_id, screen.model_id, screen.quant_id = "rtx-4090", "mixtral-8x22b", "Q4_K_M"
        await settle(pilot)
        await pilot.press("w")
        await wait_until(pilot, lambda: bool(app.screen.query(DataTable))
                         and app.screen.query_one(DataTable).row_count > 0, rounds=300)
        table = app.screen.query_one(DataTable)
        right = 0
        visible = table.scrollable_content_region.width
        for column in table.ordered_columns:
            right += column.get_render_width(table)
            if str(column.label).startswith("tok"):
                break
        assert right <= visible, f"tok/s ends at {right}, the table shows {visible}"


async def test_a_remap_onto_a_taken_key_is_named(build_app, settings_path):
    write_keymap(settings_path, '"gpufit.engine" = "q"')  # q quits
    app = build_app()
    async with app.run_test(size=NARROW, notifications=True) as pilot:
        await settle(pilot)
        assert any("takes the key of gpufit.quit" in note for note in notes(app))
