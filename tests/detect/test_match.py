"""Mapping nvidia-smi names to catalog GPUs, MIG slices and N × card options."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpufit.core.mig import mig_slice
from gpufit.detect.match import hardware_options, match_gpu
from gpufit.detect.parse import parse_any, parse_csv, parse_list
from gpufit.detect.snapshot import GpuReading, MigReading, Snapshot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nvidia-smi"
MIB = 1024**2
GIB = 1024**3


def reading(name: str, memory_mib: int | None = None, **extra) -> GpuReading:
    return GpuReading(index=0, name=name,
                      memory_total_bytes=None if memory_mib is None else memory_mib * MIB, **extra)


@pytest.mark.parametrize(("name", "memory_mib", "expected"), [
    ("NVIDIA A100-SXM4-80GB", 81920, "a100-80gb-sxm"),
    ("NVIDIA A100 80GB PCIe", 81920, "a100-80gb-pcie"),
    ("NVIDIA A100-SXM4-40GB", 40960, "a100-40gb-sxm"),
    ("NVIDIA H100 80GB HBM3", 81559, "h100-sxm"),  # HBM3 is the SXM part
    ("NVIDIA H100 PCIe", 81559, "h100-pcie"),
    ("Tesla V100-SXM2-16GB", 16384, "v100-16gb-sxm2"),
    ("NVIDIA GeForce RTX 4090", 24564, "rtx-4090"),
    ("NVIDIA RTX A6000", 49140, "rtx-a6000"),
    ("NVIDIA A10", 23028, "a10"),
    ("Tesla T4", 15360, "t4"),
])
def test_names_nvidia_smi_prints_map_to_the_right_card(catalog, name, memory_mib, expected):
    match = match_gpu(reading(name, memory_mib), catalog.gpus)
    assert match.gpu is not None and match.gpu.id == expected, match.reason


def test_laptop_parts_are_not_their_desktop_namesakes(catalog):
    match = match_gpu(reading("NVIDIA GeForce RTX 4090 Laptop GPU", 16376), catalog.gpus)
    assert match.gpu is not None and match.gpu.id == "rtx-4090-laptop"
    desktop = match_gpu(reading("NVIDIA GeForce RTX 4090", 24564), catalog.gpus)
    assert desktop.gpu is not None and "laptop" not in desktop.gpu.id


def test_memory_far_off_vetoes_a_name_match(catalog):
    # A 4090 reporting 48 GB is a modified card: not the catalog's 24 GB part.
    assert match_gpu(reading("NVIDIA GeForce RTX 4090", 49140), catalog.gpus).gpu is None


def test_truncated_table_name_is_not_guessed_from_its_prefix(catalog):
    # "NVIDIA GeForce RTX 2080 ..." is a 2080 SUPER (8 GB); the catalog's 2080 Ti has 11 GB.
    snapshot = parse_any((FIXTURES / "table_rtx2080super_driver610_kmd_header.txt").read_text())
    match = match_gpu(snapshot.gpus[0], catalog.gpus)
    assert match.gpu is None


def test_unknown_card_stays_usable_with_its_own_memory_and_labelled_speed(catalog):
    snapshot = parse_any((FIXTURES / "table_4x_tesla_k80_driver390_no_cuda_version.txt").read_text())
    options = hardware_options(snapshot, catalog.gpus)
    assert len(options) == 1  # four identical unknown cards are one "4 ×" choice
    option = options[0]
    assert option.count == 4
    assert option.gpu.name == "Tesla K80"
    assert option.memory_per_gpu_bytes == 11441 * MIB
    assert option.speed_from is not None and option.speed_from in option.match_reason


def test_identical_cards_become_one_n_times_option(catalog):
    snapshot = parse_csv((FIXTURES / "own" / "query_8x_h100.csv").read_text())
    options = hardware_options(snapshot, catalog.gpus)
    assert [(option.count, option.gpu.id) for option in options] == [(8, "h100-sxm")]
    # Free memory is summed: 8 × (81559 − 479 − 1) MiB minus 1000 MiB × (0+…+7).
    assert options[0].free_memory_bytes == (8 * (81559 - 480) - 28000) * MIB
    assert options[0].hardware().memory_override_bytes == 81559 * MIB


def test_mixed_cards_are_listed_individually(catalog):
    snapshot = parse_csv((FIXTURES / "own" / "query_mixed_2x_a10_2x_t4.csv").read_text())
    options = hardware_options(snapshot, catalog.gpus)
    singles = [option for option in options if option.count == 1]
    assert sorted(option.indices[0] for option in singles) == [0, 1, 2, 3]
    assert {(option.gpu.id, option.count) for option in options if option.count > 1} == \
        {("a10", 2), ("t4", 2)}


def test_mig_instances_are_their_own_options_never_the_parent_total(catalog):
    snapshot = parse_any((FIXTURES / "q_h100_mig_driver590.txt").read_text())
    options = hardware_options(snapshot, catalog.gpus)
    assert [option.memory_per_gpu_bytes // MIB for option in options] == [40448, 20096, 9984, 9984]
    assert all(option.count == 1 for option in options)
    assert all(option.memory_per_gpu_bytes < 81559 * MIB for option in options)


def test_mig_profiles_from_list_size_the_slices(catalog):
    snapshot = parse_list((FIXTURES / "list_h100_mig_4instances_driver590.txt").read_text())
    options = hardware_options(snapshot, catalog.gpus)
    assert ["3g.40gb" in option.label for option in options] == [True, False, False, False]
    # Without measured memory, 3g.40gb gets 40/80 of the 81559 MiB card; nvidia-smi shows
    # 40448 MiB for it on that machine (q_h100_mig_driver590.txt): within 1 %.
    assert options[0].memory_per_gpu_bytes / (40448 * MIB) == pytest.approx(1, rel=0.01)


def test_mig_slice_scales_compute_and_bandwidth(catalog):
    parent = catalog.gpus["a100-40gb-sxm"]
    slice_spec = mig_slice(parent, "3g.20gb", 19968)
    assert slice_spec.fp16_tflops == pytest.approx(parent.fp16_tflops * 3 / 7)
    assert slice_spec.bandwidth_gbps == pytest.approx(parent.bandwidth_gbps * 19968 / 40960)
    assert slice_spec.memory_bytes == 19968 * MIB
    a30 = catalog.gpus["a30"]  # four compute slices, not seven
    assert mig_slice(a30, "2g.12gb", None).fp16_tflops == pytest.approx(a30.fp16_tflops / 2)


def test_card_without_memory_and_not_in_catalog_is_explained(catalog):
    from gpufit.detect.match import unusable

    snapshot = Snapshot(gpus=(reading("Orin (nvgpu)"),))
    assert hardware_options(snapshot, catalog.gpus) == []
    assert "memory" in unusable(snapshot, catalog.gpus)[0]


def test_mig_reading_without_anything_is_skipped(catalog):
    snapshot = Snapshot(gpus=(reading("NVIDIA A100-SXM4-40GB", 40960, mig_enabled=True),),
                        mig_devices=(MigReading(gpu_index=0),))
    assert hardware_options(snapshot, catalog.gpus) == []
