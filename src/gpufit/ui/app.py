"""The app and the one factory that builds it (for the CLI, the tests and the screenshot script)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.app import App, SystemCommand
from textual.css.stylesheet import StylesheetError
from textual.css.tokenizer import TokenError
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

from gpufit import startup
from gpufit.core.catalog import Catalog, load_catalog
from gpufit.persist import paths
from gpufit.persist.profiles import ProfileStore
from gpufit.persist.settings import DEFAULT_THEME, SettingsStore
from gpufit.service import EstimateRequest, EstimateService
from gpufit.ui import commands
from gpufit.ui.screens.main import MainScreen
from gpufit.ui.terminal import AsciiFilter, TerminalProfile, terminal_profile
from gpufit.ui.themes import ThemeSet, default_theme_dirs, load_themes

if TYPE_CHECKING:
    from gpufit.core.assess import Assessment
    from gpufit.detect.snapshot import Snapshot

    # Only a model opened from a file needs the readers; they load when one is opened.
    from gpufit.importers.model_import import ImportedModel
    from gpufit.ui.model_sources import LocalScanner

FALLBACK_THEME = "textual-dark"
SMALL_WIDTH = 70
"""Below this many columns the app gets the `-small` class (two-line workload bar, fewer keys)."""
NARROW_WIDTH = 120
"""Below this many columns the app gets the `-narrow` class (dialogs take the whole width)."""
MAX_STARTUP_NOTES = 5


class GpufitApp(App[None]):
    """Will this LLM fit on this GPU? Four live panes; see `make_app`."""

    CSS_PATH = "app.tcss"
    TITLE = "gpufit-tui"

    def __init__(self, catalog: Catalog, service: EstimateService, settings: SettingsStore,
                 themes: ThemeSet, notes: Sequence[str] = (),
                 detector: Callable[[], Awaitable[Snapshot]] | None = None,
                 profiles: ProfileStore | None = None, profile_name: str | None = None,
                 ram_probe: Callable[[], int | None] | None = None,
                 start: tuple[str, str] | None = None,
                 local_scanner: LocalScanner | None = None) -> None:
        super().__init__()
        self._local_scanner = local_scanner
        self._start = start
        self._detector = detector
        self.ram_probe = ram_probe
        """Reads this machine's RAM for offload plans; None = unknown unless entered."""
        self._profiles = profiles
        self._profile_name = profile_name
        self.catalog = catalog
        """What the pickers list."""
        self.service = service
        """Runs the estimates off the event loop."""
        self.settings = settings
        """Remembered theme and units."""
        self._notes = list(notes)
        self._file_themes = {theme.name for theme in themes.themes}
        for theme in themes.themes:
            self.register_theme(theme)
        self.terminal = TerminalProfile()
        """What the terminal draws: ASCII only (TERM=linux …) and/or 16 colours (set at mount,
        once the driver says whether there is a terminal at all)."""
        self._theme_at_mount = self._startup_theme(settings.settings.theme)

    def get_default_screen(self) -> Screen:
        """The four-pane main screen, with its width class already set (set at the first
        resize instead, it would restyle every widget once more before the first frame)."""
        settings = self.settings.settings
        screen = MainScreen(self.catalog, self.service, units=settings.units,
                            remember_units=lambda units: self.remember(units=units),
                            detector=self._detector, profiles=self._profiles,
                            profile_name=self._profile_name,
                            restore_session=settings.restore_last_session,
                            start=self._start, local_scanner=self._local_scanner,
                            hub_timeout_s=settings.hub_timeout_s)
        # Textual's own rule, as its resize handler applies it.
        screen.add_class(*screen._get_breakpoint_classes(self.size.width,
                                                         MainScreen.HORIZONTAL_BREAKPOINTS))
        return screen

    def on_mount(self) -> None:
        self.terminal = terminal_profile(os.environ, self.console.color_system,
                                         headless=self.is_headless)
        if self.terminal.ascii_only:
            self._filters.append(AsciiFilter())
        self.set_class(self.terminal.ascii_only, "-ascii")
        self.set_class(self.terminal.colours16, "-colors16")
        self._size_classes(self.size.width)
        if self.settings.settings.keymap:
            # Remapped keys from settings.toml [keymap]: binding id → keys.
            self.set_keymap(self.settings.settings.keymap)
        if self._theme_at_mount is not None:
            self._apply_theme(self._theme_at_mount)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.call_after_refresh(startup.release)  # after the first frame
        missing = [kind for kind, entries in (("GPUs", self.catalog.gpus), ("models",
                   self.catalog.models), ("quants", self.catalog.quants)) if not entries]
        if missing:
            self.notify(f"The catalog has no {' or '.join(missing)}: nothing to estimate.",
                        severity="error", timeout=30)
        for note in self._notes:
            self.notify(note, title="gpufit-tui", severity="warning", timeout=12)

    def on_resize(self, event: events.Resize) -> None:
        self._size_classes(event.size.width)

    def _size_classes(self, width: int) -> None:
        self.set_class(width < SMALL_WIDTH, "-small")
        self.set_class(width < NARROW_WIDTH, "-narrow")

    def on_unmount(self) -> None:
        self.service.close()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Notify with the text as written, never as markup: notifications quote file paths,
        model and profile names, nvidia-smi and Hub errors, where "[/b]" is a MarkupError and
        "[@click=…]" an action. (Every caller's `markup` is overridden: none uses markup.)"""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def set_keymap(self, keymap: Mapping[str, str]) -> None:
        """Apply the entries that name a real binding with keys that can be typed; say why
        each other entry was ignored (silently ignored remaps look like a broken key)."""
        usable, problems = commands.check_keymap(keymap)
        for problem in problems:
            self.notify(problem, title="settings.toml", severity="warning", timeout=12)
        super().set_keymap(usable)

    def action_redraw(self) -> None:
        """Paint every cell again, e.g. after a flaky SSH link left garbage on screen."""
        self.screen.refresh(layout=True)
        self.refresh(layout=True)

    def action_toggle_restore_session(self) -> None:
        """Turn restoring the last session at start on or off (remembered)."""
        restore = not self.settings.settings.restore_last_session
        self.remember(restore_last_session=restore)
        self.notify("The setup at quit will be reopened at start." if restore else
                    "Each start begins from the defaults.", title="Restore last session")

    def _startup_theme(self, name: str) -> str | None:
        """Set an available theme that needs no stylesheet check before the stylesheet is
        first parsed, so the first frame is styled once (setting `theme` later parses the whole
        stylesheet again). Returns the theme left for mount: a missing one (named there, with
        its fallback) or a theme file's own CSS variables, checked against the stylesheet."""
        theme = self.get_theme(name)
        if theme is None or (name in self._file_themes and theme.variables):
            return name
        self.set_reactive(App.theme, name)
        self.update_classes({**{cls: False for cls in self.classes if cls.startswith("-theme-")},
                             f"-theme-{name}": True, "-dark-mode": theme.dark,
                             "-light-mode": not theme.dark}, update=False)
        self._refresh_truecolor_filter(self.ansi_theme)
        self.stylesheet.set_variables(self.get_css_variables())
        return None

    def _apply_theme(self, name: str) -> None:
        if name in self.available_themes:
            self.theme = name
            return
        fallback = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else FALLBACK_THEME
        self.notify(f"Theme {name!r} is not available; using {fallback}.",
                    title="gpufit-tui", severity="warning", timeout=12)
        self.theme = fallback

    def _theme_changed(self, theme: Theme) -> None:
        self.remember(theme=theme.name)

    def _validate_theme(self, theme_name: str) -> str:
        """Textual's check that a theme exists, plus: a theme from a file must not break the
        stylesheet (Textual ends the app on a CSS error), whether set at start or with `t`."""
        name = super()._validate_theme(theme_name)
        theme = self.get_theme(name)
        if name not in getattr(self, "_file_themes", ()) or theme is None or not theme.variables:
            return name  # colours alone were checked when the file was loaded
        sheet = self.stylesheet.copy()
        sheet.set_variables({**self.get_theme_variable_defaults(),
                             **theme.to_color_system().generate(), **theme.variables})
        try:
            sheet.reparse()
        except (StylesheetError, TokenError):
            fallback = self.theme if self.theme != name else FALLBACK_THEME
            self.notify(f"Theme {name!r} has a variable Textual cannot use; keeping {fallback}.",
                        title="gpufit-tui", severity="warning", timeout=12)
            return fallback
        return name

    def remember(self, **changes: str | bool | float | None) -> None:
        """Store changed settings; a settings file we cannot write is a warning, not a crash."""
        try:
            self.settings.update(**changes)
        except (OSError, ValueError) as error:
            self.notify(f"Could not save settings: {error}", severity="warning")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The registry's palette commands first, then Textual's own (minus duplicates)."""
        titles: set[str] = set()
        if isinstance(screen, MainScreen):
            for command in commands.palette_commands():
                assert command.title is not None
                titles.add(command.title)
                yield SystemCommand(command.title, command.help,
                                    partial(self.run_action, command.action, screen))
        for system_command in super().get_system_commands(screen):
            if system_command.title not in ("Theme", "Quit") or not titles:
                yield system_command


def _catalog_notes(catalog: Catalog) -> list[str]:
    issues = [str(issue) for issue in catalog.issues]
    if len(issues) > MAX_STARTUP_NOTES:
        issues = [*issues[:MAX_STARTUP_NOTES],
                  f"… and {len(issues) - MAX_STARTUP_NOTES} more catalog problems "
                  "(see `gpufit-tui list gpus`)."]
    return [f"Catalog: {issue}" for issue in issues]


def make_app(catalog: Catalog | None = None, settings_path: Path | None = None,
             theme_dirs: Sequence[Path] | None = None,
             estimate_worker: Callable[[EstimateRequest, Catalog], Assessment] | None = None,
             detector: Callable[[], Awaitable[Snapshot]] | None = None,
             profiles: ProfileStore | None = None, profile_name: str | None = None,
             ram_probe: Callable[[], int | None] | None = None,
             imported_model: ImportedModel | None = None,
             local_scanner: LocalScanner | None = None) -> GpufitApp:
    """Build the app. With no arguments: the built-in catalog plus the user's additions, the
    shipped and user themes, and the settings file in the config directory. `detector` reads
    the installed GPUs (the CLI passes `gpufit.detect.detect`); None turns detection off, which
    tests and screenshots rely on for deterministic screens. `profiles` is the profile store
    (default: the config directory's); `profile_name` opens that profile at start. `ram_probe`
    reads the system RAM for offload plans (the CLI passes `gpufit.detect.host.system_ram_bytes`;
    None leaves it unknown, so screens do not depend on the machine). `imported_model` (read
    from `--model PATH`) joins the catalog and is chosen at its file's quant. `local_scanner`
    finds the models on this machine in the background (the CLI passes one; None: no scan)."""
    if catalog is None:
        from gpufit.persist.parsed_toml import cached_toml_reader

        catalog = load_catalog(extra_dirs=[paths.user_catalog_dir()], read=cached_toml_reader())
    settings = SettingsStore(settings_path)
    themes = load_themes(default_theme_dirs() if theme_dirs is None else theme_dirs)
    service = EstimateService(catalog) if estimate_worker is None \
        else EstimateService(catalog, estimate_worker)
    notes = [*_catalog_notes(catalog), *settings.problems, *themes.problems]
    start: tuple[str, str] | None = None
    if imported_model is not None:
        imported_model.join(catalog)
        # A read-only or full config folder must not stop the model from opening.
        warning = settings.remember_model_file(str(imported_model.path.expanduser().resolve()))
        notes += [warning] if warning else []
        start = (imported_model.spec.id, imported_model.quant_id)
        notes += [f"{imported_model.path}: {note}" for note in imported_model.notes]
    return GpufitApp(catalog, service, settings, themes, notes, detector, profiles, profile_name,
                     ram_probe, start, local_scanner)
