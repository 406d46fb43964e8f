"""Regenerate the SVG screenshots in `screenshots/` from the real app.

Each seed scenario is shown at 80×24 and 140×45 in the dark and light themes:

    python scripts/screenshots.py [--out screenshots]

The app is built by `gpufit.ui.app.make_app` with the built-in catalog and a throwaway settings
file, driven with a Pilot, and saved with `App.save_screenshot` once the estimate has landed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gpufit.core.catalog import load_catalog
from gpufit.ui.app import make_app
from gpufit.ui.pilot import drain, settle
from gpufit.ui.screens.main import MainScreen

REPO = Path(__file__).resolve().parents[1]
# A stable place for the generated model file, so the path on screen is the same every run.
MODELS = Path(tempfile.gettempdir()) / "gpufit-screenshots" / "models"
MODEL_FILE = MODELS / "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"
SIZES = ((80, 24), (140, 45))
HUB_REPO = "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF"
THEMES = {"dark": "gpufit-dark", "light": "gpufit-light"}


@dataclass(frozen=True, slots=True)
class Scenario:
    """One setup to photograph."""

    slug: str
    gpu_id: str
    model_id: str
    quant_id: str
    focus: str = "quant"
    engine: str = "llama.cpp"
    keys: tuple[str, ...] = ()
    """Keys pressed once the estimate is on screen (to open a planning screen)."""
    themes: tuple[str, ...] = tuple(THEMES.values())
    sizes: tuple[tuple[int, int], ...] = SIZES
    quiet: bool = False
    """Dismiss notifications before the shot (they would cover the result)."""
    local: bool = False
    """Give the app models on this machine (a fake Ollama store and Hugging Face cache holding
    the Llama 3.1 8B file) and wait for the background scan."""
    hub: bool = False
    """Serve the Llama 3.1 8B file from a fake Hugging Face Hub on 127.0.0.1 (HF_ENDPOINT)."""


SCENARIOS = (
    Scenario("mixtral-8x22b-a100-80gb-q4_k_m", "a100-80gb-sxm", "mixtral-8x22b", "Q4_K_M"),
    Scenario("mixtral-8x22b-rtx-3090-q3_k_m", "rtx-3090", "mixtral-8x22b", "Q3_K_M"),
    Scenario("offload-mixtral-8x22b-fp16-a100-40gb", "a100-40gb-sxm", "mixtral-8x22b", "FP16",
             themes=("gpufit-dark",), sizes=((140, 45),)),
    Scenario("serving-mixtral-8x7b-awq-a100-80gb", "a100-80gb-sxm", "mixtral-8x7b", "AWQ-INT4",
             engine="vllm", keys=("l",), themes=("gpufit-dark",)),
    Scenario("sweep-best-rtx-4090", "rtx-4090", "llama-3.1-8b", "Q4_K_M", keys=("b",),
             themes=("gpufit-dark",), sizes=((140, 45),)),
    Scenario("open-model-file-dialog", "rtx-4090", "llama-3.1-8b", "Q4_K_M",
             keys=("f", *str(MODEL_FILE)[:-12]), themes=("gpufit-dark",), sizes=((80, 24),)),
    Scenario("imported-gguf-llama-3.1-8b-q4_k_m-rtx-4090", "rtx-4090", "llama-3.1-8b", "Q4_K_M",
             keys=("f", *str(MODEL_FILE), "enter"), themes=("gpufit-dark",), quiet=True),
    Scenario("compare-q4_k_m-q8_0-rtx-4090", "rtx-4090", "qwen3-32b", "Q4_K_M",
             keys=("p", "3", "k", "k", "k", "c"), themes=("gpufit-dark",), sizes=((140, 45),)),
    Scenario("on-this-machine-rtx-4090", "rtx-4090", "llama-3.1-8b", "Q4_K_M", focus="model",
             keys=("home",), local=True, themes=("gpufit-dark",), quiet=True),
    Scenario("hub-lookup-rtx-4090", "rtx-4090", "llama-3.1-8b", "Q4_K_M", focus="model",
             keys=("slash", *HUB_REPO, "enter"), hub=True, themes=("gpufit-dark",),
             sizes=((140, 45),)),
)


async def shoot(scenario: Scenario, theme: str, size: tuple[int, int], out: Path,
                settings_dir: Path) -> Path:
    """Run the app at `size`, select the scenario, wait for its estimate, save the SVG."""
    # A GPU server with 512 GB of RAM, so offload advice does not depend on where this runs.
    scanner = None
    if scenario.local:
        from gpufit.importers.stores import scan_local_models

        def scanner(quants):  # type: ignore[no-untyped-def]
            return scan_local_models((), (), quants, use_cache=False)

    app = make_app(catalog=load_catalog(), settings_path=settings_dir / "settings.toml",
                   ram_probe=lambda: 512 * 10**9, local_scanner=scanner)
    async with app.run_test(size=size) as pilot:
        app.theme = theme
        screen = app.screen
        assert isinstance(screen, MainScreen)
        screen.gpu_id = scenario.gpu_id
        screen.model_id = scenario.model_id
        screen.quant_id = scenario.quant_id
        screen.engine = scenario.engine
        await settle(pilot)
        await pilot.press(str(1 + ("hardware", "model", "quant").index(scenario.focus)))
        await settle(pilot)
        if scenario.local:
            for _ in range(200):
                if screen.sources.last_scan is not None:
                    break
                await pilot.pause(0.05)
            await settle(pilot)
        for key in scenario.keys:
            await pilot.press(key)
            await drain(pilot)
        if scenario.local or scenario.hub:
            # The scan and the lookup run in worker threads: wait in real time.
            for _ in range(200):
                done = (screen.model_id.startswith("local-") if scenario.local
                        else screen.model_id.startswith("hub-"))
                if done:
                    break
                await pilot.pause(0.05)
            await settle(pilot)
        if scenario.quiet:
            await settle(pilot)
            app.clear_notifications()
            await settle(pilot)
        name = f"{scenario.slug}-{theme.removeprefix('gpufit-')}-{size[0]}x{size[1]}.svg"
        return Path(app.save_screenshot(name, str(out)))


def write_model_file(path: Path) -> None:
    """A Llama 3.1 8B Q4_K_M GGUF header with llama.cpp's tensor types; the data is a hole."""
    import numpy as np
    from gguf import GGML_QUANT_SIZES, GGUFWriter, LlamaFileType
    from gguf import GGMLQuantizationType as Type
    from gguf.quants import quant_shape_to_byte_shape

    from gpufit.core.tensors import more_bits

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = GGUFWriter(path, "llama")
    writer.add_name("Meta Llama 3.1 8B Instruct")
    for key, value in (("block_count", 32), ("context_length", 131072),
                       ("embedding_length", 4096), ("feed_forward_length", 14336),
                       ("attention.head_count", 32), ("attention.head_count_kv", 8)):
        writer.add_uint32(f"llama.{key}", value)
    writer.add_file_type(LlamaFileType.MOSTLY_Q4_K_M)
    writer.add_token_list([f"t{index}" for index in range(128256)])
    total = 0

    def tensor(name: str, shape: tuple[int, ...], kind: Type) -> None:
        nonlocal total
        block, size = GGML_QUANT_SIZES[kind]
        nbytes = int(np.prod(shape)) // block * size
        total += nbytes
        byte_shape = shape if kind == Type.F32 else quant_shape_to_byte_shape(shape, kind)
        dtype = np.dtype(np.float32) if kind == Type.F32 else np.dtype(np.uint8)
        writer.add_tensor_info(name, byte_shape, dtype, nbytes, raw_dtype=kind)

    tensor("token_embd.weight", (128256, 4096), Type.Q4_K)
    for layer in range(32):
        upgraded = Type.Q6_K if more_bits(layer, 32) else Type.Q4_K
        for name, shape, kind in (("attn_norm", (4096,), Type.F32),
                                  ("attn_q", (4096, 4096), Type.Q4_K),
                                  ("attn_k", (1024, 4096), Type.Q4_K),
                                  ("attn_v", (1024, 4096), upgraded),
                                  ("attn_output", (4096, 4096), Type.Q4_K),
                                  ("ffn_norm", (4096,), Type.F32),
                                  ("ffn_gate", (14336, 4096), Type.Q4_K),
                                  ("ffn_up", (14336, 4096), Type.Q4_K),
                                  ("ffn_down", (4096, 14336), upgraded)):
            tensor(f"blk.{layer}.{name}.weight", shape, kind)
    tensor("output_norm.weight", (4096,), Type.F32)
    tensor("output.weight", (128256, 4096), Type.Q6_K)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    os.truncate(path, path.stat().st_size + total + 64)


def machine_stores(root: Path) -> None:
    """An Ollama store and a Hugging Face cache holding MODEL_FILE, as the local scan finds
    them; the environment points the scan at them."""
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    digest = "5e5b" * 16
    blobs = root / "ollama" / "blobs"
    manifest = root / "ollama" / "manifests" / "registry.ollama.ai" / "library" / "llama3.1"
    blobs.mkdir(parents=True)
    manifest.mkdir(parents=True)
    # A sparse copy: a hard link would be one file, which the scan lists once (by its first store).
    subprocess.run(["cp", "--sparse=always", str(MODEL_FILE), str(blobs / f"sha256-{digest}")],
                   check=True)
    (manifest / "8b").write_text(
        '{"schemaVersion": 2, "layers": [{"mediaType": "application/vnd.ollama.image.model", '
        f'"digest": "sha256:{digest}", "size": {MODEL_FILE.stat().st_size}}}]}}')
    repo = root / "hf" / "hub" / "models--bartowski--Meta-Llama-3.1-8B-Instruct-GGUF"
    snapshot = repo / "snapshots" / "a1b2c3"
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a1b2c3")
    os.link(MODEL_FILE, repo / "blobs" / "f00d")
    (snapshot / MODEL_FILE.name).symlink_to(Path("../../blobs/f00d"))
    os.environ.update(OLLAMA_MODELS=str(root / "ollama"), HF_HUB_CACHE=str(root / "hf" / "hub"),
                      LLAMA_CACHE=str(root / "none"), HOME=str(root / "home"))


def fake_hub(cache: Path):  # type: ignore[no-untyped-def]
    """The tests' fake Hub, serving MODEL_FILE (mapped, so only the ranges asked for are read)."""
    import hashlib
    import mmap

    sys.path.insert(0, str(REPO / "tests"))
    import fake_hub as fake  # type: ignore[import-not-found]

    class Digest:
        def __init__(self, data: object = b"") -> None:
            self.value = hashlib.sha1(str(len(data)).encode()).hexdigest()  # type: ignore[arg-type]

        def hexdigest(self) -> str:
            return self.value

    # Hashing a 4.9 GB (sparse) file on every request would take minutes; any stable digest
    # serves a fake.
    fake.hashlib = type("Hashes", (), {"sha1": Digest, "sha256": Digest})
    with MODEL_FILE.open("rb") as handle:
        data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    hub = fake.FakeHub()
    hub.add(HUB_REPO, {MODEL_FILE.name: data})
    os.environ.update(HF_ENDPOINT=hub.start(), GPUFIT_CACHE_DIR=str(cache))
    return hub


async def main(argv: list[str]) -> int:
    """Write every scenario × theme × size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "screenshots")
    parser.add_argument("--only", default=None, help="only scenarios whose name contains TEXT")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    write_model_file(MODEL_FILE)
    machine_stores(MODELS.parent / "machine")
    hub = fake_hub(Path(tempfile.mkdtemp()) / "cache")
    with tempfile.TemporaryDirectory() as settings_dir:
        for scenario in SCENARIOS:
            if args.only and args.only not in scenario.slug:
                continue
            for theme in scenario.themes:
                for size in scenario.sizes:
                    path = await shoot(scenario, theme, size, args.out, Path(settings_dir))
                    print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    hub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
