"""Hostile catalog files (issue 17, items 2, 3, 4, 7, 22): a bad number, MIG profile, nesting,
encoding, pipe or folder never stops the catalog; each becomes an issue naming file, entry and
field, and every value that loads is finite."""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpufit.core import toml_file
from gpufit.core.catalog import Catalog, load_catalog, load_catalog_files, read_toml
from gpufit.core.mig import mig_slice
from gpufit.core.specs import GpuSpec, ModelSpec, QuantSpec
from gpufit.persist.parsed_toml import cached_toml_reader

GPU: dict[str, Any] = {
    # NVIDIA A100 40GB SXM: 40 GB HBM2 at 1,555 GB/s, 312 TFLOPS dense FP16 tensor, 400 W, NVLink3
    # 600 GB/s (https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/
    # nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf).
    "id": "user-gpu", "name": "User GPU", "source": "test", "vendor": "nvidia",
    "family": "Ampere", "architecture": "ampere", "memory_mib": 40960, "bandwidth_gbps": 1555,
    "fp16_tflops": 312.0, "tdp_watts": 400, "interconnect": "nvlink", "interconnect_gbps": 600,
    "pcie_generation": 4,
}
MODEL: dict[str, Any] = {
    # Llama 3.1 8B's config.json (https://huggingface.co/meta-llama/Llama-3.1-8B/blob/main/
    # config.json): 32 layers, 4096 wide, 32 heads, 8 KV heads, 14336 FFN, 128256 vocabulary.
    "id": "user-model", "name": "User Model", "source": "test", "family": "test",
    "architecture": "llama", "layers": 32, "hidden_size": 4096, "attention_heads": 32,
    "kv_heads": 8, "head_dim": 128, "intermediate_size": 14336, "vocab_size": 128256,
    "tied_embeddings": False, "max_context_tokens": 131072, "params_total_published": 8.03e9,
}
BLOCK: dict[str, Any] = {"id": "USER_T", "bits_per_weight": 4.5, "block_weights": 32}
QUANT: dict[str, Any] = {
    "id": "USER_Q", "name": "User quant", "source": "test", "format": "gguf",
    "default_type": "USER_T", "nominal_bits": 4, "compute": "fp16", "engines": ["llama.cpp"],
}
TABLES = {"gpu": GPU, "model": MODEL, "block_type": BLOCK, "quant": QUANT}


def write(folder: Path, name: str, document: dict[str, Any] | str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(document, dict):
        document = tomli_w.dumps(document)
    path.write_bytes(document.encode() if isinstance(document, str) else document)
    return path


def user_catalog(tmp_path: Path, document: dict[str, Any] | str | bytes,
                 name: str = "mine.toml") -> Catalog:
    write(tmp_path / "user", name, document)
    return load_catalog(extra_dirs=[tmp_path / "user"])


def issues_for(catalog: Catalog, file: str) -> list[str]:
    return [str(issue) for issue in catalog.issues if issue.file == file]


@pytest.fixture(scope="module")
def builtin() -> Catalog:
    return load_catalog()


# Item 2: one bad MIG profile ------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["1g.0gb", "0g.10gb", "3g.40gb!", "", "99999g.1gb"])
def test_a_bad_mig_profile_skips_its_gpu_and_names_it(tmp_path, builtin, profile) -> None:
    gpu = {**GPU, "mig_profiles": ["1g.10gb", profile]}
    catalog = user_catalog(tmp_path, {"gpu": [gpu]})
    assert "user-gpu" not in catalog.gpus
    [issue] = catalog.issues
    assert (issue.file, issue.entry, issue.field) == ("mine.toml", "user-gpu", "mig_profiles")
    assert len(catalog.gpus) == len(builtin.gpus)


def test_mig_slices_of_a_profile_without_memory_never_divide_by_zero() -> None:
    parent = GpuSpec(**{**GPU, "mig_profiles": ("1g.0gb",)})
    with pytest.raises(ValueError, match="profile or a memory size"):
        mig_slice(parent, "1g.0gb", None)  # not a profile, so no size to derive: said so
    assert mig_slice(parent, "0g.0gb", 10240).memory_mib == 10240


def test_a_listed_gpu_with_a_slice_id_is_reported_not_replaced(tmp_path) -> None:
    parent = {**GPU, "mig_profiles": ["1g.10gb", "7g.40gb"]}
    twin = {**GPU, "id": "user-gpu-mig-1g.10gb", "name": "Twin"}
    catalog = user_catalog(tmp_path, {"gpu": [parent, twin]})
    [issue] = catalog.issues
    assert (issue.file, issue.entry, issue.field) == ("mine.toml", "user-gpu-mig-1g.10gb", "id")
    assert "MIG slice" in issue.message
    assert catalog.gpus["user-gpu-mig-1g.10gb"].mig_parent == "user-gpu"


# Item 3 and 22: nesting, BOM, pipes, unreadable folders -----------------------------------------

def nested(depth: int, kind: str = "array") -> str:
    """`x` holding `depth` arrays or inline tables, one inside the other."""
    if kind == "array":
        return "x = " + "[" * depth + "]" * depth + "\n"
    return "x = " + "{a = " * depth + "1" + "}" * depth + "\n"


@pytest.mark.parametrize("read", [read_toml, None], ids=["parse", "cached"])
def test_a_deeply_nested_file_is_an_unreadable_file(tmp_path, builtin, read) -> None:
    reader = read or cached_toml_reader(tmp_path / "cache")
    write(tmp_path / "user", "deep.toml", nested(498))
    write(tmp_path / "user", "ok.toml", {"gpu": [GPU]})
    catalog = load_catalog(extra_dirs=[tmp_path / "user"], read=reader)
    [problem] = issues_for(catalog, "deep.toml")
    assert "deep.toml" in problem and "nested" in problem
    assert "user-gpu" in catalog.gpus and len(catalog.models) == len(builtin.models)


def test_nesting_the_parser_survives_is_still_refused(tmp_path) -> None:
    # 200 inline tables parse, but tomli-w, marshal and every later walk recurse per level.
    write(tmp_path / "user", "deep.toml", nested(200, "table"))
    [problem] = issues_for(load_catalog(extra_dirs=[tmp_path / "user"]), "deep.toml")
    assert f"more than {toml_file.MAX_TOML_DEPTH} deep" in problem


def test_a_bom_is_accepted(tmp_path) -> None:
    catalog = user_catalog(tmp_path, b"\xef\xbb\xbf" + tomli_w.dumps({"gpu": [GPU]}).encode())
    assert catalog.issues == [] and "user-gpu" in catalog.gpus


@pytest.mark.parametrize("text", ["x = 1" + "0" * 5000, "\ufeff\ufeffx = 1", "x = \"\\ud800\""])
def test_text_tomllib_chokes_on_is_an_issue(tmp_path, text) -> None:
    catalog = user_catalog(tmp_path, text.encode("utf-8", "surrogatepass"))
    [problem] = issues_for(catalog, "mine.toml")
    assert "mine.toml" in problem


def _load_within(seconds: float, *args: Any, **kwargs: Any) -> Catalog:
    """load_catalog in a thread, failing (not hanging) if it blocks."""
    result: list[Catalog] = []
    worker = threading.Thread(target=lambda: result.append(load_catalog(*args, **kwargs)),
                              daemon=True)
    worker.start()
    worker.join(seconds)
    assert result, f"load_catalog blocked for more than {seconds} s"
    return result[0]


@pytest.mark.parametrize("cached", [False, True])
def test_a_named_pipe_is_refused_without_opening_it(tmp_path, cached) -> None:
    folder = tmp_path / "user"
    folder.mkdir()
    os.mkfifo(folder / "pipe.toml")
    (folder / "dir.toml").mkdir()
    read = cached_toml_reader(tmp_path / "cache") if cached else read_toml
    catalog = _load_within(20, extra_dirs=[folder], read=read)
    assert "regular file" in issues_for(catalog, "pipe.toml")[0]
    assert "folder" in issues_for(catalog, "dir.toml")[0]


def test_a_folder_that_cannot_be_listed_is_named(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "locked"
    write(folder, "mine.toml", {"gpu": [GPU]})
    folder.chmod(0)
    if os.geteuid() == 0:  # root lists anything: refuse the listing as the kernel would
        real = os.scandir

        def scandir(path: Any) -> Any:
            if Path(path) == folder:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(toml_file.os, "scandir", scandir)
    try:
        catalog = load_catalog(extra_dirs=[folder])
    finally:
        folder.chmod(0o755)
    [issue] = [issue for issue in catalog.issues if issue.file == "locked"]
    assert str(folder) in issue.message and "user-gpu" not in catalog.gpus


# Items 4 and 7: bounds --------------------------------------------------------------------------

@pytest.mark.parametrize(("table", "key", "value"), [
    ("model", "layers", 10**9), ("model", "layers", 2**62), ("model", "layers", 1_000_000),
    ("model", "hidden_size", 2**40), ("model", "vocab_size", 2**40),
    ("model", "max_context_tokens", 2**62), ("model", "params_total_published", math.inf),
    ("block_type", "bits_per_weight", math.inf), ("block_type", "bits_per_weight", math.nan),
    ("block_type", "bits_per_weight", 65.0), ("block_type", "bits_per_weight", 1e-400),
    ("gpu", "bandwidth_gbps", math.inf), ("gpu", "fp16_tflops", math.inf),
    ("gpu", "tdp_watts", math.inf), ("gpu", "fp16_tflops", 1e-300), ("gpu", "memory_mib", 2**62),
    ("quant", "nominal_bits", math.inf), ("quant", "quality_kld", math.nan),
])
def test_an_absurd_number_skips_its_entry_quickly(tmp_path, builtin, table, key, value) -> None:
    document = {name: [dict(entry)] for name, entry in TABLES.items()}
    document[table][0][key] = value
    started = time.perf_counter()
    catalog = user_catalog(tmp_path, document)
    assert time.perf_counter() - started < 5
    [issue] = [issue for issue in catalog.issues if issue.field == key]
    assert (issue.file, issue.entry) == ("mine.toml", TABLES[table]["id"])
    # The built-in quants are untouched by a bad user block type.
    assert catalog.quants["Q4_K_M"] == builtin.quants["Q4_K_M"]


@pytest.mark.parametrize("table", sorted(TABLES))
def test_an_entry_with_a_blank_id_is_named_by_its_position(tmp_path, table) -> None:
    # Found by the property below: an issue naming the entry " " says nothing.
    document = {name: [dict(entry)] for name, entry in TABLES.items()}
    document[table][0]["id"] = "  "
    catalog = load_catalog_files([write(tmp_path, "mine.toml", document)])
    [issue] = [issue for issue in catalog.issues if issue.field == "id"]
    assert (issue.file, issue.entry) == ("mine.toml", "#1")


def test_a_model_at_the_layer_bound_loads(tmp_path) -> None:
    catalog = user_catalog(tmp_path, {"model": [{**MODEL, "layers": 2048}]})
    assert catalog.models["user-model"].layers == 2048


# Properties -------------------------------------------------------------------------------------

HOSTILE = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 0, -1, -1e308, 1e308, 1e-300, 2**63, 10**30,
                     -(2**63), True, "12", [], {}, [1, 2], ""]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
NUMBERS = (int, float)


def _finite_everywhere(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite_everywhere(item) for item in value.values())
    if isinstance(value, tuple | list):
        return all(_finite_everywhere(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return all(_finite_everywhere(getattr(value, item.name))
                   for item in dataclasses.fields(value))
    return True


def _check_loaded(catalog: Catalog) -> None:
    specs: list[GpuSpec | ModelSpec | QuantSpec] = [
        *catalog.gpus.values(), *catalog.models.values(), *catalog.quants.values()]
    assert all(_finite_everywhere(spec) for spec in specs)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.sampled_from(sorted(TABLES)), data=st.data(), value=HOSTILE)
def test_any_field_with_any_value_never_raises(tmp_path_factory, table, data, value) -> None:
    entry = dict(TABLES[table])
    key = data.draw(st.sampled_from(sorted(entry)), label="field")
    entry[key] = value
    document = {name: [dict(item)] for name, item in TABLES.items()}
    document[table] = [entry]
    folder = tmp_path_factory.mktemp("catalog")
    path = write(folder, "mine.toml", document)
    catalog = load_catalog_files([path])
    _check_loaded(catalog)
    label = entry["id"] if isinstance(entry.get("id"), str) and entry["id"].strip() else "#1"
    if table == "block_type":
        if key == "id" and label != "#1":
            return  # a block type under another id: nothing refers to it, nothing to check
        loaded, probe = catalog.quants, "USER_Q"
    else:
        loaded, probe = {"gpu": catalog.gpus, "model": catalog.models,
                         "quant": catalog.quants}[table], label
    if probe not in loaded:
        # Skipped: the issue names the file and the entry that was bad.
        assert any(issue.file == "mine.toml" and issue.entry == label
                   for issue in catalog.issues), (key, value, catalog.issues)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.one_of(st.sampled_from([33, 200, 498, 1000]), st.integers(1, 700)),
       kind=st.sampled_from(["array", "table", "header"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "utf-32"]),
       prefix=st.text(max_size=20))
def test_any_nesting_or_encoding_is_a_file_issue_never_an_exception(
        tmp_path_factory, depth, kind, encoding, prefix) -> None:
    text = nested(depth, kind) if kind != "header" else "[" + ".".join(["a"] * depth) + "]\n"
    body = (f"# {prefix}\n" + text).encode(encoding, "replace")
    folder = tmp_path_factory.mktemp("nest")
    write(folder, "odd.toml", body)
    catalog = load_catalog_files([folder / "odd.toml"])
    _check_loaded(catalog)
    # Whatever the file held, it is no catalog: one issue, naming it.
    assert catalog.issues and all(issue.file == "odd.toml" for issue in catalog.issues)
    assert catalog.gpus == {} and catalog.models == {}
