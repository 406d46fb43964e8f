"""The app's text box: Textual's `Input`, styled once when it joins the screen.

`Input.__init__` sets reactives that toggle classes (`compact`, and `-valid`/`-invalid` when
it has a value). Each toggle asks the app to restyle the box although it is not on a screen
yet, and the stylesheet is applied again in full when it is mounted. With seven boxes on the
main screen that was about 40 ms of the first frame for styles nobody saw.
"""

from __future__ import annotations

from textual.widgets import Input


class TextBox(Input):
    """An `Input` that skips style updates until it is attached to the app's DOM."""

    def update_node_styles(self, animate: bool = True) -> None:
        """Restyle only when attached: mounting applies the stylesheet with every class the
        box has by then."""
        if self.is_attached:
            super().update_node_styles(animate=animate)
