"""`gpufit-tui sweep`: best models for a GPU, smallest hardware for a model, and bad flags."""

from __future__ import annotations

import json
import math

import pytest

from gpufit.cli import main
from gpufit.core.specs import GB, MIB


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sweep_gpu_ranks_models_that_fit_and_are_fast_enough(capsys):
    code, out, _err = run(capsys, "sweep", "--gpu", "rtx-4090", "--format", "json", "--limit", "500")
    assert code == 0
    rows = json.loads(out)["rows"]
    assert len(rows) >= 10
    # The RTX 4090 has 24 GiB: every row must need less, decode ≥ 10 tok/s and lose ≤ 10 %.
    for row in rows:
        assert row["total_bytes"] <= 24 * 1024**3
        assert row["verdict"] == "fits"
        assert row["decode_tokens_per_s"] >= 10
        assert row["quality_loss_pct"] <= 10
    # One row per model, ranked by capability (bigger first).
    assert len({row["model"] for row in rows}) == len(rows)
    sizes = [row["capability_params"] for row in rows]
    assert sizes == sorted(sizes, reverse=True)
    # Nothing that needs more than 24 GB at any quant (a 70B model) can be on the list.
    assert "llama-3.1-70b" not in {row["model"] for row in rows}
    assert "llama-3.1-8b" in {row["model"] for row in rows}


def test_sweep_gpu_thresholds_filter(capsys):
    _code, out, _err = run(capsys, "sweep", "--gpu", "rtx-4090", "--format", "json",
                           "--min-speed", "60", "--limit", "60")
    rows = json.loads(out)["rows"]
    assert rows and all(row["decode_tokens_per_s"] >= 60 for row in rows)


def test_sweep_model_lists_smallest_setups_first(capsys):
    code, out, _err = run(capsys, "sweep", "--model", "mixtral-8x22b", "--quant", "FP16",
                          "--format", "json", "--limit", "100")
    assert code == 0
    rows = json.loads(out)["rows"]
    # Smallest memory as shown (0.1 GB) first; rows that look equal go by power.
    shown = [round(row["total_memory_bytes"] / 1e8) for row in rows]
    assert shown == sorted(shown)
    by_gpu = {row["gpu"]: row for row in rows}
    # 140.6 B parameters × 2 bytes = 281 GB: at least ceil(281 GB / 80 GiB) = 4 A100 80GB.
    assert by_gpu["a100-80gb-sxm"]["count"] >= math.ceil(140.6e9 * 2 / (81920 * MIB))
    assert all(row["total_memory_bytes"] >= 281 * GB for row in rows)
    # A single MIG slice never holds it, and a 24 GB card would need more than 8.
    assert not any("-mig-" in gpu for gpu in by_gpu)
    assert "rtx-4090" not in by_gpu


def test_sweep_text_and_markdown(capsys):
    code, out, _err = run(capsys, "sweep", "--gpu", "rtx-4090", "--limit", "3")
    assert code == 0
    assert out.startswith("What fits best on NVIDIA GeForce RTX 4090")
    assert len(out.strip().splitlines()) == 5  # title, heading, three rows
    code, out, _err = run(capsys, "sweep", "--model", "llama-3.1-8b", "--quant", "Q4_K_M",
                          "--format", "markdown", "--limit", "2")
    assert code == 0
    assert "| # | setup |" in out


def test_sweep_usage_errors_exit_2(capsys):
    assert run(capsys, "sweep")[0] == 2
    code, _out, err = run(capsys, "sweep", "--gpu", "rtx-4090", "--model", "llama-3.1-8b")
    assert code == 2 and "either --gpu" in err
    code, _out, err = run(capsys, "sweep", "--gpu", "rtx-40900")
    assert code == 2 and "not in the catalog" in err
    code, _out, err = run(capsys, "sweep", "--model", "llama-3.1-8b", "--quant", "Q4_K_M",
                          "--count", "2")
    assert code == 2 and "--max-count" in err


def test_sweep_order_names_the_orders_the_core_ranks_by() -> None:
    from gpufit.cli_sweep import ORDERS
    from gpufit.core.rank import BEST_ORDERS

    assert tuple(BEST_ORDERS) == ORDERS


def test_sweep_gpu_orders_as_asked_and_says_how(capsys):
    rows = {}
    for order in ("capability", "speed", "quality", "size"):
        code, out, _err = run(capsys, "sweep", "--gpu", "rtx-4090", "--order", order,
                              "--format", "json", "--limit", "500")
        assert code == 0
        rows[order] = json.loads(out)["rows"]
    # The same models each time, in the order asked for (checked on the rows' own figures).
    assert sorted(row["model"] for row in rows["speed"]) == sorted(
        row["model"] for row in rows["capability"])
    speeds = [row["decode_tokens_per_s"] for row in rows["speed"]]
    assert speeds == sorted(speeds, reverse=True)
    losses = [row["quality_loss_pct"] for row in rows["quality"]]
    assert losses == sorted(losses)
    capability = [row["capability_params"] for row in rows["capability"]]
    assert capability == sorted(capability, reverse=True)
    assert rows["speed"] != rows["capability"]  # a real choice on this GPU
    code, out, _err = run(capsys, "sweep", "--gpu", "rtx-4090", "--order", "speed")
    assert "fastest decode first" in out
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", "--gpu", "rtx-4090", "--order", "fastest"])
    assert exit_info.value.code == 2 and "--order" in capsys.readouterr().err
