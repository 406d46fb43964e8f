"""The command-line grammar: every subcommand, flag and typed value, checked as argparse reads it
(a bad value exits with code 2 and says what was expected).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from gpufit import __version__
from gpufit.cli_hub import add_hub_timeout_flag
from gpufit.cli_profiles import add_profiles_parser
from gpufit.cli_sweep import add_sweep_parser
from gpufit.cli_values import (
    add_models_dir_flag,
    currency,
    gpu_count,
    memory_gb,
    positive_int,
    timeout_seconds,
)
from gpufit.core.engines import ENGINES, FLASH_ATTENTION_CHOICES
from gpufit.core.plans import DEFAULT_CURRENCY
from gpufit.core.setup import (
    DEFAULT_CONTEXT_TOKENS,
    DEFAULT_OUTPUT_TOKENS,
    DEFAULT_PROMPT_TOKENS,
    DEFAULT_TPOT_LIMIT_S,
)
from gpufit.core.specs import KV_CACHE_DTYPES


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (exit 2), pointing at --help: a wrong
    value is said once, not buried under the whole usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def add_detection_flags(parser: argparse.ArgumentParser) -> None:
    """--nvidia-smi-output and --timeout, for every command that detects GPUs."""
    parser.add_argument("--nvidia-smi-output", type=Path, default=None, metavar="FILE",
                        help="read a saved nvidia-smi output (any format) instead of running it")
    parser.add_argument("--timeout", type=timeout_seconds, default=2.0,
                        help="seconds to wait for nvidia-smi (default 2)")


def build_parser() -> argparse.ArgumentParser:
    """The whole command-line grammar."""
    parser = OneLineParser(
        prog="gpufit-tui",
        description="Will this LLM fit on this GPU, at which quantization, and how fast?",
    )
    parser.add_argument("--version", action="version", version=f"gpufit-tui {__version__}")
    parser.add_argument("--profile", default=None, metavar="NAME", help="open the app on this saved profile")
    parser.add_argument("--model", dest="app_model", default=None, metavar="PATH",
                        help="open the app on a model file: a .gguf or a Hugging Face folder, "
                             "or a model on this machine by store name (ollama:qwen3:32b, "
                             "hf:org/name, lmstudio:publisher/repo/file)")
    add_models_dir_flag(parser, "app_models_dir")
    add_hub_timeout_flag(parser, "app_hub_timeout")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    report = commands.add_parser("report", help="estimate one setup and print it")
    # SUPPRESS: argparse copies a subcommand's defaults over the top level's values, so a None
    # default here would erase `gpufit-tui --profile NAME report`'s profile.
    report.add_argument("--profile", default=argparse.SUPPRESS, metavar="NAME",
                        help="start from this saved profile; the flags given here override it")
    report.add_argument("--gpu",
                        help="GPU id, name or alias (see `list gpus`); `detected` (or `local`) for "
                             "this machine's GPUs, `detected:KEY` for one option of `detect`")
    report.add_argument("--count", type=gpu_count, default=None,
                        help="number of GPUs (default 1, or as detected)")
    report.add_argument("--model", help="model id, name or alias; or a path: a .gguf file (split "
                                        "parts too) or a Hugging Face folder (config.json + "
                                        "safetensors), read exactly; or a model on this machine "
                                        "by store name (ollama:NAME, hf:org/name, lmstudio:…); "
                                        "or a Hugging Face Hub repo, org/name[:QUANT][@REV], "
                                        "read from its headers over the network")
    report.add_argument("--quant", help="quantization, e.g. Q4_K_M, FP16, AWQ-INT4 (default for a "
                                        "model file: the file's own)")
    report.add_argument("--context", type=positive_int, default=None,
                        help=f"context tokens per sequence (default min({DEFAULT_CONTEXT_TOKENS}, "
                             "model maximum))")
    report.add_argument("--sequences", type=positive_int, default=None,
                        help="concurrent sequences (default 1)")
    report.add_argument("--kv-cache-dtype", choices=KV_CACHE_DTYPES, default=None, help="(default f16)")
    report.add_argument("--engine", choices=ENGINES, default=None, help="(default llama.cpp)")
    report.add_argument("--memory-gb", type=memory_gb, default=None,
                        help="usable memory per GPU in GB, overriding the catalog")
    report.add_argument("--flash-attention", nargs="?", const="on", default=None,
                        choices=FLASH_ATTENTION_CHOICES,
                        help="llama.cpp's -fa: auto (the default: on where supported), on, off "
                             "(off keeps the attention-score buffer)")
    report.add_argument("--vision", action="store_true", default=None,
                        help="include a multimodal model's vision encoder (llama.cpp's --mmproj "
                             "file) in memory; default: text only")
    report.add_argument("--ram-gb", type=memory_gb, default=None,
                        help="system RAM for CPU offload in GB (default: read from the OS)")
    report.add_argument("--ram-bandwidth", type=memory_gb, default=None, metavar="GBPS",
                        help="system RAM bandwidth in GB/s (default: typical for the platform)")
    report.add_argument("--price-per-gpu-hour", type=memory_gb, default=None, metavar="PRICE",
                        help="what one GPU costs per hour, for cost per million tokens")
    report.add_argument("--currency", type=currency, default=None, metavar="CODE",
                        help="what the price is in, e.g. USD, EUR, $, € (default: currency in "
                             f"settings.toml, else {DEFAULT_CURRENCY})")
    report.add_argument("--prompt-tokens", type=positive_int, default=None,
                        help=f"serving: prompt tokens per request (default {DEFAULT_PROMPT_TOKENS})")
    report.add_argument("--output-tokens", type=positive_int, default=None,
                        help=f"serving: output tokens per request (default {DEFAULT_OUTPUT_TOKENS})")
    report.add_argument("--tpot-limit-ms", type=memory_gb, default=None,
                        help="serving: slowest acceptable time per output token "
                             f"(default {DEFAULT_TPOT_LIMIT_S * 1000:g} ms)")
    report.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    add_detection_flags(report)
    add_models_dir_flag(report)
    add_hub_timeout_flag(report)

    detect = commands.add_parser("detect", help="read this machine's NVIDIA GPUs from nvidia-smi")
    detect.add_argument("--format", choices=("text", "json"), default="text")
    add_detection_flags(detect)

    listing = commands.add_parser("list", help="list catalog GPUs, models or quants")
    listing.add_argument("kind", choices=("gpus", "models", "quants"))
    listing.add_argument("--search", default=None, help="only entries whose names contain TEXT")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    listing.add_argument("--local", action="store_true",
                         help="with models: the models on this machine (Hugging Face cache, "
                              "Ollama, LM Studio, llama.cpp cache, your folders), and what "
                              "was skipped")
    add_models_dir_flag(listing)
    add_sweep_parser(commands, positive_int, memory_gb, gpu_count)
    add_profiles_parser(commands)
    return parser
