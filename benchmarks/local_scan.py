"""Local-model scan speed: 200 models across the Hugging Face cache, Ollama, LM Studio and
llama.cpp's cache, cold (every header read) and warm (the scan cache answers).

The stores are built the way each tool lays them out (tests/store_trees.py), from small real
headers (tests/model_files.py); each model file is then extended sparsely to a real model's
size (4-40 GB), so sizes on disk look real and the disk holds a few MB. `--vocab N` gives every
GGUF an N-token vocabulary (real ones hold 32k-256k), which is what makes a header slow.

Run: python benchmarks/local_scan.py [--models 200] [--vocab 0] [--repeat 5]
Targets (issue 16): cold ≤ 1 s, warm ≤ 50 ms, on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from gguf import LlamaFileType
from model_files import LLAMA_METADATA, hf_llama_tensors, llama_tensors, write_gguf
from store_trees import hf_folder, hf_repo, ollama_tag

from gpufit.core.catalog import load_catalog
from gpufit.importers.stores import scan_local_models

GB = 10**9


def _gguf(path: Path, vocab: int, number: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_gguf(path, "llama", LLAMA_METADATA, llama_tensors(), LlamaFileType.MOSTLY_Q4_K_M,
               name=f"Bench {number}", vocab=vocab)
    return path


def _grow(path: Path, number: int) -> None:
    """Extend a model file in its store to a real model's size: a hole, so no disk (and done
    after the store hashed the small file)."""
    os.truncate(path.resolve(), (4 + number % 37) * GB)


def build(base: Path, models: int, vocab: int) -> dict[str, int]:
    """`models` models spread over the four stores; returns how many each got."""
    hub, ollama = base / "hub", base / "ollama"
    lmstudio, llama = base / "home" / ".lmstudio" / "models", base / "llama-cache"
    counts = {"hf": 0, "ollama": 0, "lmstudio": 0, "llamacpp": 0}
    for number in range(models):
        kind = ("hf", "ollama", "lmstudio", "llamacpp")[number % 4]
        counts[kind] += 1
        staging = base / "staging" / str(number)
        if kind == "hf" and number % 8 == 0:
            hf_folder(staging, hf_llama_tensors(), shards=2)
            hf_repo(hub, f"bench/Safetensors-{number}", staging)
        elif kind == "hf":
            name = f"Bench-{number}-Q4_K_M.gguf"
            _gguf(staging / name, vocab, number)
            _grow(hf_repo(hub, f"bench/GGUF-{number}", staging) / name, number)
        elif kind == "ollama":
            _gguf(staging / "model.gguf", vocab, number)
            _grow(ollama_tag(ollama, f"bench{number}", "latest", staging / "model.gguf"), number)
        elif kind == "lmstudio":
            _grow(_gguf(lmstudio / "bench" / f"Repo-{number}" / f"Bench-{number}-Q4_K_M.gguf",
                        vocab, number), number)
        else:
            _grow(_gguf(llama / f"bench_Repo-{number}_Bench-{number}-Q4_K_M.gguf", vocab,
                        number), number)
    shutil.rmtree(base / "staging", ignore_errors=True)
    os.environ.update(HOME=str(base / "home"), HF_HUB_CACHE=str(hub), OLLAMA_MODELS=str(ollama),
                      LLAMA_CACHE=str(llama), GPUFIT_CACHE_DIR=str(base / "cache"))
    return counts


def profile_warm() -> None:
    """Where a warm scan spends its time (run with --profile)."""
    import cProfile
    import pstats

    quants = load_catalog().quants
    scan_local_models(quants=quants)
    profiler = cProfile.Profile()
    profiler.runcall(scan_local_models, quants=quants)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(18)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--vocab", type=int, default=0, help="tokens in each GGUF's vocabulary")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="profile one warm scan")
    args = parser.parse_args()
    quants = load_catalog().quants
    cold: list[float] = []
    warm: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        counts = build(Path(folder), args.models, args.vocab)
        cache = Path(folder) / "cache"
        for _ in range(args.repeat):
            shutil.rmtree(cache, ignore_errors=True)
            start = time.perf_counter()
            scan = scan_local_models(quants=quants)
            cold.append(time.perf_counter() - start)
            assert len(scan.models) == args.models, scan.status
            start = time.perf_counter()
            again = scan_local_models(quants=quants)
            warm.append(time.perf_counter() - start)
            assert len(again.models) == args.models
        if args.profile:
            profile_warm()
    print(f"{args.models} models ({', '.join(f'{store} {n}' for store, n in counts.items())}), "
          f"vocabulary {args.vocab:,} tokens; median of {args.repeat}:")
    print(f"  cold scan  {statistics.median(cold) * 1000:8.1f} ms   (target ≤ 1000 ms)")
    print(f"  warm scan  {statistics.median(warm) * 1000:8.1f} ms   (target ≤ 50 ms)")


if __name__ == "__main__":
    main()
