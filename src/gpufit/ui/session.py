"""Between the main screen's state and a saved `Profile`: capture it, apply one back, and the
main screen's profile actions (save, open, rename, delete).

Applying never loses a value the catalog lacks: the piece stays as it was on screen and the
returned notes say what was missing, so the user knows the profile was not fully restored.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from gpufit.core.setup import DETECTED_PREFIX
from gpufit.persist.profiles import (
    DETECTED_GPU,
    Profile,
    ProfileError,
    ProfileExists,
    ProfileStore,
    profile_of_setup,
    profile_setup,
)

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
    file_quant: str | None = None
    if profile.model not in catalog.models and _names_a_file(profile.model):
        # Profiles may name a model file (docs/profiles.md); `report --profile` reads it, and
        # so does the app, exactly as `f` would open it.
        model_id, file_quant, problem = _open_model_file(screen, profile.model)
        if problem is not None:
            missing.append(problem)
    elif profile.model not in catalog.models:
        missing.append(f"model {profile.model!r} is not in the catalog")
        model_id = None
    setup = profile_setup(profile, gpu_id or current.gpu_id, model_id or current.model_id)
    if profile.quant not in catalog.quants:
        if file_quant is None:
            missing.append(f"quant {profile.quant!r} is not in the catalog")
        setup = replace(setup, quant_id=file_quant or current.quant_id)
    screen.detection.hardware_chosen()
    screen.setup = setup
    return missing


def _names_a_file(value: str) -> bool:
    """Whether a profile's model value is a path (the rule `report --profile` applies)."""
    from gpufit.importers.locate import looks_like_path

    if looks_like_path(value):
        return True
    try:
        return Path(value).expanduser().exists()
    except (OSError, ValueError):  # a name the OS cannot even look up is no file
        return False


def _open_model_file(screen: MainScreen, value: str) -> tuple[str | None, str | None, str | None]:
    """Read the model file a profile names into the screen's catalog: (model id, the file's
    quant id, None), or (None, None, what went wrong)."""
    from gpufit.importers.errors import ModelImportError
    from gpufit.importers.model_import import import_model

    try:
        imported = import_model(Path(value).expanduser(), screen.catalog.quants)
    except (ModelImportError, OSError) as error:
        return None, None, f"model file {value!r} could not be read: {error}"
    screen.imports.add_model(imported)
    return imported.spec.id, imported.quant_id, None


class ProfileController:
    """Saves the screen's setup as profiles and puts profiles back on screen."""

    def __init__(self, screen: MainScreen, store: ProfileStore, name: str | None) -> None:
        self._screen = screen
        self.store = store
        self.name = name
        """The profile on screen: opened at start or last saved/opened (the save prompt's
        default)."""

    def save(self) -> None:
        """Name the current setup and save it; an existing name asks before overwriting."""
        from gpufit.ui.screens.profiles import SavePrompt  # the dialogs load when first used

        screen = self._screen
        default = self.name or f"{screen.model_id} on {screen.gpu_id}"
        note = ""
        if self.name is not None:
            with contextlib.suppress(ProfileError, ValueError):
                note = self.store.load(self.name).note
        screen.app.push_screen(SavePrompt(default, note), self._save_named)

    def _save_named(self, answer: tuple[str, str] | None, overwrite: bool = False) -> None:
        if not answer or not answer[0]:
            return
        from gpufit.ui.screens.profiles import Confirm

        name, note = answer
        screen = self._screen
        try:
            self.store.save(profile_of(screen, name, note), overwrite=overwrite)
        except ProfileExists:
            screen.app.push_screen(Confirm(f"A profile named {name!r} exists. Overwrite it?"),
                                   lambda yes: self._save_named(answer, True) if yes else None)
            return
        except (ProfileError, ValueError) as error:
            screen.notify(f"{error} (the setup on screen is unchanged)",
                          title="Profile not saved", severity="error", timeout=12)
            return
        self.name = name
        kept = screen.imports.keep()
        screen.notify(f"Saved {name!r} in {self.store.directory}." + (f" {kept}" if kept else ""),
                      title="Profile saved")

    def choose(self, mode: str = "open") -> None:
        """The profile list: Enter opens (or renames/deletes, per `mode`)."""
        from gpufit.ui.screens.profiles import ProfilesScreen

        self._screen.app.push_screen(ProfilesScreen(self.store, mode), self._chosen)

    def _chosen(self, profile: Profile | None) -> None:
        if profile is not None:
            self.show(profile)

    def open(self, name: str) -> None:
        """Load a profile by name (the `--profile` start-up option)."""
        try:
            self.show(self.store.load(name))
        except ProfileError as error:
            self._screen.notify(str(error), title="Profile not opened", severity="error",
                                timeout=12)

    def show(self, profile: Profile) -> None:
        """Put a profile's setup on screen and say what could not be restored."""
        missing = apply_profile(self._screen, profile)
        self.name = profile.name
        if missing:
            self._screen.notify("; ".join(missing) + ". Other values were restored.",
                                title=f"Profile {profile.name!r}", severity="warning", timeout=12)
        else:
            self._screen.notify(f"Opened {profile.name!r}.", title="Profile")

    def restore_last_session(self) -> None:
        """Put the setup of the last quit back on screen (silently nothing if there is none)."""
        profile = self.store.load_last_session()
        if profile is not None:
            missing = apply_profile(self._screen, profile)
            if missing:
                self._screen.notify("; ".join(missing), title="Last session", severity="warning")

    def remember_session(self) -> None:
        """Keep the setup on screen for the next start; a failure must not block quitting."""
        with contextlib.suppress(ProfileError, ValueError):
            self.store.save_last_session(profile_of(self._screen, "last session"))
            self._screen.imports.keep()
