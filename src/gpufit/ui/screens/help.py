"""The help screen: every key binding, generated from the bindings themselves (never hand-written),
with the keys the keymap gives them now, one line per action."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Static

from gpufit.ui import commands
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


ACTION_HELP = {
    "help_quit": "Textual's quit hint (Ctrl+C never quits: it says which key does).",
}
"""Help lines for Textual's bindings that carry no description of their own."""


def help_lines(app: App[Any], bindings: Iterable[Binding]) -> list[tuple[str, str, str]]:
    """(keys, what it does, binding id) per action: keys that do the same thing share one line
    ("home ^a"), keys read as the keymap has them now, and Textual's internal action names
    never stand in for a description."""
    lines: dict[str, tuple[list[str], str, str]] = {}
    for binding in bindings:
        description = binding.tooltip or binding.description or ACTION_HELP.get(binding.action)
        if not description:
            continue
        keys = commands.binding_keys(app, binding)
        if binding.action in lines:
            known_keys = lines[binding.action][0]
            known_keys.extend(key for key in keys.split() if key not in known_keys)
            continue
        lines[binding.action] = (keys.split(), description, binding.id or "")
    return [(" ".join(keys), description, binding_id)
            for keys, description, binding_id in lines.values()]


def palette_only() -> list[tuple[str, str, str]]:
    """Commands with no key: the palette (Ctrl+P) runs them."""
    return [("Ctrl+P", f"{command.title}: {command.help}", command.binding_id)
            for command in commands.COMMANDS if not command.key and command.title]


def help_rows(main: Screen, units: str = "GB") -> Iterable[Widget]:
    """A heading per scope, then one row per action: keys on the left, what it does beside."""
    yield Static(Content.styled(
        f"Keys act on the focused pane first, then everywhere. Sizes are in {units} "
        f"(GB = 10^9 bytes, GiB = 2^30 bytes; {commands.key_for(main.app, 'units') or 'palette'}"
        " switches). Remap a key in settings.toml: [keymap] \"<id>\" = \"<keys>\".",
        "$foreground-muted"), classes="help-intro")
    sections = [(scope, help_lines(main.app, bindings))
                for scope, bindings in binding_sections(main)]
    sections.append(("Command palette only", palette_only()))
    for scope, lines in sections:
        yield Static(Content.styled(scope, "bold $text-primary"), classes="help-scope")
        for keys, description, binding_id in lines:
            with Horizontal(classes="help-row"):
                yield Static(Content.styled(keys, "bold $text-accent"), classes="help-key")
                label = Content(description)
                if binding_id:
                    label = label + Content.styled(f"  {binding_id}", "$foreground-muted")
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
            yield from help_rows(self._main, str(getattr(self._main, "units", "GB")))
