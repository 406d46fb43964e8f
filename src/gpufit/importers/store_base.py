"""What a model store scan finds before any header is read: candidates, skipped entries, walking.

Each store module (store_hf, store_ollama, store_files) turns a folder into `Candidate`s (a
model to read: its store-style name, the path `import_model` takes, and the files whose size
and mtime key the scan cache) and `Skipped` entries (a broken one, with a one-line reason).
Walking is bounded: a depth cap per store, a cap on entries per scan, directory symlinks
never followed below a root (so a symlink loop cannot spin), and every OS error becomes a
skipped entry or a store problem, never an exception.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_ENTRIES = 5000
"""Candidates plus skipped entries in one scan; far above any real machine (hundreds)."""
MAX_LISTING = 20_000
"""Directory entries looked at in one folder (a cache with more is not a model store)."""

SPLIT_PART = re.compile(r"^(?P<stem>.+)-(?P<number>\d{5})-of-(?P<count>\d{5})\.gguf$",
                        re.IGNORECASE)
PROJECTOR = re.compile(r"mmproj", re.IGNORECASE)
# A quant label inside a GGUF file name, as llama.cpp's quantize and the big uploaders name
# them (Q4_K_M, IQ3_XXS, UD-Q4_K_XL, BF16, MXFP4_MOE …); used to name one file of a repo.
_FILE_QUANT = re.compile(r"(?:^|[-_.])((?:UD-)?(?:I?Q\d(?:_[A-Z0-9]+)*|BF16|F16|F32|FP16|"
                         r"MXFP4(?:_MOE)?))(?=$|[-_.])", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A model a store holds, not yet read."""

    store: str
    """Short store key: hf, ollama, lmstudio, llamacpp, folder."""
    name: str
    """The store's own name for it (`qwen3:32b`, `org/name`, `publisher/repo/file`)."""
    target: Path
    """What `import_model` reads: a .gguf (first part of a split one), a blob, or a folder."""
    files: tuple[Path, ...]
    """Every file the model's bytes live in (size and mtime key the scan cache)."""
    notes: tuple[str, ...] = ()

    @property
    def full_name(self) -> str:
        """The name `--model` takes: `ollama:qwen3:32b`, `hf:org/name`."""
        return f"{self.store}:{self.name}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry that looked like a model but cannot be used, and why (one line)."""

    store: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(slots=True)
class Found:
    """What walking one store gave: candidates, skipped entries, problems reading the store."""

    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def extend(self, other: Found) -> None:
        self.candidates.extend(other.candidates)
        self.skipped.extend(other.skipped)
        self.problems.extend(other.problems)

    @property
    def count(self) -> int:
        return len(self.candidates) + len(self.skipped)


def listing(folder: Path, found: Found, store: str) -> list[os.DirEntry[str]]:
    """The entries of `folder`, sorted by name; an unreadable folder is a skipped entry."""
    try:
        with os.scandir(folder) as entries:
            items = []
            for entry in entries:
                items.append(entry)
                if len(items) >= MAX_LISTING:
                    found.skipped.append(Skipped(store, str(folder), f"holds more than "
                                                 f"{MAX_LISTING:,} entries; only the first "
                                                 "were looked at"))
                    break
    except FileNotFoundError:
        return []
    except OSError as error:
        found.skipped.append(Skipped(store, str(folder), f"cannot list the folder: "
                                     f"{error.strerror or error}"))
        return []
    return sorted(items, key=lambda entry: entry.name)


def is_dir(entry: os.DirEntry[str]) -> bool:
    """A real directory (a symlink to one is not followed: it could loop)."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def dangling(path: Path) -> bool:
    """A symlink whose target is gone."""
    return path.is_symlink() and not path.exists()


def file_quant_label(file_name: str) -> str:
    """The quant a GGUF's file name states (`Qwen3-32B-Q4_K_M.gguf` → Q4_K_M), else the stem."""
    stem = split_stem(file_name)
    matches = _FILE_QUANT.findall(stem)
    return matches[-1].upper() if matches else stem


def split_stem(file_name: str) -> str:
    """The model's file stem without the split suffix or `.gguf`."""
    match = SPLIT_PART.match(file_name)
    if match:
        return match.group("stem")
    return file_name[:-5] if file_name.lower().endswith(".gguf") else file_name


def gguf_groups(files: list[Path], store: str, found: Found) -> Iterator[tuple[str, list[Path]]]:
    """(stem, parts) for each GGUF model among `files`: split parts grouped in order, projector
    files left out (they go with a model, they are not one); an incomplete split is skipped."""
    groups: dict[str, list[Path]] = {}
    counts: dict[str, int] = {}
    for path in files:
        match = SPLIT_PART.match(path.name)
        key = str(path.parent / (match.group("stem") if match else path.name))
        groups.setdefault(key, []).append(path)
        if match:
            counts[key] = int(match.group("count"))
    for key, parts in groups.items():
        parts.sort(key=lambda part: part.name)
        expected = counts.get(key)
        if expected is not None and len(parts) != expected:
            found.skipped.append(Skipped(store, str(parts[0]), f"part of a {expected}-file split "
                                         f"model, but {len(parts)} "
                                         f"{'part is' if len(parts) == 1 else 'parts are'} here "
                                         "(a download still running, or interrupted?)"))
            continue
        yield split_stem(parts[0].name), parts


def projectors(files: list[Path]) -> list[Path]:
    """The multimodal projector files (mmproj) among GGUF files."""
    return [path for path in files if PROJECTOR.search(path.name)]


def projector_note(paths: list[Path]) -> tuple[str, ...]:
    if not paths:
        return ()
    names = ", ".join(path.name for path in paths[:2]) + (" …" if len(paths) > 2 else "")
    return (f"A vision projector ({names}) sits beside it; it is not counted in the weights.",)


def walk_files(folder: Path, max_depth: int, found: Found, store: str) -> list[Path]:
    """Files under `folder` down to `max_depth` folders deep, sorted: symlinked files are kept
    (dangling ones too, for the caller to report); symlinked and hidden folders are not
    entered."""
    files: list[Path] = []
    pending = [(folder, 0)]
    while pending:
        current, depth = pending.pop()
        for entry in listing(current, found, store):
            path = Path(entry.path)
            if is_dir(entry):
                if depth < max_depth and not entry.name.startswith("."):
                    pending.append((path, depth + 1))
            elif entry.is_symlink() and path.is_dir():
                continue  # a linked folder could lead back up the tree
            elif not entry.name.startswith("."):
                files.append(path)
            if len(files) > MAX_LISTING:
                return sorted(files)
    return sorted(files)
