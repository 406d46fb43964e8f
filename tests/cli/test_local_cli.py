"""The CLI on the models of this machine: `list models --local`, `--model STORE:NAME` giving the
same numbers as the file's path, `sweep --local`, `--models-dir` and settings' `[models] paths`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from store_trees import Machine, build_machine, point_at, tiny_gguf


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gpufit.cli", *args], capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Machine:
    return build_machine(tmp_path_factory.mktemp("machine"))


@pytest.fixture
def machine(built: Machine, monkeypatch: pytest.MonkeyPatch) -> Machine:
    point_at(built, monkeypatch)
    return built


def _report(model: str, *extra: str) -> dict:
    done = cli("report", "--gpu", "rtx-4090", "--model", model, "--format", "json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_list_models_local_shows_models_and_skipped_entries(machine: Machine) -> None:
    done = cli("list", "models", "--local", "--format", "json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    rows = {row["name"]: row for row in listing["models"]}
    assert {name: row["quant"] for name, row in rows.items()} == machine.expected
    assert {name: row["weights_bytes"] for name, row in rows.items()} == machine.weights
    assert all(any(marker in item["path"] for item in listing["skipped"])
               for marker in machine.broken)
    assert listing["status"].startswith(f"{len(machine.expected)} models on this machine")
    text = cli("list", "models", "--local")
    assert text.returncode == 0
    assert "ollama:qwen3:32b" in text.stdout and "skipped" in text.stdout
    assert "broken symlink" in text.stdout


@pytest.mark.parametrize("name", ["ollama:qwen3:32b", "hf:acme/Tiny-Llama",
                                  "hf:acme/Tiny-Split-GGUF",
                                  "lmstudio:lmstudio-community/Tiny-GGUF/Tiny-Q5_K_M"])
def test_a_store_name_gives_the_numbers_of_the_file_path(machine: Machine, name: str) -> None:
    by_name, by_path = _report(name), _report(str(machine.paths[name]))
    assert by_name["memory"] == by_path["memory"]
    assert by_name["quant"] == by_path["quant"]
    assert by_name["memory"]["weights_bytes"] == machine.weights[name]
    assert by_name["model"]["file"]["exact_weights"] is True
    assert by_name["model"]["name"] == name


def test_a_repo_with_several_quants_needs_one_named(machine: Machine) -> None:
    done = cli("report", "--gpu", "rtx-4090", "--model", "hf:acme/Tiny-GGUF")
    assert done.returncode == 2
    assert "hf:acme/Tiny-GGUF:Q4_K_M" in done.stderr and "Traceback" not in done.stderr
    report = _report("hf:acme/Tiny-GGUF", "--quant", "Q8_0")
    assert report["memory"]["weights_bytes"] == machine.weights["hf:acme/Tiny-GGUF:Q8_0"]
    missing = cli("report", "--gpu", "rtx-4090", "--model", "ollama:nothing-here:7b")
    assert missing.returncode == 2 and "no local model named" in missing.stderr
    # The app's own --model says so before any screen is drawn.
    app = cli("--model", "ollama:nothing-here:7b")
    assert app.returncode == 2 and "no local model named" in app.stderr


def test_sweep_local_ranks_the_models_on_this_machine(machine: Machine) -> None:
    done = cli("sweep", "--gpu", "rtx-4090", "--local", "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    # Every tiny model fits a 24 GB card, each at its file's own quant.
    assert {row["name"]: row["quant"] for row in rows} == machine.expected
    assert all(row["verdict"] == "fits" for row in rows)
    # vLLM-only formats are ranked on the first engine their quant runs on.
    assert {row["engine"] for row in rows if row["quant"] in ("FP8", "GPTQ-INT4")} == {"vllm"}
    done = cli("sweep", "--local")
    assert done.returncode == 2


def test_models_dir_and_settings_paths_add_folders(machine: Machine, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    extra, listed = tmp_path / "extra", tmp_path / "listed"
    weights = tiny_gguf(extra / "Extra-Q4_K_M.gguf")
    tiny_gguf(listed / "Listed-Q8_0.gguf")
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.toml").write_text(f'[models]\npaths = ["{listed}"]\n')
    monkeypatch.setenv("GPUFIT_CONFIG_DIR", str(config))
    done = cli("list", "models", "--local", "--models-dir", str(extra), "--format", "json")
    names = {row["name"] for row in json.loads(done.stdout)["models"]}
    assert {"folder:extra/Extra-Q4_K_M", "folder:listed/Listed-Q8_0"} <= names
    report = _report("folder:extra/Extra-Q4_K_M", "--models-dir", str(extra))
    assert report["memory"]["weights_bytes"] == weights
