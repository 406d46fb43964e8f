"""The shared shape of the three picker panes: a filter input above a keyboard-driven list.

A pane lists `Row`s, narrows them as the user types in its filter, keeps the highlight on the
bound `selected` id, and reports every highlight move upward with the message `chosen` makes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from gpufit.ui.widgets.text_box import TextBox


class NavList(OptionList):
    """An option list that also moves with j/k, like every keyboard-first tool."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "down", show=False, id="gpufit.list-down"),
        Binding("k", "cursor_up", "up", show=False, id="gpufit.list-up"),
    ]

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size,
                      layout: bool = True) -> bool:
        # ScrollView compares the compositor's virtual size (for a list: its viewport) with the
        # list's own (every option), which never match, so each screen layout — one per
        # keypress, as the result panes change height — re-rendered all three lists'
        # scrollbars (~12 ms of a 30 ms repaint). ScrollView ignores the passed size and uses
        # its own, so passing its own keeps the behaviour and drops the needless repaint.
        return super()._size_updated(size, self.virtual_size, container_size, layout)


@dataclass(frozen=True, slots=True)
class Row:
    """One entry of a picker: its id, how it looks, what the filter searches, its group."""

    id: str
    prompt: Content
    haystack: str
    group: str | None = None


class PickerPane(Vertical):
    """A titled pane with a filter input and a list of rows; subclasses supply rows and messages."""

    selected: var[str] = var("", init=False)
    """Id of the chosen row (bound to the main screen's selection)."""

    def __init__(self, title: str, placeholder: str, *, id: str, selected: str = "") -> None:
        super().__init__(id=id, classes="pane picker")
        self.border_title = title
        self._placeholder = placeholder
        self.set_reactive(PickerPane.selected, selected)
        self._current = selected
        """The choice as this pane last knew it: reported by it or told by the screen (whose
        `selected` arrives a turn later, after quick moves may already have moved on)."""

    def compose(self) -> ComposeResult:
        """Filter on top, list below."""
        yield TextBox(placeholder=self._placeholder, compact=True, classes="filter",
                    id=f"{self.id}-filter")
        yield from self.compose_above_list()
        yield NavList(id=f"{self.id}-list")

    def compose_above_list(self) -> ComposeResult:
        """Extra widgets between the filter and the list (none by default)."""
        return ()

    @property
    def filter_input(self) -> Input:
        """The filter box."""
        return self.query_one(".filter", Input)

    @property
    def option_list(self) -> NavList:
        """The list."""
        return self.query_one(NavList)

    def rows(self) -> Iterable[Row]:
        """Every row, in display order (subclasses implement)."""
        raise NotImplementedError

    def chosen(self, row_id: str) -> Message:
        """The message reporting that `row_id` was chosen (subclasses implement)."""
        raise NotImplementedError

    def on_mount(self) -> None:
        self.watch(self.option_list, "highlighted", self._moved, init=False)
        self.rebuild()

    def visible_rows(self) -> list[Row]:
        """Rows matching every word of the filter (case-insensitive)."""
        words = self.filter_input.value.casefold().split()
        return [row for row in self.rows() if all(word in row.haystack for word in words)]

    def rebuild(self) -> None:
        """Refill the list from the filter, keeping the choice; if the filter hides it, move to
        the first match (which then becomes the choice, so the result follows the filter)."""
        options: list[Option] = []
        group: str | None = None
        for row in self.visible_rows():
            if row.group is not None and row.group != group:
                group = row.group
                options.append(Option(Content.styled(group, "bold underline"), disabled=True))
            options.append(Option(row.prompt, id=row.id))
        self.option_list.set_options(options)
        index = self._index_of(self.selected)
        if index is None:
            index = next((position for position, option in enumerate(options)
                          if not option.disabled), None)
        self._move_to(index)

    def neighbours(self) -> list[str]:
        """Ids of the nearest rows above and below the highlighted one (j and k reach them)."""
        option_list = self.option_list
        highlighted = option_list.highlighted
        if highlighted is None:
            return []
        options = option_list.options
        found: list[str] = []
        for step in (1, -1):
            index = highlighted + step
            while 0 <= index < len(options) and options[index].disabled:
                index += step
            if 0 <= index < len(options) and options[index].id is not None:
                found.append(str(options[index].id))
        return found

    def clear_filter(self) -> None:
        """Empty the filter box (the list is rebuilt when the screen next asks or it notices)."""
        if self.is_mounted:
            self.filter_input.value = ""

    def _index_of(self, row_id: str) -> int | None:
        try:
            return self.option_list.get_option_index(row_id)
        except OptionDoesNotExist:
            return None

    def _move_to(self, index: int | None) -> None:
        option_list = self.option_list
        if index is not None and option_list.highlighted != index:
            option_list.highlighted = index

    def watch_selected(self, selected: str) -> None:
        self._current = selected
        if not self.is_mounted:
            return
        index = self._index_of(selected)
        if index is None and self.filter_input.value \
                and any(row.id == selected for row in self.rows()):
            # A load (profile, sweep row, file, Hub) chose a row the filter hides: a stale
            # filter must not leave another row highlighted, so it goes.
            self.filter_input.value = ""
            self.rebuild()
            index = self._index_of(selected)
        self._move_to(index)

    @on(Input.Changed, ".filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.rebuild()

    @on(Input.Submitted, ".filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.filter_entered(event.value)
        self.focus_default()

    def filter_entered(self, text: str) -> None:
        """Enter in the filter box, before focus moves to the list (a hook; nothing here)."""

    @on(OptionList.OptionHighlighted)
    def _highlight_message(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()  # the move was reported when it happened (`_moved`)

    def _moved(self, highlighted: int | None) -> None:
        """Report a move to a row other than the chosen one, straight to the screen, as the
        highlight changes: through the list's own message the screen heard of it only after
        the moved highlight was painted (~8 ms later), and started the estimate that late. A
        move to the chosen row is an echo of the choice already made: dropping it never
        starts a ping-pong with the screen."""
        options = self.option_list.options
        if highlighted is None or not 0 <= highlighted < len(options):
            return
        option = options[highlighted]
        if option.disabled or option.id is None or option.id == self._current:
            return
        self._current = option.id
        self.screen.post_message(self.chosen(option.id))

    # Focus moves at once (`Screen.set_focus`), not on the next turn of the loop as
    # `Widget.focus` does: keys typed right after `/` or `3` must land in the new place.

    def focus_filter(self) -> None:
        """Put the cursor in the filter box."""
        self.screen.set_focus(self.filter_input)

    def focus_default(self) -> None:
        """Focus what the pane is for: its list."""
        self.screen.set_focus(self.option_list)
