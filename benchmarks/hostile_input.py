"""Hostile model files: the worst crafted inputs, each imported once, with its time and peak memory.

Every input is built in a temporary folder (sparse files: gigabytes claimed, kilobytes on disk)
and imported in a fresh child process, which reports the wall time of `import_model`, the peak
of Python allocations during it (tracemalloc) and the growth of the process's peak RSS. The
target (issue 17) is ≤ 1 s and ≤ 200 MB for any header up to 10 MB; beyond that, reading stops
at a stated cap (the GGUF reader's 8,000,000 array elements and 32,768 tensors, the 16 MiB
safetensors header, the 32 MiB JSON files) and the input is refused.

Run: python benchmarks/hostile_input.py [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostile_gguf import ARRAY, F16, STRING, U32, U64, header_bytes, llama_metadata, string
from model_files import HF_LLAMA_CONFIG

MB = 10**6


def _string_array_gguf(path: Path, arrays: int, length: int) -> None:
    """`arrays` arrays of `length` empty strings each; the strings are a hole of zeros."""
    with path.open("wb") as handle:
        handle.write(b"GGUF" + struct.pack("<IQQ", 3, 0, arrays))
        for index in range(arrays):
            handle.write(string(f"junk.{index}") + struct.pack("<IIQ", ARRAY, STRING, length))
            handle.seek(8 * length, os.SEEK_CUR)
        handle.truncate()


def issue_33_arrays_of_16m_strings(path: Path) -> Path:
    """The issue's 4 GB sparse GGUF: 33 keys × 16M empty strings (57 s and 4 GB before)."""
    _string_array_gguf(path / "arrays.gguf", 33, 16_000_000)
    return path / "arrays.gguf"


def header_10mb_of_strings(path: Path) -> Path:
    """A 10 MB header that is one array of 1.25M empty strings, the most a 10 MB header holds."""
    _string_array_gguf(path / "strings.gguf", 1, 10 * MB // 8)
    return path / "strings.gguf"


def header_at_the_element_cap(path: Path) -> Path:
    """Two arrays of 4M empty strings (64 MB of header): the total cap, read to its end."""
    _string_array_gguf(path / "cap.gguf", 2, 4_000_000)
    return path / "cap.gguf"


def string_value_of_4_gb(path: Path) -> Path:
    """One metadata string value claiming 4 GiB (sparse zeros): decoding it would copy 4 GiB."""
    target = path / "long-value.gguf"
    with target.open("wb") as handle:
        handle.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + string("general.description")
                     + struct.pack("<IQ", STRING, 4 * 2**30))
        handle.truncate(handle.tell() + 4 * 2**30)
    return target


def header_10mb_of_kept_numbers(path: Path) -> Path:
    """A 10 MB header of u64 arrays of 4,096 (the longest kept as lists): 1.25M numbers."""
    target = path / "numbers.gguf"
    arrays = 10 * MB // (8 * 4096)
    with target.open("wb") as handle:
        handle.write(b"GGUF" + struct.pack("<IQQ", 3, 0, arrays))
        for index in range(arrays):
            handle.write(string(f"llama.junk{index}") + struct.pack("<IIQ", ARRAY, U64, 4096))
            handle.write(struct.pack("<4096Q", *range(2**40, 2**40 + 4096)))
    return target


def _gguf(path: Path, metadata: list[tuple[str, int, object]],
          tensors: list[tuple[str, tuple[int, ...], int]]) -> Path:
    header, data = header_bytes(metadata, tensors)
    with path.open("wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + data)
    return path


def issue_tensor_in_layer_4e9(path: Path) -> Path:
    """The issue's file: a tensor named blk.4000000000.attn_q.weight (6 GB in 27 s before)."""
    return _gguf(path / "far.gguf", llama_metadata(llama__block_count=None),
                 [("token_embd.weight", (64, 256), F16), ("blk.0.attn_q.weight", (64, 64), F16),
                  ("blk.4000000000.attn_q.weight", (64, 64), F16)])


def block_count_2_to_the_32(path: Path) -> Path:
    """block_count 2^32 − 1 (a per-layer list of four billion entries before)."""
    return _gguf(path / "blocks.gguf", llama_metadata(llama__block_count=(U32, 2**32 - 1)),
                 [("token_embd.weight", (64, 256), F16), ("blk.0.attn_q.weight", (64, 64), F16)])


def absurd_architecture_values(path: Path) -> Path:
    """key_length 2^64 − 1 and kv_lora_rank 2^63 (a petabyte KV cache, exit 0, before)."""
    return _gguf(path / "absurd.gguf", llama_metadata(
        llama__attention__key_length=(U64, 2**64 - 1),
        llama__attention__kv_lora_rank=(U64, 2**63)),
        [("token_embd.weight", (64, 256), F16), ("blk.0.attn_q.weight", (64, 64), F16)])


def most_layers_and_tensors_accepted(path: Path) -> Path:
    """block_count 10,000 and 32,768 tensors: the most layers and tensors a GGUF may have."""
    tensors: list[tuple[str, tuple[int, ...], int]] = [("token_embd.weight", (64, 256), F16)]
    for layer in range(3_277):
        tensors += [(f"blk.{layer}.{name}.weight", (64, 64), F16) for name in (
            "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down",
            "attn_norm", "ffn_norm", "post_norm")]
    return _gguf(path / "deep.gguf", llama_metadata(llama__block_count=(U32, 10_000)),
                 tensors[:32_768])


def _wide_safetensors(path: Path, header_bytes_target: int) -> Path:
    """An HF folder whose one shard's JSON header is about `header_bytes_target` bytes of
    small tensors, all distinct (experts of two layers)."""
    folder = path / "wide"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(HF_LLAMA_CONFIG))
    header: dict[str, object] = {}
    offset, size = 0, 2
    while size < header_bytes_target:
        name = f"model.layers.{len(header) % 2}.mlp.experts.{len(header)}.up_proj.weight"
        entry = {"dtype": "BF16", "shape": [4, 4], "data_offsets": [offset, offset + 32]}
        header[name] = entry
        size += len(json.dumps(name)) + len(json.dumps(entry)) + 4  # ": " and ", "
        offset += 32
    raw = json.dumps(header).encode()
    with (folder / "model.safetensors").open("wb") as handle:
        handle.write(len(raw).to_bytes(8, "little") + raw)
        handle.truncate(8 + len(raw) + offset)
    return folder


def safetensors_10mb_header(path: Path) -> Path:
    """An HF folder whose one shard has a 10 MB JSON header (~80k tensors)."""
    return _wide_safetensors(path, 10 * MB)


def safetensors_header_at_the_cap(path: Path) -> Path:
    """A JSON header just under the 16 MiB read cap (~135k tensors): the most that is read."""
    return _wide_safetensors(path, 16 * 2**20 - 4096)


def config_10mb_of_empty_objects(path: Path) -> Path:
    """A config.json of 10 MB of [{},{},…] (3.3M objects, ~250 MB once parsed)."""
    folder = path / "objects"
    folder.mkdir()
    (folder / "config.json").write_bytes(b'{"x": [' + b"{}," * (10 * MB // 3) + b"{}]}")
    return folder


def safetensors_header_of_empty_lists(path: Path) -> Path:
    """A 16 MiB safetensors header of [[],[],…] under one key (5.6M lists)."""
    folder = path / "lists"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(HF_LLAMA_CONFIG))
    raw = b'{"x": [' + b"[]," * ((16 * 2**20 - 16) // 3) + b"[]]}"
    (folder / "model.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw)
    return folder


def missing_shard_of_99999(path: Path) -> Path:
    """One shard of a claimed 99,999-shard model and no index."""
    folder = path / "shards"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(HF_LLAMA_CONFIG))
    (folder / "model-00001-of-99999.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    return folder


def named_pipe(path: Path) -> Path:
    """A named pipe called x.gguf (blocked forever before)."""
    os.mkfifo(path / "x.gguf")
    return path / "x.gguf"


def long_name(path: Path) -> Path:
    """A 10,000-character name (OSError before)."""
    return path / ("x" * 10_000 + ".gguf")


INPUTS: dict[str, Callable[[Path], Path]] = {
    function.__name__: function for function in (
        issue_33_arrays_of_16m_strings, header_10mb_of_strings, header_at_the_element_cap,
        string_value_of_4_gb, header_10mb_of_kept_numbers,
        issue_tensor_in_layer_4e9, block_count_2_to_the_32, absurd_architecture_values,
        most_layers_and_tensors_accepted, safetensors_10mb_header, safetensors_header_at_the_cap,
        config_10mb_of_empty_objects, safetensors_header_of_empty_lists, missing_shard_of_99999,
        named_pipe, long_name)}


# Inputs whose header is larger than 10 MB: the target does not apply, the caps do.
BEYOND_10_MB = frozenset({"issue_33_arrays_of_16m_strings", "header_at_the_element_cap",
                          "string_value_of_4_gb", "safetensors_header_at_the_cap"})


def run_one(name: str) -> dict[str, object]:
    """Build input `name` and import it twice (timed; then under tracemalloc, which slows
    Python several-fold, for the peak allocation); runs in the child process."""
    from gpufit.core.catalog import load_catalog
    from gpufit.importers.errors import ModelImportError
    from gpufit.importers.model_import import import_model

    quants = load_catalog().quants

    def attempt(target: Path) -> str:
        try:
            return f"imported ({import_model(target, quants).spec.layers:,} layers)"
        except ModelImportError as error:
            return "refused: " + error.problem[:72]

    with tempfile.TemporaryDirectory() as folder:
        target = INPUTS[name](Path(folder))
        rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started, started_cpu = time.perf_counter(), time.process_time()
        outcome = attempt(target)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
        rss_growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before_kib
        tracemalloc.start()
        attempt(target)
        _current, peak_bytes = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {"input": name, "seconds": seconds, "cpu_seconds": cpu_seconds,
            "peak_mb": peak_bytes / MB,
            "rss_growth_mb": rss_growth_kib * 1024 / MB, "outcome": outcome}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(INPUTS), help="run one input")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child)))
        return
    # The wall time suffers on a shared machine; the CPU time is the input's own cost.
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'input':<34} {'wall':>7} {'cpu':>7} {'peak alloc':>10} {'RSS growth':>10}  outcome")
    worst_s, worst_mb = 0.0, 0.0
    for name in [args.only] if args.only else list(INPUTS):
        done = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True,
                              text=True, timeout=120, check=True)
        row = json.loads(done.stdout)
        if name not in BEYOND_10_MB:
            worst_s = max(worst_s, row["seconds"])
            worst_mb = max(worst_mb, row["peak_mb"], row["rss_growth_mb"])
        print(f"{name:<34} {row['seconds']:>5.2f} s {row['cpu_seconds']:>5.2f} s "
              f"{row['peak_mb']:>7.1f} MB {row['rss_growth_mb']:>7.1f} MB  {row['outcome'][:60]}")
    print(f"worst with a header up to 10 MB: {worst_s:.2f} s, {worst_mb:.1f} MB (target ≤ 1 s "
          f"and ≤ 200 MB); beyond 10 MB ({', '.join(sorted(BEYOND_10_MB))}) the caps apply")


if __name__ == "__main__":
    main()
