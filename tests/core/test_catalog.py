"""Catalog loading: every shipped entry is valid; broken files are reported precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpufit.core.catalog import builtin_catalog_dir, load_catalog, load_catalog_files
from gpufit.core.tensors import parameter_count

GOOD_GPU = """
[[gpu]]
id = "test-gpu"
name = "Test GPU"
aliases = ["TG"]
vendor = "nvidia"
family = "Data centre"
architecture = "Ampere"
memory_mib = 40960
bandwidth_gbps = 1555
fp16_tflops = 312
tdp_watts = 250
interconnect = "pcie"
interconnect_gbps = 64
source = "https://example.invalid/spec"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_catalog_loads_without_issues(catalog):
    assert catalog.issues == []
    assert len(catalog.gpus) >= 10
    assert len(catalog.models) >= 7
    assert len(catalog.quants) >= 13


def test_required_seed_entries_exist(catalog):
    for gpu in ("a100-40gb-pcie", "a100-80gb-pcie", "a100-40gb-sxm", "a100-80gb-sxm", "h100-sxm",
                "h100-pcie", "h200", "l40s", "rtx-3090", "rtx-4090"):
        assert gpu in catalog.gpus
    for model in ("mixtral-8x7b", "mixtral-8x22b", "mistral-7b", "llama-3.1-8b", "llama-3.1-70b",
                  "qwen2.5-7b", "qwen2.5-72b"):
        assert model in catalog.models
    for quant in ("FP32", "FP16", "BF16", "FP8", "INT8", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M",
                  "Q4_0", "Q3_K_M", "Q2_K", "AWQ-INT4", "GPTQ-INT4"):
        assert quant in catalog.quants


def test_a100_80gb_memory_is_what_nvidia_smi_reports(catalog):
    # nvidia-smi reports 81920 MiB for an A100-SXM4-80GB (shared/fixtures/nvidia-smi).
    assert catalog.gpus["a100-80gb-sxm"].memory_mib == 81920


def test_every_entry_names_a_source(catalog):
    for entries in (catalog.gpus, catalog.models, catalog.quants):
        for entry in entries.values():
            assert entry.source.strip(), entry.id


def test_parameter_counts_match_published_totals(catalog):
    mismatches = []
    for model in catalog.models.values():
        total, _active = parameter_count(model)
        if abs(total / model.params_total_published - 1) > 0.02:
            mismatches.append((model.id, total, model.params_total_published))
    assert mismatches == []


@pytest.mark.parametrize(
    ("edit", "field", "fragment"),
    [
        (lambda text: text.replace('memory_mib = 40960\n', ''), "memory_mib", "missing"),
        (lambda text: text.replace('memory_mib = 40960', 'memory_mib = "40GB"'), "memory_mib",
         "expected an integer"),
        (lambda text: text.replace('tdp_watts = 250', 'tdp_watts = 250\nwatts = 3'), "watts",
         "unknown key"),
        (lambda text: text.replace('bandwidth_gbps = 1555', 'bandwidth_gbps = -5'),
         "bandwidth_gbps", "greater than 0"),
        (lambda text: text.replace('vendor = "nvidia"', 'vendor = "acme"'), "vendor", "one of"),
    ],
)
def test_a_bad_entry_names_file_entry_and_field_and_the_rest_loads(tmp_path, edit, field, fragment):
    broken = edit(GOOD_GPU).replace('id = "test-gpu"', 'id = "broken-gpu"')
    path = write(tmp_path, "gpus.toml", GOOD_GPU + broken)
    catalog = load_catalog_files([path])
    assert list(catalog.gpus) == ["test-gpu"]
    [issue] = catalog.issues
    assert (issue.file, issue.entry, issue.field) == ("gpus.toml", "broken-gpu", field)
    assert fragment in issue.message
    assert "gpus.toml" in str(issue) and "broken-gpu" in str(issue)


def test_duplicate_id_in_one_file_is_reported(tmp_path):
    path = write(tmp_path, "gpus.toml", GOOD_GPU + GOOD_GPU)
    catalog = load_catalog_files([path])
    assert list(catalog.gpus) == ["test-gpu"]
    assert [(issue.entry, issue.field) for issue in catalog.issues] == [("test-gpu", "id")]


def test_invalid_toml_is_reported_and_other_files_load(tmp_path):
    bad = write(tmp_path, "models.toml", "[[model]\nid = ")
    good = write(tmp_path, "gpus.toml", GOOD_GPU)
    catalog = load_catalog_files([bad, good])
    assert "test-gpu" in catalog.gpus
    assert catalog.issues[0].file == "models.toml"
    assert "not valid TOML" in catalog.issues[0].message


def test_impossible_model_is_rejected(tmp_path):
    base = builtin_catalog_dir()
    text = (base / "models.toml").read_text(encoding="utf-8")
    start = text.index('[[model]]\nid = "mistral-7b"')
    end = text.index("[[model]]", start + 5)
    entry = text[start:end].replace('id = "mistral-7b"', 'id = "odd-7b"')
    entry = entry.replace("kv_heads = 8", "kv_heads = 7")
    entry = "\n".join(line for line in entry.splitlines() if not line.startswith("aliases"))
    path = write(tmp_path, "extra.toml", entry)
    catalog = load_catalog_files([path])
    assert "odd-7b" not in catalog.models
    assert (catalog.issues[0].entry, catalog.issues[0].field) == ("odd-7b", "kv_heads")


def test_user_directory_adds_and_overrides_entries(tmp_path):
    user = tmp_path / "catalog"
    user.mkdir()
    override = GOOD_GPU.replace('id = "test-gpu"', 'id = "rtx-4090"').replace(
        'aliases = ["TG"]', 'aliases = []').replace('name = "Test GPU"', 'name = "My 4090"')
    write(user, "mine.toml", GOOD_GPU + override)
    catalog = load_catalog(extra_dirs=[user])
    assert catalog.gpus["rtx-4090"].name == "My 4090"
    assert "test-gpu" in catalog.gpus
    assert "a100-80gb-sxm" in catalog.gpus
