"""The headless CLI, run as a real subprocess: exit codes, JSON contract, messages."""

from __future__ import annotations

import json
import subprocess
import sys

CONTRACT = {
    "gpu": {"id", "name", "count", "memory_bytes", "bandwidth_gbps"},
    "model": {"id", "name", "params_total", "params_active"},
    "quant": {"id", "bits_per_weight"},
    "workload": {"context_tokens", "sequences", "kv_cache_dtype", "kv_cache_stored", "engine",
                 "flash_attention", "flash_attention_on"},
    "memory": {"weights_bytes", "naive_weights_bytes", "kv_cache_bytes", "activations_bytes",
               "overhead_bytes", "total_bytes", "available_bytes", "headroom_bytes"},
    "speed": {"decode_tokens_per_s", "prefill_tokens_per_s", "time_to_first_token_s", "bound",
              "low", "high"},
}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gpufit.cli", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_report_json_holds_the_contract():
    done = cli("report", "--gpu", "a100-80gb-sxm", "--model", "mixtral-8x22b", "--quant", "Q4_K_M",
               "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    for section, keys in CONTRACT.items():
        assert keys <= set(report[section]), section
    assert report["verdict"] in {"fits", "tight", "does-not-fit"}
    assert report["workload"]["context_tokens"] == 8192  # min(8192, 65536)
    assert isinstance(report["max_context_tokens"], int)
    assert isinstance(report["max_sequences"], int)
    assert all({"kind", "text"} <= set(item) for item in report["recommendations"])
    memory = report["memory"]
    assert memory["headroom_bytes"] == memory["available_bytes"] - memory["total_bytes"]


def test_default_context_is_capped_by_the_model():
    done = cli("report", "--gpu", "rtx-4090", "--model", "llama-2-7b", "--quant", "Q4_0",
               "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["workload"]["context_tokens"] == 4096


def test_markdown_and_text_state_the_context():
    for fmt in ("markdown", "text"):
        done = cli("report", "--gpu", "rtx-3090", "--model", "mixtral-8x22b", "--quant", "Q3_K_M",
                   "--format", fmt)
        assert done.returncode == 0
        assert "8,192" in done.stdout
        assert "DOES NOT FIT" in done.stdout


def test_unknown_gpu_exits_2_with_suggestions():
    done = cli("report", "--gpu", "A100 81GB SMX", "--model", "llama-3.1-8b", "--quant", "Q4_K_M")
    assert done.returncode == 2
    assert "did you mean" in done.stderr
    assert "a100" in done.stderr


def test_bad_flag_value_exits_2():
    done = cli("report", "--gpu", "rtx-4090", "--model", "llama-3.1-8b", "--quant", "Q4_K_M",
               "--context", "-5")
    assert done.returncode == 2
    assert "--context" in done.stderr


def test_list_json_and_search():
    done = cli("list", "gpus", "--search", "a100", "--format", "json")
    assert done.returncode == 0
    ids = {row["id"] for row in json.loads(done.stdout)}
    assert {"a100-40gb-pcie", "a100-80gb-sxm"} <= ids
    assert all("a100" in row_id for row_id in ids)


def test_version():
    done = cli("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("gpufit-tui ")


def test_broken_user_catalog_is_reported_and_report_still_works(tmp_path, monkeypatch):
    catalog_dir = tmp_path / "data" / "catalog"
    catalog_dir.mkdir(parents=True)
    (catalog_dir / "mine.toml").write_text('[[gpu]]\nid = "x"\n', encoding="utf-8")
    monkeypatch.setenv("GPUFIT_DATA_DIR", str(tmp_path / "data"))
    done = cli("report", "--gpu", "rtx-4090", "--model", "llama-3.1-8b", "--quant", "Q4_K_M")
    assert done.returncode == 0
    assert "mine.toml" in done.stderr and "'x'" in done.stderr


def test_report_answers_the_fp16_mixtral_on_one_a100_40gb_question():
    done = cli("report", "--gpu", "a100-40gb-sxm", "--model", "mixtral-8x22b", "--quant", "FP16",
               "--ram-gb", "512", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "does-not-fit"
    # 141 B parameters × 2 bytes ≈ 281 GB against 40 GiB: more than 240 GB short.
    assert -report["memory"]["headroom_bytes"] > 240e9
    counts = {item["gpu"]: item["count"] for item in report["recommendations"]
              if item["kind"] == "gpus"}
    assert counts["a100-40gb-sxm"] >= 7 and counts["a100-80gb-sxm"] >= 4
    assert any(item["kind"] == "quant" for item in report["recommendations"])
    plans = report["offload"]
    assert plans and all(plan["slow"] and plan["ram_fits"] for plan in plans)
    assert any("--n-cpu-moe" in plan["llama_cpp_flags"] for plan in plans)
    # 512 GB of RAM entered: the plans keep ≥ 281 − 42.9 GB of weights there.
    assert all(plan["host_bytes"] > 238e9 for plan in plans)
    assert report["energy"] is None  # nothing to charge: it does not fit


def test_report_serving_and_cost_for_mixtral_awq_on_an_a100_80gb():
    done = cli("report", "--gpu", "a100-80gb-sxm", "--model", "mixtral-8x7b", "--quant",
               "AWQ-INT4", "--engine", "vllm", "--price-per-gpu-hour", "2", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    serving = report["serving"]
    assert serving["best_concurrency"] and serving["max_concurrency"] >= serving["best_concurrency"]
    best = next(point for point in serving["points"]
                if point["concurrency"] == serving["best_concurrency"])
    assert best["tpot_s"] <= serving["tpot_limit_s"]
    energy = report["energy"]
    # Cost = price × GPUs / (tokens per hour / 10^6) at the best concurrency's throughput.
    expected = 2 / (best["aggregate_tokens_per_s"] * 3600 / 1e6)
    assert abs(energy["cost_per_million_tokens"] - expected) / expected < 0.01
    # AWQ is not a llama.cpp format: only the engine that runs it gets a command.
    assert {hint["engine"] for hint in report["run_hints"]} == {"vllm"}
    assert report["run_hints"][0]["command"].startswith("vllm serve")
