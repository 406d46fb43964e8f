"""Saved setups ("profiles"): one TOML file per profile in `<config dir>/profiles/`.

This module owns the profile file format, its validation and every read and write of those
files. It never loses data: writes go through a synced temporary file and an atomic rename; a
file it cannot read is moved aside to `<file>.corrupt-<timestamp>` and reported, never
overwritten; a file from a newer version is left alone; unknown keys survive a rewrite.
The format and the reasons for it are in docs/profiles.md.
"""

from __future__ import annotations

import builtins
import difflib
import os
import re
import tempfile
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from gpufit.core.engines import ENGINES, FLASH_ATTENTION_CHOICES
from gpufit.core.setup import Setup
from gpufit.core.specs import KV_CACHE_DTYPES
from gpufit.importers.locate import looks_like_path
from gpufit.persist import paths
from gpufit.persist.files import move_aside, publish_exclusive, sync_directory

if TYPE_CHECKING:
    from gpufit.core.catalog import Catalog

PROFILE_SCHEMA_VERSION = 1
"""The newest file layout this version reads and the one it writes."""
DETECTED_GPU = "detected"
"""The `gpu` value meaning "whatever nvidia-smi finds", never checked against the catalog."""
MAX_GPU_COUNT = 16
LAST_SESSION_FILE = ".last-session.toml"
"""Hidden, so `ProfileStore.list` never shows it."""

_HEADER = "# gpufit-tui profile. Edit freely: unknown keys are kept, comments are not.\n"
_TABLES = ("hardware", "model", "workload")
_TOP_KEYS = frozenset({"schema_version", "name", "note", "created", "updated", *_TABLES})
_RESERVED_STEMS = frozenset({"con", "prn", "aux", "nul", *(f"com{n}" for n in range(1, 10)),
                             *(f"lpt{n}" for n in range(1, 10))})


@dataclass(frozen=True, slots=True)
class Profile:
    """A whole saved setup: hardware, model, quantisation and workload, under a name."""

    name: str
    """What the person called it; unique among profiles, ignoring case."""
    gpu: str
    """Catalog GPU id, or "detected" for whatever nvidia-smi finds."""
    model: str
    """Catalog model id, or a path to a model file."""
    quant: str
    """Catalog quant id."""
    gpu_count: int = 1
    """How many GPUs, 1..16."""
    memory_override_bytes: int | None = None
    """Usable memory per GPU instead of the catalog's figure; None keeps the catalog's."""
    context_tokens: int = 8192
    sequences: int = 1
    """Sequences served at once."""
    kv_cache_dtype: str = "f16"
    """One of `specs.KV_CACHE_DTYPES`."""
    engine: str = "llama.cpp"
    """One of `engines.ENGINES`."""
    flash_attention: str = "auto"
    """One of `engines.FLASH_ATTENTION_CHOICES` (llama.cpp's -fa values)."""
    include_vision: bool = False
    """Count a multimodal model's vision encoder (mmproj)."""
    note: str = ""
    created: datetime | None = None
    """Timezone-aware UTC; set by the store on first save."""
    updated: datetime | None = None
    """Timezone-aware UTC; set by the store on every save."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Keys this version does not know, written back unchanged: top-level ones by key, ones found
    inside [hardware], [model] or [workload] as a dict under that table's name."""

    def __post_init__(self) -> None:
        for spec in _FIELDS:
            message = spec.problem(getattr(self, spec.attr))
            if message:
                raise ValueError(f"{spec.attr} {message}")
        for table in _TABLES:
            if table in self.extra and not isinstance(self.extra[table], Mapping):
                raise ValueError(f"extra['{table}'] must be a mapping of unknown keys in [{table}]")


@dataclass(frozen=True, slots=True)
class _Field:
    attr: str
    table: str | None
    key: str
    kind: type
    required: bool = False
    nullable: bool = False
    check: Callable[[Any], str | None] | None = None

    @property
    def location(self) -> str:
        return f"{self.table}.{self.key}" if self.table else self.key

    def problem(self, value: Any) -> str | None:
        if value is None and self.nullable:
            return None
        # bool is an int to Python but never a count to a person editing the file.
        if not isinstance(value, self.kind) or (self.kind is int and isinstance(value, bool)):
            return f"must be {_KIND_NAMES[self.kind]}, not {type(value).__name__} {_short(value)}"
        if isinstance(value, datetime) and value.utcoffset() is None:
            return "must have a time zone"
        return self.check(value) if self.check else None


_KIND_NAMES: dict[type, str] = {str: "text", int: "a whole number", datetime: "a date and time"}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _not_blank(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _at_least(low: int, high: int | None = None) -> Callable[[int], str | None]:
    def check(value: int) -> str | None:
        if value < low or (high is not None and value > high):
            return f"must be {low}..{high}, not {value}" if high else f"must be at least {low}, not {value}"
        return None
    return check


def _one_of(allowed: tuple[str, ...]) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}, not {value!r}"
    return check


# Both the dataclass and the file reader check values from this table, so a profile that can be
# built can always be saved and read back; order here is the order keys appear in the file.
_FIELDS: tuple[_Field, ...] = (
    _Field("name", None, "name", str, required=True, check=_not_blank),
    _Field("note", None, "note", str),
    _Field("created", None, "created", datetime, nullable=True),
    _Field("updated", None, "updated", datetime, nullable=True),
    _Field("gpu", "hardware", "gpu", str, required=True, check=_not_blank),
    _Field("gpu_count", "hardware", "count", int, check=_at_least(1, MAX_GPU_COUNT)),
    _Field("memory_override_bytes", "hardware", "memory_override_bytes", int, nullable=True,
           check=_at_least(1)),
    _Field("model", "model", "id", str, required=True, check=_not_blank),
    _Field("quant", "model", "quant", str, required=True, check=_not_blank),
    _Field("context_tokens", "workload", "context_tokens", int, check=_at_least(1)),
    _Field("sequences", "workload", "sequences", int, check=_at_least(1)),
    _Field("kv_cache_dtype", "workload", "kv_cache_dtype", str, check=_one_of(KV_CACHE_DTYPES)),
    _Field("engine", "workload", "engine", str, check=_one_of(ENGINES)),
    _Field("flash_attention", "workload", "flash_attention", str,
           check=_one_of(FLASH_ATTENTION_CHOICES)),
    _Field("include_vision", "workload", "include_vision", bool),
)


def profile_setup(profile: Profile, gpu_id: str | None = None, model_id: str | None = None) -> Setup:
    """The setup a profile saves; `gpu_id`/`model_id` replace its GPU ("detected") and model (a
    path) once the caller has resolved them."""
    return Setup(gpu_id=gpu_id or profile.gpu, gpu_count=profile.gpu_count,
                 memory_override_bytes=profile.memory_override_bytes,
                 model_id=model_id or profile.model, quant_id=profile.quant,
                 context_tokens=profile.context_tokens, sequences=profile.sequences,
                 kv_cache_dtype=profile.kv_cache_dtype,
                 engine=profile.engine,  # type: ignore[arg-type]  # checked by _FIELDS
                 flash_attention=profile.flash_attention,  # type: ignore[arg-type]
                 include_vision=profile.include_vision)


def profile_of_setup(name: str, setup: Setup, context_tokens: int, *, gpu: str | None = None,
                     note: str = "") -> Profile:
    """A profile saving `setup` under `name` (`gpu` replaces a detected option's key with
    "detected"; `context_tokens` is the context in use, saved explicitly)."""
    return Profile(name=name, gpu=gpu or setup.gpu_id, model=setup.model_id, quant=setup.quant_id,
                   gpu_count=setup.gpu_count, memory_override_bytes=setup.memory_override_bytes,
                   context_tokens=context_tokens, sequences=setup.sequences,
                   kv_cache_dtype=setup.kv_cache_dtype, engine=setup.engine,
                   flash_attention=setup.flash_attention, include_vision=setup.include_vision,
                   note=note)


class ProfileError(Exception):
    """Base of every profile failure; `str()` is one line naming the profile or file."""


class ProfileNotFound(ProfileError):
    """No profile has this name; `similar` are the closest existing names."""

    def __init__(self, name: str, similar: list[str], directory: Path) -> None:
        self.name = name
        self.similar = similar
        hint = f"; did you mean: {', '.join(similar)}" if similar else ""
        super().__init__(f"No profile named '{name}' in {directory}{hint}")


class ProfileExists(ProfileError):
    """Another profile already has this name (names are compared ignoring case)."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        super().__init__(f"A profile named '{name}' already exists ({path})")


class ProfileWriteError(ProfileError):
    """The file system refused a save, rename or delete; nothing in memory was changed."""

    def __init__(self, action: str, name: str, path: Path, error: OSError | str) -> None:
        self.path = path
        self.reason = error if isinstance(error, str) else (error.strerror or str(error))
        super().__init__(f"Cannot {action} profile '{name}' {'to' if action == 'save' else 'at'} "
                         f"{path}: {self.reason}")


@dataclass(frozen=True, slots=True)
class ProfileProblem:
    """A profile file that was skipped, and why (including where it was moved, if it was)."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class _Unreadable(Exception):
    """The file is broken: move it aside."""


class _Newer(Exception):
    """A newer version wrote the file: leave it alone."""


@dataclass(frozen=True, slots=True)
class _Stored:
    profile: Profile
    path: Path


def profiles_dir() -> Path:
    """`profiles/` in the config directory (`GPUFIT_CONFIG_DIR` overrides the config directory)."""
    return paths.config_dir() / "profiles"


def slugify(name: str) -> str:
    """A lowercase, file-system-safe file stem for a profile name: '4xA100 / 70B' → '4xa100-70b'."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-") or "profile"
    return f"{slug}-profile" if slug in _RESERVED_STEMS else slug


def _parse(document: dict[str, Any]) -> Profile:
    version = document.get("schema_version", PROFILE_SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _Unreadable(f"'schema_version' must be a whole number from 1, not {_short(version)}")
    if version > PROFILE_SCHEMA_VERSION:
        raise _Newer(f"written by a newer gpufit-tui (schema_version {version}; this version reads "
                     f"up to {PROFILE_SCHEMA_VERSION}); left unchanged and skipped")
    rest = {table: dict(document[table]) for table in _TABLES if isinstance(document.get(table), dict)}
    for table in _TABLES:
        if table in document and table not in rest:
            raise _Unreadable(f"'{table}' must be a table, not {type(document[table]).__name__}")
    top = {key: value for key, value in document.items() if key not in _TABLES}
    top.pop("schema_version", None)
    values: dict[str, Any] = {}
    for spec in _FIELDS:
        source = rest.get(spec.table, {}) if spec.table else top
        if spec.key not in source:
            if spec.required:
                raise _Unreadable(f"'{spec.location}' is missing")
            continue
        value = source.pop(spec.key)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # a hand-typed local date-time is taken as UTC
        message = spec.problem(value)
        if message:
            raise _Unreadable(f"'{spec.location}' {message}")
        values[spec.attr] = value.astimezone(UTC) if isinstance(value, datetime) else value
    extra: dict[str, Any] = dict(top)
    extra.update({table: keys for table, keys in rest.items() if keys})
    try:
        return Profile(**values, extra=extra)
    except ValueError as error:
        raise _Unreadable(str(error)) from error


def _render(profile: Profile) -> bytes:
    document: dict[str, Any] = {"schema_version": PROFILE_SCHEMA_VERSION}
    tables: dict[str, dict[str, Any]] = {table: {} for table in _TABLES}
    for spec in _FIELDS:
        value = getattr(profile, spec.attr)
        if value is not None:
            (tables[spec.table] if spec.table else document)[spec.key] = value
    for key, value in profile.extra.items():
        if key in _TABLES:
            for inner, inner_value in value.items():
                tables[key].setdefault(inner, inner_value)  # a known key always wins
        elif key not in _TOP_KEYS:
            document[key] = value
    document.update(tables)
    return (_HEADER + tomli_w.dumps(document)).encode("utf-8")


def summary(profile: Profile) -> str:
    """One line: 'llama-3.3-70b · Q4_K_M · 4 × a100-80gb-sxm · 32,768 ctx'."""
    gpus = f"{profile.gpu_count} × {profile.gpu}" if profile.gpu_count > 1 else profile.gpu
    return f"{profile.model} · {profile.quant} · {gpus} · {profile.context_tokens:,} ctx"


def missing_from_catalog(profile: Profile, catalog: Catalog) -> list[str]:
    """What the profile names that the catalog no longer has, one sentence each; [] if nothing."""
    missing: list[str] = []
    if profile.gpu != DETECTED_GPU and profile.gpu not in catalog.gpus:
        missing.append(f"GPU '{profile.gpu}' is not in the catalog")
    if profile.model not in catalog.models and not looks_like_path(profile.model):
        missing.append(f"model '{profile.model}' is not in the catalog")
    if profile.quant not in catalog.quants:
        missing.append(f"quant '{profile.quant}' is not in the catalog")
    return missing


class ProfileStore:
    """Reads and writes profile files; keeps no profile in memory, so every call sees the disk."""

    def __init__(self, directory: Path | None = None, *,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.directory = directory or profiles_dir()
        self.problems: list[ProfileProblem] = []
        """Files skipped by `list`/`load` (and where they were moved); callers clear it once shown."""
        self._clock = clock or (lambda: datetime.now(UTC).replace(microsecond=0))

    def list(self) -> builtins.list[Profile]:
        """Every readable profile, sorted by name ignoring case; never raises for a bad file."""
        return [stored.profile for stored in self._scan()]

    def load(self, name: str) -> Profile:
        """The profile with this name (exactly, else ignoring case), or ProfileNotFound."""
        return self._require(self._scan(), name).profile

    def similar(self, name: str, limit: int = 5) -> builtins.list[str]:
        """Existing names that look like `name`: containing it first, then close spellings."""
        return self._similar([stored.profile.name for stored in self._scan()], name, limit)

    def save(self, profile: Profile, *, overwrite: bool = False) -> Profile:
        """Write `profile` and return it as stored (with `created` and `updated` set)."""
        existing = self._find(self._scan(), profile.name)
        if existing and not overwrite:
            raise ProfileExists(existing.profile.name, existing.path)
        now = self._clock()
        created = (existing.profile.created if existing else None) or profile.created or now
        stored = replace(profile, created=created.astimezone(UTC), updated=now)
        if existing:
            self._write(stored, existing.path, "save")
        else:
            self._write_new(stored, "save")
        return stored

    def rename(self, old: str, new: str) -> Profile:
        """Give a profile a new name (and file); the old file goes only once the new one is safe."""
        entries = self._scan()
        current = self._require(entries, old)
        clash = self._find(entries, new)
        if clash and clash.path != current.path:
            raise ProfileExists(clash.profile.name, clash.path)
        renamed = replace(current.profile, name=new, updated=self._clock())
        if _is_own_file(current.path, new):
            self._write(renamed, current.path, "rename")
            return renamed
        self._write_new(renamed, "rename")
        try:
            current.path.unlink(missing_ok=True)
        except OSError as error:
            raise ProfileWriteError("remove the old file of renamed", old, current.path, error) from error
        return renamed

    def delete(self, name: str) -> None:
        """Remove a profile's file."""
        stored = self._require(self._scan(), name)
        try:
            stored.path.unlink(missing_ok=True)  # gone already (another instance) is what we wanted
        except OSError as error:
            raise ProfileWriteError("delete", stored.profile.name, stored.path, error) from error

    def save_last_session(self, profile: Profile) -> None:
        """Remember the current setup in a hidden file, written as safely as a profile."""
        now = self._clock()
        self._write(replace(profile, created=profile.created or now, updated=now),
                    self.directory / LAST_SESSION_FILE, "save")

    def load_last_session(self) -> Profile | None:
        """The setup remembered by `save_last_session`; None if there is none or it is unreadable."""
        return self._read(self.directory / LAST_SESSION_FILE)

    # Reading

    def _scan(self) -> builtins.list[_Stored]:
        if self.directory.exists() and not self.directory.is_dir():
            self._report(self.directory, "is not a directory, so no profiles can be listed")
            return []
        try:
            files = sorted(path for path in self.directory.glob("*.toml")
                           if not path.name.startswith(".") and path.is_file())
        except OSError as error:
            self._report(self.directory, f"cannot list profiles ({error.strerror or error})")
            return []
        found: dict[str, _Stored] = {}
        for path in files:
            profile = self._read(path)
            if profile is None:
                continue
            key = profile.name.casefold()
            stored = _Stored(profile, path)
            if key in found:
                # A hand-made copy usually keeps the name; the file the app would choose stays the profile.
                kept, skipped = found[key], stored
                if _is_own_file(path, profile.name) and not _is_own_file(kept.path, kept.profile.name):
                    kept, skipped = stored, kept
                found[key] = kept
                self._report(skipped.path, f"has the same name as {kept.path.name} "
                                           f"('{profile.name}'); skipped until one is renamed")
                continue
            found[key] = stored
        return sorted(found.values(), key=lambda stored: (stored.profile.name.casefold(),
                                                          stored.profile.name))

    def _read(self, path: Path) -> Profile | None:
        try:
            with path.open("rb") as stream:
                data = stream.read()
                seen = os.fstat(stream.fileno())
        except FileNotFoundError:
            return None  # deleted or renamed by another instance since the directory was listed
        except OSError as error:
            self._report(path, f"cannot be read ({error.strerror or error}); skipped")
            return None
        if not data.strip():
            # Nothing to lose, and possibly another instance's claim on the name: never move it.
            self._report(path, "is empty; skipped")
            return None
        try:
            return _parse(tomllib.loads(data.decode("utf-8").removeprefix("\ufeff")))
        except UnicodeDecodeError:
            self._move_aside(path, seen, "is not UTF-8 text")
        except tomllib.TOMLDecodeError as error:
            self._move_aside(path, seen, f"is not valid TOML ({error})")
        except _Unreadable as error:
            self._move_aside(path, seen, f"has {error}")
        except _Newer as error:
            self._report(path, f"was {error}")
        return None

    def _move_aside(self, path: Path, seen: os.stat_result, reason: str) -> None:
        try:
            now = os.stat(path)
        except OSError:
            return  # already moved or replaced by another instance
        if (now.st_ino, now.st_mtime_ns, now.st_size) != (seen.st_ino, seen.st_mtime_ns, seen.st_size):
            return  # rewritten since we read it: what is there now was not judged, so leave it
        try:
            target = move_aside(path)
        except FileNotFoundError:
            return
        except OSError as error:
            self._report(path, f"{reason} and could not be moved aside ({error.strerror or error}); "
                               "skipped")
            return
        self._report(path, f"{reason}; moved it to {target.name}")

    def _report(self, path: Path, message: str) -> None:
        problem = ProfileProblem(path, message)
        if problem not in self.problems:  # a newer-version file is met on every scan; say it once
            self.problems.append(problem)

    # Finding

    @staticmethod
    def _find(entries: builtins.list[_Stored], name: str) -> _Stored | None:
        for stored in entries:
            if stored.profile.name == name:
                return stored
        folded = name.casefold()
        return next((stored for stored in entries if stored.profile.name.casefold() == folded), None)

    def _require(self, entries: builtins.list[_Stored], name: str) -> _Stored:
        stored = self._find(entries, name)
        if stored is None:
            names = [entry.profile.name for entry in entries]
            raise ProfileNotFound(name, self._similar(names, name, 5), self.directory)
        return stored

    @staticmethod
    def _similar(names: builtins.list[str], query: str, limit: int) -> builtins.list[str]:
        folded = {name.casefold(): name for name in names}
        wanted = query.casefold().strip()
        ordered = [name for key, name in folded.items() if wanted and wanted in key and key != wanted]
        for key in difflib.get_close_matches(wanted, list(folded), n=limit * 2, cutoff=0.5):
            if folded[key] not in ordered and key != wanted:
                ordered.append(folded[key])
        return ordered[:limit]

    # Writing

    def _write(self, profile: Profile, target: Path, action: str) -> None:
        temporary = self._synced_temporary(profile, target, action)
        try:
            os.replace(temporary, target)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise ProfileWriteError(action, profile.name, target, error) from error
        sync_directory(target.parent)

    def _write_new(self, profile: Profile, action: str) -> Path:
        slug = slugify(profile.name)
        temporary = self._synced_temporary(profile, self.directory / f"{slug}.toml", action)
        try:
            # Exclusive publish: two instances creating names with the same slug at the same moment
            # get two files instead of one overwriting the other.
            for number in range(1, 1000):
                target = self.directory / (f"{slug}.toml" if number == 1 else f"{slug}-{number}.toml")
                try:
                    publish_exclusive(temporary, target)
                except FileExistsError:
                    continue
                except OSError as error:
                    raise ProfileWriteError(action, profile.name, target, error) from error
                sync_directory(self.directory)
                return target
            raise ProfileWriteError(action, profile.name, self.directory / f"{slug}.toml",
                                    "too many profiles with similar names")
        finally:
            temporary.unlink(missing_ok=True)

    def _synced_temporary(self, profile: Profile, target: Path, action: str) -> Path:
        data = _render(profile)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".tmp", dir=self.directory)
        except OSError as error:
            raise ProfileWriteError(action, profile.name, target, error) from error
        temporary = Path(name)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
        except BaseException as error:
            temporary.unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise ProfileWriteError(action, profile.name, target, error) from error
            raise
        return temporary


def _is_own_file(path: Path, name: str) -> bool:
    """Whether `path` is a file name the store itself would give a profile called `name`."""
    return re.fullmatch(rf"{re.escape(slugify(name))}(-\d+)?", path.stem) is not None
