"""What every command prints goes through here: JSON that is always valid, and an end that stays
quiet when the reader of a pipe (`| head`) stops reading early.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


class OutputError(Exception):
    """A result that cannot be written as valid JSON (a NaN or infinity in it); exits with 1."""


def print_json(value: Any) -> None:
    """`value` as indented JSON. NaN and infinity are not JSON (RFC 8259 §6): a result holding one
    is a bug upstream, refused here instead of printed as a document no parser accepts."""
    try:
        text = json.dumps(value, indent=2, allow_nan=False)
    except ValueError as error:
        raise OutputError(f"the result holds a number JSON cannot express ({error})") from None
    print(text)


def silence_stdout() -> None:
    """After a BrokenPipeError: point stdout at /dev/null, so that the interpreter's last flush
    at exit does not fail a second time and print a traceback (the recipe in Python's
    documentation of SIGPIPE)."""
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a real file (a test's capture): nothing is flushed to a pipe at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)
