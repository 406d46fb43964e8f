"""How much nvidia-smi output is read, from the process or from a saved file, and the one
reader of a saved file (regular files only, so a FIFO or /dev/zero cannot hang or flood us).

The largest real output in tests/fixtures is `-q -x` at ≈ 75 KB and ≈ 1,100 lines per GPU
(processes listed); the caps leave room for over 100 such GPUs and stop well before the memory
a runaway output (`yes`, /dev/zero) would otherwise take.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_OUTPUT_BYTES = 8 * 1024 * 1024
"""Most stdout read from one nvidia-smi run or one saved file."""
MAX_STDERR_BYTES = 64 * 1024
"""Most stderr kept from one run (the rest is read and dropped, so the process never blocks)."""
MAX_OUTPUT_LINES = 200_000
"""Most lines a parser reads."""
MAX_READINGS = 256
"""Most GPUs (or MIG devices) taken from one output: more than any one machine holds."""
MAX_LINE_CHARS = 16_384
"""Longer lines are no nvidia-smi row (its longest real lines are a few hundred characters)."""


class SavedOutputError(Exception):
    """A saved output that cannot be read: says which file and why, in one line."""


def too_long(text: str) -> str | None:
    """Why `text` is past the caps (None if it is not)."""
    if len(text) > MAX_OUTPUT_BYTES:
        return f"more than {MAX_OUTPUT_BYTES // (1024 * 1024)} MiB"
    lines = text.count("\n")
    if lines > MAX_OUTPUT_LINES:
        return f"{lines:,} lines, more than {MAX_OUTPUT_LINES:,}"
    return None


def short_lines(text: str) -> list[str]:
    """The lines of `text`, with any line past MAX_LINE_CHARS blanked (it cannot be a row)."""
    return [line if len(line) <= MAX_LINE_CHARS else "" for line in text.splitlines()]


def read_saved_output(path: Path) -> str:
    """The text of a saved nvidia-smi output, read only if it is a regular file of at most
    MAX_OUTPUT_BYTES."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise SavedOutputError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError:  # a NUL in the name: no file can have it
        raise SavedOutputError(f"cannot read {str(path)!r}: not a possible file name") from None
    with os.fdopen(descriptor, "rb") as stream:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise SavedOutputError(f"{path} is not a regular file (a pipe or a device?); save "
                                   "nvidia-smi's output to a file and name that")
        limit_mib = MAX_OUTPUT_BYTES // (1024 * 1024)
        if info.st_size > MAX_OUTPUT_BYTES:
            raise SavedOutputError(f"{path} is {info.st_size / (1024 * 1024):,.0f} MiB; an "
                                   f"nvidia-smi output is far below the {limit_mib} MiB read")
        try:
            data = stream.read(MAX_OUTPUT_BYTES + 1)  # a file still growing stops here too
        except OSError as error:
            raise SavedOutputError(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) > MAX_OUTPUT_BYTES:
        raise SavedOutputError(f"{path} is larger than the {limit_mib} MiB read of an "
                               "nvidia-smi output")
    return data.decode("utf-8", errors="replace")
