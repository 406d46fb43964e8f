"""A profile whose model is a file path (issue 17, item 21): the app opens the file, as
`report --profile` and `f` do, instead of saying the model is not in the catalog."""

from __future__ import annotations

import json
from pathlib import Path

from gguf import LlamaFileType
from model_files import LLAMA_METADATA, llama_tensors, write_gguf
from ui_helpers import WIDE, main_screen, wait_until

from gpufit import cli
from gpufit.core.catalog import load_catalog
from gpufit.persist.profiles import Profile, ProfileStore


async def test_a_profile_naming_a_gguf_opens_it(build_app, capsys, tmp_path: Path) -> None:
    path = tmp_path / "Tiny-Llama-Q4_K_M.gguf"
    write_gguf(path, "llama", LLAMA_METADATA, llama_tensors(), LlamaFileType.MOSTLY_Q4_K_M)
    ProfileStore().save(Profile(name="file", gpu="rtx-4090", model=str(path), quant="Q4_K_M",
                                context_tokens=2048))
    assert cli.main(["report", "--profile", "file", "--format", "json"]) == 0
    reported = json.loads(capsys.readouterr().out)
    app = build_app(catalog=load_catalog(), profile_name="file")
    async with app.run_test(size=WIDE) as pilot:
        screen = main_screen(pilot)
        await wait_until(pilot, lambda: screen.model_id.startswith("local-"), rounds=300)
        notes = [note.message for note in app._notifications]
        assert not any("not in the catalog" in note for note in notes), notes
        assert screen.quant_id == "Q4_K_M" and screen.context_tokens == 2048
        model = screen.catalog.models[screen.model_id]
        assert model.file_weights is not None  # the file's exact tensors, not a catalog guess
    assert reported["model"]["id"] == screen.model_id


async def test_a_profile_naming_a_missing_file_says_so(build_app, tmp_path: Path) -> None:
    missing = tmp_path / "gone.gguf"
    ProfileStore().save(Profile(name="gone", gpu="rtx-4090", model=str(missing), quant="Q4_K_M"))
    app = build_app(catalog=load_catalog(), profile_name="gone")
    async with app.run_test(size=WIDE) as pilot:
        await wait_until(pilot, lambda: any("gone.gguf" in note.message
                                            for note in app._notifications), rounds=300)
        screen = main_screen(pilot)
        assert not screen.model_id.startswith("local-")
