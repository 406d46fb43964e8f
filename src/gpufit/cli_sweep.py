"""`gpufit-tui sweep`: what fits best on a GPU, or which GPUs fit a model, as text, JSON or Markdown.

`sweep --gpu X` ranks every catalog model at its best quant on X (rule in gpufit.core.rank);
`sweep --model M --quant Q` lists the smallest hardware setups that hold M at Q.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gpufit.cli_output import print_json
from gpufit.cli_values import add_models_dir_flag
from gpufit.core.catalog import Catalog
from gpufit.core.engines import ENGINES
from gpufit.core.setup import (
    DEFAULT_CONTEXT_TOKENS,
    DEFAULT_MAX_QUALITY_LOSS_PCT,
    DEFAULT_MIN_TOKENS_PER_S,
    MAX_GPUS,
    Setup,
)
from gpufit.core.specs import GB, KV_CACHE_DTYPES, Hardware

if TYPE_CHECKING:
    from gpufit.core.rank import HardwareFit, RankedModel


ORDERS = ("capability", "speed", "quality", "size")
"""`--order`'s choices: gpufit.core.rank.BEST_ORDERS' keys (named here, so building the parser
does not load the ranking core; a test keeps the two the same)."""


class SweepUsageError(Exception):
    """The sweep flags do not say what to sweep."""


def add_sweep_parser(commands: argparse._SubParsersAction, positive_int: Callable[[str], int],
                     positive_float: Callable[[str], float],
                     gpu_count: Callable[[str], int]) -> None:
    """The `sweep` subcommand's grammar."""
    sweep = commands.add_parser(
        "sweep", help="rank what fits best on a GPU (--gpu), or the GPUs that fit a model "
                      "(--model and --quant)")
    sweep.add_argument("--gpu", help="rank every catalog model on this GPU (`detected` for this machine's)")
    sweep.add_argument("--count", type=gpu_count, default=None, help="GPUs (with --gpu; default 1)")
    sweep.add_argument("--model", help="list the hardware that holds this model (needs --quant)")
    sweep.add_argument("--quant", help="the quant for --model")
    sweep.add_argument("--context", type=positive_int, default=None,
                       help=f"context tokens per sequence (default: min({DEFAULT_CONTEXT_TOKENS}, "
                            "each model's maximum), as in report and the app)")
    sweep.add_argument("--sequences", type=positive_int, default=1, help="concurrent sequences (default 1)")
    sweep.add_argument("--kv-cache-dtype", choices=KV_CACHE_DTYPES, default="f16")
    sweep.add_argument("--engine", choices=ENGINES, default=None,
                       help="(default llama.cpp; with --local, each model's own where "
                            "llama.cpp cannot run its format)")
    sweep.add_argument("--min-speed", type=positive_float, default=DEFAULT_MIN_TOKENS_PER_S,
                       metavar="TOK_S", help="with --gpu: slowest decode to keep "
                                             f"(default {DEFAULT_MIN_TOKENS_PER_S:g} tok/s)")
    sweep.add_argument("--max-quality-loss", type=positive_float,
                       default=DEFAULT_MAX_QUALITY_LOSS_PCT, metavar="PCT",
                       help="with --gpu: largest published perplexity increase to accept "
                            f"(default {DEFAULT_MAX_QUALITY_LOSS_PCT:g} %%)")
    sweep.add_argument("--order", choices=ORDERS, default="capability",
                       help="with --gpu: capability (default: the largest dense-equivalent "
                            "model first), speed, quality or size, as `o` in the app's `b`")
    sweep.add_argument("--max-count", type=gpu_count, default=8,
                       help=f"with --model: most cards of one GPU (default 8, at most {MAX_GPUS})")
    sweep.add_argument("--limit", type=positive_int, default=20, help="rows to show (default 20)")
    sweep.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    sweep.add_argument("--local", action="store_true",
                       help="with --gpu: rank the models on this machine, each at its file's "
                            "own quant, instead of the catalog")
    add_models_dir_flag(sweep)


def run_sweep(catalog: Catalog, args: argparse.Namespace,
              detected: Callable[[], Hardware]) -> int:
    """Run `sweep` and print it; `detected` gives this machine's hardware for `--gpu detected`."""
    # The ranking core loads here: the parser (which the app's start builds too) needs none of it.
    from gpufit.core.exl2 import resolve_quant
    from gpufit.core.rank import BEST_ORDERS, best_for_hardware, hardware_for
    from gpufit.core.resolve import resolve

    engine_given, args.engine = args.engine is not None, args.engine or "llama.cpp"
    setup = Setup(context_tokens=args.context, sequences=args.sequences,
                  kv_cache_dtype=args.kv_cache_dtype, engine=args.engine)
    context = (f"context {args.context:,}" if args.context is not None else
               f"context min({DEFAULT_CONTEXT_TOKENS:,}, the model's maximum)")
    if args.gpu and (args.model or args.quant):
        raise SweepUsageError("sweep takes either --gpu, or --model with --quant, not both")
    if args.gpu:
        if args.gpu.split(":", 1)[0].casefold() in ("detected", "local"):
            hardware = detected()
        else:
            hardware = Hardware(resolve(catalog.gpus, args.gpu, "GPU"), count=args.count or 1)
        if args.local:
            from gpufit.cli_local import rank_local

            local, extra = rank_local(hardware, catalog, args.models_dir, setup, engine_given,
                                      args.min_speed, args.max_quality_loss, args.order)
            rows = [{**_model_row(item), **extra[item.row.model.id]}
                    for item in local[:args.limit]]
        else:
            ranked = best_for_hardware(hardware, catalog.models.values(), catalog.quants.values(),
                                       setup, args.min_speed, args.max_quality_loss,
                                       args.order)[:args.limit]
            rows = [_model_row(item) for item in ranked]
        engine = args.engine if engine_given or not args.local else "each model's engine"
        title = (f"What fits best on {_setup(hardware)}"
                 f"{' among the models on this machine' if args.local else ''} ({engine}, "
                 f"{context}, ≥ {args.min_speed:g} tok/s, ≤ {args.max_quality_loss:g} % "
                 f"perplexity loss); {BEST_ORDERS[args.order]}")
    elif args.local:
        raise SweepUsageError("--local goes with --gpu: it ranks this machine's models on it")
    elif args.model and args.quant:
        if args.count is not None:
            raise SweepUsageError("--count goes with --gpu; with --model use --max-count")
        model = resolve(catalog.models, args.model, "model")
        quant = resolve_quant(catalog.quants, args.quant)
        workload = setup.workload_for(model)
        fits = hardware_for(model, quant, catalog.gpus.values(), workload,
                            min(args.max_count, MAX_GPUS))[:args.limit]
        rows = [_hardware_row(fit) for fit in fits]
        title = (f"Smallest hardware for {model.name} at {quant.id} ({args.engine}, "
                 f"context {workload.context_tokens:,})")
    else:
        raise SweepUsageError("sweep needs --gpu, or --model with --quant")
    _print(title, rows, args.format)
    return 0


def _setup(hardware: Hardware) -> str:
    name = hardware.gpu.name
    return f"{hardware.count} × {name}" if hardware.count > 1 else name


def _model_row(item: RankedModel) -> dict[str, Any]:
    row = item.row
    return {"model": row.model.id, "model_name": row.model.name, "quant": row.quant.id,
            "verdict": row.verdict, "total_bytes": round(row.total_bytes),
            "headroom_bytes": round(row.headroom_bytes),
            "decode_tokens_per_s": round(row.decode_tokens_per_s, 1),
            "quality_loss_pct": round(item.quality_loss_pct, 2),
            "capability_params": item.capability_params}


def _hardware_row(fit: HardwareFit) -> dict[str, Any]:
    result = fit.result
    return {"gpu": result.hardware.gpu.id, "gpu_name": result.hardware.gpu.name,
            "count": result.hardware.count, "verdict": result.verdict,
            "total_memory_bytes": fit.total_memory_bytes,
            "needed_bytes": result.memory.total_bytes,
            "headroom_bytes": result.memory.headroom_bytes, "power_watts": fit.power_watts,
            "decode_tokens_per_s": round(result.speed.decode_tokens_per_s, 1)}


def _cells(row: dict[str, Any]) -> list[str]:
    if "model" in row:
        return [row["model_name"], row["quant"], f"{row['total_bytes'] / GB:.1f} GB",
                f"{row['headroom_bytes'] / GB:+.1f} GB", f"{row['decode_tokens_per_s']:.0f} tok/s",
                f"+{row['quality_loss_pct']:.2f} %", row["verdict"]]
    setup = f"{row['count']} × {row['gpu_name']}" if row["count"] > 1 else row["gpu_name"]
    return [setup, f"{row['total_memory_bytes'] / GB:.0f} GB", f"{row['needed_bytes'] / GB:.1f} GB",
            f"{row['headroom_bytes'] / GB:+.1f} GB", f"{row['power_watts']:.0f} W",
            f"{row['decode_tokens_per_s']:.0f} tok/s", row["verdict"]]


MODEL_HEADINGS = ["model", "quant", "needs", "headroom", "decode", "ppl loss", "verdict"]
HARDWARE_HEADINGS = ["setup", "memory", "needs", "headroom", "power", "decode", "verdict"]


def _print(title: str, rows: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        print_json({"title": title, "rows": rows})
        return
    headings = MODEL_HEADINGS if not rows or "model" in rows[0] else HARDWARE_HEADINGS
    table = [_cells(row) for row in rows]
    if fmt == "markdown":
        print(f"## {title}\n")
        print("| # | " + " | ".join(headings) + " |")
        print("|---:|" + "|".join("---" for _ in headings) + "|")
        for rank, cells in enumerate(table, start=1):
            print(f"| {rank} | " + " | ".join(cells) + " |")
        if not rows:
            print("\nNothing fits.")
        return
    print(title)
    if not rows:
        print("Nothing fits.")
        return
    widths = [max(len(headings[column]), *(len(cells[column]) for cells in table))
              for column in range(len(headings))]
    print("  #  " + "  ".join(heading.ljust(width) for heading, width in zip(headings, widths, strict=True)))
    for rank, cells in enumerate(table, start=1):
        print(f"{rank:>3}  " + "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(cells, widths, strict=True))))
