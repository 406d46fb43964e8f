"""The help screen: every key binding, generated from the bindings themselves (never hand-written)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Static

from gpufit.ui.widgets.picker import NavList
from gpufit.ui.widgets.result import ResultPanel

if TYPE_CHECKING:
    from textual.screen import Screen


def class_bindings(node_type: type[DOMNode]) -> list[Binding]:
    """The bindings a class ends up with: its BINDINGS merged over its bases' (later wins)."""
    merged: dict[str, Binding] = {}
    for base in reversed(node_type.__mro__):
        for binding in Binding.make_bindings(base.__dict__.get("BINDINGS", [])):
            merged[binding.key] = binding
    return list(merged.values())


def binding_sections(main: Screen) -> list[tuple[str, list[Binding]]]:
    """(scope, bindings) for the app, the main screen and each kind of focusable thing on it."""
    return [
        ("Everywhere (main screen)", class_bindings(type(main))),
        ("App", class_bindings(type(main.app))),
        ("GPU, model and quant lists", class_bindings(NavList)),
        ("Result pane", class_bindings(ResultPanel)),
        ("Text boxes", class_bindings(Input)),
    ]


def help_rows(main: Screen) -> Iterable[Widget]:
    """A heading per scope, then one row per binding: key on the left, what it does beside it."""
    yield Static(Content.styled(
        "Keys act on the focused pane first, then everywhere. Sizes are GB (10^9 bytes) unless "
        "the result pane says GiB. Remap a key in settings.toml: [keymap] \"<id>\" = \"<keys>\".",
        "$foreground-muted"), classes="help-intro")
    for scope, bindings in binding_sections(main):
        yield Static(Content.styled(scope, "bold $text-primary"), classes="help-scope")
        for binding in bindings:
            description = binding.tooltip or binding.description or binding.action
            with Horizontal(classes="help-row"):
                yield Static(Content.styled(main.app.get_key_display(binding),
                                            "bold $text-accent"), classes="help-key")
                label = Content(description)
                if binding.id:
                    label = label + Content.styled(f"  {binding.id}", "$foreground-muted")
                yield Static(label, classes="help-description")


class HelpScreen(ModalScreen[None]):
    """A scrollable list of every binding; Escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "close help", id="gpufit.help-close"),
    ]

    def __init__(self, main: Screen) -> None:
        super().__init__()
        self._main = main

    def compose(self) -> ComposeResult:
        """One scrolling panel of rows."""
        with VerticalScroll(id="help-panel") as panel:
            panel.border_title = "gpufit-tui keys"
            panel.border_subtitle = "Esc closes"
            yield from help_rows(self._main)
