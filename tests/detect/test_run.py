"""End to end: detection runs a fake `nvidia-smi` found on PATH, as it would the real one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_smi import install

from gpufit.detect.parse import parse_any
from gpufit.detect.run import detect, visible

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nvidia-smi"
OWN = FIXTURES / "own"
MIB = 1024**2


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Install a fake nvidia-smi first on PATH; returns a function taking scenario files."""
    bin_dir = tmp_path / "bin"
    scenario = tmp_path / "scenario"

    def make(**files: str | Path) -> Path:
        install(bin_dir, scenario, files)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        return scenario
    return make


async def test_one_gpu(fake):
    fake(**{"query.csv": OWN / "query_rtx4090.csv"})
    snapshot = await detect()
    assert [gpu.name for gpu in snapshot.gpus] == ["NVIDIA GeForce RTX 4090"]
    assert snapshot.gpus[0].memory_free_bytes == 22998 * MIB
    assert snapshot.driver_version == "550.54.14"


async def test_multi_gpu(fake):
    scenario = fake(**{"query.csv": OWN / "query_8x_h100.csv"})
    snapshot = await detect()
    assert len(snapshot.gpus) == 8
    calls = (scenario / "calls.log").read_text().splitlines()
    assert len(calls) == 1 and "--format=csv,noheader,nounits" in calls[0]  # no MIG: one call


async def test_mig_runs_list_and_xml_and_joins_them(fake):
    scenario = fake(**{"query.csv": OWN / "query_a100_mig.csv", "list.txt": OWN / "list_a100_mig.txt",
                       "q.xml": FIXTURES / "xml_q_a100_sxm4_40gb_mig_driver510.xml"})
    snapshot = await detect()
    assert [(mig.profile, mig.memory_total_bytes // MIB) for mig in snapshot.mig_devices] == \
        [("3g.20gb", 19968), ("3g.20gb", 19968)]
    assert snapshot.cuda_version == "11.6"
    calls = (scenario / "calls.log").read_text().splitlines()
    assert calls[0].startswith("--query-gpu=") and sorted(calls[1:]) == ["-L", "-q -x"]


async def test_old_driver_gets_the_minimal_query(fake):
    scenario = fake(**{"query.csv": OWN / "query_rtx3090_minimal.csv", "reject_fields": ""})
    snapshot = await detect()
    assert [gpu.name for gpu in snapshot.gpus] == ["NVIDIA GeForce RTX 3090"]
    assert len((scenario / "calls.log").read_text().splitlines()) == 2


async def test_driver_not_loaded_exit_9(fake):
    fake(**{"stdout.txt": FIXTURES / "failed_driver_communication.txt", "exit_code": "9"})
    snapshot = await detect()
    assert not snapshot.found and snapshot.problem_kind == "driver"


async def test_no_devices(fake):
    fake(**{"stdout.txt": FIXTURES / "failed_no_devices_found.txt", "exit_code": "6"})
    snapshot = await detect()
    assert snapshot.problem_kind == "no-devices"


async def test_permissions(fake):
    fake(**{"stdout.txt": FIXTURES / "failed_nvml_insufficient_permissions.txt",
            "exit_code": "4"})
    assert (await detect()).problem_kind == "permission"


async def test_other_exit_code(fake):
    fake(**{"stdout.txt": "Unknown Error\n", "exit_code": "15"})
    snapshot = await detect()
    assert snapshot.problem_kind == "exit" and "15" in (snapshot.problem or "")


async def test_garbage_output(fake):
    fake(**{"query.csv": "\x00\x01 this is not csv at all\n"})
    snapshot = await detect()
    assert not snapshot.found and snapshot.problem_kind == "garbage"


async def test_a_hang_is_cut_off_at_the_timeout(fake):
    fake(hang="")
    started = time.perf_counter()
    snapshot = await detect(timeout_s=0.5)
    assert snapshot.problem_kind == "timeout"
    assert time.perf_counter() - started < 3


async def test_not_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    snapshot = await detect()
    assert snapshot.problem_kind == "not-installed"


async def test_cuda_visible_devices_narrows_by_index_and_uuid(fake, monkeypatch):
    fake(**{"query.csv": OWN / "query_mixed_2x_a10_2x_t4.csv"})
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,GPU-466be1f8")
    snapshot = await detect()
    assert [gpu.index for gpu in snapshot.gpus] == [2, 1]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    hidden = await detect()
    assert not hidden.found and hidden.problem_kind == "hidden"


def test_cuda_visible_devices_stops_at_an_invalid_entry():
    snapshot = parse_any((OWN / "query_mixed_2x_a10_2x_t4.csv").read_text())
    assert [gpu.index for gpu in visible(snapshot, "3,9,0").gpus] == [3]
    mig = parse_any((FIXTURES / "list_h100_mig_4instances_driver590.txt").read_text())
    only = visible(mig, "MIG-00000001")
    assert [m.profile for m in only.mig_devices] == ["2g.20gb"]


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gpufit.cli", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_cli_detect_exit_codes_and_json(fake):
    fake(**{"query.csv": OWN / "query_8x_h100.csv"})
    env = dict(os.environ)
    done = run_cli("detect", "--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert len(found["gpus"]) == 8 and found["gpus"][0]["catalog_id"] == "h100-sxm"
    assert found["options"][0]["count"] == 8
    text = run_cli("detect", env=env)
    assert "8 × NVIDIA H100 80GB HBM3" in text.stdout and "h100-sxm" in text.stdout


def test_cli_detect_reports_why_none_were_found(fake):
    fake(**{"stdout.txt": FIXTURES / "failed_driver_communication.txt", "exit_code": "9"})
    done = run_cli("detect", env=dict(os.environ))
    assert done.returncode == 1
    assert "driver" in done.stdout
    assert run_cli("detect", "--timeout", "zero", env=dict(os.environ)).returncode == 2


def test_cli_report_on_detected_hardware(fake):
    fake(**{"query.csv": OWN / "query_8x_h100.csv"})
    done = run_cli("report", "--gpu", "detected", "--model", "llama-3.1-70b", "--quant", "FP16",
                   "--format", "json", env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["gpu"]["id"], report["gpu"]["count"]) == ("h100-sxm", 8)
    assert report["gpu"]["memory_bytes"] == 81559 * MIB  # measured, not the catalog's
    assert report["memory"]["fits_in_free_memory"] is True


def test_cli_report_detected_with_nothing_found_exits_1(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}
    done = run_cli("report", "--gpu", "local", "--model", "llama-3.1-8b", "--quant", "Q4_K_M",
                   env=env)
    assert done.returncode == 1 and "not installed" in done.stderr


# What a person reading each recorded output sees (tests/fixtures/nvidia-smi/INDEX.md):
# GPU count, the first GPU's name, its memory in MiB (None: not reported), MIG instances.
SEEN_IN_FIXTURES = {
    "table_h100_mig_4instances_driver590.txt": (1, "NVIDIA H100 80GB HBM3", 81559, 4),
    "table_8x_h100_sxm_driver565.txt": (8, "NVIDIA H100 80GB HBM3", 81559, 0),
    "table_4x_tesla_k80_driver390_no_cuda_version.txt": (4, "Tesla K80", 11441, 0),
    "table_rtx2080super_driver610_kmd_header.txt": (1, "NVIDIA GeForce RTX 2080", 8192, 0),
    "table_laptop_rtx_a2000_8gb_driver560.txt": (1, "NVIDIA RTX A2000 8GB Lap", 8192, 0),
    "table_jetson_agx_orin_nvgpu_not_supported.txt": (1, "Orin (nvgpu)", None, 0),
    "list_h100_mig_4instances_driver590.txt": (1, "NVIDIA H100 80GB HBM3", None, 4),
    "list_mixed_2x_a10_2x_t4.txt": (4, "NVIDIA A10", None, 0),
    "q_h100_mig_driver590.txt": (1, "NVIDIA H100 80GB HBM3", 81559, 4),
    "q_8x_a100_sxm4_40gb_driver535.txt": (8, "NVIDIA A100-SXM4-40GB", 40960, 0),
    "xml_q_a100_sxm4_40gb_mig_driver510.xml": (1, "NVIDIA A100-SXM4-40GB", 40960, 2),
    "xml_q_rtx4090_driver535.xml": (1, "NVIDIA GeForce RTX 4090", 24564, 0),
    "xml_q_dual_rtx_a5000_driver590.xml": (2, "NVIDIA RTX A5000", 24564, 0),
    "csv_query_allfields_header_units_h100_driver590.txt": (1, "NVIDIA H100 80GB HBM3", 81559, 0),
    "csv_query_noheader_units_7x_a100_80gb.txt": (7, "NVIDIA A100-SXM4-80GB", 81920, 0),
    "csv_query_noheader_nounits_gb10_unified_memory.txt": (1, "NVIDIA GB10", None, 0),
}
FAILING_FIXTURES = {
    "failed_driver_communication.txt": ("9", "driver"),
    "failed_no_devices_found.txt": ("6", "no-devices"),
    "failed_nvml_insufficient_permissions.txt": ("4", "permission"),
    "rocm_smi_json_productname_use_meminfo_rx7900xt.txt": ("0", "garbage"),
}


@pytest.mark.parametrize("name", sorted(SEEN_IN_FIXTURES))
def test_every_recorded_output_behind_a_fake_nvidia_smi(fake, name):
    # A fake that prints the recording whatever it is asked, like a wrapper script would.
    fake(**{"stdout.txt": FIXTURES / name})
    done = run_cli("detect", "--format", "json", env=dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(done.stdout)
    count, first_name, memory, migs = SEEN_IN_FIXTURES[name]
    assert len(found["gpus"]) == count
    assert found["gpus"][0]["name"] == first_name
    total = found["gpus"][0]["memory_total_bytes"]
    assert (None if total is None else total // MIB) == memory
    assert len(found["mig_devices"]) == migs
    for option in found["options"]:  # a MIG slice is never given its parent's memory
        if "MIG" in option["label"]:
            assert option["memory_per_gpu_bytes"] < 0.9 * (memory or 81559) * MIB


@pytest.mark.parametrize("name", sorted(FAILING_FIXTURES))
def test_every_recorded_failure_behind_a_fake_nvidia_smi(fake, name):
    code, kind = FAILING_FIXTURES[name]
    fake(**{"stdout.txt": FIXTURES / name, "exit_code": code})
    done = run_cli("detect", "--format", "json", env=dict(os.environ))
    assert done.returncode == 1
    assert json.loads(done.stdout)["problem_kind"] == kind
