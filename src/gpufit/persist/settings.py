"""The user's remembered choices (theme, units) in `settings.toml` under the config directory.

Read with tomllib, written with tomli-w through a temporary file and `os.replace`, so a crash
mid-write never leaves half a file. A file that cannot be read is moved aside to
`settings.toml.corrupt-<timestamp>` and defaults are used: settings must never stop the app.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from gpufit.persist import paths
from gpufit.persist.files import move_aside, write_atomic

DEFAULT_THEME = "gpufit-dark"
DEFAULT_HUB_TIMEOUT_S = 10.0
UNITS = ("GB", "GiB")
"""Size units the app can show: decimal GB (10^9) or binary GiB (2^30)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What the app remembers between runs."""

    theme: str = DEFAULT_THEME
    """Name of the colour theme."""
    units: str = "GB"
    """GB (10^9 bytes) or GiB (2^30 bytes) for sizes."""
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id → keys, e.g. {"gpufit.quit" = "ctrl+q"} (ids are listed on the help screen)."""
    restore_last_session: bool = False
    """Reopen the setup on screen at the last quit (kept as profiles/.last-session.toml)."""
    price_per_gpu_hour: float | None = None
    """What one GPU costs per hour, in the user's currency (no built-in prices); None = unset."""
    ram_gb: float | None = None
    """System RAM for CPU offload in GB; None = read it from the OS."""
    ram_bandwidth_gbps: float | None = None
    """System RAM bandwidth in GB/s for CPU offload; None = a default for the platform."""
    recent_model_files: tuple[str, ...] = ()
    """Model files and folders opened with `f`, most recent first (at most RECENT_LIMIT)."""
    model_paths: tuple[str, ...] = ()
    """Folders to scan for models besides the stores found by themselves (`[models] paths`)."""
    models_extra: dict[str, Any] = field(default_factory=dict)
    """Keys of the `[models]` table this version does not know, written back unchanged."""
    hub_timeout_s: float = DEFAULT_HUB_TIMEOUT_S
    """Seconds to wait for each Hugging Face Hub request of a Hub model lookup."""


RECENT_LIMIT = 8
HOST_KEYS = ("price_per_gpu_hour", "ram_gb", "ram_bandwidth_gbps")
"""Optional positive numbers: absent from the file when unset (TOML has no null)."""


def default_path() -> Path:
    """`settings.toml` in the config directory (`GPUFIT_CONFIG_DIR` overrides it)."""
    return paths.config_dir() / "settings.toml"


def _from_document(document: dict[str, Any], problems: list[str] | None = None) -> Settings:
    settings = Settings()
    theme = document.get("theme")
    if isinstance(theme, str) and theme:
        settings = replace(settings, theme=theme)
    units = document.get("units")
    if units in UNITS:
        settings = replace(settings, units=units)
    restore = document.get("restore_last_session")
    if isinstance(restore, bool):
        settings = replace(settings, restore_last_session=restore)
    for key in HOST_KEYS:
        value = document.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            settings = replace(settings, **{key: float(value)})  # type: ignore[arg-type]
        elif value is not None and problems is not None:
            problems.append(f"settings.toml: {key} = {value!r} is not a positive number; "
                            "ignored it (unset).")
    hub_timeout = document.get("hub_timeout_s")
    if isinstance(hub_timeout, int | float) and not isinstance(hub_timeout, bool) \
            and 0 < hub_timeout <= 600:
        settings = replace(settings, hub_timeout_s=float(hub_timeout))
    elif hub_timeout is not None and problems is not None:
        problems.append(f"settings.toml: hub_timeout_s = {hub_timeout!r} is not a number of "
                        "seconds between 0 and 600; ignored it.")
    recent = document.get("recent_model_files")
    if isinstance(recent, list) and all(isinstance(item, str) and item for item in recent):
        settings = replace(settings, recent_model_files=tuple(recent[:RECENT_LIMIT]))
    elif recent is not None and problems is not None:
        problems.append("settings.toml: recent_model_files is not a list of paths; ignored it.")
    settings = _models_table(settings, document.get("models"), problems)
    keymap = document.get("keymap")
    if isinstance(keymap, dict):
        valid = {str(binding): keys for binding, keys in keymap.items()
                 if isinstance(keys, str) and keys.strip()}
        settings = replace(settings, keymap=valid)
    return settings


def _models_table(settings: Settings, table: Any, problems: list[str] | None) -> Settings:
    """`[models] paths = ["~/models", …]`: folders to scan; other keys are kept as they are."""
    if table is None:
        return settings
    if not isinstance(table, dict):
        if problems is not None:
            problems.append("settings.toml: [models] is not a table; ignored it.")
        return settings
    extra = {key: value for key, value in table.items() if key != "paths"}
    folders = table.get("paths", [])
    if isinstance(folders, list) and all(isinstance(item, str) and item for item in folders):
        return replace(settings, model_paths=tuple(folders), models_extra=extra)
    if problems is not None:
        problems.append("settings.toml: [models] paths is not a list of folders; ignored it.")
    return replace(settings, models_extra={**extra, "paths": folders})


class SettingsStore:
    """Loads settings once and writes them back whenever they change."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.problems: list[str] = []
        """What went wrong while loading (shown once as a notification)."""
        self.settings = self._load()

    def _load(self) -> Settings:
        try:
            document = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Settings()
        except UnicodeDecodeError:
            self._move_aside("not UTF-8 text")
            return Settings()
        except tomllib.TOMLDecodeError as error:
            self._move_aside(f"not valid TOML ({error})")
            return Settings()
        except OSError as error:
            self.problems.append(f"Cannot read {self.path}: {error}; using defaults.")
            return Settings()
        return _from_document(document, self.problems)

    def _move_aside(self, reason: str) -> None:
        try:
            target = move_aside(self.path)
        except OSError as error:
            self.problems.append(f"{self.path} is {reason} and could not be moved aside "
                                 f"({error}); using defaults.")
            return
        self.problems.append(f"{self.path} was {reason}; moved it to {target.name} and "
                             "used defaults.")

    def update(self, **changes: Any) -> None:
        """Change some settings and write the file if anything changed."""
        updated = replace(self.settings, **changes)
        if updated == self.settings:
            return
        self.settings = updated
        self.save()

    def remember_model_file(self, path: str) -> None:
        """Put a model file first in the recent list (once), keeping the newest RECENT_LIMIT."""
        recent = (path, *(item for item in self.settings.recent_model_files if item != path))
        self.update(recent_model_files=recent[:RECENT_LIMIT])

    def save(self) -> None:
        """Write the settings atomically (temporary file in the same directory, then replace)."""
        document = asdict(self.settings)
        if not document["keymap"]:
            del document["keymap"]  # keep an untouched file to the two keys people expect
        if not document["restore_last_session"]:
            del document["restore_last_session"]
        for key in HOST_KEYS:
            if document[key] is None:
                del document[key]
        if document["hub_timeout_s"] == DEFAULT_HUB_TIMEOUT_S:
            del document["hub_timeout_s"]
        models = {**document.pop("models_extra")}
        folders = document.pop("model_paths")
        if folders:
            models["paths"] = list(folders)
        if models:
            document["models"] = models
        if document["recent_model_files"]:
            document["recent_model_files"] = list(document["recent_model_files"])
        else:
            del document["recent_model_files"]
        write_atomic(self.path, tomli_w.dumps(document).encode("utf-8"))
