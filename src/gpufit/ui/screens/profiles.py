"""Profile dialogs: a name prompt, the save prompt (name and note), a yes/no confirmation,
and the filterable list of profiles.

The list screen opens, renames or deletes (Enter does what it was opened for; `n` renames and
`d` deletes from any mode). It talks to the `ProfileStore` itself and reports every outcome;
storage errors are notifications, never crashes, and nothing in memory is lost.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static
from textual.widgets.option_list import Option

from gpufit.persist.profiles import Profile, ProfileError, ProfileStore, summary
from gpufit.ui.widgets.picker import NavList
from gpufit.ui.widgets.text_box import TextBox

MODES = {"open": "open", "rename": "rename", "delete": "delete"}


def preview(profile: Profile) -> str:
    """The profile's one-line summary, with its note."""
    return summary(profile) + (f" · {profile.note}" if profile.note else "")


class NamePrompt(ModalScreen[str | None]):
    """Ask for a name (Enter accepts a non-blank one, Escape cancels)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "cancel", id="gpufit.prompt-cancel"),
    ]

    def __init__(self, title: str, value: str = "", placeholder: str = "profile name") -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._value = value
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        """A titled box with one input."""
        with Vertical(classes="dialog") as box:
            box.border_title = self._title
            box.border_subtitle = "Enter saves · Esc cancels"
            yield TextBox(self._value, placeholder=self._placeholder, id="name")

    @on(Input.Submitted, "#name")
    def _submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if not name:
            self.notify("A profile needs a name.", severity="warning")
            return
        self.dismiss(name)


class SavePrompt(ModalScreen[tuple[str, str] | None]):
    """Ask for a profile's name and a note (Enter in either box saves, Escape cancels);
    dismisses with (name, note)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "cancel", id="gpufit.save-cancel"),
    ]

    def __init__(self, name: str = "", note: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self._name = name
        self._note = note

    def compose(self) -> ComposeResult:
        """A titled box: the name, then the note."""
        with Vertical(classes="dialog") as box:
            box.border_title = "Save profile"
            box.border_subtitle = "Enter saves · Tab moves · Esc cancels"
            yield TextBox(self._name, placeholder="profile name", id="name")
            yield TextBox(self._note, placeholder="note (optional): what this setup is for",
                        id="note")

    @on(Input.Submitted)
    def _submitted(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        if not name:
            self.notify("A profile needs a name.", severity="warning")
            self.query_one("#name", Input).focus()
            return
        self.dismiss((name, self.query_one("#note", Input).value.strip()))


class Confirm(ModalScreen[bool]):
    """A yes/no question; `y` or Enter says yes, `n` or Escape no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "dismiss(True)", "yes", id="gpufit.confirm-yes"),
        Binding("n,escape", "dismiss(False)", "no", id="gpufit.confirm-no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__(classes="dialog-screen")
        self._question = question

    def compose(self) -> ComposeResult:
        """The question and the two keys."""
        with Vertical(classes="dialog") as box:
            box.border_title = "Confirm"
            box.border_subtitle = "y yes · n no"
            yield Static(self._question, markup=False)  # it quotes a profile name


class ProfilesScreen(ModalScreen[Profile | None]):
    """Every saved profile with a one-line preview; dismisses with the profile to open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "close", id="gpufit.profiles-close"),
        Binding("n", "rename", "rename", id="gpufit.profiles-rename"),
        Binding("d", "delete", "delete", id="gpufit.profiles-delete"),
        Binding("slash", "filter", "filter", key_display="/", id="gpufit.profiles-filter"),
    ]

    def __init__(self, store: ProfileStore, mode: str = "open") -> None:
        super().__init__(classes="dialog-screen")
        self._store = store
        self._mode = MODES.get(mode, "open")
        self._profiles: list[Profile] = []

    def compose(self) -> ComposeResult:
        """Filter, list, footer."""
        with Vertical(classes="dialog profiles-dialog") as box:
            box.border_title = {"open": "Open profile", "rename": "Rename profile",
                                "delete": "Delete profile"}[self._mode]
            box.border_subtitle = "Enter " + self._mode + " · n rename · d delete · Esc close"
            yield TextBox(placeholder="/ filter profiles", compact=True, id="profile-filter")
            yield NavList(id="profile-list")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.reload()
        self.query_one(NavList).focus()

    def reload(self, keep: str | None = None) -> None:
        """Read the profiles again (the store moves unreadable files aside and says so); the
        cursor goes to `keep` when given, so the next key acts on the profile just changed."""
        self._profiles = self._store.list()
        for problem in self._store.problems:
            self.notify(str(problem), title="Profile file problem", severity="warning",
                        timeout=12)
        self._store.problems.clear()
        self._fill(keep)

    def _fill(self, keep: str | None = None) -> None:
        """Fill the list from the filter; the cursor goes to `keep` (a profile's name) if it is
        listed, else the first row."""
        words = self.query_one("#profile-filter", Input).value.casefold().split()
        options = [Option(Content.assemble((profile.name, "bold"), "\n",
                                           (preview(profile), "$foreground-muted")),
                          id=profile.name)
                   for profile in self._profiles
                   if all(word in f"{profile.name} {preview(profile)}".casefold() for word in words)]
        listing = self.query_one(NavList)
        listing.set_options(options)
        if not self._profiles:
            listing.set_options([Option("No saved profiles yet: press s on the main screen.",
                                        disabled=True)])
        elif options:
            names = [option.id for option in options]
            listing.highlighted = names.index(keep) if keep in names else 0

    def _highlighted(self) -> Profile | None:
        listing = self.query_one(NavList)
        if listing.highlighted is None:
            return None
        name = listing.options[listing.highlighted].id
        return next((profile for profile in self._profiles if profile.name == name), None)

    @on(Input.Changed, "#profile-filter")
    def _filtered(self) -> None:
        self._fill()

    @on(Input.Submitted, "#profile-filter")
    def _filter_done(self) -> None:
        self.query_one(NavList).focus()

    def action_filter(self) -> None:
        """Focus the filter."""
        self.query_one("#profile-filter", Input).focus()

    @on(NavList.OptionSelected)
    def _entered(self) -> None:
        profile = self._highlighted()
        if profile is None:
            return
        if self._mode == "rename":
            self.action_rename()
        elif self._mode == "delete":
            self.action_delete()
        else:
            self.dismiss(profile)

    def action_rename(self) -> None:
        """Ask for a new name for the highlighted profile."""
        profile = self._highlighted()
        if profile is None:
            return

        def renamed(new_name: str | None) -> None:
            if not new_name or new_name == profile.name:
                return
            try:
                self._store.rename(profile.name, new_name)
            except ProfileError as error:
                self.notify(str(error), title="Could not rename", severity="error")
                return
            self.notify(f"{profile.name!r} is now {new_name!r}.", title="Profile renamed")
            self.reload(keep=new_name)

        self.app.push_screen(NamePrompt(f"Rename {profile.name!r}", profile.name), renamed)

    def action_delete(self) -> None:
        """Delete the highlighted profile after a confirmation."""
        profile = self._highlighted()
        if profile is None:
            return

        listing = self.query_one(NavList)
        ids = [option.id for option in listing.options]
        position = ids.index(profile.name)
        others = ids[position + 1:] + ids[:position][::-1]
        neighbour = others[0] if others else None

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self._store.delete(profile.name)
            except ProfileError as error:
                self.notify(str(error), title="Could not delete", severity="error")
                return
            self.notify(f"Deleted {profile.name!r}.", title="Profile deleted")
            # The cursor stays where it was (on the next profile), not back at the top.
            self.reload(keep=neighbour)

        self.app.push_screen(Confirm(f"Delete profile {profile.name!r}? This cannot be undone."),
                             confirmed)
