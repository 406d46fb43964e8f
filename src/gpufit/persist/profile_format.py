"""The profile file format: the `Profile` value, its TOML tables and fields, validation,
parsing and rendering, and the conversion to and from a `Setup`.

Reading and writing the files is `gpufit.persist.profiles` (the store). The format and the
reasons for it are in docs/profiles.md.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from gpufit.core.engines import ENGINES, FLASH_ATTENTION_CHOICES
from gpufit.core.setup import MAX_GPUS, Setup
from gpufit.core.specs import KV_CACHE_DTYPES
from gpufit.importers.locate import looks_like_path

if TYPE_CHECKING:
    from gpufit.core.catalog import Catalog

PROFILE_SCHEMA_VERSION = 1
"""The newest file layout this version reads and the one it writes."""
DETECTED_GPU = "detected"
"""The `gpu` value meaning "whatever nvidia-smi finds", never checked against the catalog."""
MAX_GPU_COUNT = MAX_GPUS  # one GPU-count bound for flags, sweeps, setups and profiles
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


class NewerProfile(Exception):
    """A newer version wrote the file: the store leaves it alone."""


class UnreadableProfile(Exception):
    """The file is broken: the store moves it aside."""


def slugify(name: str) -> str:
    """A lowercase, file-system-safe file stem for a profile name: '4xA100 / 70B' → '4xa100-70b'."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-") or "profile"
    return f"{slug}-profile" if slug in _RESERVED_STEMS else slug


def parse_profile(document: dict[str, Any]) -> Profile:
    version = document.get("schema_version", PROFILE_SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise UnreadableProfile(f"'schema_version' must be a whole number from 1, not {_short(version)}")
    if version > PROFILE_SCHEMA_VERSION:
        raise NewerProfile(f"written by a newer gpufit-tui (schema_version {version}; this version reads "
                     f"up to {PROFILE_SCHEMA_VERSION}); left unchanged and skipped")
    rest = {table: dict(document[table]) for table in _TABLES if isinstance(document.get(table), dict)}
    for table in _TABLES:
        if table in document and table not in rest:
            raise UnreadableProfile(f"'{table}' must be a table, not {type(document[table]).__name__}")
    top = {key: value for key, value in document.items() if key not in _TABLES}
    top.pop("schema_version", None)
    values: dict[str, Any] = {}
    for spec in _FIELDS:
        source = rest.get(spec.table, {}) if spec.table else top
        if spec.key not in source:
            if spec.required:
                raise UnreadableProfile(f"'{spec.location}' is missing")
            continue
        value = source.pop(spec.key)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # a hand-typed local date-time is taken as UTC
        message = spec.problem(value)
        if message:
            raise UnreadableProfile(f"'{spec.location}' {message}")
        values[spec.attr] = value.astimezone(UTC) if isinstance(value, datetime) else value
    extra: dict[str, Any] = dict(top)
    extra.update({table: keys for table, keys in rest.items() if keys})
    try:
        return Profile(**values, extra=extra)
    except ValueError as error:
        raise UnreadableProfile(str(error)) from error


def render_profile(profile: Profile) -> bytes:
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


