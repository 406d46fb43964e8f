"""Keyboard focus on the main screen: the pane keys (1–4), Tab order through every control
(including pickers the narrow layout hides), the filter key and leaving a text box.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.actions import SkipAction
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, Static

from gpufit.ui.widgets.picker import PickerPane
from gpufit.ui.widgets.result import ResultPanel

if TYPE_CHECKING:
    from gpufit.ui.screens.main import MainScreen

PICKERS = ("hardware", "model", "quant")
PANE_TITLES = {"hardware": "Hardware", "model": "Model", "quant": "Quant"}


def picker_of(widget: Widget | None) -> PickerPane | None:
    """The picker pane holding `widget`, if any."""
    for ancestor in widget.ancestors_with_self if widget is not None else ():
        if isinstance(ancestor, PickerPane):
            return ancestor
    return None


class FocusController:
    """Moves focus between the screen's panes and controls."""

    def __init__(self, screen: MainScreen) -> None:
        self._screen = screen

    def show_current_pane(self, current: str) -> None:
        """Mark the picker the narrow layout shows, and its tab."""
        screen = self._screen
        for pane in screen.query(PickerPane):
            pane.set_class(pane.id == current, "-current")
        tabs = [(f" {index} {PANE_TITLES[name]} ", "reverse bold" if name == current else "")
                for index, name in enumerate(PICKERS, start=1)]
        screen.query_one("#pane-tabs", Static).update(Content.assemble(*tabs))

    def _step_aside_for_text(self) -> None:
        """Priority keys (1–4, /) are characters too: in a text box, let the box have them."""
        if isinstance(self._screen.focused, Input):
            raise SkipAction()

    def focus_pane(self, name: str) -> None:
        """Focus one of the four panes (1–4)."""
        self._step_aside_for_text()
        screen = self._screen
        if name == "result":
            screen.set_focus(screen.query_one(ResultPanel))
            return
        screen.current_pane = name
        screen.query_one(f"#{name}", PickerPane).focus_default()

    def focus_step(self, direction: int) -> None:
        """Tab / Shift+Tab through every control, including pickers the narrow layout hides."""
        screen = self._screen
        controls = [widget for widget in screen.query("*") if widget.focusable]
        if not controls:
            return
        position = controls.index(screen.focused) if screen.focused in controls else -direction
        target = controls[(position + direction) % len(controls)]
        pane = picker_of(target)
        if pane is not None and pane.id in PICKERS:
            screen.current_pane = pane.id  # reveal it first when the layout is narrow
        screen.set_focus(target)

    def focus_filter(self) -> None:
        """Focus the filter of the focused list (or of the picker on show)."""
        self._step_aside_for_text()
        screen = self._screen
        pane = picker_of(screen.focused) or screen.query_one(f"#{screen.current_pane}",
                                                             PickerPane)
        pane.focus_filter()

    def leave_input(self, only_pickers: bool = False) -> None:
        """Escape (any box) or ↓ (a picker's boxes) goes to the list of that pane."""
        screen = self._screen
        if not isinstance(screen.focused, Input):
            raise SkipAction()
        pane = picker_of(screen.focused)
        if pane is None and only_pickers:
            raise SkipAction()
        (pane or screen.query_one(f"#{screen.current_pane}", PickerPane)).focus_default()
