"""Plain tests of the UI's pure parts: the memory bar, formatting, settings, themes, reports."""

from __future__ import annotations

import tomllib
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpufit.core.setup import Setup
from gpufit.core.specs import GB
from gpufit.persist.settings import Settings, SettingsStore
from gpufit.service import EstimateRequest, compute
from gpufit.ui import format as fmt
from gpufit.ui.reports import report_path, report_text
from gpufit.ui.themes import ThemeError, load_theme_file, load_themes, shipped_themes_dir
from gpufit.ui.widgets.memory_bar import CAPACITY_GLYPH, allocate, bar, breakdown
from gpufit.ui.widgets.quant import HEADER, quant_prompt
from gpufit.ui.widgets.workload import cycle


def result_for(catalog, gpu="rtx-4090", model="llama-3.1-8b", quant="Q4_K_M", **workload):
    return compute(EstimateRequest(Setup(gpu_id=gpu, model_id=model, quant_id=quant, **workload)),
                   catalog)


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=6),
       st.integers(min_value=0, max_value=300))
def test_allocate_fills_exactly_and_shows_every_part_it_can(values, cells):
    counts = allocate(values, cells)
    assert len(counts) == len(values)
    if sum(values) == 0 or cells == 0:
        assert counts == [0] * len(values)
        return
    assert sum(counts) == cells
    assert all(count >= 0 for count in counts)
    nonzero = [index for index, value in enumerate(values) if value > 0]
    if len(nonzero) <= cells:
        assert all(counts[index] >= 1 for index in nonzero)


def test_bar_reads_without_colour(catalog):
    memory = result_for(catalog).estimate.memory
    text = bar(memory, 40).plain
    assert len(text) == 40
    assert text.startswith("█") and "▓" in text and "·" in text  # weights, KV, free
    assert CAPACITY_GLYPH not in text


def test_bar_marks_capacity_when_short(catalog):
    memory = result_for(catalog, model="llama-3.1-70b").estimate.memory
    assert memory.headroom_bytes < 0
    text = bar(memory, 50).plain
    assert CAPACITY_GLYPH in text and "·" not in text
    table = breakdown(memory, "GB").plain
    short = next(line for line in table.splitlines() if "short" in line)
    # One unit at the end, as in the verdict line: "short  41.5 of 24.0 GB".
    assert short.endswith(f"{-memory.headroom_bytes / 1e9:.1f} of "
                          f"{memory.available_bytes / 1e9:.1f} GB")


def test_breakdown_switches_units(catalog):
    memory = result_for(catalog).estimate.memory
    assert "GiB" in breakdown(memory, "GiB").plain
    assert "GiB" not in breakdown(memory, "GB").plain


@pytest.mark.parametrize(("value", "units", "expected"), [
    (24 * GB, "GB", "24.0 GB"), (24 * 1024**3, "GiB", "24.0 GiB"), (1_500 * GB, "GB", "1,500.0 GB")])
def test_size(value, units, expected):
    assert fmt.size(value, units) == expected


def test_small_formatters():
    assert fmt.rate(1234.4) == "1,234" and fmt.rate(51.46) == "51.5" and fmt.rate(7.154) == "7.15"
    assert fmt.tokens(131072) == "128k" and fmt.tokens(1048576) == "1M" and fmt.tokens(1000) == "1,000"
    assert fmt.params(8.03e9) == "8.0B" and fmt.params(141e9) == "141B" and fmt.params(494e6) == "494M"
    assert fmt.params(999.9e6) == "1.0B" and fmt.params(99.97e9) == "100B"
    assert fmt.seconds(0.25) == "250 ms" and fmt.seconds(1.654) == "1.65 s"
    assert fmt.short_gpu_name("NVIDIA GeForce RTX 4090 24 GB") == "RTX 4090 24 GB"
    assert fmt.short_gpu_name("AMD Instinct MI300X 192 GB") == "AMD Instinct MI300X 192 GB"
    assert cycle(("a", "b", "c"), "c") == "a" and cycle(("a", "b"), "zzz") == "a"


def test_quant_rows_are_fixed_width_and_say_the_verdict_in_words(catalog):
    result = result_for(catalog, model="llama-3.1-70b")
    rows = {row.quant.id: row for row in result.quant_rows}
    for quant in catalog.quants.values():
        prompt = quant_prompt(quant, rows[quant.id], "llama.cpp").plain
        assert len(prompt) == len(HEADER)
        words = ("fits", "tight", "no") if "llama.cpp" in quant.engines else ("n/a",)
        assert any(word in prompt for word in words), prompt
    assert "no" in quant_prompt(catalog.quants["Q4_K_M"], rows["Q4_K_M"], "llama.cpp").plain
    # A quant the engine cannot run says so in words, not by strikethrough or colour alone.
    awq = quant_prompt(catalog.quants["AWQ-INT4"], rows["AWQ-INT4"], "llama.cpp")
    assert "n/a" in awq.plain and "strike" not in str(awq.spans)


def test_settings_round_trip(tmp_path):
    path = tmp_path / "deep" / "settings.toml"
    store = SettingsStore(path)
    assert store.settings == Settings() and not path.exists()
    store.update(theme="gpufit-light", units="GB")  # both differ from the defaults
    assert tomllib.loads(path.read_text()) == {"theme": "gpufit-light", "units": "GB"}
    assert SettingsStore(path).settings == Settings("gpufit-light", "GB")
    assert not list(path.parent.glob(".settings-*"))  # the temporary file was replaced


def test_settings_with_wrong_types_fall_back_per_field(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text('theme = 3\nunits = "GB"\n')
    assert SettingsStore(path).settings == Settings(units="GB")


def test_corrupt_settings_moved_aside(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_bytes(b"\xff\xfe not utf-8 = [")
    store = SettingsStore(path)
    assert store.settings == Settings() and store.problems
    assert not path.exists() and len(list(tmp_path.glob("settings.toml.corrupt-*"))) == 1


def test_shipped_themes_load():
    loaded = load_themes([shipped_themes_dir()])
    assert loaded.problems == []
    names = {theme.name for theme in loaded.themes}
    assert {"gpufit-dark", "gpufit-light", "gpufit-high-contrast"} <= names
    light = next(theme for theme in loaded.themes if theme.name == "gpufit-light")
    assert light.dark is False


@pytest.mark.parametrize(("text", "problem"), [
    ('primary = "#FFFFFF"\n', "'name'"),
    ('name = "x"\n', "'primary'"),
    ('name = "x"\nprimary = "#12"\n', "not a colour"),
    ('name = "x"\nprimary = "#123456"\ncolour = "#123456"\n', "unknown key"),
    ('name = "x"\nprimary = "#123456"\ndark = "yes"\n', "'dark'"),
    ("name = [", "not valid TOML"),
])
def test_bad_theme_files_say_what_is_wrong(tmp_path, text, problem):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ThemeError, match=problem):
        load_theme_file(path)
    loaded = load_themes([tmp_path, tmp_path / "missing"])
    assert loaded.themes == [] and "bad.toml" in loaded.problems[0]


def test_report_files_are_named_after_model_and_quant(catalog, tmp_path):
    result = result_for(catalog)
    assert report_path(result, "json", tmp_path).name == "gpufit-report-llama-3.1-8b-Q4_K_M.json"
    assert report_path(result, "markdown", tmp_path).suffix == ".md"
    assert report_text(result, "markdown").startswith("# Llama 3.1 8B")
    odd = replace(result, estimate=replace(result.estimate, model=replace(
        result.estimate.model, id="org/model name")))
    assert report_path(odd, "json", tmp_path).name == "gpufit-report-org-model-name-Q4_K_M.json"


def test_settings_keep_host_values_and_name_bad_ones(tmp_path):
    path = tmp_path / "settings.toml"
    store = SettingsStore(path)
    store.update(price_per_gpu_hour=2.5, ram_gb=512.0)
    saved = tomllib.loads(path.read_text())
    assert saved["price_per_gpu_hour"] == 2.5 and saved["ram_gb"] == 512.0
    assert "ram_bandwidth_gbps" not in saved  # unset stays out of the file (TOML has no null)
    path.write_text('price_per_gpu_hour = -3\nram_bandwidth_gbps = "fast"\nram_gb = 64\n')
    reloaded = SettingsStore(path)
    assert reloaded.settings.ram_gb == 64.0
    assert reloaded.settings.price_per_gpu_hour is None
    assert reloaded.settings.ram_bandwidth_gbps is None
    assert any("price_per_gpu_hour" in problem for problem in reloaded.problems)
    assert any("ram_bandwidth_gbps" in problem for problem in reloaded.problems)
