"""Saved setups ("profiles"): one TOML file per profile in `<config dir>/profiles/`.

This module owns every read and write of profile files (the format is
`gpufit.persist.profile_format`, re-exported here). It never loses data: writes go through a
synced temporary file and an atomic rename; a file it cannot read is moved aside to
`<file>.corrupt-<timestamp>` and reported, never overwritten; a file from a newer version is
left alone; unknown keys survive a rewrite. The reasons are in docs/profiles.md.
"""

from __future__ import annotations

import builtins
import difflib
import os
import re
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gpufit.core.toml_file import parse_toml_bytes
from gpufit.persist import paths
from gpufit.persist.files import move_aside, publish_exclusive, sync_directory
from gpufit.persist.profile_format import (
    DETECTED_GPU,
    LAST_SESSION_FILE,
    MAX_GPU_COUNT,
    PROFILE_SCHEMA_VERSION,
    NewerProfile,
    Profile,
    ProfileError,
    ProfileExists,
    ProfileNotFound,
    ProfileWriteError,
    UnreadableProfile,
    missing_from_catalog,
    parse_profile,
    profile_of_setup,
    profile_setup,
    render_profile,
    slugify,
    summary,
)

if TYPE_CHECKING:
    pass

__all__ = ["DETECTED_GPU", "LAST_SESSION_FILE", "MAX_GPU_COUNT", "PROFILE_SCHEMA_VERSION",
           "Profile", "ProfileError", "ProfileExists", "ProfileNotFound", "ProfileProblem",
           "ProfileStore", "ProfileWriteError", "missing_from_catalog", "profile_of_setup",
           "profile_setup", "profiles_dir", "slugify", "summary"]

@dataclass(frozen=True, slots=True)
class ProfileProblem:
    """A profile file that was skipped, and why (including where it was moved, if it was)."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True, slots=True)
class _Stored:
    profile: Profile
    path: Path


def profiles_dir() -> Path:
    """`profiles/` in the config directory (`GPUFIT_CONFIG_DIR` overrides the config directory)."""
    return paths.config_dir() / "profiles"


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

    def delete(self, name: str) -> builtins.list[Path]:
        """Remove the profile: every file that holds its name (ignoring case), so that a copy
        left by two instances saving the same name at once cannot come back with stale data
        once the other is gone. Returns the files removed."""
        entries = self._read_all()
        stored = self._require(self._dedupe(entries), name)
        key = stored.profile.name.casefold()
        holders = [entry.path for entry in entries if entry.profile.name.casefold() == key]
        for path in holders:
            try:
                path.unlink(missing_ok=True)  # gone already (another instance) is what we wanted
            except OSError as error:
                raise ProfileWriteError("delete", stored.profile.name, path, error) from error
        # The "same name as …" notes the scan made are about files that are gone now.
        self.problems = [problem for problem in self.problems if problem.path not in holders]
        return holders

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
        return self._dedupe(self._read_all())

    def _read_all(self) -> builtins.list[_Stored]:
        """Every readable profile file, duplicates of a name included, in file-name order."""
        if self.directory.exists() and not self.directory.is_dir():
            self._report(self.directory, "is not a directory, so no profiles can be listed")
            return []
        try:
            files = sorted(path for path in self.directory.glob("*.toml")
                           if not path.name.startswith(".") and path.is_file())
        except OSError as error:
            self._report(self.directory, f"cannot list profiles ({error.strerror or error})")
            return []
        read = ((self._read(path), path) for path in files)
        return [_Stored(profile, path) for profile, path in read if profile is not None]

    def _dedupe(self, entries: builtins.list[_Stored]) -> builtins.list[_Stored]:
        """One entry per name (ignoring case), sorted by name; each duplicate is reported."""
        found: dict[str, _Stored] = {}
        for stored in entries:
            profile, path = stored.profile, stored.path
            key = profile.name.casefold()
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
            # The shared reader: BOM accepted; deep nesting, huge numbers and non-UTF-8 text are
            # TOMLDecodeErrors naming the file, never RecursionError.
            return parse_profile(parse_toml_bytes(data, path))
        except tomllib.TOMLDecodeError as error:
            self._move_aside(path, seen, f"is not valid TOML ({error})")
        except UnreadableProfile as error:
            self._move_aside(path, seen, f"has {error}")
        except NewerProfile as error:
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
                    # Another instance may have saved this very name since our scan: then the
                    # name is taken, exactly as if the scan had seen it, rather than a second
                    # file holding it that `delete` and `load` would disagree about.
                    holder = self._read(target)
                    if holder is not None and holder.name.casefold() == profile.name.casefold():
                        raise ProfileExists(holder.name, target) from None
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
        data = render_profile(profile)
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
