"""What the first frame costs: styled once, nothing computed ahead of it, no collector passes.

Each test pins one piece of start-up work that used to happen before the first frame and
checks the result is unchanged: a remembered theme looks as switching to it does, the width
class Textual would set is there from the first style pass, text boxes are styled once when
mounted, and the first estimate and the local scan wait for the first frame.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from textual import events
from textual.css.stylesheet import Stylesheet
from textual.widgets import Input
from ui_helpers import NARROW, WIDE, main_screen, wait_until

from gpufit.service import compute
from gpufit.ui.pilot import settle
from gpufit.ui.screens.main import MainScreen
from gpufit.ui.widgets.text_box import TextBox

SMALL = (60, 20)


def _screen_svg(app) -> str:
    # Each export names its own CSS classes; the drawing is what is compared.
    return re.sub(r"terminal-\d+", "terminal", app.export_screenshot())


@pytest.mark.parametrize("theme", ["gpufit-light", "gpufit-high-contrast"])
async def test_a_remembered_theme_looks_as_switching_to_it_does(build_app, settings_path,
                                                                 tmp_path, theme, monkeypatch):
    reparsed: list[str] = []
    original = Stylesheet.reparse
    monkeypatch.setattr(Stylesheet, "reparse",
                        lambda sheet: (reparsed.append("reparse"), original(sheet))[1])
    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings_path.write_text(f'theme = "{theme}"\n', encoding="utf-8")
    remembered = build_app()
    async with remembered.run_test(size=NARROW) as pilot:
        await settle(pilot)
        assert remembered.theme == theme
        assert reparsed == []  # set before the stylesheet's first parse: parsed once
        at_start = _screen_svg(remembered)
    switched = build_app(settings_path=tmp_path / "other" / "settings.toml")
    async with switched.run_test(size=NARROW) as pilot:
        await settle(pilot)
        switched.theme = theme
        await settle(pilot)
        assert reparsed  # switching does parse again (so the count above can fail)
        assert _screen_svg(switched) == at_start


@pytest.mark.parametrize("size", [SMALL, NARROW, WIDE], ids=["60x20", "80x24", "140x45"])
async def test_the_first_style_pass_has_the_width_class_textual_would_set(build_app, size,
                                                                          monkeypatch):
    first_classes: list[set[str]] = []
    original = Stylesheet.apply

    def apply(sheet, node, *args, **kwargs):
        if isinstance(node, MainScreen) and not first_classes:
            first_classes.append(set(node.classes))
        return original(sheet, node, *args, **kwargs)

    monkeypatch.setattr(Stylesheet, "apply", apply)
    app = build_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = main_screen(pilot)
        # Textual's own rule, applied on resize, decides what the class should be.
        expected = screen._get_breakpoint_classes(size[0], MainScreen.HORIZONTAL_BREAKPOINTS)
        assert expected and expected <= set(screen.classes)
    assert first_classes and expected <= first_classes[0]


@pytest.fixture
def styled_off_screen(monkeypatch) -> list[str]:
    """Ids of the text boxes the stylesheet is applied to while not on a screen."""
    styled: list[str] = []
    original = Stylesheet.apply

    def apply(sheet, node, *args, **kwargs):
        if isinstance(node, Input) and not node.is_attached:
            styled.append(str(node.id))
        return original(sheet, node, *args, **kwargs)

    monkeypatch.setattr(Stylesheet, "apply", apply)
    return styled


async def test_text_boxes_are_styled_once_they_are_on_screen(build_app, styled_off_screen):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        boxes = list(app.screen.query(TextBox))
        assert len(boxes) >= 5  # filters, GPU count, memory, context, sequences
        for box in boxes:
            # Compact boxes are one line high: the styles of its classes did apply.
            assert box.has_class("-textual-compact") and box.outer_size.height == 1, box.id
    assert styled_off_screen == []


async def test_a_plain_input_is_restyled_before_it_is_on_screen(build_app, styled_off_screen):
    # The check above can fail: Textual's Input is styled while it is being built.
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        Input("7", compact=True, id="plain")
    assert "plain" in styled_off_screen


async def test_the_first_estimate_and_the_local_scan_wait_for_the_first_frame(build_app):
    order: list[str] = []
    lock = threading.Lock()

    def note(what: str) -> None:
        with lock:
            order.append(what)

    def worker(request, catalog):
        note("estimate")
        return compute(request, catalog)

    def scanner(quants):
        note("scan")
        from gpufit.importers.stores import scan_local_models

        return scan_local_models((), (), quants)

    def hook(message) -> None:
        if isinstance(message, events.Ready):
            note("first frame")

    app = build_app(estimate_worker=worker, local_scanner=scanner)
    async with app.run_test(size=NARROW, message_hook=hook) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: screen.sources.last_scan is not None, rounds=200)
    assert order.index("first frame") < order.index("estimate") < order.index("scan")


def _run(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).parents[2])
    return done.stdout.split()


def test_the_app_collects_garbage_again_after_its_first_frame(tmp_path) -> None:
    # In a process of its own: the collector's state is the whole interpreter's.
    lines = _run(f"""
import asyncio, gc
from pathlib import Path
from gpufit import startup
startup.hold()
print(gc.isenabled())
from gpufit.ui.app import make_app
from gpufit.ui.pilot import settle

async def main():
    app = make_app(settings_path=Path({str(tmp_path / "settings.toml")!r}))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        print(gc.isenabled(), gc.get_freeze_count() > 10000)

asyncio.run(main())
""")
    assert lines == ["False", "True", "True"]


def test_a_headless_command_collects_garbage_again_once_its_catalog_is_loaded() -> None:
    lines = _run("""
import gc, io, contextlib
from gpufit import startup
startup.hold()
from gpufit.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["list", "gpus"])
print(code, gc.isenabled())
""")
    assert lines == ["0", "True"]


def test_the_console_script_holds_the_collector_from_its_first_line() -> None:
    from importlib.metadata import entry_points

    (script,) = [point for point in entry_points(group="console_scripts")
                 if point.name == "gpufit-tui"]
    assert script.value == "gpufit.startup:main"
    lines = _run("""
import gc, sys
import gpufit.cli
seen = []
gpufit.cli.main = lambda argv=None: seen.append(gc.isenabled()) or 0
from gpufit.startup import main
print(main(), seen)
""")
    assert lines == ["0", "[False]"]
