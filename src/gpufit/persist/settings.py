"""The user's remembered choices (theme, units) in `settings.toml` under the config directory.

Read with the shared TOML reader (`core.toml_file`), written with tomli-w through a temporary
file and `os.replace`, so a crash mid-write never leaves half a file. A file that cannot be
parsed is moved aside to `settings.toml.corrupt-<timestamp>` and defaults are used: settings
must never stop the app. The file is the user's: a write changes only the settings changed in
this session, so unknown keys and tables, and values this version rejected (each reported once
as a problem), are written back as they were.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from gpufit.core.plans import DEFAULT_CURRENCY, currency_problem
from gpufit.core.toml_file import TomlUnreadable, read_toml_file
from gpufit.persist import paths
from gpufit.persist.files import move_aside, write_atomic

DEFAULT_THEME = "gpufit-dark"
DEFAULT_HUB_TIMEOUT_S = 10.0
UNITS = ("GB", "GiB")
"""Size units the app can show: decimal GB (10^9) or binary GiB (2^30)."""
DEFAULT_UNITS = "GiB"
"""Sizes start in GiB: GPU memory is binary wherever a user reads it — a card sold as "24 GB"
holds 24 GiB (nvidia-smi: 24564 MiB), and llama.cpp logs MiB — so "of 24.0 GiB" matches
the card's name where "of 25.8 GB" looked like a different card. `g` switches to GB."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What the app remembers between runs."""

    theme: str = DEFAULT_THEME
    """Name of the colour theme."""
    units: str = DEFAULT_UNITS
    """GB (10^9 bytes) or GiB (2^30 bytes) for sizes."""
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id → keys, e.g. {"gpufit.quit" = "ctrl+q"} (ids are listed on the help screen)."""
    restore_last_session: bool = False
    """Reopen the setup on screen at the last quit (kept as profiles/.last-session.toml)."""
    price_per_gpu_hour: float | None = None
    """What one GPU costs per hour, in `currency` (no built-in prices); None = unset."""
    currency: str = DEFAULT_CURRENCY
    """What the price and every cost are in: a code or symbol ("USD", "EUR", "$", "€")."""
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
"""Optional positive finite numbers: absent from the file when unset (TOML has no null)."""
_TABLE_KEYS = {"model_paths": "models", "models_extra": "models"}
"""Settings fields stored inside a table rather than under their own name."""


def default_path() -> Path:
    """`settings.toml` in the config directory (`GPUFIT_CONFIG_DIR` overrides it)."""
    return paths.config_dir() / "settings.toml"


def _from_document(document: dict[str, Any], problems: list[str] | None = None) -> Settings:
    settings = Settings()
    problems = [] if problems is None else problems
    theme = document.get("theme")
    if isinstance(theme, str) and theme:
        settings = replace(settings, theme=theme)
    elif theme is not None:
        problems.append(f"settings.toml: theme = {theme!r} is not a theme name; "
                        f"using {DEFAULT_THEME} (the file keeps it).")
    units = document.get("units")
    if units in UNITS:
        settings = replace(settings, units=units)
    elif units is not None:
        problems.append(f"settings.toml: units = {units!r} is not one of {', '.join(UNITS)} "
                        "(case matters); using GB (the file keeps it).")
    restore = document.get("restore_last_session")
    if isinstance(restore, bool):
        settings = replace(settings, restore_last_session=restore)
    elif restore is not None:
        problems.append(f"settings.toml: restore_last_session = {restore!r} is not true or "
                        "false; ignored it (the file keeps it).")
    for key in HOST_KEYS:
        value = document.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 \
                and math.isfinite(value):
            settings = replace(settings, **{key: float(value)})  # type: ignore[arg-type]
        elif value is not None:
            problems.append(f"settings.toml: {key} = {value!r} is not a positive finite "
                            "number; ignored it (unset).")
    currency = document.get("currency")
    problem = currency_problem(currency)
    if isinstance(currency, str) and problem is None:
        settings = replace(settings, currency=currency.strip())
    elif currency is not None:
        problems.append(f"settings.toml: currency = {currency!r} {problem}; using "
                        f"{DEFAULT_CURRENCY} (the file keeps it).")
    hub_timeout = document.get("hub_timeout_s")
    if isinstance(hub_timeout, int | float) and not isinstance(hub_timeout, bool) \
            and 0 < hub_timeout <= 600:
        settings = replace(settings, hub_timeout_s=float(hub_timeout))
    elif hub_timeout is not None:
        problems.append(f"settings.toml: hub_timeout_s = {hub_timeout!r} is not a number of "
                        "seconds between 0 and 600; ignored it.")
    recent = document.get("recent_model_files")
    if isinstance(recent, list) and all(isinstance(item, str) and item for item in recent):
        settings = replace(settings, recent_model_files=tuple(recent[:RECENT_LIMIT]))
    elif recent is not None:
        problems.append("settings.toml: recent_model_files is not a list of paths; ignored it.")
    settings = _models_table(settings, document.get("models"), problems)
    return replace(settings, keymap=_keymap(document.get("keymap"), problems))


def _keymap(table: Any, problems: list[str]) -> dict[str, str]:
    """`[keymap]` binding id → keys; an entry that is not a key string is reported and left
    in the file (a write keeps what this version could not use)."""
    if table is None:
        return {}
    if not isinstance(table, dict):
        problems.append("settings.toml: [keymap] is not a table; ignored it (the file keeps it).")
        return {}
    valid = {str(binding): keys for binding, keys in table.items()
             if isinstance(keys, str) and keys.strip()}
    for binding in table.keys() - valid.keys():
        problems.append(f"settings.toml: [keymap] {binding} = {table[binding]!r} is not a key "
                        "string; ignored it (the file keeps it).")
    return valid


def _models_table(settings: Settings, table: Any, problems: list[str]) -> Settings:
    """`[models] paths = ["~/models", …]`: folders to scan; other keys are kept as they are."""
    if table is None:
        return settings
    if not isinstance(table, dict):
        problems.append("settings.toml: [models] is not a table; ignored it.")
        return settings
    extra = {key: value for key, value in table.items() if key != "paths"}
    folders = table.get("paths", [])
    if isinstance(folders, list) and all(isinstance(item, str) and item for item in folders):
        return replace(settings, model_paths=tuple(folders), models_extra=extra)
    problems.append("settings.toml: [models] paths is not a list of folders; ignored it.")
    return replace(settings, models_extra={**extra, "paths": folders})


def _encode(settings: Settings) -> dict[str, Any]:
    """The TOML document for `settings` alone, leaving out what is at its default."""
    document = asdict(settings)
    if not document["keymap"]:
        del document["keymap"]  # keep an untouched file to the two keys people expect
    if not document["restore_last_session"]:
        del document["restore_last_session"]
    for key in HOST_KEYS:
        if document[key] is None:
            del document[key]
    if document["currency"] == DEFAULT_CURRENCY:
        del document["currency"]
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
    return document


def merged_document(file_document: dict[str, Any], loaded: Settings,
                    settings: Settings) -> dict[str, Any]:
    """The file's own document with only the settings that changed since `loaded` rewritten:
    unknown keys, unknown tables and values this version rejected stay as the user wrote them."""
    document = dict(file_document)
    encoded = _encode(settings)
    for item in fields(Settings):
        if getattr(settings, item.name) == getattr(loaded, item.name):
            continue
        key = _TABLE_KEYS.get(item.name, item.name)
        if key == "keymap" and isinstance(file_document.get("keymap"), dict):
            # Entries this version could not use are kept beside the changed ones.
            kept = {binding: keys for binding, keys in file_document["keymap"].items()
                    if binding not in loaded.keymap}
            document["keymap"] = {**kept, **settings.keymap}
        elif key in encoded:
            document[key] = encoded[key]
        else:
            document.pop(key, None)
    return document


def read_settings(path: Path | None = None) -> tuple[Settings, dict[str, Any], list[str]]:
    """The settings, the file's own document and the problems, for headless commands: the
    file is only read — never moved aside or written — since a `report` run must not change
    the user's config. A file that cannot be read gives the defaults and says why."""
    path = path or default_path()
    try:
        document = read_toml_file(path)
    except FileNotFoundError:
        return Settings(), {}, []
    except (tomllib.TOMLDecodeError, TomlUnreadable, OSError) as error:
        return Settings(), {}, [f"Cannot read {path}: {error}; using defaults."]
    problems: list[str] = []
    return _from_document(document, problems), document, problems


class SettingsStore:
    """Loads settings once and writes them back whenever they change."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.problems: list[str] = []
        """What went wrong while loading (shown once as a notification)."""
        self._document: dict[str, Any] = {}
        """The file as read: what a write starts from, so nothing the user wrote is lost."""
        self.settings = self._load()
        self._loaded = self.settings

    def _load(self) -> Settings:
        try:
            document = read_toml_file(self.path)
        except FileNotFoundError:
            return Settings()
        except tomllib.TOMLDecodeError as error:
            self._move_aside(f"not usable ({error})")
            return Settings()
        except (TomlUnreadable, OSError) as error:
            self.problems.append(f"Cannot read {self.path}: {error}; using defaults.")
            return Settings()
        self._document = document
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
        """Change some settings and write the file if anything changed (OSError if it cannot be
        written; the change is kept for this session either way)."""
        for key in HOST_KEYS:
            value = changes.get(key)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{key} must be a positive finite number, not {value!r}")
        if "currency" in changes:
            currency = changes["currency"]
            problem = currency_problem(currency)
            if problem is not None or not isinstance(currency, str):
                raise ValueError(f"currency {currency!r} {problem}; {self.path.name} keeps "
                                 f"{self.settings.currency}")
            changes["currency"] = currency.strip()
        updated = replace(self.settings, **changes)
        if updated == self.settings:
            return
        self.settings = updated
        self.save()

    def remember_model_file(self, path: str) -> str | None:
        """Put a model file first in the recent list (once), keeping the newest RECENT_LIMIT.

        Never raises: a config folder that is read-only or full must not stop a model from
        opening, so the failure comes back as a warning to show (None when it was saved)."""
        recent = (path, *(item for item in self.settings.recent_model_files if item != path))
        try:
            self.update(recent_model_files=recent[:RECENT_LIMIT])
        except OSError as error:
            return f"Could not remember {path} in {self.path}: {error.strerror or error}"
        return None

    def save(self) -> None:
        """Write the settings atomically (temporary file in the same directory, then replace),
        keeping every key of the file that this session did not change."""
        document = merged_document(self._document, self._loaded, self.settings)
        write_atomic(self.path, tomli_w.dumps(document).encode("utf-8"))
        self._document, self._loaded = document, self.settings
