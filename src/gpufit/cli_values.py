"""Typed values read from the command line: counts, GPU counts, finite numbers, timeouts and a
currency, each refused in one line (argparse exits 2) when it is not plausible — NaN, ±∞,
non-ASCII digits and thousands of digits included. Also where `report`'s host (RAM, its
bandwidth, the price and its currency) comes from when no flag names it — the app's saved
settings, so `report` and the app's exports agree — and the `--models-dir` flag several
commands share.
"""

from __future__ import annotations

import argparse
import math
import sys

from gpufit.core.plans import currency_problem
from gpufit.core.setup import MAX_GPUS

MAX_COUNT = 10**9
"""Above any count a setup can hold (the setup's own limits say which is too big, and why);
it keeps a 4,000-digit number from ever reaching arithmetic."""
MAX_NUMBER = 1e9
"""Above any plausible GB, GB/s, price or millisecond figure."""


def _ascii_text(text: str, what: str) -> str:
    # int() and float() accept any script's digits ("١٢"); a number typed for a setup is
    # written in ASCII, and anything else is more likely a paste accident than intent.
    if not text.isascii() or not text.strip():
        raise argparse.ArgumentTypeError(f"expected {what} in ASCII digits, got {text!r}")
    return text


def _whole_number(text: str, maximum: int) -> int:
    text = _ascii_text(text, "a whole number")
    if len(text.strip().lstrip("+-0")) > len(str(maximum)):
        # Refused before int(): converting thousands of digits is slow and means nothing here.
        raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {text.strip()[:20]!r}"
                                         + ("…" if len(text.strip()) > 20 else ""))
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    if value > maximum:
        raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {value}")
    return value


def positive_int(text: str) -> int:
    """A count typed on the command line: a whole number, 1..MAX_COUNT."""
    return _whole_number(text, MAX_COUNT)


def memory_gb(text: str) -> float:
    """A positive, finite, plausible number (GB, GB/s, a price, milliseconds)."""
    text = _ascii_text(text, "a number")
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value > MAX_NUMBER:
        raise argparse.ArgumentTypeError(f"expected a finite, plausible number, got {text!r}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return value


def currency(text: str) -> str:
    """A currency code or symbol for prices and costs (USD, EUR, $, €), by the settings' rule."""
    problem = currency_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text!r} {problem}")
    return text.strip()


def report_host(args: argparse.Namespace) -> tuple[float | None, float | None, float | None, str]:
    """(RAM GB, RAM GB/s, price per GPU-hour, currency) for `report`: each flag, else what the
    app saved with `$` in settings.toml (said on stderr, with the flag that overrides it), else
    unknown (RAM is then read from the OS by the caller). The currency: --currency, else the
    saved one, so `report` and the app's exports name the same; a price with neither says how
    to set one."""
    from gpufit.persist.settings import HOST_KEYS, read_settings

    settings, document, problems = read_settings()
    for problem in problems:
        # Only what bears on this report: a keymap or theme problem is the app's to show.
        if any(f" {key} = " in problem for key in (*HOST_KEYS, "currency")) \
                or problem.startswith("Cannot read"):
            print(f"gpufit-tui: {problem}", file=sys.stderr)
    chosen: list[float | None] = []
    used: list[str] = []
    for flag, value, key, words in (
            ("--ram-gb", args.ram_gb, "ram_gb", "RAM {:g} GB"),
            ("--ram-bandwidth", args.ram_bandwidth, "ram_bandwidth_gbps", "RAM bandwidth {:g} GB/s"),
            ("--price-per-gpu-hour", args.price_per_gpu_hour, "price_per_gpu_hour",
             "price {:g} per GPU-hour")):
        saved = getattr(settings, key)
        if value is None and saved is not None:
            value = saved
            used.append(f"{words.format(saved)} ({flag} overrides)")
        chosen.append(value)
    if used:
        print(f"gpufit-tui: as saved in the app (settings.toml): {'; '.join(used)}",
              file=sys.stderr)
    ram_gb, bandwidth, price = chosen
    currency = args.currency or settings.currency
    if args.currency is None and price is not None and "currency" not in document:
        print(f"gpufit-tui: costs are in {settings.currency}, the default; --currency EUR (or "
              'currency = "EUR" in settings.toml, or $ in the app) sets yours', file=sys.stderr)
    return ram_gb, bandwidth, price, currency


def gpu_count(text: str) -> int:
    """A GPU count, 1..MAX_GPUS (the bound profiles and sweeps share)."""
    return _whole_number(text, MAX_GPUS)


def seconds_up_to(text: str, maximum: float) -> float:
    """A time to wait, in seconds: finite, above 0 and at most `maximum`."""
    text = _ascii_text(text, "seconds")
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not math.isfinite(value) or not 0 < value <= maximum:
        raise argparse.ArgumentTypeError(f"must be between 0 and {maximum:g} seconds, got {value}")
    return value


def timeout_seconds(text: str) -> float:
    """Seconds to wait for nvidia-smi, 0..60."""
    return seconds_up_to(text, 60)


def add_models_dir_flag(parser: argparse.ArgumentParser, dest: str = "models_dir") -> None:
    """`--models-dir DIR`, repeatable: folders to scan besides the stores found by themselves.
    (The app's own flag takes another `dest`: a subcommand's default would overwrite it.)"""
    parser.add_argument("--models-dir", dest=dest, action="append", default=None, metavar="DIR",
                        help="also look for models in DIR (repeatable; besides the Hugging "
                             "Face cache, Ollama, LM Studio, llama.cpp's cache and "
                             "settings.toml's [models] paths)")
