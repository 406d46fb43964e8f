"""What the user typed into a number box, told apart from the app's own updates of that box.

The panes rewrite an unfocused box to show the value in force; Textual reports that as an
`Input.Changed` too. Only a focused box is being typed in, so only its valid values count.
When the user leaves a box (Enter, Tab, Escape) holding a value it refuses, `settle` puts back
the value in use before the typing and says why in a notification: a box never shows a number
that is not the one computed with.
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


def settle(box: Input, before: str, what: str, default: str = "the default") -> bool:
    """Leaving `box`: a refused value is replaced by `before` (the value in use when the box
    was entered; empty: `default`, which the placeholder shows), with a notification naming
    the rule it broke. Returns whether it was refused: live typing may have applied a valid
    prefix on the way ("99" of "999999"), which the caller then takes back."""
    value = box.value.strip()
    result = box.validate(value) if value else None
    if result is None or result.is_valid:
        return False
    why = " ".join(result.failure_descriptions) or "not a valid value."
    box.notify(f"{what} {value} refused: {why} Using {before or default}.",
               title=f"{what} unchanged", severity="warning", timeout=8)
    box.value = before
    return True
