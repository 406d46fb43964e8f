"""`report --model org/name`: a Hub repo gives the same report as its files on disk; failures exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_hub import FakeHub
from gguf import LlamaFileType
from model_files import (
    HF_LLAMA_CONFIG,
    LLAMA_METADATA,
    hf_llama_tensors,
    llama_tensors,
    write_gguf,
    write_safetensors,
)

from gpufit.cli import main


@pytest.fixture()
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeHub]:
    server = FakeHub()
    monkeypatch.setenv("HF_ENDPOINT", server.start())
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps(HF_LLAMA_CONFIG))
    write_safetensors(hf / "model.safetensors", hf_llama_tensors())
    server.add("acme/Tiny-Llama", _files(hf))
    gguf = tmp_path / "gguf"
    gguf.mkdir()
    write_gguf(gguf / "Tiny-Llama-Q4_K_M.gguf", "llama", LLAMA_METADATA, llama_tensors(),
               LlamaFileType.MOSTLY_Q4_K_M, vocab=512)
    write_gguf(gguf / "Tiny-Llama-Q8_0.gguf", "llama", LLAMA_METADATA,
               llama_tensors(main="Q8_0", head="Q8_0"), LlamaFileType.MOSTLY_Q8_0, vocab=512)
    server.add("acme/Tiny-Llama-GGUF", _files(gguf))
    server.add("acme/gated", _files(hf), status=401, error_code="GatedRepo")
    yield server
    server.stop()


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def _report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    code = main(["report", "--gpu", "rtx-4090", "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else {}), err


def _weights(report: dict) -> tuple[object, ...]:
    return (report["memory"]["weights_bytes"], report["quant"]["id"],
            report["model"]["file"]["weights_bytes"], report["model"]["file"]["label"])


def test_a_safetensors_repo_reports_like_its_folder(
        fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, remote, err = _report(capsys, "--model", "acme/Tiny-Llama")
    assert code == 0, err
    assert "reading acme/Tiny-Llama from http://127.0.0.1:" in err
    code, local, err = _report(capsys, "--model", str(tmp_path / "hf"))
    assert code == 0, err
    assert _weights(remote) == _weights(local)
    assert remote["memory"]["total_bytes"] == local["memory"]["total_bytes"]
    assert remote["model"]["file"]["exact_weights"] is True


def test_a_gguf_repo_takes_the_quant_from_the_name_or_the_flag(
        fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, by_suffix, err = _report(capsys, "--model", "acme/Tiny-Llama-GGUF:Q8_0")
    assert code == 0, err
    code, by_flag, err = _report(capsys, "--model", "acme/Tiny-Llama-GGUF", "--quant", "Q8_0")
    assert code == 0, err
    code, local, err = _report(capsys, "--model", str(tmp_path / "gguf" / "Tiny-Llama-Q8_0.gguf"))
    assert code == 0, err
    assert _weights(by_suffix) == _weights(by_flag) == _weights(local)
    assert by_flag["quant"]["id"] == "Q8_0"


def test_a_gguf_repo_without_a_quant_lists_its_quants(
        fake_hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    code, _report_json, err = _report(capsys, "--model", "acme/Tiny-Llama-GGUF")
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("gpufit-tui: --model acme/Tiny-Llama-GGUF: the repo offers 2 "
                                "GGUF quants: Q4_K_M (")
    assert "Q8_0 (" in lines[-1]


def test_failures_exit_2_with_one_line(fake_hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _report(capsys, "--model", "acme/gated", "--hub-timeout", "3")
    # A line saying the network is used, then the failure in one line.
    assert code == 2
    assert err.strip().splitlines()[1:] == [
        "gpufit-tui: --model acme/gated: 401 gated or private repo: accept the licence on the "
        "Hub and set HF_TOKEN"]
    code, _, err = _report(capsys, "--model", "nobody/nothing")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("gpufit-tui: reading nobody/nothing from")
    assert lines[1].startswith("gpufit-tui: --model nobody/nothing: 404 no such model repo")


def test_a_catalog_alias_wins_without_the_network(capsys: pytest.CaptureFixture[str]) -> None:
    # HF_ENDPOINT points at a closed port (conftest): a lookup would fail, the catalog answers.
    code, report, err = _report(capsys, "--model", "meta-llama/Llama-3.1-8B-Instruct",
                                "--quant", "Q4_K_M")
    assert code == 0, err
    assert report["model"]["id"] == "llama-3.1-8b"
    assert "reading" not in err


def test_the_second_report_needs_no_server(
        fake_hub: FakeHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, first, err = _report(capsys, "--model", "acme/Tiny-Llama-GGUF:Q4_K_M")
    assert code == 0, err
    fake_hub.stop()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # A fresh process: nothing kept in memory, only the cache on disk.
    done = subprocess.run([sys.executable, "-m", "gpufit.cli", "report", "--gpu", "rtx-4090",
                           "--model", "acme/Tiny-Llama-GGUF:Q4_K_M", "--format", "json"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert _weights(json.loads(done.stdout)) == _weights(first)
    assert "from the cache, no network" in done.stderr


def test_the_timeout_comes_from_the_flag_or_settings(
        fake_hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    from gpufit.persist.paths import config_dir

    fake_hub.add("acme/slow", {"config.json": b"{}"}, delay_s=1.5)
    code, _, err = _report(capsys, "--model", "acme/slow", "--hub-timeout", "0.3")
    assert code == 2 and "did not answer within 0.3 s" in err
    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "settings.toml").write_text("hub_timeout_s = 0.4\n")
    code, _, err = _report(capsys, "--model", "acme/slow")
    assert code == 2 and "did not answer within 0.4 s" in err


def test_the_app_refuses_a_hub_model_it_cannot_read_before_it_starts(
        capsys: pytest.CaptureFixture[str]) -> None:
    # HF_ENDPOINT points at a closed port (conftest): the app must not open, and says why.
    code = main(["--model", "acme/Tiny-Llama", "--hub-timeout", "2"])
    assert code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("gpufit-tui: --model acme/Tiny-Llama: offline: cannot connect to "
                           "http://127.0.0.1:9")
