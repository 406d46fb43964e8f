"""Between the main screen's state and a saved `Profile`: capture it, apply one back, and the
main screen's profile actions (save, open, rename, delete) as a mixin.

Applying never loses a value the catalog lacks: the piece stays as it was on screen and the
returned notes say what was missing, so the user knows the profile was not fully restored.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gpufit.detect.match import DETECTED_PREFIX
from gpufit.persist.profiles import (
    DETECTED_GPU,
    Profile,
    ProfileError,
    ProfileExists,
    ProfileStore,
    profile_of_setup,
    profile_setup,
)
from gpufit.ui.screens.profiles import Confirm, NamePrompt, ProfilesScreen

if TYPE_CHECKING:
    from gpufit.ui.screens.main import MainScreen


def profile_of(screen: MainScreen, name: str, note: str = "") -> Profile:
    """The screen's setup under `name` (detected hardware is saved as "detected")."""
    gpu = DETECTED_GPU if screen.setup.gpu_id.startswith(DETECTED_PREFIX) else None
    return profile_of_setup(name, screen.setup, screen.context_tokens, gpu=gpu, note=note)


def apply_profile(screen: MainScreen, profile: Profile) -> list[str]:
    """Set the screen to `profile`; returns what could not be restored, one line each (those
    pieces stay as they were on screen)."""
    catalog = screen.catalog
    current = screen.setup
    missing: list[str] = []
    gpu_id: str | None = profile.gpu
    if profile.gpu == DETECTED_GPU:
        gpu_id = screen.detected[0].key if screen.detected else None
        if gpu_id is None:
            missing.append("the profile uses detected GPUs and none were detected")
    elif profile.gpu not in catalog.gpus:
        missing.append(f"GPU {profile.gpu!r} is not in the catalog")
        gpu_id = None
    model_id: str | None = profile.model
    if profile.model not in catalog.models:
        missing.append(f"model {profile.model!r} is not in the catalog")
        model_id = None
    setup = profile_setup(profile, gpu_id or current.gpu_id, model_id or current.model_id)
    if profile.quant not in catalog.quants:
        missing.append(f"quant {profile.quant!r} is not in the catalog")
        setup = replace(setup, quant_id=current.quant_id)
    screen.hardware_chosen()
    screen.setup = setup
    return missing


class ProfileActions:
    """The main screen's profile actions; mixed into `MainScreen`, whose state they read."""

    _profiles: ProfileStore
    _profile_name: str | None
    model_id: str
    gpu_id: str
    app: Any
    notify: Any

    keep_imported_model: Any  # ImportActions' (a stub method here would shadow it in the MRO)

    def action_save_profile(self) -> None:
        """Name the current setup and save it; an existing name asks before overwriting."""
        default = self._profile_name or f"{self.model_id} on {self.gpu_id}"
        self.app.push_screen(NamePrompt("Save profile", default), self._save_named)

    def _save_named(self, name: str | None, overwrite: bool = False) -> None:
        if not name:
            return
        try:
            profile = profile_of(self, name)  # type: ignore[arg-type]
            self._profiles.save(profile, overwrite=overwrite)
        except ProfileExists:
            self.app.push_screen(Confirm(f"A profile named {name!r} exists. Overwrite it?"),
                                 lambda yes: self._save_named(name, True) if yes else None)
            return
        except (ProfileError, ValueError) as error:
            self.notify(f"{error} (the setup on screen is unchanged)",
                        title="Profile not saved", severity="error", timeout=12)
            return
        self._profile_name = name
        kept = self.keep_imported_model()
        self.notify(f"Saved {name!r} in {self._profiles.directory}." + (f" {kept}" if kept else ""),
                    title="Profile saved")

    def action_open_profile(self, mode: str = "open") -> None:
        """The profile list: Enter opens (or renames/deletes, per `mode`)."""
        self.app.push_screen(ProfilesScreen(self._profiles, mode), self._opened)

    def _opened(self, profile: Profile | None) -> None:
        if profile is not None:
            self.show_profile(profile)

    def open_profile(self, name: str) -> None:
        """Load a profile by name (the `--profile` start-up option)."""
        try:
            self.show_profile(self._profiles.load(name))
        except ProfileError as error:
            self.notify(str(error), title="Profile not opened", severity="error", timeout=12)

    def show_profile(self, profile: Profile) -> None:
        """Put a profile's setup on screen and say what could not be restored."""
        missing = apply_profile(self, profile)  # type: ignore[arg-type]
        self._profile_name = profile.name
        if missing:
            self.notify("; ".join(missing) + ". Other values were restored.",
                        title=f"Profile {profile.name!r}", severity="warning", timeout=12)
        else:
            self.notify(f"Opened {profile.name!r}.", title="Profile")

    def restore_last_session(self) -> None:
        """Put the setup of the last quit back on screen (silently nothing if there is none)."""
        profile = self._profiles.load_last_session()
        if profile is not None:
            missing = apply_profile(self, profile)  # type: ignore[arg-type]
            if missing:
                self.notify("; ".join(missing), title="Last session", severity="warning")

    def on_unmount(self) -> None:
        if self.app.settings.settings.restore_last_session:
            self.remember_session()

    def remember_session(self) -> None:
        """Keep the setup on screen for the next start; a failure must not block quitting."""
        with contextlib.suppress(ProfileError, ValueError):
            self._profiles.save_last_session(
                profile_of(self, "last session"))  # type: ignore[arg-type]
            self.keep_imported_model()
