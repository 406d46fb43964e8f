"""A keypress repaints what changed, not the whole screen (issue 18: key → repainted ≤ 50 ms).

These count work, never time: which widgets a workload key makes Textual render again. Each
guards one saving measured with benchmarks/tui_latency.py; the counts fail if it regresses.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from textual.scrollbar import ScrollBar
from textual.widget import Widget
from ui_helpers import NARROW, WIDE, main_screen

from gpufit.service import EstimateService, compute
from gpufit.ui import frame_hold
from gpufit.ui.pilot import settle
from gpufit.ui.widgets.model import ModelPane
from gpufit.ui.widgets.picker import NavList
from gpufit.ui.widgets.quant import QuantPane
from gpufit.ui.widgets.result import ResultPanel

DEFAULT_CONTEXT = 8192
"""The context of the default setup (Llama 3.1 8B: min(8,192, its 131,072 maximum))."""


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPUFIT_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def scrollbar_renders(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each list's scrollbar is rendered, by the list's id."""
    renders: Counter[str] = Counter()
    original = ScrollBar.render

    def counting(self: ScrollBar):  # type: ignore[no-untyped-def]
        renders[str(getattr(self.parent, "id", None))] += 1
        return original(self)

    monkeypatch.setattr(ScrollBar, "render", counting)
    return renders


@pytest.fixture
def refreshed(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Refresh requests of the two panes' own frames, by pane id."""
    calls: Counter[str] = Counter()
    original = Widget.refresh

    def counting(self: Widget, *regions, **options):  # type: ignore[no-untyped-def]
        if isinstance(self, ResultPanel | QuantPane) and options.get("repaint", True):
            calls[str(self.id)] += 1
        return original(self, *regions, **options)

    monkeypatch.setattr(Widget, "refresh", counting)
    return calls


async def test_a_new_result_does_not_render_the_other_lists_scrollbars_again(
        build_app, scrollbar_renders):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.pause()
        assert {"hardware-list", "model-list", "quant-list"} <= {
            navlist.id for navlist in screen.query(NavList)}
        scrollbar_renders.clear()
        for key in ("j", "k", "j"):  # another model: the result pane changes height
            await pilot.press(key)
            await settle(pilot)
            await pilot.pause()
        assert screen.setup.model_id != ""
        # Neither list changed length or position, but every layout pass used to re-render
        # all three lists' scrollbars (ScrollView compared its viewport with its virtual size).
        assert scrollbar_renders["hardware-list"] == 0
        assert scrollbar_renders["quant-list"] == 0


async def test_the_scrollbar_still_follows_a_list_that_changes_length(build_app):
    app = build_app()
    async with app.run_test(size=NARROW) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        await pilot.press("3")  # at 80 columns the quant list is laid out once it is shown
        await settle(pilot)
        quants = screen.query_one(QuantPane).option_list
        full_height = quants.virtual_size.height
        assert quants.vertical_scrollbar.window_virtual_size == full_height > quants.size.height
        await pilot.press("slash", "k")  # the K-quants: fewer rows, still a scrollbar
        await settle(pilot)
        await pilot.pause()
        assert quants.size.height < quants.virtual_size.height < full_height
        assert quants.vertical_scrollbar.window_virtual_size == quants.virtual_size.height


async def test_a_workload_key_does_not_repaint_the_panes_frames(build_app, refreshed):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        refreshed.clear()
        for key in ("left_square_bracket", "right_square_bracket"):
            await pilot.press(key)
            await settle(pilot)
        # Their titles read the same after a context change; setting them anyway repainted
        # every line of both panes' borders.
        assert refreshed["result"] == 0
        assert refreshed["quant"] == 0


async def test_the_models_beside_the_cursor_are_estimated_ahead_of_j_and_k(build_app,
                                                                            monkeypatch):
    asked: list[list[str]] = []
    original = EstimateService.prefetch

    def recording(self, requests):  # type: ignore[no-untyped-def]
        asked.append([request.setup.model_id for request in requests])
        return original(self, requests)

    monkeypatch.setattr(EstimateService, "prefetch", recording)
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        await pilot.pause()
        listing = screen.query_one(ModelPane).option_list
        ids = [option.id for option in listing.options if not option.disabled]
        current = ids.index(screen.setup.model_id)
        expected = {ids[index] for index in (current - 1, current + 1) if 0 <= index < len(ids)}
        assert asked and set(asked[-1]) == expected
        await pilot.press("2", "j")
        await settle(pilot)
        await pilot.pause()
        await pilot.pause()
        # After j the new neighbour below is asked for; the model just left is warm already.
        now = ids.index(screen.setup.model_id)
        assert now == current + 1
        assert asked[-1] == [ids[now + 1]]


async def test_a_slow_estimate_holds_the_echo_only_briefly(build_app, monkeypatch):
    # A limit far above a loaded test machine's scheduling delays; the shipped one is 60 ms.
    monkeypatch.setattr(frame_hold, "HOLD_LIMIT_S", 1.0)
    release = threading.Event()

    def slow(request, catalog):  # type: ignore[no-untyped-def]
        if request.setup.context_tokens == 2 * DEFAULT_CONTEXT:
            release.wait(5)
        return compute(request, catalog)

    app = build_app(estimate_worker=slow)
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        context = screen.context_tokens
        assert context == DEFAULT_CONTEXT
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert screen.frames.holding  # the echo waits for the result …
        await pilot.pause(2.0)
        assert not screen.frames.holding  # … but not for a slow one
        release.set()
        await settle(pilot)
        assert screen.result is not None
        assert screen.result.estimate.workload.context_tokens == 2 * DEFAULT_CONTEXT
        assert not screen.frames.holding


async def test_the_hold_ends_with_the_estimate_and_when_the_estimate_fails(build_app):
    def failing(request, catalog):  # type: ignore[no-untyped-def]
        if request.setup.context_tokens == 2 * DEFAULT_CONTEXT:
            raise RuntimeError("estimate broke")
        return compute(request, catalog)

    app = build_app(estimate_worker=failing)
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await settle(pilot)
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert not screen.frames.holding
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert not screen.frames.holding
        assert any("estimate broke" in str(note.message) for note in app._notifications)
