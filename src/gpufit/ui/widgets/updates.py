"""Changing what a widget shows only when it differs: every refresh re-renders the whole widget.

A keypress replaces the assessment, and most of what the panes show (titles, the setup line,
often the advice) stays the same; re-rendering those lines anyway was a third of a repaint.
"""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static


def show(static: Static, content: Content) -> None:
    """Show `content` in `static`; nothing when it is already shown, and a (costly) layout
    pass only when its height changes."""
    current = static.content
    if isinstance(current, Content) and current.is_same(content):
        return
    width = static.content_region.width
    height = content.get_height(static.styles, width)  # type: ignore[arg-type]
    same_height = width > 0 and height == static.content_region.height
    static.update(content, layout=not same_height)


def set_border_subtitle(widget: Widget, subtitle: str) -> None:
    """Set the border subtitle unless it already reads `subtitle` (setting repaints the widget
    and, for a pane, every line of its border)."""
    if (widget.border_subtitle or "") != subtitle:
        widget.border_subtitle = subtitle


def set_border_title(widget: Widget, title: str) -> None:
    """Set the border title unless it already reads `title`."""
    if (widget.border_title or "") != title:
        widget.border_title = title
