"""`report --model PATH`: a GGUF's weights in the JSON are the sum of its tensors; bad paths exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gguf import LlamaFileType
from model_files import LLAMA_METADATA, expected_bytes, llama_tensors, write_gguf


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gpufit.cli", *args], capture_output=True,
                          text=True, timeout=60, check=False, cwd=cwd)


def test_report_on_a_gguf_gives_the_sum_of_its_tensor_sizes(tmp_path: Path) -> None:
    tensors = llama_tensors()
    write_gguf(tmp_path / "some.gguf", "llama", LLAMA_METADATA, tensors,
               LlamaFileType.MOSTLY_Q4_K_M)
    done = cli("report", "--gpu", "rtx-4090", "--model", "./some.gguf", "--format", "json",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    total = sum(expected_bytes(shape, kind) for _name, shape, kind in tensors)
    assert report["memory"]["weights_bytes"] == total
    assert report["quant"]["id"] == "Q4_K_M"
    assert report["model"]["file"]["exact_weights"] is True
    assert report["model"]["file"]["label"] == "MOSTLY_Q4_K_M"
    # The embedding stays in RAM with llama.cpp: the GPU holds the rest of the file.
    embedding = expected_bytes((512, 256), "Q4_K")
    assert report["memory"]["host_weights_bytes"] == embedding
    llama = next(hint for hint in report["run_hints"] if hint["engine"] == "llama.cpp")
    assert f"-m {tmp_path / 'some.gguf'}" in llama["command"]


def test_another_quant_is_estimated_and_says_so(tmp_path: Path) -> None:
    write_gguf(tmp_path / "some.gguf", "llama", LLAMA_METADATA, llama_tensors(),
               LlamaFileType.MOSTLY_Q4_K_M)
    done = cli("report", "--gpu", "rtx-4090", "--model", str(tmp_path / "some.gguf"),
               "--quant", "Q8_0", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["model"]["file"]["exact_weights"] is False
    assert any("estimated from the architecture" in note for note in report["notes"])


def test_bad_model_paths_exit_2_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.gguf"
    done = cli("report", "--gpu", "rtx-4090", "--model", str(missing))
    assert done.returncode == 2
    assert str(missing) in done.stderr and "no such file" in done.stderr
    assert "Traceback" not in done.stderr
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a model at all")
    done = cli("report", "--gpu", "rtx-4090", "--model", str(junk))
    assert done.returncode == 2 and "not a GGUF file" in done.stderr


def test_catalog_models_still_need_a_quant() -> None:
    done = cli("report", "--gpu", "rtx-4090", "--model", "llama-3.1-8b")
    assert done.returncode == 2 and "--quant" in done.stderr


def test_exl2_at_any_bitrate_and_out_of_range() -> None:
    done = cli("report", "--gpu", "rtx-4090", "--model", "llama-3.1-8b", "--quant", "EXL2-4.65",
               "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["quant"]["id"] == "EXL2-4.65"
    assert any("exllamav2" in note for note in report["notes"])
    done = cli("report", "--gpu", "rtx-4090", "--model", "llama-3.1-8b", "--quant", "exl2-9")
    assert done.returncode == 2 and "between 2 and 8" in done.stderr


def test_hugging_face_ids_stay_catalog_names_and_bare_folders_open(tmp_path: Path) -> None:
    done = cli("report", "--gpu", "rtx-4090", "--model", "meta-llama/Llama-3.1-8B", "--quant",
               "Q4_K_M", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["model"]["id"] == "llama-3.1-8b"
    folder = tmp_path / "MyModel"
    folder.mkdir()
    write_gguf(folder / "m.gguf", "llama", LLAMA_METADATA, llama_tensors(),
               LlamaFileType.MOSTLY_Q4_K_M)
    done = cli("report", "--gpu", "rtx-4090", "--model", "MyModel", "--format", "json",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["model"]["file"]["format"] == "gguf"
