"""The key footer: Textual's compact footer, with the keys that only fit a wide screen tagged.

At 80 columns not every key fits on one line; keys whose action is in `wide_only` get the class
`-wide-only`, and the stylesheet hides them on a narrow screen. They remain in the help screen
and the command palette, and most are shown beside the control they change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

if TYPE_CHECKING:
    from textual.screen import Screen


class KeyFooter(Footer):
    """A footer that marks the keys to drop below 120 columns."""

    def __init__(self, wide_only: Iterable[str]) -> None:
        super().__init__(compact=True, show_command_palette=True)
        self._wide_only = frozenset(wide_only)
        self._shown: tuple[tuple[str, str, str, bool], ...] | None = None

    def compose(self) -> ComposeResult:
        """Textual's keys, with `-wide-only` on those the narrow layout leaves out, and on a
        group's box and label when every key of the group is left out (else the label of an
        empty group would still take room, and overflow under the palette key)."""
        group_box: KeyGroup | None = None
        group_wide_only: bool | None = None
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.action in self._wide_only:
                widget.add_class("-wide-only")
            if isinstance(widget, KeyGroup):
                group_box = widget
            elif isinstance(widget, FooterKey) and widget.has_class("-grouped"):
                group_wide_only = group_wide_only is not False and widget.has_class("-wide-only")
            elif isinstance(widget, FooterLabel):
                if group_wide_only:
                    widget.add_class("-wide-only")
                    if group_box is not None:
                        group_box.add_class("-wide-only")
                group_box, group_wide_only = None, None
            yield widget

    def bindings_changed(self, screen: Screen) -> None:
        """Rebuild only when the keys on show change: Textual rebuilds the footer on every
        focus move, which costs a layout pass (~0.1 s on a slow server) for an identical line."""
        shown = tuple((key, binding.action, binding.description, enabled)
                      for key, (_, binding, enabled, _) in screen.active_bindings.items()
                      if binding.show)
        if shown == self._shown:
            return
        super().bindings_changed(screen)
        if screen.app.app_focus:  # Textual recomposes only then
            self._shown = shown
