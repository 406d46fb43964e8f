"""Compare gpufit's estimates with every public measurement in shared/reference.

Prints per-row errors and the median (and p90) absolute % error for weights (GGUF file sizes),
llama.cpp buffer totals (load logs), decode and prefill speed (llama-bench), and the published
files in benchmarks/reference_quant_rules.json that exercise llama.cpp's per-tensor rules
(row-size fallback, native MXFP4 experts, publisher recipes); each of those must be within 2 %.
`--fit` re-fits the speed constants in gpufit.core.calibration by coordinate descent on the
median error and prints them.

Run: python benchmarks/accuracy.py [--reference DIR] [--rows] [--fit]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from gpufit.core import calibration
from gpufit.core.catalog import Catalog, load_catalog
from gpufit.core.estimate import estimate
from gpufit.core.resolve import ResolveError, resolve
from gpufit.core.specs import GB, GIB, MIB, Hardware, Workload
from gpufit.core.tensors import weight_breakdown

DEFAULT_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
QUANT_RULE_FILES = Path(__file__).resolve().parent / "reference_quant_rules.json"
QUANT_RULE_LIMIT_PCT = 2.0
_UNITS = {"bytes": 1, "GB": GB, "GiB": GIB}

# Reference model names → catalog architecture. Fine-tunes share their base's architecture.
MODEL_FAMILIES: list[tuple[str, str]] = [
    (r"llama-?3\.1-8b|llama 3\.1 8b", "llama-3.1-8b"),
    (r"llama-?3-8b|llama 3 8b", "llama-3-8b"),
    (r"llama-?3-70b", "llama-3-70b"),
    (r"llama 3\.2 3b", "llama-3.2-3b"),
    (r"llama 3\.2 1b", "llama-3.2-1b"),
    (r"deepseek-r1-distill-qwen-1\.5b", "deepseek-r1-distill-qwen-1.5b"),
    (r"deepseek-r1-distill-qwen-7b", "deepseek-r1-distill-qwen-7b"),
    (r"deepseek-r1-distill-qwen-14b", "deepseek-r1-distill-qwen-14b"),
    (r"deepseek-r1-distill-llama-8b", "deepseek-r1-distill-llama-8b"),
    (r"zephyr-7b|mistral-7b|openhermes-2\.5-mistral|hermes-2-pro-mistral|starling-lm-7b|"
     r"mistral instruct|mistral openorca|nous hermes 2 mistral|ghost 7b|em german mistral",
     "mistral-7b"),
    (r"gemma-2-9b", "gemma-2-9b"),
    (r"phi-3(\.1)?-mini|phi-3 mini", "phi-3-mini"),
    (r"^llama-2-7b|codellama-7b", "llama-2-7b"),
    (r"llama-2-13b|wizard v1\.2|orca 2 \(full\)|snoozy|^hermes$", "llama-2-13b"),
]


@dataclass
class Row:
    """One comparison: what was measured, what gpufit says."""

    kind: str
    label: str
    measured: float
    estimated: float

    @property
    def error_pct(self) -> float:
        return (self.estimated / self.measured - 1) * 100


def model_for(catalog: Catalog, name: str) -> str | None:
    lowered = name.casefold()
    for pattern, model_id in MODEL_FAMILIES:
        if re.search(pattern, lowered) and model_id in catalog.models:
            return model_id
    return None


def gpu_for(catalog: Catalog, name: str) -> str | None:
    plain = re.sub(r"\(.*?\)", "", name).strip()
    try:
        return resolve(catalog.gpus, plain, "GPU").id
    except ResolveError:
        return None


def quant_id(name: str) -> str:
    return {"F16": "FP16", "BF16": "BF16"}.get(name, name)


def weights_rows(catalog: Catalog, reference: Path) -> list[Row]:
    data = json.loads((reference / "gguf_sizes.json").read_text())
    rows = []
    for record in data["records"]:
        if "GGML" in record.get("model", "") or "GGML" in record.get("model_repo", ""):
            continue  # pre-GGUF files: an older container and older k-quant rules
        model = model_for(catalog, record["model"])
        quant = quant_id(record["quant"])
        if model is None or quant not in catalog.quants:
            continue
        estimated = weight_breakdown(catalog.models[model], catalog.quants[quant]).total_bytes
        if record.get("file_size_bytes"):
            measured = float(record["file_size_bytes"])
        else:
            value = float(str(record["file_size_stated"]).split()[0])
            measured = value * (GIB if "GiB" in record["file_size_stated"] else GB)
        rows.append(Row("weights", f"{record['model']} {quant}", measured, estimated))
    return rows


def vram_rows(catalog: Catalog, reference: Path) -> list[Row]:
    data = json.loads((reference / "measured_vram.json").read_text())
    rows = []
    for record in data["records"]:
        gpu = gpu_for(catalog, record["gpu"])
        model = model_for(catalog, record["model"])
        if gpu is None or model is None or not record.get("total"):
            continue
        hardware = Hardware(catalog.gpus[gpu], count=record["gpu_count"])
        # The logs are from a May 2024 llama.cpp, which ran without flash attention.
        workload = Workload(context_tokens=record["context"], kv_cache_dtype="f16",
                            flash_attention="off")
        result = estimate(catalog.models[model], catalog.quants[quant_id(record["quant"])],
                          hardware, workload)
        memory = result.memory
        # The log's total is device buffers only: weights on GPU + KV + compute, no context.
        estimated = memory.gpu_weights_bytes + memory.kv_cache_bytes + memory.activations_bytes
        rows.append(Row("buffers", f"{record['gpu']} ×{record['gpu_count']} {record['model']}",
                        record["total"] * MIB, estimated))
    return rows


def speed_rows(catalog: Catalog, reference: Path) -> tuple[list[Row], list[Row], list[str]]:
    data = json.loads((reference / "tokens_per_second.json").read_text())
    decode, prefill, oom = [], [], []
    for record in data["records"]:
        gpu = gpu_for(catalog, record["gpu"])
        model = model_for(catalog, record["model"])
        if gpu is None or model is None:
            continue
        memory_override = None
        spec = catalog.gpus[gpu]
        if record.get("gpu_mem_gb_per_device") and spec.vendor == "apple":
            per_device = record["gpu_mem_gb_per_device"] * GIB
            memory_override = int(per_device * (spec.gpu_usable_fraction or 1))
        hardware = Hardware(spec, count=record["gpu_count"], memory_override_bytes=memory_override)
        tokens = record["gen_tokens"] if record["metric"] == "tg" else record["prompt_tokens"]
        result = estimate(catalog.models[model], catalog.quants[quant_id(record["quant"])],
                          hardware, Workload(context_tokens=max(1, tokens)))
        label = f"{record['gpu']} ×{record['gpu_count']} {record['model']} {record['quant']} " \
                f"{record['metric']}{tokens}"
        if record["result"] != "ok":
            oom.append(f"{label}: published OOM, gpufit says {result.verdict}")
            continue
        if record["metric"] == "tg":
            decode.append(Row("decode", label, record["tokens_per_s"],
                              result.speed.decode_tokens_per_s))
        else:
            prefill.append(Row("prefill", label, record["tokens_per_s"],
                               result.speed.prefill_tokens_per_s))
    return decode, prefill, oom


def quant_rule_rows(catalog: Catalog, path: Path = QUANT_RULE_FILES) -> list[Row]:
    """Published files whose sizes depend on llama.cpp's per-tensor rules, against the weights."""
    rows = []
    for record in json.loads(path.read_text())["rows"]:
        model, quant = catalog.models[record["model"]], catalog.quants[record["quant"]]
        measured = float(record["size"]) * _UNITS[record["unit"]]
        estimated = weight_breakdown(model, quant).total_bytes
        rows.append(Row("quant rules", f"{record['file']} ({record['unit']})", measured, estimated))
    return rows


def median_abs(rows: list[Row]) -> float:
    return statistics.median(abs(row.error_pct) for row in rows) if rows else float("nan")


def p90_abs(rows: list[Row]) -> float:
    """The 90th percentile of |error| (nearest rank)."""
    if not rows:
        return float("nan")
    errors = sorted(abs(row.error_pct) for row in rows)
    return errors[max(0, -(-9 * len(errors) // 10) - 1)]


def fit(catalog: Catalog, reference: Path) -> None:
    """Coordinate descent on the speed constants, minimising the median absolute error."""
    names = ["DEQUANT_OPS_PER_WEIGHT", "LAYER_OVERHEAD_S",
             "GPU_HOP_S", "PREFILL_COMPUTE_EFFICIENCY", "PREFILL_QUANT_SLOWDOWN"]

    def loss() -> float:
        decode, prefill, _ = speed_rows(catalog, reference)
        return median_abs(decode) + median_abs(prefill)

    best = loss()
    step = 0.3
    efficiencies = calibration.DECODE_BANDWIDTH_EFFICIENCY
    for _round in range(6):
        for family in list(efficiencies):
            for factor in (1 + step, 1 / (1 + step)):
                old = efficiencies[family]
                efficiencies[family] = min(1.0, old * factor)
                trial = loss()
                if trial < best:
                    best = trial
                else:
                    efficiencies[family] = old
        for name in names:
            for factor in (1 + step, 1 / (1 + step)):
                old = getattr(calibration, name)
                setattr(calibration, name, old * factor)
                trial = loss()
                if trial < best:
                    best = trial
                else:
                    setattr(calibration, name, old)
        step /= 2
    print(f"fitted (loss {best:.2f}):")
    print(f"  DECODE_BANDWIDTH_EFFICIENCY = {efficiencies}")
    for name in names:
        print(f"  {name} = {getattr(calibration, name):.4g}")


def report(title: str, rows: list[Row], show_rows: bool, worst: int = 5) -> None:
    if not rows:
        print(f"{title}: no comparable rows")
        return
    print(f"{title}: {len(rows)} rows, median |error| {median_abs(rows):.1f} %, "
          f"p90 {p90_abs(rows):.1f} %")
    ranked = sorted(rows, key=lambda row: -abs(row.error_pct))
    for row in (rows if show_rows else ranked[:worst]):
        print(f"   {row.error_pct:+7.1f} %  measured {row.measured:>14,.2f}  "
              f"estimated {row.estimated:>14,.2f}  {row.label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--rows", action="store_true", help="print every row, not the worst five")
    parser.add_argument("--fit", action="store_true", help="re-fit the speed constants")
    args = parser.parse_args()
    catalog = load_catalog()
    if args.fit:
        fit(catalog, args.reference)
    weights = weights_rows(catalog, args.reference)
    buffers = vram_rows(catalog, args.reference)
    decode, prefill, oom = speed_rows(catalog, args.reference)
    rules = quant_rule_rows(catalog)
    report("weights vs GGUF file sizes", weights, args.rows)
    report("llama.cpp quant rules vs published files", rules, args.rows)
    outside = [row for row in rules if abs(row.error_pct) > QUANT_RULE_LIMIT_PCT]
    print(f"   quant-rule rows outside ±{QUANT_RULE_LIMIT_PCT:g} %: {len(outside)}")
    report("llama.cpp buffer totals", buffers, args.rows)
    report("decode tok/s", decode, args.rows)
    report("prefill tok/s", prefill, args.rows)
    print(f"published OOM rows: {len(oom)}")
    for line in oom:
        print("  ", line)
    print("\nsummary (median |error|): "
          f"weights {median_abs(weights):.1f} %  quant rules {median_abs(rules):.2f} % "
          f"(p90 {p90_abs(rules):.2f} %)  buffers {median_abs(buffers):.1f} %  "
          f"decode {median_abs(decode):.1f} %  prefill {median_abs(prefill):.1f} %")


if __name__ == "__main__":
    main()
