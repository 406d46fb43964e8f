"""The shared shape of the three picker panes: a filter input above a keyboard-driven list.

A pane lists `Row`s, narrows them as the user types in its filter, keeps the highlight on the
bound `selected` id, and reports every highlight move upward with the message `chosen` makes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option


class NavList(OptionList):
    """An option list that also moves with j/k, like every keyboard-first tool."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "down", show=False, id="gpufit.list-down"),
        Binding("k", "cursor_up", "up", show=False, id="gpufit.list-up"),
    ]


@dataclass(frozen=True, slots=True)
class Row:
    """One entry of a picker: its id, how it looks, what the filter searches, its group."""

    id: str
    prompt: Content
    haystack: str
    group: str | None = None


class PickerPane(Vertical):
    """A titled pane with a filter input and a list of rows; subclasses supply rows and messages."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave_filter", "to list", show=False, id="gpufit.filter-leave"),
        Binding("down", "leave_filter", "to list", show=False, id="gpufit.filter-down"),
    ]

    selected: reactive[str] = reactive("", init=False)
    """Id of the chosen row (bound to the main screen's selection)."""

    def __init__(self, title: str, placeholder: str, *, id: str) -> None:
        super().__init__(id=id, classes="pane picker")
        self.border_title = title
        self._placeholder = placeholder

    def compose(self) -> Iterable:
        """Filter on top, list below."""
        yield Input(placeholder=self._placeholder, compact=True, classes="filter",
                    id=f"{self.id}-filter")
        yield from self.compose_above_list()
        yield NavList(id=f"{self.id}-list")

    def compose_above_list(self) -> Iterable:
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
        self.rebuild()

    def visible_rows(self) -> list[Row]:
        """Rows matching every word of the filter (case-insensitive)."""
        words = self.filter_input.value.casefold().split()
        return [row for row in self.rows() if all(word in row.haystack for word in words)]

    def rebuild(self) -> None:
        """Refill the list from the filter, keeping (or, if filtered out, moving) the choice."""
        options: list[Option] = []
        group: str | None = None
        for row in self.visible_rows():
            if row.group is not None and row.group != group:
                group = row.group
                options.append(Option(Content.styled(group, "bold"), disabled=True))
            options.append(Option(row.prompt, id=row.id))
        self.option_list.set_options(options)
        if not self._highlight(self.selected):
            self._highlight_first()

    def _highlight(self, row_id: str) -> bool:
        option_list = self.option_list
        try:
            index = option_list.get_option_index(row_id)
        except Exception:  # OptionDoesNotExist: filtered out or unknown
            return False
        if option_list.highlighted != index:
            option_list.highlighted = index
        return True

    def _highlight_first(self) -> None:
        option_list = self.option_list
        for index, option in enumerate(option_list.options):
            if not option.disabled:
                option_list.highlighted = index
                return

    def watch_selected(self, selected: str) -> None:
        if self.is_mounted:
            self._highlight(selected)

    @on(Input.Changed, ".filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.rebuild()

    @on(Input.Submitted, ".filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.option_list.focus()

    @on(OptionList.OptionHighlighted)
    def _moved(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        # Always report, even a row equal to `selected`: a quick A→B→A must end on A.
        if event.option.id is not None:
            self.post_message(self.chosen(event.option.id))

    def action_leave_filter(self) -> None:
        """Escape or ↓ in the filter (or another input) returns to the list."""
        self.option_list.focus()

    def focus_filter(self) -> None:
        """Put the cursor in the filter box."""
        self.filter_input.focus()

    def focus_default(self) -> None:
        """Focus what the pane is for: its list."""
        self.option_list.focus()
