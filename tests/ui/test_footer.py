"""The key footer: one widget drawing the keys in force, whole, and pressing one when clicked."""

from __future__ import annotations

from ui_helpers import NARROW, WIDE, main_screen, wait_until

from gpufit.ui.pilot import settle
from gpufit.ui.screens.main import MainScreen
from gpufit.ui.widgets.footer import KeyFooter


async def test_the_footer_is_one_widget_with_its_keys_in_the_first_layout(build_app):
    seen_at_first_layout: list[str] = []
    app = build_app()

    def hook(message) -> None:
        from textual import events

        if isinstance(message, events.Ready) and not seen_at_first_layout:
            seen_at_first_layout.append(app.screen.query_one(KeyFooter).render().plain)

    async with app.run_test(size=NARROW, message_hook=hook) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(KeyFooter)
        # Textual's footer is a widget per key (33 of the screen's 68 widgets) and is filled
        # in only after the first frame.
        assert list(footer.children) == []
        assert len(list(app.screen.walk_children())) < 40
    assert "? help" in seen_at_first_layout[0] and "^p palette" in seen_at_first_layout[0]


async def test_clicking_a_key_in_the_footer_presses_it(build_app):
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(KeyFooter)
        footer.render()
        column = next(start for start, _end, key in footer._spans if key == "question_mark")
        await pilot.click(KeyFooter, offset=(column, 0))
        await wait_until(pilot, lambda: not isinstance(app.screen, MainScreen))
        assert type(app.screen).__name__ == "HelpScreen"


async def test_a_focus_move_that_keeps_the_keys_does_not_repaint_the_footer(build_app,
                                                                           monkeypatch):
    repaints: list[str] = []
    app = build_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(KeyFooter)
        original = footer.refresh
        monkeypatch.setattr(footer, "refresh",
                            lambda *a, **k: (repaints.append("refresh"), original(*a, **k))[1])
        await pilot.press("3")  # model list → quant list: the same keys are in force
        await settle(pilot)
        assert main_screen(pilot).focused is not None
        assert repaints == []
