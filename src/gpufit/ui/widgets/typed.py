"""What the user typed into a number box, told apart from the app's own updates of that box.

The panes rewrite an unfocused box to show the value in force; Textual reports that as an
`Input.Changed` too. Only a focused box is being typed in, so only its valid values count.
"""

from __future__ import annotations

from textual.widgets import Input


def typed_value(event: Input.Changed) -> str | None:
    """The value typed, if the user typed it and it passes the box's validators; else None.
    Stops the event either way: the pane turns it into its own message."""
    event.stop()
    if not event.input.has_focus:
        return None  # our own echo of the screen's value, not typing
    result = event.validation_result
    return event.value if result is None or result.is_valid else None
