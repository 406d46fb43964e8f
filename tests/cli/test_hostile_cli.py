"""Hostile command lines (issue 17, items 5, 6, 24, 25): every number a flag takes, fed NaN, ±∞,
0, negatives, huge values and other scripts' digits, through `gpufit.cli.main` in this process.

The contract asserted: exit code 0, 1 or 2 only; never a traceback; a usage error is one line;
`--format json` output is valid JSON (RFC 8259 has no NaN or Infinity); every run within the
time stated below.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpufit.cli import main
from gpufit.persist.profiles import Profile, ProfileStore

SECONDS_PER_RUN = 10.0
"""A bound far above a normal run (≈ 0.5 s for a sweep here) and far below the minutes that an
unbounded count took before (64 s for `report --count 10000000`)."""

HOSTILE_NUMBERS = ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e-400",
                   "0", "-0", "-1", "0.0", "1e308", "1e9", "1e10", "99999999999999999999",
                   "9" * 5000, "١٢", "１２", "٣.٥", "𝟙𝟚", "12\u00a0", "", " ", "1_000", "0x10",
                   "16", "17", "1.5", "2"]
"""Hand-picked: the values the issue reports plus ASCII look-alikes and IEEE-754 edges."""

numbers = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(alphabet=st.characters(categories=("Nd",)), min_size=1, max_size=4),
)

REPORT = ["report", "--gpu", "rtx-4090", "--model", "qwen3-8b", "--quant", "Q4_K_M"]
FLAGS = {
    # flag: the command it goes with
    "--memory-gb": REPORT, "--ram-gb": REPORT, "--ram-bandwidth": REPORT,
    "--price-per-gpu-hour": REPORT, "--tpot-limit-ms": REPORT, "--count": REPORT,
    "--context": REPORT, "--sequences": REPORT, "--prompt-tokens": REPORT,
    "--output-tokens": REPORT, "--hub-timeout": REPORT, "--timeout": REPORT,
}
SWEEP_GPU = ["sweep", "--gpu", "rtx-4090"]
SWEEP_MODEL = ["sweep", "--model", "qwen3-8b", "--quant", "Q4_K_M"]
SWEEP_FLAGS = {"--min-speed": SWEEP_GPU, "--max-quality-loss": SWEEP_GPU, "--count": SWEEP_GPU,
               "--limit": SWEEP_GPU, "--max-count": SWEEP_MODEL, "--context": SWEEP_MODEL,
               "--sequences": SWEEP_MODEL}


def run(argv: list[str]) -> tuple[int, str, str, float]:
    """`main(argv)` in this process: exit code, stdout, stderr, seconds."""
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as stop:  # argparse's usage errors and --help
            code = stop.code if isinstance(stop.code, int) else 2
    return code, out.getvalue(), err.getvalue(), time.monotonic() - started


def strict_json(text: str) -> object:
    def refuse(constant: str) -> object:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def check(argv: list[str]) -> tuple[int, str, str]:
    code, out, err, seconds = run(argv)
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    assert seconds < SECONDS_PER_RUN, (argv, seconds)
    if code == 2 and err:
        assert len(err.strip().splitlines()) <= 2, err  # the message (and at most one note)
    if code == 0 and "--format" in argv and argv[argv.index("--format") + 1] == "json":
        strict_json(out)
    return code, out, err


def flag_value(argv: list[str], flag: str, value: str) -> list[str]:
    # `--flag=value` so that a value starting with "-" is not taken for another flag.
    return [*argv, f"{flag}={value}", "--format", "json"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flag=st.sampled_from(sorted(FLAGS)), value=numbers)
def test_every_report_number_flag_exits_cleanly(flag: str, value: str) -> None:
    check(flag_value(FLAGS[flag], flag, value))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flag=st.sampled_from(sorted(SWEEP_FLAGS)), value=numbers)
def test_every_sweep_number_flag_exits_cleanly(flag: str, value: str) -> None:
    check(flag_value(SWEEP_FLAGS[flag], flag, value))


@pytest.mark.parametrize("flag", sorted(FLAGS))
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "١٢", "１２"])
def test_non_finite_and_non_ascii_numbers_are_refused_in_one_line(flag: str, value: str) -> None:
    code, out, err = check(flag_value(FLAGS[flag], flag, value))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert flag in err


@pytest.mark.parametrize("flag", ["--min-speed", "--max-quality-loss"])
@pytest.mark.parametrize("value", ["nan", "inf", "1e400"])
def test_sweep_refuses_nan_speed_instead_of_saying_nothing_fits(flag: str, value: str) -> None:
    code, out, err = check(flag_value(SWEEP_GPU, flag, value))
    assert code == 2 and "Nothing fits" not in out and flag in err


@pytest.mark.parametrize("argv", [
    [*REPORT, "--count"], [*SWEEP_GPU, "--count"], [*SWEEP_MODEL, "--max-count"]])
@pytest.mark.parametrize("count", ["17", "10000", "10000000", str(2**63), "1" + "0" * 4000])
def test_gpu_counts_have_one_bound_on_every_path(argv: list[str], count: str) -> None:
    # The issue measured 64 s and 4.1 GB for `report --count 10000000`; profiles cap at 16.
    code, _, err = check([*argv, count, "--format", "json"])
    assert code == 2 and "16" in err


def test_sixteen_gpus_is_still_a_valid_count() -> None:
    code, out, _ = check([*REPORT, "--count", "16", "--format", "json"])
    assert code == 0 and isinstance(strict_json(out), dict)


# -- a reader that stops early (`| head`) ----------------------------------------------------

def _closed_pipe_run(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI with stdout a pipe whose reading end is closed before it writes, which is
    what `| head -1` looks like once head has its line (and, unlike a real head, with no race)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "gpufit.cli", *args], stdout=write_end,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60,
                              check=False, env=dict(os.environ))
    finally:
        os.close(write_end)


@pytest.mark.parametrize("args", [("list", "models"), ("list", "gpus", "--format", "json"),
                                  ("profiles", "list", "--format", "json"),
                                  ("sweep", "--gpu", "rtx-4090")])
def test_a_closed_pipe_ends_quietly(args: tuple[str, ...]) -> None:
    if args[0] == "profiles":
        ProfileStore(Path(os.environ["GPUFIT_CONFIG_DIR"]) / "profiles").save(
            Profile(name="p", gpu="rtx-4090", model="qwen3-8b", quant="Q4_K_M"))
    done = _closed_pipe_run(*args)
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode in (0, 1)


# -- JSON is always valid ------------------------------------------------------------------

def test_profile_extras_holding_toml_nan_and_inf_print_as_valid_json() -> None:
    # TOML has nan and inf; an unknown key survives in `extra`, and `show --format json` must
    # still print JSON.
    directory = Path(os.environ["GPUFIT_CONFIG_DIR"]) / "profiles"
    ProfileStore(directory).save(Profile(name="odd", gpu="rtx-4090", model="qwen3-8b",
                                         quant="Q4_K_M"))
    path = directory / "odd.toml"
    path.write_text("weird = nan\nlarger = -inf\n" + path.read_text(encoding="utf-8"),
                    encoding="utf-8")
    for argv in (["profiles", "show", "odd", "--format", "json"],
                 ["profiles", "list", "--format", "json"]):
        code, out, err = check(argv)
        assert code == 0, err
        text = json.dumps(strict_json(out))
        assert "NaN" not in text and "Infinity" not in text


def test_a_non_finite_result_is_refused_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever upstream produces, `--format json` never prints NaN: a stand-in assessment
    # serialiser returning a NaN figure must give exit 1 and a one-line message.
    import gpufit.core.report as report

    monkeypatch.setattr(report, "to_dict", lambda assessment: {"tokens_per_s": math.nan})
    code, out, err = check([*REPORT, "--format", "json"])
    assert code == 1 and out == "" and "JSON" in err


EXTREME_FLOATS = ["1e-9", "1e-6", "0.5", "1", "1e6", "1e9", "5e-324"]
EXTREME_COUNTS = {"--count": ["1", "2", "16"], "--context": ["1", "16777216", "999999999"],
                  "--sequences": ["1", "4096", "4097"], "--prompt-tokens": ["1", "16777216"],
                  "--output-tokens": ["1", "16777216"]}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_extreme_but_valid_combinations_give_finite_valid_json(data: st.DataObject) -> None:
    # Each value alone is accepted; together (a GPU of 1e-9 GB, RAM at 1e-9 GB/s, a price of
    # 1e9 per hour, a 16M-token context) the figures must stay finite JSON, or the run refuses.
    argv = ["report", "--gpu", data.draw(st.sampled_from(["rtx-4090", "h100-sxm"])),
            "--model", data.draw(st.sampled_from(["qwen3-8b", "llama-3.1-405b"])),
            "--quant", data.draw(st.sampled_from(["Q4_K_M", "FP16"])),
            "--engine", data.draw(st.sampled_from(["llama.cpp", "vllm"])), "--format", "json"]
    for flag in ("--memory-gb", "--ram-gb", "--ram-bandwidth", "--price-per-gpu-hour",
                 "--tpot-limit-ms"):
        if data.draw(st.booleans()):
            argv += [flag, data.draw(st.sampled_from(EXTREME_FLOATS))]
    for flag, values in EXTREME_COUNTS.items():
        if data.draw(st.booleans()):
            argv += [flag, data.draw(st.sampled_from(values))]
    code, out, _ = check(argv)
    if code == 0:
        assert isinstance(strict_json(out), dict)
