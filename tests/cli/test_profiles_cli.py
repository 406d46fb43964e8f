"""`profiles list|show|delete`, `report --profile` and `gpufit-tui --profile`, run as a real subprocess
against profiles written into the temporary config directory the autouse fixture sets up."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gpufit import cli
from gpufit.persist.profiles import Profile, ProfileStore

SAVED_AT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
BIG = Profile(name="4xA100 Llama 70B 32k", gpu="a100-80gb-sxm", gpu_count=4, model="llama-3.3-70b",
              quant="Q4_K_M", context_tokens=32768, note="training box")
SMALL = Profile(name="Laptop 8B", gpu="rtx-4090", model="llama-3.1-8b", quant="Q5_K_M",
                context_tokens=4096, sequences=2, kv_cache_dtype="q8_0")
NIGHTLY = Profile(name="nightly", gpu="a100-80gb-sxm", gpu_count=2, model="llama-3.3-70b", quant="Q4_K_M",
                  context_tokens=16384, sequences=2, kv_cache_dtype="q8_0",
                  memory_override_bytes=70_000_000_000)
NIGHTLY_FLAGS = ("--gpu", "a100-80gb-sxm", "--count", "2", "--model", "llama-3.3-70b", "--quant", "Q4_K_M",
                 "--context", "16384", "--sequences", "2", "--kv-cache-dtype", "q8_0",
                 "--engine", "llama.cpp", "--memory-gb", "70")
SMI = Path(__file__).resolve().parents[1] / "fixtures" / "nvidia-smi" / "xml_q_dual_rtx_a5000_driver590.xml"


def cli_run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    # os.environ carries the fixture's GPUFIT_CONFIG_DIR, so the child sees the test's profiles.
    return subprocess.run([sys.executable, "-m", "gpufit.cli", *args], capture_output=True, text=True,
                          timeout=timeout, check=False, env=dict(os.environ), stdin=subprocess.DEVNULL)


def profiles_dir() -> Path:
    return Path(os.environ["GPUFIT_CONFIG_DIR"]) / "profiles"


def save(*profiles: Profile) -> ProfileStore:
    store = ProfileStore(profiles_dir(), clock=lambda: SAVED_AT)
    for profile in profiles:
        store.save(profile)
    return store


def report_json(*args: str) -> dict[str, Any]:
    done = cli_run("report", *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_list_text_shows_every_profile_on_one_line():
    save(BIG, SMALL)
    done = cli_run("profiles", "list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    big = next(line for line in lines if line.startswith("4xA100 Llama 70B 32k"))
    for part in ("llama-3.3-70b", "Q4_K_M", "4 × a100-80gb-sxm", "32,768", "2025-03-04"):
        assert part in big, part
    small = next(line for line in lines if line.startswith("Laptop 8B"))
    for part in ("llama-3.1-8b", "Q5_K_M", "rtx-4090", "4,096", "2025-03-04"):
        assert part in small, part
    assert done.stderr == ""


def test_list_json_holds_every_field_and_what_is_missing():
    save(BIG, SMALL)
    done = cli_run("profiles", "list", "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert set(rows) == {"4xA100 Llama 70B 32k", "Laptop 8B"}
    assert rows["Laptop 8B"] == {
        "name": "Laptop 8B", "gpu": "rtx-4090", "gpu_count": 1, "memory_override_bytes": None,
        "model": "llama-3.1-8b", "quant": "Q5_K_M", "context_tokens": 4096, "sequences": 2,
        "kv_cache_dtype": "q8_0", "engine": "llama.cpp", "flash_attention": "auto", "include_vision": False,
        "note": "",
        "created": "2025-03-04T05:06:07+00:00", "updated": "2025-03-04T05:06:07+00:00",
        "extra": {}, "missing": [],
    }
    assert rows["4xA100 Llama 70B 32k"]["gpu_count"] == 4
    assert rows["4xA100 Llama 70B 32k"]["note"] == "training box"


def test_empty_list_is_a_friendly_line():
    done = cli_run("profiles", "list")
    assert done.returncode == 0
    assert "No saved profiles" in done.stdout
    assert json.loads(cli_run("profiles", "list", "--format", "json").stdout) == []


def test_show_prints_the_fields_and_the_missing_catalog_entries():
    save(BIG, Profile(name="old box", gpu="a100-old", model="llama-3.1-8b", quant="Q4_K_M"))
    done = cli_run("profiles", "show", "4xa100 llama 70b 32K")  # names match ignoring case
    assert done.returncode == 0, done.stderr
    for part in ("4xA100 Llama 70B 32k", "training box", "a100-80gb-sxm", "llama-3.3-70b", "Q4_K_M",
                 "32,768", "llama.cpp", "2025-03-04T05:06:07+00:00"):
        assert part in done.stdout, part
    old = cli_run("profiles", "show", "old box", "--format", "json")
    assert old.returncode == 0, old.stderr
    shown = json.loads(old.stdout)
    assert shown["gpu"] == "a100-old"
    assert len(shown["missing"]) == 1 and "a100-old" in shown["missing"][0]
    assert "a100-old" in cli_run("profiles", "show", "old box").stdout.split("missing:")[1]


def test_delete_with_yes_removes_the_file():
    save(BIG, SMALL)
    files = sorted(path.name for path in profiles_dir().glob("*.toml"))
    assert files == ["4xa100-llama-70b-32k.toml", "laptop-8b.toml"]
    done = cli_run("profiles", "delete", "Laptop 8B", "--yes")
    assert done.returncode == 0, done.stderr
    assert not (profiles_dir() / "laptop-8b.toml").exists()
    assert (profiles_dir() / "4xa100-llama-70b-32k.toml").exists()
    names = [row["name"] for row in json.loads(cli_run("profiles", "list", "--format", "json").stdout)]
    assert names == ["4xA100 Llama 70B 32k"]


def test_delete_without_a_terminal_refuses_unless_yes():
    save(SMALL)
    done = cli_run("profiles", "delete", "Laptop 8B")  # stdin is /dev/null: a script
    assert done.returncode == 2
    assert "--yes" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert (profiles_dir() / "laptop-8b.toml").exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "kept", "code"), [("n\n", True, 1), ("\n", True, 1), ("y\n", False, 0)])
def test_delete_at_a_terminal_asks_first(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str],
                                        answer: str, kept: bool, code: int):
    save(SMALL)
    monkeypatch.setattr(sys, "stdin", _Terminal(answer))
    assert cli.main(["profiles", "delete", "laptop 8b"]) == code
    assert "Delete profile 'Laptop 8B'? [y/N]" in capsys.readouterr().out
    assert (profiles_dir() / "laptop-8b.toml").exists() is kept


@pytest.mark.parametrize("action", ["show", "delete"])
def test_unknown_name_exits_2_with_similar_names(action: str):
    save(BIG, SMALL)
    done = cli_run("profiles", action, "laptop")
    assert done.returncode == 2
    assert "no profile named 'laptop'" in done.stderr
    assert "Laptop 8B" in done.stderr
    assert len(list(profiles_dir().glob("*.toml"))) == 2


def test_report_from_a_profile_equals_the_same_flags():
    save(NIGHTLY)
    from_profile = report_json("--profile", "nightly")
    assert from_profile == report_json(*NIGHTLY_FLAGS)
    assert from_profile["gpu"]["count"] == 2
    assert from_profile["gpu"]["memory_bytes"] == 70_000_000_000
    assert from_profile["workload"] == {"context_tokens": 16384, "sequences": 2, "kv_cache_dtype": "q8_0",
                                        "kv_cache_stored": "q8_0", "engine": "llama.cpp",
                                        "flash_attention": "auto", "flash_attention_on": True,
                                        "include_vision": False}


def test_flags_override_the_profile():
    save(NIGHTLY)
    overridden = report_json("--profile", "nightly", "--context", "4096", "--kv-cache-dtype", "f16")
    assert overridden["workload"]["context_tokens"] == 4096
    assert overridden["workload"]["kv_cache_dtype"] == "f16"
    assert overridden["workload"]["sequences"] == 2  # not overridden: still the profile's
    flags = list(NIGHTLY_FLAGS)
    flags[flags.index("16384")] = "4096"
    flags[flags.index("q8_0")] = "f16"
    assert overridden == report_json(*flags)


def test_profile_before_the_command_also_reports_it():
    save(NIGHTLY)
    done = cli_run("--profile", "nightly", "report", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == report_json(*NIGHTLY_FLAGS)


def test_detected_profile_reads_the_gpus_like_gpu_detected():
    save(Profile(name="this box", gpu="detected", gpu_count=2, model="llama-3.1-8b", quant="Q4_K_M",
                 context_tokens=8192))
    smi = ("--nvidia-smi-output", str(SMI))
    from_profile = report_json("--profile", "this box", *smi)
    assert from_profile["gpu"]["id"] == "rtx-a5000"
    assert from_profile == report_json("--gpu", "detected", "--count", "2", "--model", "llama-3.1-8b",
                                       "--quant", "Q4_K_M", "--context", "8192", *smi)


def test_report_on_a_profile_whose_model_left_the_catalog_exits_2():
    save(Profile(name="gone", gpu="rtx-4090", model="llama-9-1000b", quant="Q4_K_M"))
    done = cli_run("report", "--profile", "gone")
    assert done.returncode == 2
    assert "llama-9-1000b" in done.stderr
    assert "not in the catalog" in done.stderr
    assert done.stdout == ""


def test_report_on_an_unknown_profile_exits_2_with_similar_names():
    save(NIGHTLY)
    done = cli_run("report", "--profile", "nightl")
    assert done.returncode == 2
    assert "no profile named 'nightl'" in done.stderr and "nightly" in done.stderr


def test_report_without_a_profile_still_needs_gpu_model_and_quant():
    done = cli_run("report", "--gpu", "rtx-4090", "--model", "llama-3.1-8b")
    assert done.returncode == 2
    assert "--quant" in done.stderr


def test_profile_flag_is_refused_with_other_commands():
    save(SMALL)
    done = cli_run("--profile", "Laptop 8B", "list", "gpus")
    assert done.returncode == 2
    assert "--profile" in done.stderr


def test_corrupt_file_is_moved_aside_and_the_good_one_still_listed():
    save(SMALL)
    broken = profiles_dir() / "broken.toml"
    broken.write_text('name = "broken"\n[hardware\ngpu = "x"\n', encoding="utf-8")
    done = cli_run("profiles", "list")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Laptop 8B")
    assert len(done.stdout.splitlines()) == 1
    moved = list(profiles_dir().glob("broken.toml.corrupt-*"))
    assert len(moved) == 1
    assert not broken.exists()
    assert "broken.toml" in done.stderr
    assert moved[0].name in done.stderr  # says where it went


def test_opening_the_app_on_an_unknown_profile_exits_2_before_the_app_starts():
    save(SMALL)
    # If the app started it would wait for a terminal; the timeout turns that into a failure.
    done = cli_run("--profile", "laptop 9b", timeout=30)
    assert done.returncode == 2
    assert "no profile named 'laptop 9b'" in done.stderr
    assert "Laptop 8B" in done.stderr
    assert done.stdout == ""
