"""The headless commands behind `gpufit-tui report`, `detect`, `list`, `profiles` and `sweep`.

`gpufit.cli` parses the command line and opens the app; a command comes here with the loaded
catalog. Exit codes: 0 success, 2 usage error (bad flag, unknown or ambiguous name), 1 other
failure (for `detect`: no GPU found).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpufit.cli_hub import HubLookupError, hub_model_and_quant, is_hub_name
from gpufit.cli_output import OutputError, print_json
from gpufit.cli_profiles import ProfileUsageError, load_profile, run_profiles
from gpufit.cli_sweep import SweepUsageError, run_sweep
from gpufit.cli_values import report_host
from gpufit.core.assess import assess
from gpufit.core.catalog import Catalog
from gpufit.core.exl2 import QuantChoiceError, resolve_quant
from gpufit.core.report import to_json, to_markdown, to_text
from gpufit.core.resolve import ResolveError, resolve
from gpufit.core.setup import HostInputs, Setup, SetupError
from gpufit.core.specs import GB, MIB, ModelSpec, QuantSpec
from gpufit.importers.store_names import LocalLookupError, is_store_name

if TYPE_CHECKING:
    from gpufit.detect.match import DetectedOption
    from gpufit.detect.snapshot import Snapshot
    from gpufit.persist.profiles import Profile

DETECTED_NAMES = ("detected", "local")


class UsageError(Exception):
    """A problem with what the user typed; exits with code 2."""


class DetectionError(Exception):
    """Detection found nothing usable; exits with code 1."""


def run_command(catalog: Catalog, args: argparse.Namespace) -> int:
    """Run the command `args` names; its exit code."""
    if args.command == "profiles":
        return run_profiles(args, catalog)
    try:
        if args.command == "report":
            profile = load_profile(args.profile, catalog) if args.profile is not None else None
            _check_report_names(args, profile)
            return _report(catalog, args, profile)
        if args.command == "detect":
            return _detect(catalog, args)
        if args.command == "sweep":
            args.nvidia_smi_output, args.timeout = None, 2.0
            return run_sweep(catalog, args, lambda: _detected_hardware(catalog, args))
        return _list(catalog, args)
    except (ResolveError, UsageError, ProfileUsageError, SweepUsageError,
            QuantChoiceError, SetupError, LocalLookupError, HubLookupError) as error:
        print(f"gpufit-tui: {error}", file=sys.stderr)
        return 2
    except DetectionError as error:
        print(f"gpufit-tui: {error}", file=sys.stderr)
        return 1


def _check_report_names(args: argparse.Namespace, profile: Profile | None) -> None:
    """Check that the flags or the profile name a GPU, a model and (for a catalog model) a quant."""
    from gpufit.importers.locate import looks_like_path

    gpu = args.gpu or (profile.gpu if profile else None)
    model = args.model or (profile.model if profile else None)
    quant = args.quant or (profile.quant if profile else None)
    model_file = model is not None and (looks_like_path(model) or is_store_name(model)
                                        or is_hub_name(None, model)
                                        or Path(model).expanduser().exists())
    if gpu is None or model is None or (quant is None and not model_file):
        raise UsageError("report needs --gpu, --model and --quant (or --profile); --quant may "
                         "be left out when --model is a file")


def _snapshot(args: argparse.Namespace) -> Snapshot:
    """Run nvidia-smi, or read the saved output the user named."""
    from gpufit.detect.limits import SavedOutputError, read_saved_output
    from gpufit.detect.parse import parse_any
    from gpufit.detect.run import detect_sync

    if args.nvidia_smi_output is None:
        return detect_sync(timeout_s=args.timeout)
    try:
        text = read_saved_output(args.nvidia_smi_output)
    except SavedOutputError as error:
        raise UsageError(f"--nvidia-smi-output: {error}") from None
    return parse_any(text, source=str(args.nvidia_smi_output))


def _detected_option(catalog: Catalog, args: argparse.Namespace, gpu_name: str) -> DetectedOption:
    """The detected option `gpu_name` (`detected`, `detected:KEY`) picks."""
    from gpufit.detect.match import hardware_options

    snapshot = _snapshot(args)
    options = hardware_options(snapshot, catalog.gpus)
    if not options:
        reason = snapshot.problem or "no detected GPU can be used (see `gpufit-tui detect`)"
        raise DetectionError(f"--gpu {gpu_name}: {reason}")
    wanted = gpu_name.split(":", 1)[1] if ":" in gpu_name else None
    if wanted is None:
        return options[0]
    option = next((option for option in options if option.key == f"detected:{wanted}"), None)
    if option is None:
        keys = ", ".join(option.key for option in options)
        raise UsageError(f"--gpu {gpu_name}: no such detected option; there are {keys}")
    return option


def _detected_hardware(catalog: Catalog, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The detected hardware `args.gpu` names, for `sweep`."""
    option = _detected_option(catalog, args, args.gpu)
    print(f"gpufit-tui: using {option.label} ({option.match_reason})", file=sys.stderr)
    return option.hardware(args.count)


def _model_and_quant(catalog: Catalog, model_name: str,
                     quant_name: str | None) -> tuple[ModelSpec, QuantSpec]:
    """The catalog entries named, or a model read from the file or folder named (which then
    joins the catalog, so the setup can name it by id)."""
    from gpufit.importers.locate import looks_like_path
    from gpufit.importers.model_import import import_model

    if model_name in catalog.models:
        model: ModelSpec | None = catalog.models[model_name]
    elif looks_like_path(model_name):
        model = None
    else:
        try:
            model = resolve(catalog.models, model_name, "model")
        except ResolveError:
            if not Path(model_name).expanduser().exists():
                raise
            model = None
    if model is not None:
        if quant_name is None:
            raise UsageError(f"--model {model_name} is a catalog model: give --quant too")
        return model, resolve_quant(catalog.quants, quant_name)
    from gpufit.importers.errors import ModelImportError

    try:
        imported = import_model(Path(model_name), catalog.quants)
    except ModelImportError as error:
        raise UsageError(f"--model {error}") from None
    for note in imported.notes:
        print(f"gpufit-tui: {imported.path}: {note}", file=sys.stderr)
    imported.join(catalog)
    return imported.spec, resolve_quant(catalog.quants, quant_name or imported.quant_id)



def _report(catalog: Catalog, args: argparse.Namespace, profile: Profile | None) -> int:
    """Build the setup (profile, then the flags typed), assess it and print the assessment."""
    from gpufit.cli_local import local_model_and_quant
    from gpufit.persist.profiles import DETECTED_GPU, profile_setup

    base = profile_setup(profile) if profile is not None else Setup()
    gpu_name = args.gpu or (profile.gpu if profile else "")
    model_name = args.model or (profile.model if profile else "")
    # A profile's quant goes with its model; a model typed here takes the quant typed (or, for
    # a file, the file's own).
    quant_name = args.quant or (profile.quant if profile and not args.model else None)
    model, quant = local_model_and_quant(catalog, model_name, quant_name, args.models_dir) \
        or hub_model_and_quant(catalog, model_name, quant_name, args.hub_timeout) \
        or _model_and_quant(catalog, model_name, quant_name)
    detected = {}
    count = args.count
    if gpu_name.split(":", 1)[0].casefold() in (*DETECTED_NAMES, DETECTED_GPU):
        try:
            option = _detected_option(catalog, args, gpu_name)
        except DetectionError as error:
            print(f"gpufit-tui: {error}", file=sys.stderr)
            return 1
        print(f"gpufit-tui: using {option.label} ({option.match_reason})", file=sys.stderr)
        detected = {option.key: option}
        gpu_id = option.key
        if count is None and not (profile is not None and not args.gpu):
            count = option.count
    else:
        gpu_id = resolve(catalog.gpus, gpu_name, "GPU").id
    setup = base.with_changes(
        gpu_id=gpu_id, gpu_count=count, model_id=model.id, quant_id=quant.id,
        memory_override_bytes=round(args.memory_gb * GB) if args.memory_gb else None,
        context_tokens=args.context, sequences=args.sequences,
        kv_cache_dtype=args.kv_cache_dtype, engine=args.engine,
        flash_attention=args.flash_attention, include_vision=args.vision,
        prompt_tokens=args.prompt_tokens,
        output_tokens=args.output_tokens,
        tpot_limit_s=None if args.tpot_limit_ms is None else args.tpot_limit_ms / 1000)
    host, price = _host(args)
    assessment = assess(setup, catalog, host=host, price_per_gpu_hour=price, detected=detected)
    if args.format == "json":
        try:
            text = to_json(assessment)
        except ValueError as error:  # to_json refuses NaN and infinity (allow_nan=False)
            raise OutputError(f"the result holds a number JSON cannot express ({error})") from None
        print(text, end="")
    elif args.format == "markdown":
        print(to_markdown(assessment), end="")
    else:
        print(to_text(assessment), end="")
    return 0


def _host(args: argparse.Namespace) -> tuple[HostInputs, float | None]:
    """The host for offload plans and the price: as flagged, else as saved in the app, else RAM
    read from the OS and no price — what the app itself would assess."""
    from gpufit.detect.host import system_ram_bytes

    ram_gb, bandwidth, price, currency = report_host(args)
    ram = round(ram_gb * GB) if ram_gb else system_ram_bytes()
    return HostInputs(ram, bandwidth, currency), price


def _detect(catalog: Catalog, args: argparse.Namespace) -> int:
    from gpufit.detect.report import to_dict, to_text

    snapshot = _snapshot(args)
    if args.format == "json":
        print_json(to_dict(snapshot, catalog.gpus))
    else:
        print(to_text(snapshot, catalog.gpus), end="")
    return 0 if snapshot.found else 1


def _matches(search: str | None, *names: str) -> bool:
    return search is None or any(search.casefold() in name.casefold() for name in names)


def _list(catalog: Catalog, args: argparse.Namespace) -> int:
    if args.local:
        if args.kind != "models":
            raise UsageError("--local goes with `list models`")
        from gpufit.cli_local import list_local

        return list_local(catalog, args)
    rows: list[dict[str, Any]] = []
    if args.kind == "gpus":
        for gpu in catalog.gpus.values():
            if _matches(args.search, gpu.id, gpu.name, *gpu.aliases):
                rows.append({"id": gpu.id, "name": gpu.name, "vendor": gpu.vendor,
                             "family": gpu.family, "memory_bytes": gpu.memory_bytes,
                             "bandwidth_gbps": gpu.bandwidth_gbps, "fp16_tflops": gpu.fp16_tflops})
        text_rows = [f"{row['id']:<26} {row['name']:<40} {row['memory_bytes'] / MIB:>8,.0f} MiB "
                     f"{row['bandwidth_gbps']:>7,.0f} GB/s" for row in rows]
    elif args.kind == "models":
        from gpufit.core.tensors import parameter_count

        for model in catalog.models.values():
            if _matches(args.search, model.id, model.name, *model.aliases):
                total, active = parameter_count(model)
                rows.append({"id": model.id, "name": model.name, "family": model.family,
                             "params_total": total, "params_active": active,
                             "moe": model.is_moe, "max_context_tokens": model.max_context_tokens})
        text_rows = [f"{row['id']:<34} {row['name']:<34} {row['params_total'] / 1e9:>7.1f}B"
                     + (f" ({row['params_active'] / 1e9:.1f}B active)" if row["moe"] else "")
                     + f"  ctx {row['max_context_tokens']:,}" for row in rows]
    else:
        for quant in catalog.quants.values():
            if _matches(args.search, quant.id, quant.name, *quant.aliases):
                rows.append({"id": quant.id, "name": quant.name, "format": quant.format,
                             "bits_per_weight": quant.default_bits_per_weight,
                             "engines": list(quant.engines)})
        text_rows = [f"{row['id']:<10} {row['name']:<32} {row['bits_per_weight']:>7.4f} bpw  "
                     f"{', '.join(row['engines'])}" for row in rows]
    if args.format == "json":
        print_json(rows)
    else:
        print("\n".join(text_rows))
    return 0
