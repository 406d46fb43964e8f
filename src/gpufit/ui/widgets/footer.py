"""The key footer: one line of the keys in force, drawn by one widget.

Textual's `Footer` builds a widget per key (33 of the main screen's 68 widgets), fills in only
after the first frame and rebuilds them whenever the bindings change. This footer draws the
same line — `? help q quit  1234 panes / filter …   ▏^p palette` — from the screen's active
bindings at render time, so it is in the first frame and a change of keys is one repaint.

What is left out, and why: below 120 columns the keys of `wide_only` actions (their control
shows its key, and the help screen and palette list them); below 70 columns (the app's
`-small` class) the groups too. A click on a key presses it, as Textual's footer does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

PALETTE_EDGE = "▏"


@dataclass(frozen=True, slots=True)
class ShownKey:
    """One key on show: what it is, how it is written, what it does."""

    key: str
    key_display: str
    action: str
    description: str
    enabled: bool
    group: str | None = None
    """The group's label when the key is shown in a group (`1234 panes`)."""


class KeyFooter(Widget, can_focus=False):
    """The keys of the current screen and focus, with the command palette key on the right."""

    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description", "key-footer--edge"}  # noqa: RUF012

    def __init__(self, wide_only: Iterable[str]) -> None:
        super().__init__()
        self._wide_only = frozenset(wide_only)
        self._shown: tuple[ShownKey, ...] = ()
        self._keys_drawn: tuple[ShownKey, ...] = ()
        """The keys in force when the line was last drawn (some may not have fitted)."""
        self._spans: list[tuple[int, int, str]] = []
        """(first column, end column, key) of each key drawn, for clicks."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        """Repaint only when the keys on show change (a focus move often changes none)."""
        if screen is self.screen and self._keys(screen) != self._keys_drawn:
            self.refresh()

    @property
    def shown(self) -> tuple[ShownKey, ...]:
        """The keys drawn whole on the line now, the palette key last."""
        return self._shown

    def _keys(self, screen: Screen) -> tuple[ShownKey, ...]:
        narrow = screen.has_class("-narrow")
        small = self.app.has_class("-small")
        seen: set[str] = set()
        listed: list[tuple[Binding, bool]] = []
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            # One entry per action (an action bound to two keys shows its first).
            if binding.show and binding.action not in seen:
                seen.add(binding.action)
                listed.append((binding, enabled))
        # In the order the bindings are declared: a remapped key is listed under its new key,
        # which would otherwise move it to the end and out of its group.
        declared = [binding.id for binding in (*type(screen).BINDINGS, *type(self.app).BINDINGS)
                    if isinstance(binding, Binding) and binding.id]
        rank = {binding_id: index for index, binding_id in reversed(list(enumerate(declared)))}
        listed.sort(key=lambda item: rank.get(item[0].id or "", len(rank)))
        keys: list[ShownKey] = []
        for group, members_iter in groupby(listed, lambda item: item[0].group):
            members = list(members_iter)
            grouped = group is not None and len(members) > 1
            if grouped and small:
                continue
            for binding, enabled in members:
                if binding.action in self._wide_only and narrow:
                    continue
                keys.append(ShownKey(binding.key, self.app.get_key_display(binding),
                                      binding.action, binding.description, enabled,
                                      group.description if grouped and group else None))
        palette = screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if palette is not None and self.app.ENABLE_COMMAND_PALETTE:
            _node, binding, enabled, _tooltip = palette
            keys.append(ShownKey(binding.key, self.app.get_key_display(binding),
                                  binding.action, binding.description, enabled, None))
        return tuple(keys)

    def render(self) -> Text:
        self._keys_drawn = keys = self._keys(self.screen)
        key_style = self.get_component_rich_style("key-footer--key")
        description_style = self.get_component_rich_style("key-footer--description")
        palette = keys[-1] if keys and keys[-1].key == self.app.COMMAND_PALETTE_BINDING else None
        body = keys[:-1] if palette is not None else keys
        tail = "" if palette is None else f"{palette.key_display} {palette.description}"
        room = self.size.width - (cell_len(tail) + 2 if palette is not None else 0)
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, str]] = []
        shown: list[ShownKey] = []

        def chunk(members: list[ShownKey], group: str | None) -> tuple[Text, list[int]]:
            """One key with its description, or a group's keys and its label."""
            text = Text(" " if group else "", end="")
            starts = []
            for key in members:
                starts.append(text.cell_len)
                faded = Style() if key.enabled else Style(dim=True)  # as Textual's footer
                text.append(key.key_display, key_style + faded)
                if group is None and key.description:
                    text.append(f" {key.description}", description_style + faded)
            if group is not None:
                text.append(f" {group}", description_style)
            text.append(" ")
            return text, starts

        for group, members_iter in groupby(body, lambda key: key.group):
            members = list(members_iter)
            pieces = [(members, group)] if group is not None else [([key], None) for key in members]
            for piece_keys, piece_group in pieces:
                text, starts = chunk(piece_keys, piece_group)
                if line.cell_len + text.cell_len > room:
                    break  # a key is drawn whole or not at all
                for key, offset in zip(piece_keys, starts, strict=True):
                    width = cell_len(key.key_display) + (
                        cell_len(key.description) + 1 if piece_group is None else 0)
                    spans.append((line.cell_len + offset, line.cell_len + offset + width, key.key))
                    shown.append(key)
                line.append_text(text)
        if palette is not None:
            line.pad_right(max(0, room - line.cell_len))
            line.append(PALETTE_EDGE, self.get_component_rich_style("key-footer--edge"))
            spans.append((line.cell_len, line.cell_len + cell_len(tail), palette.key))
            shown.append(palette)
            faded = Style() if palette.enabled else Style(dim=True)
            line.append(palette.key_display, key_style + faded)
            line.append(f" {palette.description} ", description_style + faded)
        self._spans, self._shown = spans, tuple(shown)
        return line

    def on_click(self, event: events.Click) -> None:
        """A click on a key presses it."""
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
