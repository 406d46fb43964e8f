"""GPU names resolve as people and vendor tools write them, memory sizes included.

A name that states a memory size ("M3 Max 48GB", "48 GB M3 Max") picks that size's entry; a
product sold in several sizes is ambiguous without one and the error lists every size; the
detector's matcher tells nvidia-smi's shared names apart by the memory it reports.
"""

from __future__ import annotations

import pytest

from gpufit.core.resolve import ResolveError, base_key, memory_sizes_gb, resolve
from gpufit.detect.match import match_gpu
from gpufit.detect.snapshot import GpuReading

MIB = 1024**2


def reading(name: str, memory_mib: int | None) -> GpuReading:
    return GpuReading(index=0, name=name,
                      memory_total_bytes=None if memory_mib is None else memory_mib * MIB)


@pytest.mark.parametrize(("query", "expected"), [
    ("48 GB M3 Max", "m3-max-48gb"),
    ("M3 Max 48GB", "m3-max-48gb"),
    ("m3 max 48 gb", "m3-max-48gb"),
    ("Apple M4 Pro 24 GB", "m4-pro-24gb"),
    ("Apple M4 24 GB", "m4-24gb"),          # not the M4 Pro, which is also sold with 24 GB
    ("128GB M4 Max", "m4-max-128gb"),
    ("M3 Ultra 256GB", "m3-ultra-256gb"),
    ("Apple M1 8 GB", "m1-8gb"),
    ("RTX PRO 5000 72 GB", "rtx-pro-5000-blackwell-72gb"),
    ("NVIDIA RTX PRO 5000 Blackwell 48GB", "rtx-pro-5000-blackwell-48gb"),
    ("Ryzen AI Max+ 395 64GB", "ryzen-ai-max-395-64gb"),
    ("Jetson AGX Orin 32 GB", "jetson-agx-orin-32gb"),
    ("RTX 4090 24GB", "rtx-4090"),
])
def test_a_stated_memory_size_picks_that_entry(catalog, query, expected):
    assert resolve(catalog.gpus, query, "GPU").id == expected


@pytest.mark.parametrize(("query", "candidates"), [
    ("M3 Max", {"m3-max-36gb", "m3-max-48gb", "m3-max-64gb", "m3-max-96gb", "m3-max-128gb"}),
    ("Apple M3 Max", {"m3-max-36gb", "m3-max-48gb", "m3-max-64gb", "m3-max-96gb",
                      "m3-max-128gb"}),
    ("RTX PRO 5000", {"rtx-pro-5000-blackwell-48gb", "rtx-pro-5000-blackwell-72gb"}),
    ("NVIDIA RTX PRO 5000 Blackwell", {"rtx-pro-5000-blackwell-48gb",
                                       "rtx-pro-5000-blackwell-72gb"}),
    ("Jetson AGX Orin", {"jetson-agx-orin-32gb", "jetson-agx-orin-64gb"}),
    ("AMD RYZEN AI MAX+ 395 w/ Radeon 8060S", {"ryzen-ai-max-395-64gb",
                                               "ryzen-ai-max-395-128gb"}),
])
def test_a_product_sold_in_several_sizes_is_ambiguous_and_lists_them(catalog, query, candidates):
    with pytest.raises(ResolveError) as caught:
        resolve(catalog.gpus, query, "GPU")
    assert caught.value.ambiguous
    assert set(caught.value.candidates) == candidates


def test_a_size_the_product_is_not_sold_in_lists_the_sizes_it_is(catalog):
    # Apple sells the M4 Pro with 24, 48 and 64 GB (apple.com/newsroom, October 2024)
    with pytest.raises(ResolveError) as caught:
        resolve(catalog.gpus, "M4 Pro 16GB", "GPU")
    assert not caught.value.ambiguous
    assert set(caught.value.candidates) == {"m4-pro-24gb", "m4-pro-48gb", "m4-pro-64gb"}


def test_a_name_already_ambiguous_stays_ambiguous_within_its_size(catalog):
    with pytest.raises(ResolveError) as caught:
        resolve(catalog.gpus, "A100 80GB", "GPU")
    assert caught.value.ambiguous
    assert {"a100-80gb-pcie", "a100-80gb-sxm"} <= set(caught.value.candidates)
    assert not any(candidate.startswith("a100-40gb") for candidate in caught.value.candidates)


@pytest.mark.parametrize(("text", "sizes"), [
    ("Apple M3 Max (40-core GPU, 48 GB)", {48.0}),
    ("NVIDIA A100-SXM4-80GB", {80.0}),
    ("24GiB card", {24.0}),
    ("NVIDIA GB10", set()),                  # a chip name, not a size
    ("a100-80gb-sxm:3g.40gb", {80.0}),       # a MIG profile's memory is not the card's
])
def test_memory_sizes_are_read_from_names(text, sizes):
    assert memory_sizes_gb(text) == sizes


def test_the_product_key_ignores_size_vendor_and_detail():
    assert base_key("Apple M4 Pro (20-core GPU, 24 GB)") == base_key("M4 Pro 24GB") == "m4pro"


@pytest.mark.parametrize(("name", "memory_mib", "expected"), [
    ("NVIDIA RTX PRO 5000 Blackwell", 48935, "rtx-pro-5000-blackwell-48gb"),  # recorded query
    ("NVIDIA RTX PRO 5000 Blackwell", 72 * 1024, "rtx-pro-5000-blackwell-72gb"),
    ("NVIDIA RTX PRO 4000 Blackwell", 24467, "rtx-pro-4000-blackwell"),
    ("NVIDIA GB10", None, "dgx-spark"),      # nvidia-smi: memory "Not Supported"
    ("NVIDIA H800 80GB HBM3", 81559, "h800-sxm"),
    ("NVIDIA H800 PCIe", 81559, "h800-pcie"),
    ("NVIDIA A800-SXM4-80GB", 81920, "a800-80gb-sxm"),
    ("NVIDIA A800 80GB PCIe", 81920, "a800-80gb-pcie"),
    ("NVIDIA L20", 46068, "l20"),
    ("NVIDIA B300 SXM6 AC", 275040, "b300"),
])
def test_the_detector_matches_new_nvidia_smi_names(catalog, name, memory_mib, expected):
    match = match_gpu(reading(name, memory_mib), catalog.gpus)
    assert match.gpu is not None and match.gpu.id == expected, match.reason


def test_the_detector_still_rejects_a_card_whose_memory_fits_no_size(catalog):
    assert match_gpu(reading("NVIDIA RTX PRO 5000 Blackwell", 24576), catalog.gpus).gpu is None
